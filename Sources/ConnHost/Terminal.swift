#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// What the REPL needs from the terminal: the Ctrl-C key as a flag (never a kill), waiting for
// keyboard input while staying interruptible, and reading raw bytes from its input.

extension Host {
  // MARK: - Ctrl-C

  /// Installs the REPL's SIGINT handler: a key press is recorded, a blocked call returns EINTR,
  /// and the process lives on. The calling thread becomes the one that runs statements.
  @discardableResult
  package static func installInterruptKey() -> Bool { conn_sigint_install() == 0 }

  /// True if Ctrl-C was pressed since the last call, and forgets it.
  package static func takeInterrupt() -> Bool { conn_sigint_take() != 0 }

  /// True if Ctrl-C was pressed and not yet taken.
  package static var interruptPending: Bool { conn_sigint_peek() != 0 }

  /// SIGINT's number, for comparing with what readline reports as pending.
  package static var interruptSignal: Int32 { SIGINT }

  // MARK: - Input

  package enum InputWait: Equatable, Sendable {
    /// Bytes (or end of file) can be read without blocking.
    case ready
    /// A signal interrupted the wait (Ctrl-C, a window resize...).
    case interrupted
    case failed
  }

  /// Waits until `fd` is readable, or a signal arrives.
  package static func waitForInput(_ fd: Int32) -> InputWait {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let rc = poll(&p, 1, -1)
    if rc > 0 { return .ready }
    if rc < 0 && errno == EINTR { return .interrupted }
    return .failed
  }

  package enum ReadResult: Equatable, Sendable {
    case bytes(Int)
    case end
    case interrupted
    case failed(String)
  }

  /// One read(2) into `buffer` (at most its count). EINTR is reported, not retried, so that the
  /// caller can look at the Ctrl-C flag.
  package static func readSome(_ fd: Int32, into buffer: inout [UInt8]) -> ReadResult {
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    if n > 0 { return .bytes(n) }
    if n == 0 { return .end }
    if errno == EINTR { return .interrupted }
    return .failed(systemErrorText(errno))
  }
}
