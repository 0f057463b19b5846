import CConnShims
import ConnRuntime

// Coroutines for the simulation's background calls, on threads (background.c; here because
// the simulation imports no C): the body runs
// on a thread of its own, and it and its caller take turns through two semaphores, so exactly
// one of them runs at any time.

package struct ThreadCoroutines: Coroutines {
  package init() {}

  package func make(_ body: @escaping (_ yield: @escaping () -> Void) -> Void) -> Coroutine? {
    let co = ThreadCoroutine(body)
    let box = Unmanaged.passRetained(co).toOpaque()
    guard
      let raw = conn_co_start(
        { arg, handle in
          let co = Unmanaged<ThreadCoroutine>.fromOpaque(arg!).takeRetainedValue()
          co.body { conn_co_yield(handle) }
        }, box)
    else {
      Unmanaged<ThreadCoroutine>.fromOpaque(box).release()
      return nil
    }
    co.handle = raw
    return co
  }
}

final class ThreadCoroutine: Coroutine {
  let body: (_ yield: @escaping () -> Void) -> Void
  var handle: UnsafeMutableRawPointer?
  init(_ body: @escaping (_ yield: @escaping () -> Void) -> Void) { self.body = body }

  func resume() -> Bool {
    guard let h = handle else { return true }
    if conn_co_resume(h) == 0 { return false }
    conn_co_free(h)
    handle = nil
    return true
  }

  deinit {
    // The simulation runs every coroutine to its end (endScenario cancels those left). One
    // that has not ended here is given a bounded number of turns; if it still waits, its thread
    // is left waiting rather than this thread hang.
    guard let h = handle else { return }
    for _ in 0..<1000 where conn_co_resume(h) == 0 {}
    if conn_co_resume(h) != 0 { conn_co_free(h) }
  }
}
