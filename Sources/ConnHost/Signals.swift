#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

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

/// A request to stop the run, from SIGINT, SIGTERM or SIGHUP (a Ctrl-C to the process group, a
/// CI cancel, a closed terminal). The run ends between statements, removes what it made, and
/// writes what it has.
package enum StopSignal {
  /// Installs the handlers; the calling thread is the one whose blocked call a signal cuts short.
  package static func install() { _ = conn_stop_install() }

  /// What an interpreter calls between statements: non-zero once a stop signal (or, in the
  /// REPL, Ctrl-C) arrived. A C function: calling it costs a few instructions, and a loop can
  /// never keep an old value of the word.
  package static let check: @convention(c) () -> Int32 = conn_interrupt_requested

  /// The signal that asked to stop, or nil.
  package static var received: Int32? {
    let s = conn_stop_signal()
    return s == 0 ? nil : s
  }

  package static func name(_ signal: Int32) -> String {
    switch signal {
    case SIGINT: return "SIGINT"
    case SIGTERM: return "SIGTERM"
    case SIGHUP: return "SIGHUP"
    default: return "signal \(signal)"
    }
  }

  /// The exit status a shell gives a process killed by the signal (128 + its number).
  package static func exitStatus(_ signal: Int32) -> Int32 { 128 + signal }

  /// For a worker: SIGTERM when the parent dies. False if the parent is already gone.
  package static func dieWithParent(_ parent: Int32) -> Bool { conn_die_with_parent(parent) == 0 }

  package static func terminate(_ pid: Int32) { _ = sendTerminate(pid) }
}

private func sendTerminate(_ pid: Int32) -> Int32 { kill(pid, SIGTERM) }
