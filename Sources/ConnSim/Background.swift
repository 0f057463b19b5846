import ConnRuntime
import ConnSyntax

// Calls in the background, simulated. A background call is a coroutine (the host's threads,
// taking turns with the scenario: never two at once, so the model stays deterministic). It runs
// the ordinary call; where that call would wait (`wait(until:)` in Clock.swift), it records
// when it must stop waiting and hands control back instead of moving the clock. After each
// statement (`settle`), and whenever the scenario itself waits, the calls whose condition may
// have changed are resumed; they look again and either finish or hand back. `wait NAME` moves
// the virtual clock on until the call has finished; `signal NAME` makes its wait end as a signal
// would (EINTR).

/// One call in the background.
final class PendingCall {
  var coroutine: Coroutine?
  /// Hands control back to the scenario (set by the coroutine's body when it starts).
  var yield: (() -> Void)?
  var result: Result<Outcome, BackendError>?
  /// Where its wait must stop, in virtual time: the earliest of its timeout, its interrupt and
  /// its limit (nil while it is not waiting).
  var deadline: Int64?
  var signalled = false
  var cancelled = false
  var finished = false
}

extension SimBackend {
  package func startBackground(_ call: @escaping () throws(BackendError) -> Outcome) throws(BackendError)
    -> Int32
  {
    guard let coroutines else { throw .notModelled("calls in the background (no threads to run them on)") }
    let pending = PendingCall()
    guard
      let co = coroutines.make({ [unowned pending] yield in
        pending.yield = yield
        do throws(BackendError) {
          pending.result = .success(try call())
        } catch {
          pending.result = .failure(error)
        }
      })
    else { throw .failed("cannot start a thread for the call in the background") }
    pending.coroutine = co
    backgroundCount += 1
    pendingCalls[backgroundCount] = pending
    // It runs until it waits or finishes.
    resume(pending)
    return backgroundCount
  }

  package func waitBackground(_ id: Int32) throws(BackendError) -> Outcome {
    guard let pending = pendingCalls[id] else { throw .failed("no such call in the background") }
    settle()
    // Move the clock on, event by event, until the call has finished; its own deadline (at
    // most its limit) bounds the wait.
    var rounds = 0
    while !pending.finished {
      rounds += 1
      if rounds > 1_000_000 { throw .failed("the call in the background did not finish") }
      let deadline = pending.deadline ?? clock
      advanceSettling(to: max(min(nextEventTime ?? .max, deadline), clock))
    }
    pendingCalls[id] = nil
    switch pending.result {
    case .success(let o)?: return o
    case .failure(let e)?: throw e
    case nil: throw .failed("the call in the background ended without a result")
    }
  }

  package func signalBackground(_ id: Int32) throws(BackendError) {
    guard let pending = pendingCalls[id], !pending.finished else { return }
    pending.signalled = true
    resume(pending)
  }

  /// Moves the clock to `t`, stopping at each background call's deadline on the way (and
  /// letting the calls look there), so that one whose timeout, interrupt or limit comes first
  /// ends then, as on the kernel, however far the scenario's own wait or sleep jumps.
  func advanceSettling(to t: Int64) {
    if pendingCalls.isEmpty { return advance(to: t) }
    var rounds = 0
    while rounds < 100_000,
      let d = pendingCalls.values.compactMap({ $0.finished ? nil : $0.deadline }).filter({
        $0 > clock && $0 < t
      })
      .min()
    {
      advance(to: d)
      settle()
      rounds += 1
    }
    advance(to: t)
    settle()
  }

  /// Resumes every unfinished background call once, in the order they started; again while one
  /// of them finished (it may have changed what another waits for).
  package func settle() {
    guard runningCall == nil, !pendingCalls.isEmpty else { return }
    var again = true
    var passes = 0
    while again && passes <= pendingCalls.count {
      again = false
      passes += 1
      for id in pendingCalls.keys.sorted() {
        guard let p = pendingCalls[id], !p.finished else { continue }
        resume(p)
        if p.finished { again = true }
      }
    }
  }

  /// Runs a background call until it waits again or finishes.
  func resume(_ p: PendingCall) {
    guard !p.finished else { return }
    let outer = runningCall
    runningCall = p
    if p.coroutine?.resume() ?? true {
      p.finished = true
      p.coroutine = nil
    }
    runningCall = outer
  }

  /// Inside a background call's coroutine: wait as `wait(until:)` does, handing control back
  /// instead of moving the clock.
  func waitInBackground(
    _ p: PendingCall, until ready: () -> Bool, timeout: TimeSpan?, interrupt: TimeSpan?, limit: TimeSpan
  ) throws(BackendError) -> WaitResult {
    let start = clock
    let timeoutAt = timeout.map { start + $0.nanoseconds }
    let interruptAt = interrupt.map { start + $0.nanoseconds }
    let limitAt = start + limit.nanoseconds
    p.deadline = [timeoutAt, interruptAt, limitAt].compactMap { $0 }.min()
    defer { p.deadline = nil }
    while true {
      p.yield?()
      if p.cancelled { throw .timedOut(limit) }
      if ready() { return .ready }
      if p.signalled {
        p.signalled = false
        return .interrupted
      }
      if let t = timeoutAt, clock >= t { return .timeout }
      if let i = interruptAt, clock >= i { return .interrupted }
      if clock >= limitAt { throw .timedOut(limit) }
    }
  }

  /// At the end of a scenario: the calls still in the background end as timed out, and are
  /// forgotten.
  func endBackgroundCalls() {
    for id in pendingCalls.keys.sorted() {
      guard let p = pendingCalls[id] else { continue }
      var rounds = 0
      while !p.finished && rounds < 1000 {
        p.cancelled = true
        resume(p)
        rounds += 1
      }
    }
    pendingCalls.removeAll()
  }
}
