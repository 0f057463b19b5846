import ConnSyntax

// One file, past 600 lines, because it is one loop: the dispatch of every instruction kind,
// whose hot path the optimizer must see whole (splitting it across files cost inlining).
//
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

/// Where a name's descriptor came from (plain values: the interpreter stores one per statement).
package enum BindingOrigin: Sendable, Equatable, BitwiseCopyable {
  /// `sock NAME = TYPE FAMILY`.
  case socket(SocketKind)
  /// `sock NAME = fd N`.
  case descriptor
  /// `sock NAME = file "PATH"`.
  case file
  /// `accept ... as NAME`.
  case accepted
}

/// A slot's binding as the interpreter keeps it: plain values.
struct SlotState: BitwiseCopyable {
  var fd: Descriptor
  var origin: BindingOrigin
  var owned: Bool
  /// No descriptor yet. Not -1: `sock x = fd -1` is a name for the bad descriptor -1.
  static let empty = SlotState(fd: Int32.min, origin: .descriptor, owned: false)
}

/// A socket name's current binding.
package struct SocketBinding: Sendable {
  package var name: String
  package var fd: Descriptor
  package var origin: BindingOrigin
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
  /// Called after every statement and loop iteration: non-zero stops the run with a `.stopped`
  /// failure (the statement that was running keeps its outcome). A C function (the host's
  /// signal word): a few instructions, and never an old value.
  @exclusivity(unchecked) package var stopCheck: (@convention(c) () -> Int32)?
  /// Why a stop was requested, for the failure's message.
  package var stopReason = "interrupted"
  /// Instructions between two looks at the clock inside loops.
  package static let checkInterval = 1024

  // The state below is read on every statement, by this class alone, on one thread: no run-time
  // exclusivity check (it cost as much as a simulated call).

  // MARK: Bindings (by session slot)

  private(set) var names: [String] = []
  private var slotByName: [String: Slot] = [:]
  /// Host names by session number (`self` first), for the backend's topology.
  package private(set) var hostNames: [String] = ["self"]
  private var hostByName: [String: Int32] = ["self": 0]
  /// Each slot's descriptor (-1: none), where it came from, and whether the run owns it.
  let slots = PlainArray(filler: SlotState.empty)
  /// Descriptors this run opened and has not closed: closed at the end.
  private let opened = OpenDescriptors()

  // MARK: The running program

  @exclusivity(unchecked) private var program: Program?
  @exclusivity(unchecked) private var pc = 0
  @exclusivity(unchecked) private var loops: [(remaining: Int, body: Int)] = []
  /// The last clock reading: a statement's start is the previous one's end.
  @exclusivity(unchecked) private var clock = TimeSpan.zero
  @exclusivity(unchecked) private var sinceCheck = 0
  private var started = false
  /// Backend time (ns) after which the scenario fails (from `scenarioTimeout`; Int64.max: none),
  /// and the same in real time.
  @exclusivity(unchecked) private var deadlineNanoseconds = Int64.max
  @exclusivity(unchecked) private var timeoutNanoseconds = Int64.max
  @exclusivity(unchecked) private var realDeadline: ContinuousClock.Instant?

  // MARK: The last statement

  /// The last statement's outcome as plain values: stored on every statement, so it costs a
  /// few stores, not a copy of an enum that may hold an address.
  @exclusivity(unchecked) private(set) var last = LastOutcome()
  package var lastOutcome: Outcome? { last.outcome }
  @exclusivity(unchecked) private(set) var lastElapsed = TimeSpan.zero
  /// The last statement that ran (the REPL's context for an `expect` typed on its own line):
  /// where it is, read only when asked for.
  @exclusivity(unchecked) private var lastProgram: Program?
  @exclusivity(unchecked) private var lastIndex = -1
  /// The slots the last poll looked at, in order (for per-descriptor expectations).
  @exclusivity(unchecked) var lastPollSlots: [Slot] = []
  /// Calls under way in the background, by the slot of the socket they run on (`wait NAME`):
  /// the backend's number for the call, and the slot an accept declares when it is collected.
  @exclusivity(unchecked) private var background: [Slot: (id: Int32, acceptInto: Slot?)] = [:]
  /// The names of the sockets with a call in the background now (the REPL's checker asks).
  package var backgroundNames: Set<String> { Set(background.keys.map { names[Int($0)] }) }

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
    deadlineNanoseconds = options.scenarioTimeout.map { (backend.now() + $0).nanoseconds } ?? .max
    timeoutNanoseconds = options.timeout.nanoseconds
    realDeadline = options.scenarioTimeout.map { ContinuousClock.now + .nanoseconds($0.nanoseconds) }
  }

  /// Closes every descriptor the session opened and lets the backend clean up.
  package func finish() {
    guard started else { return }
    // The backend ends (interrupts) the calls still in the background before it closes anything.
    backend.endScenario(closing: opened.all())
    background.removeAll()
    opened.removeAll()
    slots.reset()
    // The backend took the hosts down with the scenario.
    hostNames = ["self"]
    hostByName = ["self": 0]
    last.clear()
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
    program = Program(script, slot: slot(for:), host: hostNumber(for:))
    pc = 0
    loops = []
    clock = backend.now()
    return nil
  }

  /// Runs up to and including the next statement (the `expect`s before it are checked).
  package func step() -> StepEvent { advance(pausing: true) }

  // MARK: - Bindings

  /// The session's number for a host name (`self` is 0; a new name gets the next number).
  package func hostNumber(for name: String) -> Int32 {
    if let h = hostByName[name] { return h }
    let h = Int32(hostNames.count)
    hostByName[name] = h
    hostNames.append(name)
    return h
  }

  package func slot(for name: String) -> Slot {
    if let s = slotByName[name] { return s }
    let s = Slot(names.count)
    slotByName[name] = s
    names.append(name)
    slots.append(.empty)
    return s
  }

  package func binding(named name: String) -> SocketBinding? {
    guard let s = slotByName[name] else { return nil }
    return binding(s)
  }

  private func binding(_ s: Slot) -> SocketBinding? {
    let i = Int(s)
    let state = slots[i]
    return state.fd == Int32.min
      ? nil : SocketBinding(name: names[i], fd: state.fd, origin: state.origin, owned: state.owned)
  }

  /// Every name that has a descriptor, in the order the names first appeared.
  package var allBindings: [SocketBinding] { names.indices.compactMap { binding(Slot($0)) } }

  @inline(__always)
  private func declare(_ s: Slot, fd: Descriptor, origin: BindingOrigin, owned: Bool) {
    slots[Int(s)] = SlotState(fd: fd, origin: origin, owned: owned)
    if owned { opened.add(fd) }
  }

  // MARK: - Execution

  /// Runs instructions until the program ends, fails, or (when `pausing`) a statement has run.
  ///
  /// The hot path of every scenario: per statement, one switch on a plain-value instruction,
  /// one clock read (a statement's start is the previous one's end), one look at the stop word,
  /// and the backend call. Nothing is copied or built unless someone asked for it (`onStep`).
  private func advance(pausing: Bool) -> StepEvent {
    guard let p = program else { return .finished }
    // Time may have passed since the last statement (a paused step, a REPL line): the kernel
    // backend bounds the next blocking call from this reading.
    clock = backend.now()
    do throws(Failure) {
      while pc < p.code.count {
        let here = pc
        let instruction = p.code[here]
        switch instruction {
        case .expect(let index):
          try check(p, here, index)
          pc += 1
          continue
        case .loop(let count, let exit):
          if count > 0 {
            loops.append((count, here + 1))
            pc += 1
          } else {
            pc = Int(exit)
          }
          try countInstruction(p, here)
          continue
        case .next:
          loops[loops.count - 1].remaining -= 1
          if loops[loops.count - 1].remaining > 0 {
            pc = loops[loops.count - 1].body
          } else {
            loops.removeLast()
            // What a block leaves behind is not a statement an `expect` could check.
            last.clear()
            setLast(p, here)
            pc += 1
          }
          try countInstruction(p, here)
          if let stop = stopCheck, stop() != 0 { throw stopped(p, here) }
          continue
        case .applied:
          // Topology is set up before the first statement (beginScenario).
          last.clear()
          setLast(p, here)
          pc += 1
          continue
        case .topology:
          try applyTopology(p, here)
          if let stop = stopCheck, stop() != 0 { throw stopped(p, pc - 1) }
          if onStep != nil || pausing, let st = lastStatementRan(p) {
            let step = Step(statement: st, outcome: .ok, elapsed: lastElapsed)
            onStep?(step)
            if pausing { return .ran(step) }
          }
          continue
        default:
          break
        }
        // A statement.
        let t0 = clock
        if t0.nanoseconds > deadlineNanoseconds { throw limitFailure(p, here, virtual: backend.virtualTime) }
        try countInstruction(p, here)
        // The call's limit: the user's timeout, or what is left of the scenario (at least 1 ms).
        let left = deadlineNanoseconds &- t0.nanoseconds
        let limit = left < timeoutNanoseconds ? TimeSpan(nanoseconds: max(left, 1_000_000)) : options.timeout
        let outcome = try call(instruction, p, here, limit: limit)
        if !background.isEmpty { backend.settle() }
        clock = backend.now()
        last.set(outcome)
        lastElapsed = clock - t0
        setLast(p, here)
        pc += 1
        if onStep != nil || pausing {
          let step = Step(statement: p.statements[here], outcome: outcome, elapsed: lastElapsed)
          onStep?(step)
          // Printing a step takes time: the next statement starts now.
          clock = backend.now()
          if let stop = stopCheck, stop() != 0 { throw stopped(p, here) }
          if outcome.isError && options.requireExpectations && !p.checked[here] {
            throw unexpected(outcome, p.statements[here], p.source)
          }
          if pausing { return .ran(step) }
          continue
        }
        if let stop = stopCheck, stop() != 0 { throw stopped(p, here) }
        if outcome.isError && options.requireExpectations && !p.checked[here] {
          throw unexpected(outcome, p.statements[here], p.source)
        }
      }
      program = nil
      return .finished
    } catch {
      program = nil
      loops.removeAll()
      return .failed(error)
    }
  }

  /// Counts an instruction; now and then looks at the clocks (an empty loop included).
  @inline(__always)
  private func countInstruction(_ p: Program, _ at: Int) throws(Failure) {
    sinceCheck &+= 1
    if sinceCheck >= Self.checkInterval {
      sinceCheck = 0
      clock = backend.now()
      try checkDeadlines(p, at)
    }
  }

  private func checkDeadlines(_ p: Program, _ at: Int) throws(Failure) {
    if clock.nanoseconds > deadlineNanoseconds { throw limitFailure(p, at, virtual: backend.virtualTime) }
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

  /// Carries out the topology statement at `at` and the ones right after it, as one change.
  private func applyTopology(_ p: Program, _ at: Int) throws(Failure) {
    var end = at
    var steps: [TopologyStatement] = []
    while end < p.code.count, case .topology(let i) = p.code[end] {
      steps.append(p.topology[Int(i)])
      end += 1
    }
    let t0 = backend.now()
    do throws(BackendError) {
      try backend.applyTopology(steps, hostNames: hostNames)
    } catch {
      var failedAt = at
      var why = error
      if case .inStep(let k, let e) = error {
        failedAt = at + max(0, min(k, steps.count - 1))
        why = e
      }
      throw Failure(
        kind: .backend, message: why.message, range: p.statements[failedAt].range, source: p.source)
    }
    clock = backend.now()
    lastElapsed = clock - t0
    last.clear()
    setLast(p, end - 1)
    pc = end
  }

  private func lastStatementRan(_ p: Program) -> Statement? {
    pc > 0 && pc - 1 < p.statements.count ? p.statements[pc - 1] : nil
  }

  private func stopped(_ p: Program, _ at: Int) -> Failure {
    Failure(kind: .stopped, message: stopReason, range: p.statements[at].range, source: p.source)
  }

  @inline(__always)
  private func fd(_ s: Slot, _ p: Program, _ at: Int) throws(Failure) -> Descriptor {
    let fd = slots[Int(s)].fd
    if fd == Int32.min { throw notCreated(s, p, at) }
    return fd
  }

  private func notCreated(_ s: Slot, _ p: Program, _ at: Int) -> Failure {
    Failure(
      kind: .runtime, message: "socket '\(names[Int(s)])' has not been created",
      range: p.statements[at].range,
      source: p.source)
  }

  /// Runs a backend call that may fail as a tool (time limit, safety), turning that into a
  /// failure at the statement.
  @inline(__always)
  private func tool<T>(_ p: Program, _ at: Int, _ body: () throws(BackendError) -> T) throws(Failure) -> T {
    do throws(BackendError) {
      return try body()
    } catch {
      throw Failure(kind: .backend, message: error.message, range: p.statements[at].range, source: p.source)
    }
  }

  private func call(_ instruction: Instruction, _ p: Program, _ at: Int, limit: TimeSpan) throws(Failure)
    -> Outcome
  {
    switch instruction {
    case .socket(let s, let kind, let nb, let host):
      let outcome =
        host == 0
        ? try tool(p, at) { () throws(BackendError) in try backend.socket(kind, nonblocking: nb, on: 0) }
        : try tool(p, at) { () throws(BackendError) in try backend.socket(kind, nonblocking: nb, on: host) }
      if case .number(let fd) = outcome {
        declare(s, fd: Descriptor(fd), origin: .socket(kind), owned: true)
      }
      return outcome
    case .descriptor(let s, let n):
      try tool(p, at) { () throws(BackendError) in try backend.adopt(n) }
      declare(s, fd: n, origin: .descriptor, owned: false)
      return .number(Int64(n))
    case .openFile(let s, let path):
      let file = p.strings[Int(path)]
      let outcome = try tool(p, at) { () throws(BackendError) in try backend.openFile(file, limit: limit) }
      if case .number(let fd) = outcome { declare(s, fd: Descriptor(fd), origin: .file, owned: true) }
      return outcome
    case .bind(let s, let a):
      let sock = try fd(s, p, at)
      let address = p.addresses[Int(a)]
      return try tool(p, at) { () throws(BackendError) in try backend.bind(sock, address) }
    case .bindSocket(let s, let other):
      let sock = try fd(s, p, at)
      let address = try boundAddress(of: other, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.bind(sock, address) }
    case .bindPortOf(let s, let a, let other):
      let sock = try fd(s, p, at)
      let address = try address(a, portOf: other, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.bind(sock, address) }
    case .listen(let s, let backlog):
      return backend.listen(try fd(s, p, at), backlog: backlog)
    case .connect(let s, let target, let o):
      let sock = try fd(s, p, at)
      let resolved = try resolve(target, p, at)
      // `nonblock`: O_NONBLOCK is set before the call, as a C program would.
      if o.nonblock {
        let set = backend.setNonblocking(sock, true)
        if set != .ok { return set }
      }
      if o.background {
        return try startBackground(s, p, at) { [backend] () throws(BackendError) in
          try backend.connect(sock, resolved, o, limit: limit)
        }
      }
      return try tool(p, at) { () throws(BackendError) in try backend.connect(sock, resolved, o, limit: limit)
      }
    case .accept(let l, let into, let o):
      let listener = try fd(l, p, at)
      if o.background {
        return try startBackground(l, acceptInto: into, p, at) { [backend] () throws(BackendError) in
          try backend.accept(listener, o, limit: limit)
        }
      }
      let outcome = try tool(p, at) { () throws(BackendError) in try backend.accept(listener, o, limit: limit)
      }
      if case .number(let c) = outcome { declare(into, fd: Descriptor(c), origin: .accepted, owned: true) }
      return outcome
    case .socketPair(let a, let b, let kind, let nb):
      var pair: (Descriptor, Descriptor)?
      let outcome = try tool(p, at) { () throws(BackendError) in
        let (o, fds) = try backend.socketPair(kind, nonblocking: nb)
        pair = fds
        return o
      }
      if let pair {
        declare(a, fd: pair.0, origin: .socket(kind), owned: true)
        declare(b, fd: pair.1, origin: .socket(kind), owned: true)
      }
      return outcome
    case .dup(let s, let into, let target):
      let old = try fd(s, p, at)
      let outcome = try tool(p, at) { () throws(BackendError) in
        try backend.dup(old, onto: target < 0 ? nil : target)
      }
      if case .number(let n) = outcome {
        // dup3 closed whatever was open at the number: it is counted once, as the duplicate.
        if target >= 0 { opened.remove(Descriptor(n)) }
        let origin = slots[Int(s)].origin
        // A number the scenario named with `fd N` is not conn's, but its duplicate is.
        declare(into, fd: Descriptor(n), origin: origin == .descriptor ? .accepted : origin, owned: true)
      }
      return outcome
    case .setNonblocking(let s, let on):
      return backend.setNonblocking(try fd(s, p, at), on)
    case .setOption(let s, let o, let v):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.setOption(sock, o, v) }
    case .setOptionNumber(let s, let n, let v):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.setOption(sock, number: n, v) }
    case .getOptionNumber(let s, let n):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.getOption(sock, number: n) }
    case .setCloseOnExec(let s, let on):
      return backend.setCloseOnExec(try fd(s, p, at), on)
    case .getFlag(let s, let f):
      return backend.getFlag(try fd(s, p, at), f)
    case .getOption(let s, let o):
      let sock = try fd(s, p, at)
      return try tool(p, at) { () throws(BackendError) in try backend.getOption(sock, o) }
    case .poll(let s, let events, let timeout, let o):
      let sock = try fd(s, p, at)
      lastPollSlots.removeAll(keepingCapacity: true)
      lastPollSlots.append(s)
      if o.background {
        return try startBackground(s, p, at) { [backend] () throws(BackendError) in
          try backend.poll(sock, events, timeout: timeout, o, limit: limit)
        }
      }
      return try tool(p, at) { () throws(BackendError) in
        try backend.poll(sock, events, timeout: timeout, o, limit: limit)
      }
    case .pollSet(let index, let timeout, let o):
      let set = p.pollSets[Int(index)]
      var polled: [PolledDescriptor] = []
      for d in set { polled.append(PolledDescriptor(try fd(d.slot, p, at), d.events)) }
      lastPollSlots.removeAll(keepingCapacity: true)
      for d in set { lastPollSlots.append(d.slot) }
      return try tool(p, at) { () throws(BackendError) in
        try backend.pollSet(polled, timeout: timeout, o, limit: limit)
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
    case .send(let s, let call, let data, let to, let flags, let o):
      let sock = try fd(s, p, at)
      var resolved: ResolvedTarget?
      if let to { resolved = try resolve(to, p, at) }
      let bytes = p.payloads[Int(data)]
      if o.background {
        return try startBackground(s, p, at) { [backend, resolved] () throws(BackendError) in
          try backend.send(sock, call, bytes, to: resolved, flags, o, limit: limit)
        }
      }
      return try tool(p, at) { () throws(BackendError) in
        try backend.send(sock, call, bytes, to: resolved, flags, o, limit: limit)
      }
    case .receive(let s, let call, let max, let flags, let o):
      let sock = try fd(s, p, at)
      if o.background {
        return try startBackground(s, p, at) { [backend] () throws(BackendError) in
          try backend.receive(sock, call, max: Int(max), flags, o, limit: limit)
        }
      }
      return try tool(p, at) { () throws(BackendError) in
        try backend.receive(sock, call, max: Int(max), flags, o, limit: limit)
      }
    case .user(let u):
      return try tool(p, at) { () throws(BackendError) in try backend.setUser(u) }
    case .wait(let s):
      guard let b = background.removeValue(forKey: s) else {
        throw Failure(
          kind: .runtime, message: "no call of '\(names[Int(s)])' runs in the background",
          range: p.statements[at].range, source: p.source)
      }
      let outcome = try tool(p, at) { () throws(BackendError) in try backend.waitBackground(b.id) }
      if let into = b.acceptInto, case .number(let c) = outcome {
        declare(into, fd: Descriptor(c), origin: .accepted, owned: true)
      }
      return outcome
    case .signal(let s):
      guard let b = background[s] else {
        throw Failure(
          kind: .runtime, message: "no call of '\(names[Int(s)])' runs in the background",
          range: p.statements[at].range, source: p.source)
      }
      try tool(p, at) { () throws(BackendError) in try backend.signalBackground(b.id) }
      return .ok
    case .drop(let u):
      return try tool(p, at) { () throws(BackendError) in try backend.dropPrivileges(u) }
    case .landlock(let index):
      let layer = try p.landlocks[Int(index)].mapPorts { (port: CompiledPort) throws(Failure) -> UInt16 in
        switch port {
        case .number(let n): return n
        case .portOf(let other): return try boundPort(of: other, p, at)
        }
      }
      return try tool(p, at) { () throws(BackendError) in try backend.restrict(layer) }
    case .file(let index):
      let op = p.fileOperations[Int(index)]
      return try tool(p, at) { () throws(BackendError) in try backend.file(op) }
    case .expect, .applied, .loop, .next, .topology:
      return .ok
    }
  }

  /// Starts `body` in the background on socket slot `s` (one at a time per socket).
  private func startBackground(
    _ s: Slot, acceptInto: Slot? = nil, _ p: Program, _ at: Int,
    _ body: @escaping () throws(BackendError) -> Outcome
  ) throws(Failure) -> Outcome {
    if background[s] != nil {
      throw Failure(
        kind: .runtime,
        message:
          "'\(names[Int(s)])' has a call in the background already: 'wait \(names[Int(s)])' for it first",
        range: p.statements[at].range, source: p.source)
    }
    let id = try tool(p, at) { () throws(BackendError) in try backend.startBackground(body) }
    background[s] = (id, acceptInto)
    return .ok
  }

  /// `sleep D`: at most the call's limit (past it, the scenario fails as a call that timed
  /// out); a signal that cuts it short does not end it, unless a stop was requested.
  private func sleep(_ d: TimeSpan, limit: TimeSpan, _ p: Program, _ at: Int) throws(Failure) {
    var left = min(d, limit)
    var rounds = 0
    while left > .zero && rounds < 1000 {
      left = backend.sleep(left)
      rounds += 1
      if left > .zero, let stop = stopCheck, stop() != 0 { throw stopped(p, at) }
    }
    if d > limit {
      throw Failure(
        kind: .backend, message: BackendError.timedOut(limit).message, range: p.statements[at].range,
        source: p.source)
    }
  }

  /// The address a socket is bound to (getsockname), for `connect s l` and `expect l`.
  private func resolve(_ target: CompiledTarget, _ p: Program, _ at: Int) throws(Failure) -> ResolvedTarget {
    switch target {
    case .address(let a): return .address(p.addresses[Int(a)])
    case .socket(let other): return .address(try boundAddress(of: other, p, at))
    case .portOf(let a, let other): return .address(try address(a, portOf: other, p, at))
    case .badPointer: return .badPointer
    case .nullPointer: return .nullPointer
    case .family(let f): return .family(f)
    }
  }

  /// `127.0.0.1:l`: the written address with the port socket `other` is bound to.
  private func address(_ index: Int32, portOf other: Slot, _ p: Program, _ at: Int) throws(Failure)
    -> SocketAddress
  {
    p.addresses[Int(index)].withPort(try boundPort(of: other, p, at))
  }

  /// The port socket `other` is bound to (`127.0.0.1:l`, `landlock connect l`).
  private func boundPort(of other: Slot, _ p: Program, _ at: Int) throws(Failure) -> UInt16 {
    let bound = try boundAddress(of: other, p, at)
    guard let port = bound.port else {
      throw Failure(
        kind: .runtime,
        message: "'\(names[Int(other)])' is bound to \(bound.description), which has no port",
        range: p.statements[at].range, source: p.source)
    }
    return port
  }

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

/// An outcome as plain values: its kind and a number (the descriptor, the errno, the events);
/// the rare outcomes that carry more (an address, an errno without a name) keep the whole value.
struct LastOutcome {
  enum Kind: UInt8 { case none, ok, number, failure, events, pollTimeout, rich }
  private(set) var kind = Kind.none
  private(set) var value: Int64 = 0
  private var rich: Outcome?

  @inline(__always)
  mutating func set(_ o: Outcome) {
    if kind == .rich { rich = nil }
    switch o {
    case .ok: kind = .ok
    case .number(let n):
      kind = .number
      value = n
    case .failure(let e):
      kind = .failure
      value = Int64(e.rawValue)
    case .events(let ev):
      kind = .events
      value = Int64(ev.rawValue)
    case .pollTimeout: kind = .pollTimeout
    case .address, .unknownErrno, .data, .pollSet:
      kind = .rich
      rich = o
    }
  }

  mutating func clear() {
    kind = .none
    rich = nil
  }

  var errno: Errno? { kind == .failure ? Errno(rawValue: UInt8(value)) : nil }

  var outcome: Outcome? {
    switch kind {
    case .none: return nil
    case .ok: return .ok
    case .number: return .number(value)
    case .failure: return .failure(Errno(rawValue: UInt8(value))!)
    case .events: return .events(PollEvents(rawValue: UInt8(value)))
    case .pollTimeout: return .pollTimeout
    case .rich: return rich
    }
  }
}
