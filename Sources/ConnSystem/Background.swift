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

// Calls in the background on the kernel (background.c has the threads and the lock): each runs
// on a thread of its own, in the scenario's namespace and identity (a thread starts with its
// creator's), bounded by its limit as any call is. The backend's state is touched by one thread
// at a time: the scenario's thread holds the big backend lock from the first background call
// on, and every thread lets go of it only around a blocking system call (CallTimer) and while it
// waits for a background call.

/// One background call: its body, and its result once it has run.
final class BackgroundJob {
  let body: () throws(BackendError) -> Outcome
  var result: Result<Outcome, BackendError>?
  var thread: UnsafeMutableRawPointer?
  init(_ body: @escaping () throws(BackendError) -> Outcome) { self.body = body }
}

extension SystemBackend {
  package func startBackground(_ call: @escaping () throws(BackendError) -> Outcome) throws(BackendError)
    -> Int32
  {
    if backgroundLock == nil {
      guard let gil = conn_gil_create() else { throw .failed("cannot make the lock background calls need") }
      backgroundLock = gil
      conn_gil_enter(gil)
    }
    let job = BackgroundJob(call)
    let box = Unmanaged.passRetained(job).toOpaque()
    guard
      let thread = conn_bg_start(
        backgroundLock,
        { raw in
          let job = Unmanaged<BackgroundJob>.fromOpaque(raw!).takeUnretainedValue()
          do throws(BackendError) {
            job.result = .success(try job.body())
          } catch {
            job.result = .failure(error)
          }
        }, box)
    else {
      Unmanaged<BackgroundJob>.fromOpaque(box).release()
      throw .failed("cannot start a thread for the call in the background")
    }
    job.thread = thread
    backgroundCount += 1
    backgroundJobs[backgroundCount] = job
    return backgroundCount
  }

  package func waitBackground(_ id: Int32) throws(BackendError) -> Outcome {
    guard let job = backgroundJobs.removeValue(forKey: id), let thread = job.thread else {
      throw .failed("no such call in the background")
    }
    // Its own limit bounds the call (the watchdog interrupts it past it).
    conn_bg_join(thread)
    let result = job.result
    Unmanaged.passUnretained(job).release()
    switch result {
    case .success(let o)?: return o
    case .failure(let e)?: throw e
    case nil: throw .failed("the call in the background ended without a result")
    }
  }

  package func signalBackground(_ id: Int32) throws(BackendError) {
    guard let job = backgroundJobs[id], let thread = job.thread else { return }
    if conn_bg_done(thread) != 0 { return }
    _ = conn_bg_signal(thread)
  }

  /// The kernel's background calls go on by themselves.
  package func settle() {}

  /// At the end of a scenario: interrupts the calls still in the background, waits for them and
  /// forgets their outcomes; then gives the lock up.
  func endBackgroundCalls() {
    for id in backgroundJobs.keys.sorted() {
      guard let job = backgroundJobs[id], let thread = job.thread else { continue }
      if conn_bg_done(thread) == 0 { _ = conn_bg_signal(thread) }
      conn_bg_join(thread)
      Unmanaged.passUnretained(job).release()
    }
    backgroundJobs.removeAll()
    if let gil = backgroundLock {
      conn_gil_leave()
      conn_gil_destroy(gil)
      backgroundLock = nil
    }
  }
}
