#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Signals as the tool handles them.

extension Host {
  /// Unblocks every signal for the calling thread. A launcher may start a process with
  /// signals blocked (some block them all); conn needs SIGINT for Ctrl-C and should die of
  /// SIGTERM like any program.
  package static func unblockSignals() {
    var empty = sigset_t()
    sigemptyset(&empty)
    pthread_sigmask(SIG_SETMASK, &empty, nil)
    // A worker or a reader that went away must not kill conn: writes to it fail with EPIPE.
    signal(SIGPIPE, SIG_IGN)
  }
}
