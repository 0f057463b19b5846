import ConnRuntime
import ConnSyntax
import ConnSystem

// The read-eval-print loop. Each line is parsed in the session's context (the sockets declared
// so far, the statement that ran last) and its statements run one at a time through one
// long-lived interpreter, so each outcome is printed as soon as the kernel gives it. Nothing a
// user types ends the session: a syntax error points into the line, a failed `expect` is shown
// with a caret and the session goes on, and Ctrl-C only interrupts.
//
// The REPL never calls libc itself: input comes from a `LineReading`, output goes to a closure,
// and the kernel is reached through the interpreter's backend.

package struct ReplOptions: Sendable {
  package var backend: BackendChoice = .system
  /// The limit on every blocking call.
  package var timeout: TimeSpan = .seconds(10)
  package var allowNet: [IPPrefix] = []
  package var color = false
  /// With `--isolate`: the private network namespace the session runs in.
  package var isolatedNamespace: UInt64?
  package init() {}
}

package final class Repl {
  package static let prompt = "conn> "
  package static let continuationPrompt = "...> "
  /// Diagnostics shown for one line; a pasted megabyte of noise gets a summary after these.
  static let maxDiagnosticsShown = 10

  /// Backends a session can use (`both` compares whole runs, which a session is not).
  package static var backendChoices: [BackendChoice] { BackendChoice.allCases.filter { $0.rawValue != "both" } }

  private let reader: LineReading
  package private(set) var options: ReplOptions
  private let write: (String) -> Void
  private let router = StepRouter()
  private var interpreter: Interpreter
  /// Socket names declared so far, in order, for the parser and for completion.
  private var declared: [String] = []
  private var closedNames: Set<String> = []
  private var record = SessionRecord()
  /// The lines of an open `repeat` block.
  private var pendingBytes: [UInt8] = []
  private var pendingLines: [String] = []
  private var quitting = false
  /// Something went wrong during the session (a syntax error, a failed expect...). With input
  /// that is not a terminal, `conn repl` then exits with 1, so scripts can tell.
  package private(set) var hadErrors = false

  package init(reader: LineReading, options: ReplOptions, output: @escaping (String) -> Void) {
    self.reader = reader
    self.options = options
    self.write = output
    interpreter = Self.makeInterpreter(options, router)
  }

  private static func makeInterpreter(_ options: ReplOptions, _ router: StepRouter) -> Interpreter {
    var runner = RunnerOptions()
    runner.backend = options.backend
    runner.allowNet = options.allowNet
    runner.timeout = options.timeout
    let inner: Backend
    if let ns = options.isolatedNamespace, options.backend == .system {
      inner = SystemBackend(allowedNetworks: options.allowNet, isolated: true, namespace: ns)
    } else {
      inner = ScenarioRunner(options: runner).makeBackend()
    }
    let backend = InterruptibleBackend(inner)
    var run = RunOptions()
    run.timeout = options.timeout
    // No limit on a session, in practice; the deadline is how Ctrl-C stops a long `repeat`
    // (see InterruptibleBackend).
    run.scenarioTimeout = InterruptibleBackend.sessionLimit
    run.requireExpectations = false
    let interpreter = Interpreter(backend: backend, options: run)
    interpreter.onStep = { router.sink?($0) }
    return interpreter
  }

  package var banner: String {
    "conn \(connVersion), backend \(options.backend.rawValue). Type a statement to run it, :help for help, Ctrl-D to leave.\n"
  }

  // MARK: - The loop

  /// Reads and runs lines until `:quit` or the end of the input, then closes everything.
  package func run() {
    if reader.isInteractive { write(banner) }
    while !quitting {
      reader.completer = ReplCompleter(socketNames: declared, backendNames: Self.backendChoices.map(\.rawValue))
      handle(reader.readLine(prompt: pendingBytes.isEmpty ? Self.prompt : Self.continuationPrompt))
    }
    interpreter.finish()
    reader.close()
  }

  package func handle(_ event: InputEvent) {
    switch event {
    case .line(let bytes):
      handleLine(bytes)
    case .interrupted:
      if !pendingBytes.isEmpty {
        rememberPending()
        pendingBytes = []
        pendingLines = []
        note("the open block was dropped")
      }
    case .tooLong(let n):
      error("the line is too long (\(n) bytes; at most \(replMaxLineLength)): nothing was run")
    case .end:
      if !pendingBytes.isEmpty {
        let source = SourceFile(name: "<repl>", bytes: pendingBytes)
        printDiagnostics(Parser.parse(source, context: context).diagnostics, source)
        note("the open block was not run")
        rememberPending()
        pendingBytes = []
        pendingLines = []
      }
      quitting = true
    }
  }

  private var context: ParseContext {
    ParseContext(declaredSockets: declared, previousStatement: interpreter.lastStatement)
  }

  private func handleLine(_ bytes: [UInt8]) {
    if bytes.count > replMaxLineLength {
      error("the line is too long (\(bytes.count) bytes; at most \(replMaxLineLength)): nothing was run")
      return
    }
    let body = bytes.drop { $0 == 0x20 || $0 == 0x09 }
    if body.first == UInt8(ascii: ":") {
      let text = String(decoding: body, as: UTF8.self)
      reader.remember(text)
      command(text)
      return
    }
    let lineText = String(decoding: bytes, as: UTF8.self)
    if pendingBytes.isEmpty && body.allSatisfy({ $0 == 0x0D }) { return }

    let newLineStart = pendingBytes.isEmpty ? 0 : pendingBytes.count + 1
    let candidate = pendingBytes.isEmpty ? bytes : pendingBytes + [0x0A] + bytes
    let source = SourceFile(name: "<repl>", bytes: candidate)
    let script = Parser.parse(source, context: context)
    let errors = script.diagnostics.filter { $0.severity == .error }
    // An open block at the very end of the input is not an error yet: ask for more.
    func openAtEnd(_ d: Diagnostic) -> Bool { d.id == "parse.unclosed-block" && Int(d.range.start) >= candidate.count }

    if !errors.isEmpty && errors.allSatisfy(openAtEnd) {
      pendingBytes = candidate
      pendingLines.append(lineText)
      return
    }
    if !errors.isEmpty && !pendingBytes.isEmpty
      && errors.allSatisfy({ openAtEnd($0) || Int($0.range.start) >= newLineStart })
    {
      // Only the line just typed is wrong: keep the block typed so far.
      printDiagnostics(script.diagnostics.filter { !openAtEnd($0) }, source)
      note("that line was not added; the block is still open (close it with '}', or drop it with Ctrl-C)")
      hadErrors = true
      return
    }
    pendingLines.append(lineText)
    rememberPending()
    pendingBytes = []
    pendingLines = []
    if !errors.isEmpty {
      printDiagnostics(script.diagnostics, source)
      hadErrors = true
      return
    }
    printDiagnostics(script.diagnostics, source)  // warnings
    runScript(script, echo: false)
  }

  /// Puts the lines of the statement just entered into the history: a block as one line when
  /// it can be joined back into one, so that Up recalls it whole.
  private func rememberPending() {
    let lines = pendingLines.map(\.trimmingSpaces).filter { !$0.isEmpty }
    if lines.count <= 1 || lines.contains(where: { $0.contains("#") }) {
      for l in lines { reader.remember(l) }
      return
    }
    var joined = lines[0]
    for l in lines.dropFirst() {
      joined += (joined.hasSuffix("{") || l.hasPrefix("}")) ? " " + l : "; " + l
    }
    reader.remember(joined)
  }

  // MARK: - Running statements

  enum StatementResult { case ran, interrupted, failed }

  /// Runs the top-level statements of a parsed text one at a time. `echo` prints each
  /// statement's text beside its outcome (for :load; lines with several statements do it too).
  @discardableResult
  private func runScript(_ script: Script, echo: Bool) -> Bool {
    if let (_, range) = script.netRules.first {
      printProblem(
        "'net' statements set up the network before a scenario starts; a session's network cannot change",
        script.source, range,
        hint: "put them at the top of a file and run it with conn run (with --isolate on the kernel backend)")
      hadErrors = true
      return false
    }
    let tops = script.statements
    let showText = echo || tops.count > 1
    let width = min(40, tops.map { displayText(script.source.text($0.range)).count }.max() ?? 0)
    _ = Host.takeInterrupt()  // a Ctrl-C pressed before this line is not for it
    for (i, st) in tops.enumerated() {
      let result = runStatement(st, in: script, showText: showText, width: width)
      let rest = tops.count - i - 1
      switch result {
      case .ran: continue
      case .failed:
        if rest > 0 { note("the rest (\(rest) statement\(rest == 1 ? "" : "s")) was not run") }
        return false
      case .interrupted:
        if rest > 0 {
          note("interrupted: the rest (\(rest) statement\(rest == 1 ? "" : "s")) was not run")
          return false
        }
      }
    }
    return true
  }

  private func runStatement(_ st: Statement, in script: Script, showText: Bool, width: Int) -> StatementResult {
    let sub = Script(
      source: script.source, statements: [st], socketNames: script.socketNames, requirements: script.requirements)
    let text = script.source.text(st.range)
    let lead = showText ? pad(displayText(text), width) + "  " : ""
    var single: Step?
    var aggregate = RepeatAggregate()
    let isBlock: Bool
    if case .repeat = st.kind { isBlock = true } else { isBlock = false }
    let backend = interpreter.backend as? InterruptibleBackend
    router.sink = { [unowned self] step in
      // Ctrl-C during this step: the interpreter stops before the next one.
      if Host.interruptPending { backend?.stopRequested = true }
      self.track(step, script)
      if isBlock {
        aggregate.add(step, text: { script.source.text(step.statement.range) }, saved: { self.savedExpectation(step) })
      } else {
        single = step
      }
    }
    var result = interpreter.execute(sub)
    router.sink = nil
    let interrupted = Host.takeInterrupt() || backend?.stopRequested == true
    backend?.stopRequested = false
    if interrupted, case .failure(var f) = result, f.kind == .backend, f.message.hasPrefix("scenario timed out") {
      f.message = InterruptibleBackend.interruptedMessage
      result = .failure(f)
    }
    // The terminal echoed ^C where the cursor was: start the answer on a line of its own.
    if interrupted && reader.isInteractive { write("\n") }
    var failure: Failure?
    if case .failure(let f) = result { failure = f }

    switch st.kind {
    case .expect(let e):
      if let f = failure {
        write(renderFailure(f))
      } else {
        write(lead + paint("pass", "32") + "\n")
        record.typedExpect(text)
        if e.addresses.contains(where: \.isAbstract) { record.needsLinux = true }
      }
    case .repeat:
      printAggregate(aggregate)
      if let f = failure { write(renderFailure(f)) }
      if let f = failure, f.kind != .expectation && f.kind != .tooSlow {
        record.comment(["not saved (stopped: \(f.message)):"] + blockLines(st, script.source, aggregate, [], indent: ""))
      } else {
        let failedExpect = failure.flatMap { Self.expectStatement(containing: $0.range.start, in: [st]) }
        record.block(blockLines(st, script.source, aggregate, failedExpect.map { [$0] } ?? [], indent: ""))
      }
    default:
      if let step = single {
        var shown = lead + paint("= ", "2") + paintOutcome(step.outcome)
        if interrupted && step.outcome == .failure(.EINTR) { shown += paint("  (Ctrl-C)", "2") }
        write(shown + "\n")
        var saved = text
        if interrupted && step.outcome == .failure(.EINTR), let option = Self.interruptOption(st.kind, step.elapsed) {
          saved += option
        }
        let expect = st.kind.hasResult ? SavedExpectation.line([savedExpectation(step)]) : nil
        record.statement(saved, expect: expect, hasResult: st.kind.hasResult)
      }
      if let f = failure {
        write(renderFailure(f))
        if single == nil { record.comment(["\(text)    (not saved: \(f.message))"]) }
      }
    }
    if failure != nil {
      hadErrors = true
      return .failed
    }
    return interrupted ? .interrupted : .ran
  }

  /// The names and states the session keeps track of, from each statement that ran.
  private func track(_ step: Step, _ script: Script) {
    func name(_ r: SocketRef) -> String { script.socketNames[Int(r.slot)] }
    switch step.statement.kind {
    case .sock(let r, _):
      declare(name(r))
      if case .number = step.outcome { closedNames.remove(name(r)) }
    case .accept(_, let into, _):
      declare(name(into))
      if case .number = step.outcome { closedNames.remove(name(into)) }
    case .close(let r):
      if step.outcome == .ok { closedNames.insert(name(r)) }
    case .user:
      record.needsRoot = true
      record.needsLinux = true
    case .bind(_, let a) where a.isAbstract:
      record.needsLinux = true
    case .connect(_, .address(let a), _) where a.isAbstract:
      record.needsLinux = true
    default: break
    }
    if case .address(let a) = step.outcome, a.isAbstract { record.needsLinux = true }
  }

  private func declare(_ name: String) {
    if !declared.contains(name) { declared.append(name) }
  }

  /// How `:save` checks a step's outcome: socket names stand for addresses with kernel-chosen ports.
  private func savedExpectation(_ step: Step) -> SavedExpectation {
    SavedExpectation.of(step.outcome, after: step.statement.kind) { address in
      for b in interpreter.allBindings where b.owned && !closedNames.contains(b.name) {
        if case .address(let bound) = interpreter.backend.localName(b.fd), bound == address { return b.name }
      }
      return nil
    }
  }

  /// ` interrupt 1.234s` for a call that Ctrl-C interrupted, so that a replay is interrupted too.
  package static func interruptOption(_ kind: StatementKind, _ elapsed: TimeSpan) -> String? {
    let options: CallOptions
    switch kind {
    case .connect(_, _, let o), .accept(_, _, let o), .poll(_, _, _, let o): options = o
    default: return nil
    }
    if options.interrupt != nil { return nil }
    let ms = max(1, (elapsed.nanoseconds + 500_000) / 1_000_000)
    return " interrupt " + TimeSpan.milliseconds(ms).description
  }

  /// The `expect` statement whose range holds `offset` (a failed expectation's position).
  static func expectStatement(containing offset: UInt32, in statements: [Statement]) -> UInt32? {
    for st in statements {
      switch st.kind {
      case .expect where st.range.start <= offset && offset <= st.range.end: return st.range.start
      case .repeat(_, let body):
        if let found = expectStatement(containing: offset, in: body) { return found }
      default: break
      }
    }
    return nil
  }

  /// A `repeat` for `:save`: its body as typed, each statement followed by an `expect` that
  /// holds every outcome it had, unless a typed `expect` (that never failed) already follows.
  private func blockLines(
    _ st: Statement, _ source: SourceFile, _ aggregate: RepeatAggregate, _ failedExpects: Set<UInt32>, indent: String
  ) -> [String] {
    guard case .repeat(let count, let body) = st.kind else { return [indent + source.text(st.range)] }
    var lines = [indent + "repeat \(count) {"]
    let inner = indent + "  "
    for (j, b) in body.enumerated() {
      switch b.kind {
      case .expect:
        if !failedExpects.contains(b.range.start) { lines.append(inner + source.text(b.range)) }
      case .repeat:
        lines += blockLines(b, source, aggregate, failedExpects, indent: inner)
      default:
        lines.append(inner + source.text(b.range))
        var typedFollows = false
        if j + 1 < body.count, case .expect = body[j + 1].kind, !failedExpects.contains(body[j + 1].range.start) {
          typedFollows = true
        }
        if b.kind.hasResult && !typedFollows, let saved = aggregate.saved(b.range.start), let line = SavedExpectation.line(saved) {
          lines.append(inner + line)
        }
      }
    }
    lines.append(indent + "}")
    return lines
  }

  // MARK: - Commands

  private func command(_ text: String) {
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
            + (closestName(to: argument, in: all).map { " (did you mean '\($0)'?)" } ?? "; :help lists what there is"))
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
      error("unknown command '\(name)'" + (closestName(to: name, in: all).map { " (did you mean '\($0)'?)" } ?? "") + "; :help lists the commands")
    }
  }

  private func noArgument(_ name: String, _ argument: String) -> Bool {
    if argument.isEmpty { return true }
    error("\(name) takes no argument")
    return false
  }

  /// Closes everything and starts a fresh session on `options.backend`; returns how many
  /// descriptors were closed.
  @discardableResult
  private func restart() -> Int {
    let open = interpreter.allBindings.filter { $0.owned && !closedNames.contains($0.name) }.count
    interpreter.finish()
    interpreter = Self.makeInterpreter(options, router)
    declared = []
    closedNames = []
    record = SessionRecord()
    pendingBytes = []
    pendingLines = []
    return open
  }

  private func backend(_ argument: String) {
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
    note("now on the \(argument) backend; the session starts afresh (\(closed) descriptor\(closed == 1 ? "" : "s") closed)")
  }

  private func save(_ argument: String) {
    guard !argument.isEmpty else { return error("usage: :save FILE") }
    let path = expandPath(argument)
    if Host.kind(of: path) == .directory { return error("cannot save to \(path): it is a directory") }
    let dir = Host.directoryPart(of: path)
    if Host.kind(of: dir) != .directory { return error("cannot save to \(path): there is no directory \(dir)") }
    do throws(HostError) {
      try Host.writeFile(path, record.render(backend: interpreter.backend.name))
    } catch {
      switch error {
      case .unreadable(_, let why): return self.error("cannot save to \(path): \(why)")
      default: return self.error("cannot save to \(path): \(error.description)")
      }
    }
    let n = record.statementCount
    note("saved \(n) statement\(n == 1 ? "" : "s") to \(path); replay it with: conn run \(path)")
  }

  private func load(_ argument: String) {
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
      if script.diagnostics.count > shown.count { note("\(script.diagnostics.count - shown.count) more problems not shown") }
      error("\(path) was not loaded: fix the errors above first")
      return
    }
    if runScript(script, echo: true) {
      note("loaded \(path)")
    }
  }

  private func expandPath(_ argument: String) -> String {
    var p = argument
    if p.count >= 2, p.hasPrefix("\""), p.hasSuffix("\"") { p = String(p.dropFirst().dropLast()) }
    if p == "~" || p.hasPrefix("~/"), let home = Host.homeDirectory { p = home + p.dropFirst() }
    return p
  }

  // MARK: - :sockets

  private func sockets() {
    let bindings = interpreter.allBindings
    if bindings.isEmpty {
      write("no sockets yet\n")
      return
    }
    let backend = interpreter.backend
    var rows = [["NAME", "FD", "KIND", "STATE", "LOCAL", "PEER"]]
    for b in bindings {
      var kind: String
      switch b.spec {
      case .socket(let k, _)?: kind = "\(k.type.rawValue) \(k.family.rawValue)"
      case .descriptor?: kind = "fd"
      case .file?: kind = "file"
      case nil: kind = Self.kindName(backend, b.fd)
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
    case .unspec: return false
    }
  }

  /// "stream inet" for an accepted socket, from SO_TYPE and SO_DOMAIN (Linux numbers).
  static func kindName(_ backend: Backend, _ fd: Descriptor) -> String {
    guard case .number(let t)? = try? backend.getOption(fd, .SO_TYPE),
      case .number(let d)? = try? backend.getOption(fd, .SO_DOMAIN)
    else { return "socket" }
    let type = [1: "stream", 2: "dgram", 5: "seqpacket"][t] ?? "type \(t)"
    let family = [1: "unix", 2: "inet", 10: "inet6"][d] ?? "family \(d)"
    return "\(type) \(family)"
  }

  // MARK: - Output

  private func paint(_ s: String, _ code: String) -> String { ansiPaint(s, code, options.color) }

  private func paintOutcome(_ o: Outcome) -> String {
    o.isError ? paint(o.description, "1;31") : paint(o.description, "32")
  }

  private func error(_ message: String) {
    write(paint("error:", "1;31") + " " + printable(message) + "\n")
    hadErrors = true
  }

  private func note(_ message: String) {
    write(paint("(" + printable(message) + ")", "2") + "\n")
  }

  /// Text with C0 and C1 control characters (but newlines) shown as '?'.
  func printable(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
      let v = u.value
      out.append((v < 0x20 && v != 0x0A) || (v >= 0x7F && v < 0xA0) ? "?" : u)
    }
    return String(out)
  }

  private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }

  /// A statement as shown beside its outcome: one line, not too long.
  private func displayText(_ s: String) -> String {
    let flat = s.map { $0 == "\n" || $0 == "\t" ? " " : $0 }
    return flat.count > 60 ? String(flat.prefix(57)) + "..." : String(flat)
  }

  /// Where a problem is: nothing for a single typed line (the excerpt shows it), the line
  /// number in a typed block, file:line:col in a loaded file.
  private func location(_ source: SourceFile, _ offset: UInt32) -> String {
    let (line, col) = source.location(of: offset)
    if source.name != "<repl>" { return "\(source.name):\(line):\(col): " }
    return source.bytes.contains(0x0A) ? "line \(line): " : ""
  }

  /// The line and a caret under the range. Whatever the line holds, no control character
  /// reaches the terminal: pasted bytes cannot move the cursor or change colours.
  private func excerpt(_ source: SourceFile, _ range: SourceRange) -> String {
    let plain = printable(DiagnosticRenderer(color: false).excerpt(source, range))
    guard options.color else { return plain }
    var lines = plain.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.count >= 2 { lines[lines.count - 2] = Substring(paint(String(lines[lines.count - 2]), "1;32")) }
    return lines.joined(separator: "\n")
  }

  private func printDiagnostics(_ diagnostics: [Diagnostic], _ source: SourceFile) {
    for var d in diagnostics.prefix(Self.maxDiagnosticsShown) {
      // The parser saw one line; the session knows the names declared on earlier ones.
      if d.id == "check.undeclared-socket", let near = closestName(to: source.text(d.range), in: declared, maxDistance: 2) {
        d.hint = "did you mean '\(near)'?"
      }
      let label: String
      switch d.severity {
      case .error: label = paint("error:", "1;31")
      case .warning: label = paint("warning:", "1;35")
      case .note: label = paint("note:", "1;36")
      }
      var out = paint(location(source, d.range.start), "1") + label + " " + paint(printable(d.message), "1") + "\n"
      out += excerpt(source, d.range)
      if let h = d.hint { out += "  " + paint("hint:", "1;36") + " \(printable(h))\n" }
      write(out)
    }
    if diagnostics.count > Self.maxDiagnosticsShown {
      note("\(diagnostics.count - Self.maxDiagnosticsShown) more problems not shown")
    }
  }

  private func printProblem(_ message: String, _ source: SourceFile, _ range: SourceRange, hint: String? = nil) {
    var d = Diagnostic(id: "repl.unsupported", message, at: range)
    d.hint = hint
    printDiagnostics([d], source)
  }

  private func renderFailure(_ f: Failure) -> String {
    let label = f.kind == .expectation || f.kind == .tooSlow ? paint("FAIL:", "1;31") : paint("stopped:", "1;31")
    var out = paint(location(f.source, f.range.start), "1") + label + " " + paint(printable(f.message), "1") + "\n"
    out += excerpt(f.source, f.range)
    if let e = f.expected { out += "  expected: \(printable(e))\n" }
    if let a = f.actual { out += "  actual:   \(a)\n" }
    if let x = f.explanation { out += "  " + paint("meaning:", "1;36") + " \(x)\n" }
    return out
  }

  private func printAggregate(_ aggregate: RepeatAggregate) {
    if aggregate.entries.isEmpty {
      note("no statement ran")
      return
    }
    let width = min(40, aggregate.entries.map { displayText($0.text).count }.max() ?? 0)
    var out = ""
    for e in aggregate.entries {
      var parts: [String] = []
      for (desc, isError, count) in e.counts {
        let shown = isError ? paint(desc, "1;31") : paint(desc, "32")
        parts.append(count > 1 ? "\(shown) (x\(count))" : shown)
      }
      if e.others > 0 { parts.append("\(e.others) more") }
      out += "  " + pad(displayText(e.text), width) + "  " + paint("= ", "2") + parts.joined(separator: " | ") + "\n"
    }
    write(out)
  }
}

// MARK: - Helpers

/// Forwards the interpreter's steps to whatever statement is running now.
final class StepRouter {
  var sink: ((Step) -> Void)?
}

/// The outcomes of the statements inside a `repeat`, counted, for printing and for `:save`.
struct RepeatAggregate {
  struct Entry {
    var text: String
    /// Distinct outcomes in the order they first came: description, is an errno, count.
    var counts: [(String, Bool, Int)] = []
    /// Steps whose outcome was not among the first few distinct ones.
    var others = 0
    var seen: Set<String> = []
    var saved: [SavedExpectation] = []
  }
  static let distinctShown = 4

  private(set) var entries: [Entry] = []
  private var index: [UInt32: Int] = [:]

  mutating func add(_ step: Step, text: () -> String, saved: () -> SavedExpectation) {
    let key = step.statement.range.start
    let i: Int
    if let k = index[key] {
      i = k
    } else {
      i = entries.count
      index[key] = i
      entries.append(Entry(text: text()))
    }
    let desc = step.outcome.description
    if let c = entries[i].counts.firstIndex(where: { $0.0 == desc }) {
      entries[i].counts[c].2 += 1
      return
    }
    if entries[i].counts.count < Self.distinctShown {
      entries[i].counts.append((desc, step.outcome.isError, 1))
    } else {
      entries[i].others += 1
    }
    // Work out how `:save` checks this outcome once per distinct outcome.
    if entries[i].seen.insert(desc).inserted {
      let s = saved()
      if !entries[i].saved.contains(s) { entries[i].saved.append(s) }
    }
  }

  func saved(_ start: UInt32) -> [SavedExpectation]? {
    index[start].map { entries[$0].saved }
  }
}

extension String {
  var trimmingSpaces: String {
    String(drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
  }
}

// MARK: - Interrupting a session's calls

/// Wraps the session's backend so that Ctrl-C stops a statement that does not block in the
/// kernel too: once the key is pressed, the next call that can fail as a tool fails with
/// "interrupted", which ends a long `repeat`. A call blocked in the kernel needs no help: the
/// signal makes it return EINTR, which is the answer shown. `sleep` waits in slices, so that
/// Ctrl-C ends it as well.
///
/// A `repeat` of calls that never block (`sock`, `close`...) passes none of those checks, so
/// the REPL also sets `stopRequested` after a step during which Ctrl-C came: the clock then
/// reads as past the session's deadline, and the interpreter stops before its next statement.
final class InterruptibleBackend: Backend {
  let inner: Backend
  init(_ inner: Backend) { self.inner = inner }

  /// The session's deadline (100 years), and how far the clock jumps to pass it.
  static let sessionLimit = TimeSpan.seconds(100 * 365 * 86_400)
  static let jump = TimeSpan.seconds(150 * 365 * 86_400)
  static let interruptedMessage = "interrupted (Ctrl-C)"
  var stopRequested = false

  var name: String { inner.name }
  var trace: ((String) -> Void)? {
    get { inner.trace }
    set { inner.trace = newValue }
  }
  func now() -> TimeSpan { stopRequested ? inner.now() + Self.jump : inner.now() }

  private func check() throws(BackendError) {
    if Host.interruptPending || stopRequested { throw .failed(Self.interruptedMessage) }
  }

  func beginScenario(netRules: [NetRule]) throws(BackendError) { try inner.beginScenario(netRules: netRules) }
  func endScenario(closing descriptors: [Descriptor]) { inner.endScenario(closing: descriptors) }
  func socket(_ kind: SocketKind, nonblocking: Bool) -> Outcome { inner.socket(kind, nonblocking: nonblocking) }
  func openFile(_ path: String) -> Outcome { inner.openFile(path) }
  func bind(_ fd: Descriptor, _ address: SocketAddress) -> Outcome { inner.bind(fd, address) }
  func listen(_ fd: Descriptor, backlog: Int32) -> Outcome { inner.listen(fd, backlog: backlog) }
  func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    try check()
    return try inner.connect(fd, target, options, limit: limit)
  }
  func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    try check()
    return try inner.accept(fd, options, limit: limit)
  }
  func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome { inner.setNonblocking(fd, on) }
  func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError) -> Outcome {
    try check()
    return try inner.setOption(fd, option, value)
  }
  func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    try check()
    return try inner.getOption(fd, option)
  }
  func poll(_ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    try check()
    return try inner.poll(fd, events, timeout: timeout, options, limit: limit)
  }
  func peerName(_ fd: Descriptor) -> Outcome { inner.peerName(fd) }
  func localName(_ fd: Descriptor) -> Outcome { inner.localName(fd) }
  func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome { inner.shutdown(fd, how) }
  func close(_ fd: Descriptor) -> Outcome { inner.close(fd) }
  func sleep(_ duration: TimeSpan, limit: TimeSpan) throws(BackendError) {
    try check()
    var left = min(duration, limit)
    let slice = TimeSpan.milliseconds(50)
    while left > .zero {
      let step = min(left, slice)
      try inner.sleep(step, limit: limit)
      left = left - step
      try check()
    }
    if duration > limit { throw .timedOut(limit) }
  }
  func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome {
    try check()
    return try inner.setUser(user)
  }
}
