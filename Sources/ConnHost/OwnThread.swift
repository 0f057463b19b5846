#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// A scenario with `drop` or `landlock` changes the credentials of the thread that runs it, for
// good (Linux keeps credentials, no_new_privs and Landlock domains per thread). Such a scenario
// runs on a thread made for it, which ends with it; the calling thread keeps its identity and
// cleans up after it. The new thread shares the caller's network namespace and file-system
// identity (a thread starts with its creator's), takes the stop signals while it runs, and
// gives back its slot of the call watchdog when it ends.

extension Host {
  /// Runs `body` on a new thread and waits for it. False when no thread could be made (then
  /// `body` did not run).
  package static func runOnOwnThread(_ body: @escaping () -> Void) -> Bool {
    final class Job {
      let body: () -> Void
      init(_ body: @escaping () -> Void) { self.body = body }
    }
    let job = Unmanaged.passRetained(Job(body)).toOpaque()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    defer { pthread_attr_destroy(&attr) }
    // The interpreter's own stack needs, whatever RLIMIT_STACK says.
    pthread_attr_setstacksize(&attr, 8 << 20)
    #if canImport(Darwin)
      var thread: pthread_t?
    #else
      var thread = pthread_t()
    #endif
    let rc = pthread_create(
      &thread, &attr,
      { raw in
        #if canImport(Darwin)
          let job = Unmanaged<Job>.fromOpaque(raw).takeRetainedValue()
        #else
          let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
        #endif
        let previous = conn_stop_retarget(conn_gettid())
        job.body()
        _ = conn_stop_retarget(previous)
        conn_thread_release()
        return nil
      }, job)
    if rc != 0 {
      Unmanaged<Job>.fromOpaque(job).release()
      return false
    }
    #if canImport(Darwin)
      pthread_join(thread!, nil)
    #else
      pthread_join(thread, nil)
    #endif
    return true
  }
}
