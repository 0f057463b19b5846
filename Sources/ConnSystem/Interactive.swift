import CConnShims

// What the REPL needs from the operating system beyond Host's files and output: the Ctrl-C key
// as a flag (never a kill), waiting for keyboard input while staying interruptible, reading raw
// bytes from standard input, and a few file checks for the history file. ConnCommands reaches
// libc only through here.

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
    let rc = sysPoll(&p, 1, -1)
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
    let n = buffer.withUnsafeMutableBytes { replRead(fd, $0.baseAddress, $0.count) }
    if n > 0 { return .bytes(n) }
    if n == 0 { return .end }
    if errno == EINTR { return .interrupted }
    return .failed(Platform.strerror(errno))
  }

  // MARK: - Files

  /// The user's home directory, from HOME.
  package static var homeDirectory: String? {
    guard let h = environment("HOME"), !h.isEmpty else { return nil }
    return h
  }

  /// Creates a directory and its missing parents (mode 0700). Nil on success, else why not.
  package static func makeDirectories(_ path: String) -> String? {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
      prefix += part
      if kind(of: prefix) != .directory {
        if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return "\(prefix): \(Platform.strerror(errno))" }
      }
      prefix += "/"
    }
    return nil
  }

  /// Checks that a file can be appended to, creating it empty (mode 0600) if it does not exist.
  /// Nil when it can, else why not.
  package static func checkAppendable(_ path: String) -> String? {
    if kind(of: path) == .directory { return "\(path): is a directory" }
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    if fd < 0 { return "\(path): \(Platform.strerror(errno))" }
    _ = sysClose(fd)
    return nil
  }

  /// The directory part of a path ("." for a bare name).
  package static func directoryPart(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }
}

@inline(__always) private func replRead(_ fd: Int32, _ p: UnsafeMutableRawPointer?, _ n: Int) -> Int { read(fd, p, n) }
