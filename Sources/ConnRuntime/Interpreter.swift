import ConnSyntax

// The interpreter runs a compiled `Program` through a `Backend`, one instruction at a time, with
// a program counter and a stack of loop counters. It keeps the outcome of the last statement and
// evaluates `expect` against it. The rule that makes scenarios trustworthy: a statement that
// ends in an errno must be followed by an `expect` that names it, or the scenario fails there.
//
// The rules both backends follow are applied here, once: the limit of each blocking call (the
// user's timeout, or what is left of the scenario's limit), `connect ... nonblock` (O_NONBLOCK
// is set first), and `sleep` (clamped to the limit; a sleep a signal cut short goes on unless a
// stop was requested).
//
// Limits nothing escapes: before every statement, and every `checkInterval` instructions inside
// loops (an empty `repeat` body included), the scenario's deadline is checked in the backend's
// time, and for a simulated backend in real time as well. A stop request (Ctrl-C in the REPL, a
// signal to the runner) is checked after every statement and every loop iteration.

package struct RunOptions: Sendable {
  /// The limit on every blocking call.
  package var timeout: TimeSpan = .seconds(10)
  /// The limit on the whole scenario (backend time, and real time too), or nil.
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

/// What one call to `step()` did.
package enum StepEvent: Sendable {
  /// A statement other than `expect` ran (the expects before it passed).
  case ran(Step)
  /// The program ended well.
  case finished
  case failed(Failure)
}

package final class Interpreter {
  package let backend: Backend
  @exclusivity(unchecked) package var options: RunOptions
  /// Called after every statement that ran (not for `expect`).
  @exclusivity(unchecked) package var onStep: ((Step) -> Void)?
  /// Asked after every statement and loop iteration: true stops the run with a `.stopped`
  /// failure (the statement that was running keeps its outcome).
  @exclusivity(unchecked) package var stopRequested: (() -> Bool)?
  /// Why a stop was requested, for the failure's message.
  package var stopReason = "interrupted"
  /// Instructions between two looks at the clock inside loops.
  package static let checkInterval = 1024

  // The state below is read on every statement, by this class alone, on one thread: no run-time
  // exclusivity check (it cost as much as a simulated call).

  // MARK: Bindings (by session slot)

  private var names: [String] = []
  private var slotByName: [String: Slot] = [:]
  @exclusivity(unchecked) private(set) var fds: [Descriptor] = []
  @exclusivity(unchecked) private var specs: [SocketSpec?] = []
  @exclusivity(unchecked) private var ownedFlags: [Bool] = []
  /// Descriptors this run opened and has not closed: closed at the end.
  @exclusivity(unchecked) private var opened = OpenDescriptors()

  // MARK: The running program

  @exclusivity(unchecked) private var program: Program?
  @exclusivity(unchecked) private var pc = 0
  @exclusivity(unchecked) private var loops: [(remaining: Int, body: Int)] = []
  /// The last clock reading: a statement's start is the previous one's end.
  @exclusivity(unchecked) private var clock = TimeSpan.zero
  @exclusivity(unchecked) private var sinceCheck = 0
  private var started = false
  /// Backend time after which the scenario fails (from `scenarioTimeout`), and the same in real time.
  @exclusivity(unchecked) private var deadline: TimeSpan?
  @exclusivity(unchecked) private var realDeadline: ContinuousClock.Instant?

  // MARK: The last statement

  @exclusivity(unchecked) package private(set) var lastOutcome: Outcome?
  @exclusivity(unchecked) private(set) var lastElapsed = TimeSpan.zero
  /// The last statement that ran (the REPL's context for an `expect` typed on its own line):
  /// where it is, read only when asked for.
  @exclusivity(unchecked) private var lastProgram: Program?
  @exclusivity(unchecked) private var lastIndex = -1
  package var lastStatement: StatementKind? {
    guard let p = lastProgram, lastIndex >= 0 else { return nil }
    return p.statements[lastIndex].kind
  }

  /// Records the statement at `index` as the last that ran (the program is retained only when
  /// it changes: not on every statement).
  @inline(__always)
  private func setLast(_ p: Program, _ index: Int) {
    if lastProgram !== p { lastProgram = p }
    lastIndex = index
  }

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
      return .failure(
        Failure(
          kind: .backend, message: error.message, range: script.netRules.first?.1 ?? .none,
          source: script.source))
    }
    return execute(script)
  }

  /// Prepares the backend (network rules). Called once before the first `execute`.
  package func begin(netRules: [NetRule]) throws(BackendError) {
    try backend.beginScenario(netRules: netRules)
    started = true
    deadline = options.scenarioTimeout.map { backend.now() + $0 }
    realDeadline = options.scenarioTimeout.map { ContinuousClock.now + .nanoseconds($0.nanoseconds) }
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
    lastProgram = nil
    lastIndex = -1
    program = nil
    loops = []
    started = false
  }

  /// Runs a script's statements, keeping sockets from earlier calls. The REPL calls this once
  /// per typed line.
  package func execute(_ script: Script) -> Result<Void, Failure> {
    if let f = load(script) { return .failure(f) }
    while true {
      switch advance(pausing: false) {
      case .finished: return .success(())
      case .failed(let f): return .failure(f)
      case .ran: continue
      }
    }
  }

  /// Loads a script to run with `step()` (begins the scenario if it has not begun).
  package func load(_ script: Script) -> Failure? {
    if !started {
      do throws(BackendError) {
        try begin(netRules: [])
      } catch {
        return Failure(kind: .backend, message: error.message, range: .none, source: script.source)
      }
    }
    program = Program(script, slot: slot(for:))
    pc = 0
    loops = []
    clock = backend.now()
    return nil
  }

  /// Runs up to and including the next statement (the `expect`s before it are checked).
  package func step() -> StepEvent { advance(pausing: true) }

  // MARK: - Bindings

  package func slot(for name: String) -> Slot {
    if let s = slotByName[name] { return s }
    let s = Slot(names.count)
    slotByName[name] = s
    names.append(name)
    fds.append(-1)
    specs.append(nil)
    ownedFlags.append(false)
    return s
  }

  package func binding(named name: String) -> SocketBinding? {
    guard let s = slotByName[name] else { return nil }
    return binding(s)
  }

  private func binding(_ s: Slot) -> SocketBinding? {
    let i = Int(s)
    return fds[i] < 0 ? nil : SocketBinding(name: names[i], fd: fds[i], spec: specs[i], owned: ownedFlags[i])
  }

  /// Every name that has a descriptor, in the order the names first appeared.
  package var allBindings: [SocketBinding] { names.indices.compactMap { binding(Slot($0)) } }

  private func declare(_ s: Slot, fd: Descriptor, spec: SocketSpec?, owned: Bool) {
    let i = Int(s)
    fds[i] = fd
    specs[i] = spec
    ownedFlags[i] = owned
    if owned { opened.add(fd) }
  }

  // MARK: - Execution

  /// Runs instructions until the program ends, fails, or (when `pausing`) a statement has run.
  private func advance(pausing: Bool) -> StepEvent {
    guard let p = program else { return .finished }
    do throws(Failure) {
      while pc < p.code.count {
        let here = pc
        switch p.code[here] {
        case .expect(let index):
          try check(p, here, index)
          pc += 1
        case .loop(let count, let exit):
          if count > 0 {
            loops.append((count, here + 1))
            backend.repeatLoop(true)
            pc += 1
          } else {
            pc = Int(exit)
          }
          try countInstruction(p, here)
        case .next:
          loops[loops.count - 1].remaining -= 1
          if loops[loops.count - 1].remaining > 0 {
            pc = loops[loops.count - 1].body
          } else {
            loops.removeLast()
            backend.repeatLoop(false)
            // What a block leaves behind is not a statement an `expect` could check.
            lastOutcome = nil
            setLast(p, here)
            pc += 1
          }
          try countInstruction(p, here)
          if let stop = stopRequested, stop() { throw stopped(p, here) }
        case .applied:
          // Topology is set up before the first statement (beginScenario).
          lastOutcome = nil
          setLast(p, here)
          pc += 1
        default:
          let step = try perform(p, here)
          pc += 1
          if pausing {
            return .ran(
              step ?? Step(statement: p.statements[here], outcome: lastOutcome ?? .ok, elapsed: lastElapsed))
          }
        }
      }
      program = nil
      return .finished
    } catch {
      program = nil
      for _ in loops { backend.repeatLoop(false) }
      loops.removeAll()
      return .failed(error)
    }
  }

  /// Counts an instruction that is not a statement; now and then looks at the clocks.
  @inline(__always)
  private func countInstruction(_ p: Program, _ at: Int) throws(Failure) {
    sinceCheck += 1
    if sinceCheck >= Self.checkInterval {
      sinceCheck = 0
      clock = backend.now()
      try checkDeadlines(p, at)
    }
  }

  private func checkDeadlines(_ p: Program, _ at: Int) throws(Failure) {
    if let d = deadline, clock > d { throw limitFailure(p, at, virtual: backend.virtualTime) }
    if backend.virtualTime, let r = realDeadline, ContinuousClock.now > r {
      throw limitFailure(p, at, virtual: false)
    }
  }

  private func limitFailure(_ p: Program, _ at: Int, virtual: Bool) -> Failure {
    let limit = options.scenarioTimeout ?? .zero
    return Failure(
      kind: .limit,
      message:
        "scenario timed out after \(limit.description) of \(virtual ? "virtual" : "real") time (the limit on a whole scenario)",
      range: p.statements[at].range, source: p.source)
  }

  private func stopped(_ p: Program, _ at: Int) -> Failure {
    Failure(kind: .stopped, message: stopReason, range: p.statements[at].range, source: p.source)
  }

  /// Runs one statement: the call, its bookkeeping, the step report, the errno rule.
  private func perform(_ p: Program, _ at: Int) throws(Failure) -> Step? {
    let t0 = clock
    if let d = deadline, t0 > d { throw limitFailure(p, at, virtual: backend.virtualTime) }
    sinceCheck += 1
    if sinceCheck >= Self.checkInterval {
      sinceCheck = 0
      try checkDeadlines(p, at)
    }
    let limit = callLimit(timeout: options.timeout, scenarioLeft: deadline.map { $0 - t0 })
    let outcome = try call(p, at, limit: limit)
    clock = backend.now()
    let elapsed = clock - t0
    lastOutcome = outcome
    lastElapsed = elapsed
    setLast(p, at)
    var step: Step?
    if let onStep {
      step = Step(statement: p.statements[at], outcome: outcome, elapsed: elapsed)
      onStep(step!)
    }
    if let stop = stopRequested, stop() { throw stopped(p, at) }
    if outcome.isError && options.requireExpectations && !p.checked[at] {
      throw unexpected(outcome, p.statements[at], p.source)
    }
    return step
  }

  @inline(__always)
  private func fd(_ s: Slot, _ p: Program, _ at: Int) throws(Failure) -> Descriptor {
    let fd = fds[Int(s)]
    if fd < 0 {
      throw Failure(
        kind: .runtime, message: "socket '\(names[Int(s)])' has not been created",
        range: p.statements[at].range, source: p.source)
    }
    return fd
  }

  /// Runs a backend call that may fail as a tool (time limit, safety), turning that into a
  /// failure at the statement.
  @inline(__always)
  private func tool(_ p: Program, _ at: Int, _ body: () throws(BackendError) -> Outcome) throws(Failure)
    -> Outcome
  {
    do throws(BackendError) {
      return try body()
    } catch {
      throw Failure(kind: .backend, message: error.message, range: p.statements[at].range, source: p.source)
    }
  }

  private func call(_ p: Program, _ at: Int, limit: TimeSpan) throws(Failure) -> Outcome {
    switch p.code[at] {
    case .socket(let s, let kind, let nb):
      let outcome = backend.socket(kind, nonblocking: nb)
      if case .number(let fd) = outcome {
        declare(s, fd: Descriptor(fd), spec: .socket(kind, nonblocking: nb), owned: true)
      }
      return outcome
    case .descriptor(let s, let n):
      _ = try tool(p, at) { () throws(BackendError) in
        try backend.adopt(n)
        return .ok
      }
      declare(s, fd: n, spec: .descriptor(n), owned: false)
      return .number(Int64(n))
    case .openFile(let s, let path):
      let file = p.strings[Int(path)]
      let outcome = try tool(p, at) { () throws(BackendError) in try backend.openFile(file, limit: limit) }
      if case .number(let fd) = outcome { declare(s, fd: Descriptor(fd), spec: .file(file), owned: true) }
      return outcome
    case .bind(let s, let a):
      return backend.bind(try fd(s, p, at), p.addresses[Int(a)])
    case .listen(let s, let backlog):
      return backend.listen(try fd(s, p, at), backlog: backlog)
    case .connect(let s, let target, let o):
      let sock = try fd(s, p, at)
      let resolved: ResolvedTarget
      switch target {
      case .address(let a): resolved = .address(p.addresses[Int(a)])
      case .badPointer: resolved = .badPointer
      case .socket(let other): resolved = .address(try boundAddress(of: other, p, at))
      }
      // `nonblock`: O_NONBLOCK is set before the call, as a C program would.
      if o.nonblock {
        let set = backend.setNonblocking(sock, true)
        if set != .ok { return set }
      }
      return try tool(p, at) { () throws(BackendError) in try backend.connect(sock, resolved, o, limit: limit)
      }
    case .accept(let l, let into, let o):
      let listener = try fd(l, p, at)
      let outcome = try tool(p, at) { () throws(BackendError) in try backend.accept(listener, o, limit: limit)
      }
      if case .number(let c) = outcome { declare(into, fd: Descriptor(c), spec: nil, owned: true) }
      return outcome
    case .setNonblocking(let s, let on):
      return backend.setNonblocking(try fd(s, p, at), on)
    case .setOption(let s, let o, let v):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.setOption(sock, o, v) }
    case .getOption(let s, let o):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.getOption(sock, o) }
    case .poll(let s, let events, let timeout, let o):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in
        try backend.poll(sock, events, timeout: timeout, o, limit: limit)
      }
    case .peer(let s):
      return backend.peerName(try fd(s, p, at))
    case .local(let s):
      return backend.localName(try fd(s, p, at))
    case .shutdown(let s, let how):
      return backend.shutdown(try fd(s, p, at), how)
    case .close(let s):
      let sock = try fd(s, p, at)
      let outcome = backend.close(sock)
      if case .ok = outcome { opened.remove(sock) }
      return outcome
    case .sleep(let d):
      try sleep(d, limit: limit, p, at)
      return .ok
    case .user(let u):
      return try tool(p, at) { () throws(BackendError) in try backend.setUser(u) }
    case .expect, .applied, .loop, .next:
      return .ok
    }
  }

  /// `sleep D`: at most the call's limit (past it, the scenario fails as a call that timed
  /// out); a signal that cuts it short does not end it, unless a stop was requested.
  private func sleep(_ d: TimeSpan, limit: TimeSpan, _ p: Program, _ at: Int) throws(Failure) {
    var left = min(d, limit)
    var rounds = 0
    while left > .zero && rounds < 1000 {
      left = backend.sleep(left)
      rounds += 1
      if left > .zero, let stop = stopRequested, stop() { throw stopped(p, at) }
    }
    if d > limit {
      throw Failure(
        kind: .backend, message: BackendError.timedOut(limit).message, range: p.statements[at].range,
        source: p.source)
    }
  }

  /// The address a socket is bound to (getsockname), for `connect s l` and `expect l`.
  private func boundAddress(of other: Slot, _ p: Program, _ at: Int) throws(Failure) -> SocketAddress {
    let local = backend.localName(try fd(other, p, at))
    guard case .address(let a) = local else {
      throw Failure(
        kind: .runtime,
        message:
          "cannot read the address of '\(names[Int(other)])' (getsockname said \(local.expectationText))",
        range: p.statements[at].range, source: p.source)
    }
    return a
  }
}
