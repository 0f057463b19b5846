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

// The time limit of a blocking call: a per-thread timer (timer_create with SIGEV_THREAD_ID)
// whose signal makes the blocked call return EINTR. Its invariant lives here: a timer armed for
// one call is settled before any call it must not interrupt.
//
// Inside a `repeat` loop the timer stays armed after a call (one syscall per call, not two): the
// next blocking call re-arms it, and `settle()`, which every call that could otherwise be cut
// short (poll, sleep, open, a Unix bind, a lingering close) and the end of the loop make first,
// disarms it. It fires, if ever, a whole limit after the call, where nothing waits.

struct CallTimer {
  private var loopDepth = 0
  /// Armed by the last blocking call and not yet settled.
  private var pending = false

  init() { _ = conn_interrupt_install() }

  /// Runs `call`, bounded by the smaller of the user's `interrupt` and the run's `limit` when
  /// it may block. Returns the call's result and errno. EINTR caused by the limit (not by the
  /// user's interrupt) is a failure of the run, not an answer.
  mutating func bounded(mayBlock: Bool, interrupt: TimeSpan?, limit: TimeSpan, _ call: () -> Int32)
    throws(BackendError) -> (Int32, Int32)
  {
    if !mayBlock && interrupt == nil {
      let rc = call()
      return (rc, rc < 0 ? errno : 0)
    }
    let userFirst = interrupt.map { $0 <= limit } ?? false
    let armFor = userFirst ? interrupt! : limit
    let armed = conn_interrupt_arm(armFor.nanoseconds) == 0
    let rc = call()
    let err = rc < 0 ? errno : 0
    let fired: Bool
    if armed && loopDepth > 0 && interrupt == nil {
      fired = conn_interrupt_fired() != 0
      pending = !fired
    } else {
      fired = conn_interrupt_disarm() != 0
      pending = false
    }
    if rc < 0 && err == EINTR && fired && !userFirst { throw .timedOut(limit) }
    return (rc, err)
  }

  /// Disarms a timer left armed by the last call.
  @inline(__always) mutating func settle() {
    if pending {
      _ = conn_interrupt_disarm()
      pending = false
    }
  }

  mutating func loop(_ entering: Bool) {
    loopDepth = entering ? loopDepth + 1 : max(loopDepth - 1, 0)
    if loopDepth == 0 { settle() }
  }

  mutating func reset() {
    loopDepth = 0
    settle()
  }
}
