#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims
import ConnRuntime
import ConnSyntax

// The time limit of a blocking call. The limit is watched by the process's watchdog thread
// (watchdog.c): arming and disarming are a few atomic stores, no system call, and only a call
// that really overruns is signalled (its blocked call returns EINTR, which is a timeout, not an
// answer). A user's `interrupt DUR` shorter than the limit is a per-thread timer instead
// (timer_create with SIGEV_THREAD_ID), armed and disarmed around the call: the EINTR it causes
// is the scenario's answer.

struct CallTimer {
  /// The last clock reading (CLOCK_MONOTONIC ns) and whether no call has started since: the
  /// interpreter reads the clock right after every statement, so the next blocking call can take
  /// its deadline from that reading instead of reading the clock again.
  private var reading: Int64 = 0
  private var fresh = false

  /// Reads the clock, and keeps the reading for the next call's deadline.
  mutating func now() -> Int64 {
    reading = Platform.monotonicNanoseconds()
    fresh = true
    return reading
  }

  /// When the next call starts: the kept reading if nothing ran since, else 0 (the watchdog
  /// reads the clock itself).
  private mutating func start() -> Int64 {
    if !fresh { return 0 }
    fresh = false
    return reading
  }

  /// Runs `call`, bounded by the smaller of the user's `interrupt` and the run's `limit` when
  /// it may block. Returns the call's result and errno.
  mutating func bounded(mayBlock: Bool, interrupt: TimeSpan?, limit: TimeSpan, _ call: () -> Int32)
    throws(BackendError) -> (
      Int32, Int32
    )
  {
    if let i = interrupt, i <= limit {
      // The user's interrupt comes first: the limit cannot matter for this call.
      let armed = conn_interrupt_arm(i.nanoseconds) == 0
      let (rc, err) = Self.unlocked(call)
      if armed { _ = conn_interrupt_disarm() }
      return (rc, err)
    }
    if !mayBlock {
      let rc = call()
      return (rc, rc < 0 ? errno : 0)
    }
    if conn_watch_arm(limit.nanoseconds, start()) != 0 {
      // No watchdog (no thread could be made): the per-thread timer bounds the call instead.
      let armed = conn_interrupt_arm(limit.nanoseconds) == 0
      let (rc, err) = Self.unlocked(call)
      let fired = armed && conn_interrupt_disarm() != 0
      if rc < 0 && err == EINTR && fired { throw .timedOut(limit) }
      return (rc, err)
    }
    let (rc, err) = Self.unlocked(call)
    let overran = conn_watch_disarm() != 0
    if rc < 0 && err == EINTR && overran { throw .timedOut(limit) }
    return (rc, err)
  }

  /// A call that may block, made without the big backend lock (background.c): other threads
  /// of the scenario go on meanwhile. Without background calls anywhere in the process, one
  /// load.
  @inline(__always)
  private static func unlocked(_ call: () -> Int32) -> (Int32, Int32) {
    if conn_gil_in_use() == 0 {
      let rc = call()
      return (rc, rc < 0 ? errno : 0)
    }
    let paused = conn_gil_pause()
    let rc = call()
    let err = rc < 0 ? errno : 0
    conn_gil_resume(paused)
    return (rc, err)
  }
}
