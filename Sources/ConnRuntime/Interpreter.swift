import ConnSyntax

// The interpreter executes a checked script statement by statement through a Backend. It keeps
// the outcome of the last statement and evaluates `expect` against it. The rule that makes
// scenarios trustworthy: a statement that ends in an errno must be followed by an `expect` that
// names it, or the scenario fails right there.

/// Why a scenario stopped early.
package struct Failure: Error, Sendable {
  package enum Kind: String, Sendable {
    /// An `expect` did not match.
    case expectation
    /// An errno with no `expect` after it.
    case unexpectedErrno
    /// The call took longer than `within` allowed.
    case tooSlow
    /// The tool stopped the call or refused it (time limit, safety, not modelled).
    case backend
    /// A name could not be resolved at run time (the address of an unbound socket...).
    case runtime
  }
  package var kind: Kind
  package var message: String
  package var range: SourceRange
  package var source: SourceFile
  package var expected: String?
  package var actual: String?
  /// The errno's meaning for connect(2), when an errno is involved.
  package var explanation: String?

  package var location: (line: Int, column: Int) { source.location(of: range.start) }
}

/// One executed statement, for the REPL, `-v`, and `:save`.
package struct Step: Sendable {
  package var statement: Statement
  package var outcome: Outcome
  package var elapsed: TimeSpan
}

package struct RunOptions: Sendable {
  /// The limit on every blocking call.
  package var timeout: TimeSpan = .seconds(10)
  /// The limit on the whole scenario (backend time), or nil.
  package var scenarioTimeout: TimeSpan?
  /// Fail at an errno that no `expect` names (scenarios). The REPL turns this off: it shows
  /// every outcome instead.
  package var requireExpectations = true
  package init() {}
}

/// A socket name's current binding.
package struct SocketBinding: Sendable {
  package var name: String
  package var fd: Descriptor
  package var spec: SocketSpec?
  /// Descriptors of `fd N` are not conn's to close.
  package var owned: Bool
}

package final class Interpreter {
  package let backend: Backend
  @exclusivity(unchecked) package var options: RunOptions
  /// Called after every statement that ran (not for `expect`).
  @exclusivity(unchecked) package var onStep: ((Step) -> Void)?

  /// Bindings by name id; names persist across `execute` calls (the REPL runs line by line).
  package var bindings: [SocketBinding?] {
    names.indices.map { i in
      fds[i] < 0 ? nil : SocketBinding(name: names[i], fd: fds[i], spec: specs[i], owned: ownedFlags[i])
    }
  }
  // A binding's parts, by name id, in separate arrays so that the hot path touches no strings:
  // `fds[id]` is -1 while the name has no descriptor.
  //
  // The state touched on every statement is marked `@exclusivity(unchecked)`: only this class's
  // own methods, on one thread, reach it, never with overlapping accesses, and the run-time
  // check on each access cost more than a loopback syscall's worth of the interpreter's time.
  private var names: [String] = []
  @exclusivity(unchecked) private var fds: [Descriptor] = []
  @exclusivity(unchecked) private var specs: [SocketSpec?] = []
  @exclusivity(unchecked) private var ownedFlags: [Bool] = []
  private var nameIDs: [String: Int] = [:]
  /// Descriptors this run opened and has not closed: closed at the end.
  @exclusivity(unchecked) private var opened = OpenDescriptors()
  @exclusivity(unchecked) package private(set) var lastOutcome: Outcome?
  /// The last statement that ran (the REPL's context for an `expect` typed on its own line).
  package var lastStatement: StatementKind? { lastIndex >= 0 ? lastBody[lastIndex].kind : nil }
  /// Where the last statement is: the block that holds it (kept alive here) and its index. The
  /// statement is copied out only when asked for.
  @exclusivity(unchecked) private var lastBody: [Statement] = []
  @exclusivity(unchecked) private var lastBodyBase: UnsafeRawPointer?
  @exclusivity(unchecked) private var lastIndex = -1
  private var started = false
  /// Backend time after which the scenario fails (from `scenarioTimeout`).
  @exclusivity(unchecked) private var deadline: TimeSpan?

  package init(backend: Backend, options: RunOptions = RunOptions()) {
    self.backend = backend
    self.options = options
  }

  // MARK: - Whole scenarios

  /// Runs a script start to finish, then closes everything it opened.
  package func run(_ script: Script) -> Result<Void, Failure> {
    defer { finish() }
    do throws(BackendError) {
      try begin(netRules: script.netRules.map(\.0))
    } catch {
      return .failure(Failure(kind: .backend, message: error.message, range: script.netRules.first?.1 ?? .none, source: script.source))
    }
    return execute(script)
  }

  /// Prepares the backend (network rules). Called once before the first `execute`.
  package func begin(netRules: [NetRule]) throws(BackendError) {
    try backend.beginScenario(netRules: netRules)
    started = true
    deadline = options.scenarioTimeout.map { backend.now() + $0 }
  }

  /// Closes every descriptor the session opened and lets the backend clean up.
  package func finish() {
    guard started else { return }
    backend.endScenario(closing: opened.all())
    opened = OpenDescriptors()
    for i in fds.indices {
      fds[i] = -1
      specs[i] = nil
      ownedFlags[i] = false
    }
    lastOutcome = nil
    lastBody = []
    lastBodyBase = nil
    lastIndex = -1
    started = false
  }

  /// Runs statements of a script, keeping sockets from earlier calls. The REPL calls this once
  /// per typed line.
  package func execute(_ script: Script) -> Result<Void, Failure> {
    if !started {
      do throws(BackendError) {
        try begin(netRules: [])
      } catch {
        return .failure(Failure(kind: .backend, message: error.message, range: .none, source: script.source))
      }
    }
    let ids = script.socketNames.map { id(for: $0) }
    let frame = Frame(script: script, ids: ids)
    do throws(Failure) {
      try run(script.statements, frame)
      return .success(())
    } catch {
      return .failure(error)
    }
  }

  private func id(for name: String) -> Int {
    if let i = nameIDs[name] { return i }
    let i = names.count
    nameIDs[name] = i
    names.append(name)
    fds.append(-1)
    specs.append(nil)
    ownedFlags.append(false)
    return i
  }

  package func binding(named name: String) -> SocketBinding? {
    guard let i = nameIDs[name], fds[i] >= 0 else { return nil }
    return SocketBinding(name: names[i], fd: fds[i], spec: specs[i], owned: ownedFlags[i])
  }

  package var allBindings: [SocketBinding] { bindings.compactMap { $0 } }

  // MARK: - Execution

  /// What the statements being run refer to: the script (names, source) and each name slot's
  /// binding id. A class, so passing it along costs nothing.
  final class Frame {
    let script: Script
    let ids: [Int]
    init(script: Script, ids: [Int]) {
      self.script = script
      self.ids = ids
    }
  }

  // The hot path. Statements are read in place through a pointer (no copy of a statement per
  // step), descriptors come from a plain array, and nothing here builds a string unless a
  // statement fails.
  private func run(_ statements: [Statement], _ frame: Frame) throws(Failure) {
    try statements.withUnsafeBufferPointer { (buf) throws(Failure) -> Void in
      guard let base = buf.baseAddress else { return }
      let n = buf.count
      var i = 0
      while i < n {
        let st = base + i
        switch st.pointee.kind {
        case .expect:
          try check(st, frame)
        case .repeat(let count, let body):
          backend.repeatLoop(true)
          defer { backend.repeatLoop(false) }
          var k = 0
          while k < count {
            try run(body, frame)
            k += 1
          }
          lastOutcome = nil
          setLast(statements, base, i)
        case .net:
          // Topology is set up before the first statement (beginScenario).
          lastOutcome = nil
        default:
          let t0 = backend.now()
          if let d = deadline, t0 > d {
            throw Failure(
              kind: .backend, message: "scenario timed out after \(options.scenarioTimeout!.description) (the limit on a whole scenario)",
              range: st.pointee.range, source: frame.script.source)
          }
          let outcome = try perform(st, frame, now: t0)
          let elapsed = backend.now() - t0
          lastOutcome = outcome
          lastElapsed = elapsed
          setLast(statements, base, i)
          if let onStep { onStep(Step(statement: st.pointee, outcome: outcome, elapsed: elapsed)) }
          if outcome.isError && options.requireExpectations {
            let nextIsExpect: Bool
            if i + 1 < n, case .expect = buf[i + 1].kind { nextIsExpect = true } else { nextIsExpect = false }
            if !nextIsExpect {
              throw unexpected(outcome, st.pointee, frame)
            }
          }
        }
        i += 1
      }
    }
  }

  /// Records the statement at `index` of `block` as the last one run; the block is retained only
  /// when it changes.
  @inline(__always)
  private func setLast(_ block: [Statement], _ base: UnsafePointer<Statement>, _ index: Int) {
    let raw = UnsafeRawPointer(base)
    if lastBodyBase != raw {
      lastBody = block
      lastBodyBase = raw
    }
    lastIndex = index
  }

  @exclusivity(unchecked) private var lastElapsed = TimeSpan.zero

  @inline(__always)
  private func fd(_ r: SocketRef, _ frame: Frame) throws(Failure) -> Descriptor {
    let fd = fds[frame.ids[Int(r.slot)]]
    if fd < 0 { throw notCreated(r, frame) }
    return fd
  }

  private func notCreated(_ r: SocketRef, _ frame: Frame) -> Failure {
    Failure(
      kind: .runtime, message: "socket '\(frame.script.socketNames[Int(r.slot)])' has not been created", range: r.range,
      source: frame.script.source)
  }

  private func declare(_ r: SocketRef, _ frame: Frame, fd: Descriptor, spec: SocketSpec?, owned: Bool) {
    let id = frame.ids[Int(r.slot)]
    fds[id] = fd
    specs[id] = spec
    ownedFlags[id] = owned
    if owned { opened.add(fd) }
  }

  private func limitFailure(_ e: BackendError, _ sp: UnsafePointer<Statement>, _ frame: Frame) -> Failure {
    Failure(kind: .backend, message: e.message, range: sp.pointee.range, source: frame.script.source)
  }

  /// Runs a backend call that may fail as a tool (time limit, safety), turning that into a
  /// failure at the statement.
  @inline(__always)
  private func call(_ sp: UnsafePointer<Statement>, _ frame: Frame, _ body: () throws(BackendError) -> Outcome) throws(Failure) -> Outcome {
    do throws(BackendError) {
      return try body()
    } catch {
      throw limitFailure(error, sp, frame)
    }
  }

  private func perform(_ sp: UnsafePointer<Statement>, _ frame: Frame, now: TimeSpan) throws(Failure) -> Outcome {
    var limit = options.timeout
    if let d = deadline {
      let left = d - now
      if left < limit { limit = TimeSpan(nanoseconds: max(left.nanoseconds, 1_000_000)) }
    }
    switch sp.pointee.kind {
    case .sock(let r, let spec):
      let outcome: Outcome
      switch spec {
      case .socket(let kind, let nonblocking):
        outcome = backend.socket(kind, nonblocking: nonblocking)
      case .descriptor(let n):
        declare(r, frame, fd: n, spec: spec, owned: false)
        return .number(Int64(n))
      case .file(let path):
        outcome = backend.openFile(path)
      }
      if case .number(let fd) = outcome { declare(r, frame, fd: Descriptor(fd), spec: spec, owned: true) }
      return outcome
    case .bind(let r, let a):
      return backend.bind(try fd(r, frame), a)
    case .listen(let r, let backlog):
      return backend.listen(try fd(r, frame), backlog: backlog ?? defaultListenBacklog)
    case .connect(let r, let target, let o):
      let s = try fd(r, frame)
      let resolved: ResolvedTarget
      switch target {
      case .address(let a): resolved = .address(a)
      case .badPointer: resolved = .badPointer
      case .boundAddressOf(let other):
        let local = backend.localName(try fd(other, frame))
        guard case .address(let a) = local else {
          throw Failure(
            kind: .runtime,
            message: "cannot read the address of '\(frame.script.socketNames[Int(other.slot)])' (getsockname said \(local.expectationText))",
            range: other.range, source: frame.script.source)
        }
        resolved = .address(a)
      }
      return try call(sp, frame) { () throws(BackendError) in try backend.connect(s, resolved, o, limit: limit) }
    case .accept(let l, let into, let o):
      let listener = try fd(l, frame)
      let outcome = try call(sp, frame) { () throws(BackendError) in try backend.accept(listener, o, limit: limit) }
      if case .number(let c) = outcome { declare(into, frame, fd: Descriptor(c), spec: nil, owned: true) }
      return outcome
    case .set(let r, let setting):
      switch setting {
      case .nonblocking(let on): return backend.setNonblocking(try fd(r, frame), on)
      case .option(let o, let v):
        let s = try fd(r, frame)
        return try call(sp, frame) { () throws(BackendError) in try backend.setOption(s, o, v) }
      }
    case .get(let r, let o):
      let s = try fd(r, frame)
      return try call(sp, frame) { () throws(BackendError) in try backend.getOption(s, o) }
    case .poll(let r, let events, let timeout, let o):
      let s = try fd(r, frame)
      return try call(sp, frame) { () throws(BackendError) in try backend.poll(s, events, timeout: timeout, o, limit: limit) }
    case .peer(let r):
      return backend.peerName(try fd(r, frame))
    case .local(let r):
      return backend.localName(try fd(r, frame))
    case .shutdown(let r, let how):
      return backend.shutdown(try fd(r, frame), how)
    case .close(let r):
      let s = try fd(r, frame)
      let outcome = backend.close(s)
      if case .ok = outcome { opened.remove(s) }
      return outcome
    case .sleep(let d, _):
      return try call(sp, frame) { () throws(BackendError) in
        try backend.sleep(d, limit: limit)
        return .ok
      }
    case .user(let u):
      return try call(sp, frame) { () throws(BackendError) in try backend.setUser(u) }
    case .expect, .net, .repeat:
      return .ok
    }
  }

  // MARK: - Expectations

  /// The errno's meaning for connect(2), for outcomes of connect or of SO_ERROR (a pending
  /// connect's result); other calls' errnos get no connect-specific text.
  private func explanation(_ o: Outcome, from kind: StatementKind?) -> String? {
    switch kind {
    case .connect?, .get(_, .SO_ERROR)?: break
    default: return nil
    }
    if case .failure(let e) = o {
      let info = ErrnoCatalog.info(e)
      guard let m = info.meaning else { return nil }
      return "\(e.name) from connect(2): \(m)" + (info.linuxNote.map { " (Linux: \($0))" } ?? "")
    }
    return nil
  }

  private func unexpected(_ o: Outcome, _ st: Statement, _ frame: Frame) -> Failure {
    Failure(
      kind: .unexpectedErrno,
      message: "unexpected \(o.expectationText) from '\(st.kind.keyword)' (no 'expect' names it)",
      range: st.range, source: frame.script.source, expected: "success", actual: o.description,
      explanation: explanation(o, from: st.kind))
  }

  func matches(_ e: Expectation, _ o: Outcome, _ frame: Frame) -> Bool {
    switch o {
    case .ok: return e.ok
    case .number(let n): return e.ok || e.numbers.contains(n)
    case .failure(let err): return e.errnos.contains(err)
    case .unknownErrno: return false
    case .events(let ev): return e.events.contains { ev.isSuperset(of: $0) }
    case .pollTimeout: return e.timeout
    case .address(let a):
      if e.addresses.contains(a) { return true }
      for r in e.sockets {
        let fd = fds[frame.ids[Int(r.slot)]]
        if fd >= 0, case .address(let bound) = backend.localName(fd), bound == a {
          return true
        }
      }
      return false
    }
  }

  private func check(_ sp: UnsafePointer<Statement>, _ frame: Frame) throws(Failure) {
    guard case .expect(let e) = sp.pointee.kind else { return }
    let st = sp.pointee
    guard let o = lastOutcome else {
      throw Failure(kind: .runtime, message: "nothing to check: no statement ran before this 'expect'", range: st.range, source: frame.script.source)
    }
    if !matches(e, o, frame) {
      let wanted = frame.script.source.text(e.textRange)
      throw Failure(
        kind: .expectation, message: "expected \(wanted), got \(o.expectationText)", range: e.textRange,
        source: frame.script.source, expected: wanted, actual: o.description, explanation: explanation(o, from: lastStatement))
    }
    if let w = e.within, lastElapsed > w {
      throw Failure(
        kind: .tooSlow, message: "the call took \(lastElapsed.humanDescription), more than the \(w.description) allowed by 'within'",
        range: st.range, source: frame.script.source, expected: "within \(w.description)", actual: lastElapsed.humanDescription)
    }
  }
}

/// Descriptors opened and not yet closed, with how many names opened each (a descriptor number
/// can come back after a close). Small numbers, the usual case, live in an array indexed by the
/// number; others in a dictionary.
struct OpenDescriptors {
  private var counts: [Int32] = []
  private var large: [Descriptor: Int32] = [:]
  private static let arrayLimit: Descriptor = 1 << 16

  mutating func add(_ fd: Descriptor) {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      if i >= counts.count { counts.append(contentsOf: repeatElement(0, count: max(i + 1 - counts.count, 64))) }
      counts[i] += 1
    } else {
      large[fd, default: 0] += 1
    }
  }

  mutating func remove(_ fd: Descriptor) {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      if i < counts.count && counts[i] > 0 { counts[i] -= 1 }
    } else if let c = large[fd] {
      large[fd] = c <= 1 ? nil : c - 1
    }
  }

  /// Every open descriptor, in ascending order.
  func all() -> [Descriptor] {
    var out: [Descriptor] = []
    for (fd, c) in counts.enumerated() where c > 0 { out.append(Descriptor(fd)) }
    for (fd, c) in large where c > 0 { out.append(fd) }
    out.sort()
    return out
  }
}

/// Renders a failure like a diagnostic: location, message, the line with a caret, expected and
/// actual, and the errno's meaning.
package struct FailureRenderer: Sendable {
  package var color: Bool
  package init(color: Bool) { self.color = color }

  package func render(_ f: Failure) -> String {
    let r = DiagnosticRenderer(color: color)
    let (line, col) = f.location
    func paint(_ s: String, _ code: String) -> String { ansiPaint(s, code, color) }
    var out = paint("\(f.source.name):\(line):\(col):", "1") + " " + paint("FAIL:", "1;31") + " " + paint(f.message, "1") + "\n"
    out += r.excerpt(f.source, f.range)
    if let e = f.expected { out += "  expected: \(e)\n" }
    if let a = f.actual { out += "  actual:   \(a)\n" }
    if let x = f.explanation { out += "  " + paint("meaning:", "1;36") + " \(x)\n" }
    return out
  }
}
