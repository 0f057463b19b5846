import ConnHost
import ConnRuntime
import ConnSyntax

// The REPL's `:` commands: :help, :sockets, :save, :load, :reset, :backend, :quit.

extension Repl {
  func command(_ text: String) {
    var name = text
    var argument = ""
    if let space = text.firstIndex(where: { $0 == " " || $0 == "\t" }) {
      name = String(text[..<space])
      argument = String(text[space...]).trimmingSpaces
    }
    name = name.trimmingSpaces
    switch name {
    case ":help", ":h", ":?":
      if argument.isEmpty {
        write(ReplHelp.overview)
      } else if let topic = ReplHelp.topic(argument) {
        write(topic)
      } else {
        let all = ReplHelp.statements.map(\.keyword) + ReplHelp.commands.map(\.name)
        error(
          "no help for '\(argument)'"
            + (closestName(to: argument, in: all).map { " (did you mean '\($0)'?)" }
              ?? "; :help lists what there is"))
      }
    case ":sockets":
      if noArgument(name, argument) { sockets() }
    case ":save":
      save(argument)
    case ":load":
      load(argument)
    case ":reset":
      if noArgument(name, argument) {
        let closed = restart()
        note("the session starts afresh (\(closed) descriptor\(closed == 1 ? "" : "s") closed)")
      }
    case ":backend":
      backend(argument)
    case ":quit", ":q", ":exit":
      if noArgument(name, argument) { quitting = true }
    default:
      let all = ReplHelp.commands.map(\.name)
      error(
        "unknown command '\(name)'"
          + (closestName(to: name, in: all).map { " (did you mean '\($0)'?)" } ?? "")
          + "; :help lists the commands")
    }
  }

  func noArgument(_ name: String, _ argument: String) -> Bool {
    if argument.isEmpty { return true }
    error("\(name) takes no argument")
    return false
  }

  /// Closes everything and starts a fresh session on `options.backend`; returns how many
  /// descriptors were closed.
  @discardableResult
  func restart() -> Int {
    let open = interpreter.allBindings.filter { $0.owned && !closedNames.contains($0.name) }.count
    interpreter.finish()
    interpreter = Self.makeInterpreter(options, router)
    declared = []
    declaredNames = []
    declaredHosts = []
    declaredLinks = []
    closedNames = []
    backgroundCalls = [:]
    lastWaitShape = nil
    record = SessionRecord()
    pendingBytes = []
    pendingLines = []
    return open
  }

  func backend(_ argument: String) {
    let names = Self.backendChoices.map(\.rawValue)
    if argument.isEmpty {
      write("backend: \(options.backend.rawValue) (available: \(names.joined(separator: ", ")))\n")
      return
    }
    guard let choice = Self.backendChoices.first(where: { $0.rawValue == argument }) else {
      error("unknown backend '\(argument)' (available: \(names.joined(separator: ", ")))")
      return
    }
    if choice == options.backend {
      note("already on the \(argument) backend")
      return
    }
    options.backend = choice
    let closed = restart()
    note(
      "now on the \(argument) backend; the session starts afresh (\(closed) descriptor\(closed == 1 ? "" : "s") closed)"
    )
  }

  func save(_ argument: String) {
    guard !argument.isEmpty else { return error("usage: :save FILE") }
    let path = expandPath(argument)
    if Host.kind(of: path) == .directory { return error("cannot save to \(path): it is a directory") }
    let dir = Host.directoryPart(of: path)
    if Host.kind(of: dir) != .directory {
      return error("cannot save to \(path): there is no directory \(dir)")
    }
    do throws(HostError) {
      try record.write(to: path, backend: interpreter.backend.name)
    } catch {
      switch error {
      case .unreadable(_, let why): return self.error("cannot save to \(path): \(why)")
      default: return self.error("cannot save to \(path): \(error.description)")
      }
    }
    let n = record.statementCount
    note("saved \(n) statement\(n == 1 ? "" : "s") to \(path); replay it with: conn run \(path)")
  }

  func load(_ argument: String) {
    guard !argument.isEmpty else { return error("usage: :load FILE") }
    let path = expandPath(argument)
    let bytes: [UInt8]
    do throws(HostError) {
      bytes = try Host.readFile(path)
    } catch {
      return self.error("cannot load \(error.description)")
    }
    let source = SourceFile(name: path, bytes: bytes)
    let script = Parser.parse(source, context: context)
    if script.hasErrors {
      let r = DiagnosticRenderer(color: options.color)
      let shown = script.diagnostics.prefix(Self.maxDiagnosticsShown)
      write(shown.map { r.render($0, in: source) }.joined())
      if script.diagnostics.count > shown.count {
        note("\(script.diagnostics.count - shown.count) more problems not shown")
      }
      error("\(path) was not loaded: fix the errors above first")
      return
    }
    if runScript(script, echo: true) {
      note("loaded \(path)")
    }
  }

  func expandPath(_ argument: String) -> String {
    var p = argument
    if p.count >= 2, p.hasPrefix("\""), p.hasSuffix("\"") { p = String(p.dropFirst().dropLast()) }
    if p == "~" || p.hasPrefix("~/"), let home = Host.homeDirectory { p = home + p.dropFirst() }
    return p
  }

  // MARK: - :sockets

  func sockets() {
    let bindings = interpreter.allBindings
    if bindings.isEmpty {
      write("no sockets yet\n")
      return
    }
    let backend = interpreter.backend
    var rows = [["NAME", "FD", "KIND", "STATE", "LOCAL", "PEER"]]
    for b in bindings {
      var kind: String
      switch b.origin {
      case .socket(let k): kind = "\(k.type.rawValue) \(k.family.rawValue)"
      case .descriptor: kind = "fd"
      case .file: kind = "file"
      case .accepted: kind = Self.kindName(backend, b.fd)
      }
      var state = "-"
      var local = "-"
      var peer = "-"
      if closedNames.contains(b.name) {
        state = "closed"
      } else {
        let type = try? backend.getOption(b.fd, .SO_TYPE)
        switch type {
        case .failure(.EBADF)?: state = "not open"
        case .failure(.ENOTSOCK)?: state = "open (not a socket)"
        default:
          if case .address(let a) = backend.localName(b.fd) { local = a.description }
          if case .address(let a) = backend.peerName(b.fd) { peer = a.description }
          if case .number(1)? = try? backend.getOption(b.fd, .SO_ACCEPTCONN) {
            state = "listening"
          } else if peer != "-" {
            state = "connected"
          } else if Self.connectPending(backend, b.fd) {
            state = "connecting"
          } else if case .address(let a) = backend.localName(b.fd), Self.isBound(a) {
            state = "bound"
          } else {
            state = "unbound"
          }
          if !b.owned { kind += " (not conn's)" }
        }
      }
      rows.append([b.name, "\(b.fd)", kind, state, local, peer])
    }
    var widths = [Int](repeating: 0, count: rows[0].count)
    for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
    var out = ""
    for (n, r) in rows.enumerated() {
      var line = ""
      for (i, c) in r.enumerated() {
        line += i == r.count - 1 ? c : pad(c, widths[i]) + "  "
      }
      out += (n == 0 ? paint(line, "1") : line) + "\n"
    }
    write(out)
  }

  static func isBound(_ a: SocketAddress) -> Bool {
    switch a {
    case .inet(_, let p), .inet6(_, let p, _): return p != 0
    case .unix(let path): return !path.isEmpty
    case .abstract: return true
    case .netlink(let pid, _): return pid != 0
    case .unspec, .packet: return false
    }
  }

  /// Whether a TCP socket with no peer has a connect in progress (SYN sent, no answer yet): it
  /// is the one state in which poll(2) reports nothing at all, where a socket that is only
  /// bound, or whose connect failed, is writable and hung up. A poll with no wait, which
  /// changes nothing (SO_ERROR would clear the error it reads).
  static func connectPending(_ backend: Backend, _ fd: Descriptor) -> Bool {
    guard case .number(let t)? = try? backend.getOption(fd, .SO_TYPE), t == Linux.typeNumber(.stream),
      case .number(let d)? = try? backend.getOption(fd, .SO_DOMAIN), d != Linux.familyNumber(.unix)
    else { return false }
    let o = try? backend.poll(fd, [.readable, .writable], timeout: .zero, CallOptions(), limit: .seconds(1))
    return o == .pollTimeout
  }

  /// "stream inet" for an accepted socket, from SO_TYPE and SO_DOMAIN.
  static func kindName(_ backend: Backend, _ fd: Descriptor) -> String {
    guard case .number(let t)? = try? backend.getOption(fd, .SO_TYPE),
      case .number(let d)? = try? backend.getOption(fd, .SO_DOMAIN)
    else { return "socket" }
    let type = Linux.socketType(number: t)?.rawValue ?? "type \(t)"
    let family = Linux.family(number: d)?.rawValue ?? "family \(d)"
    return "\(type) \(family)"
  }
}
