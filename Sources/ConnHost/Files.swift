#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// Files the command line reads and writes: scenario files (bounded, and only regular files or
// pipes), reports and saved sessions (written by the real identity, whatever a scenario's `user`
// statement did to the thread), and the walk that finds scenario files below a directory
// (each real directory once, however many symbolic links lead to it).

package enum HostError: Error, Equatable, CustomStringConvertible {
  case notFound(String)
  case isDirectory(String)
  case unreadable(String, String)
  case tooLarge(String, Int)
  case notRegular(String, String)

  package var description: String {
    switch self {
    case .notFound(let p): return "\(p): no such file or directory"
    case .isDirectory(let p): return "\(p): is a directory, not a scenario file"
    case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
    case .tooLarge(let p, let n): return "\(p): file is larger than \(n / (1 << 20)) MiB"
    case .notRegular(let p, let what):
      return "\(p): is \(what), not a file (give a scenario file, a directory or '-')"
    }
  }
}

package enum FileKind: Equatable, Sendable {
  case file, directory, missing, other
}

extension Host {
  /// Largest scenario file read: a scenario is a few kilobytes; past this, something is wrong
  /// with the input.
  package static let maxFileSize = 128 << 20

  package static func kind(of path: String) -> FileKind {
    var st = stat()
    if stat(path, &st) != 0 { return .missing }
    switch st.st_mode & S_IFMT {
    case S_IFDIR: return .directory
    case S_IFREG: return .file
    default: return .other
    }
  }

  /// What a file that is neither regular nor a directory is, in words.
  private static func describe(mode: mode_t) -> String? {
    switch mode & S_IFMT {
    case S_IFREG, S_IFIFO: return nil
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    case S_IFDIR: return "a directory"
    default: return "not a regular file"
    }
  }

  /// Reads a whole scenario file as bytes: a regular file or a pipe ("-" is standard input),
  /// at most `maxFileSize` bytes (checked as it reads, so /dev/zero behind a pipe stops too).
  package static func readFile(_ path: String, limit: Int = maxFileSize) throws(HostError) -> [UInt8] {
    let fd: Int32
    if path == "-" {
      fd = StandardStreams.input
    } else {
      // O_NONBLOCK: opening a FIFO with no writer would wait forever; it is cleared at once.
      fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
      if fd < 0 {
        let e = errno
        if e == ENOENT || e == ENOTDIR { throw .notFound(path) }
        throw .unreadable(path, systemErrorText(e))
      }
    }
    defer { if path != "-" { _ = close(fd) } }
    var st = stat()
    if fstat(fd, &st) == 0 {
      if st.st_mode & S_IFMT == S_IFDIR { throw .isDirectory(path) }
      // Standard input may be a terminal: the user types the scenario and ends it with Ctrl-D.
      if let what = describe(mode: st.st_mode), !(path == "-" && isatty(fd) != 0) {
        throw .notRegular(path, what)
      }
      if Int(st.st_size) > limit { throw .tooLarge(path, limit) }
    }
    if path != "-" {
      let flags = fcntl(fd, F_GETFL)
      if flags >= 0 { _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) }
    }
    var out: [UInt8] = []
    if st.st_size > 0 { out.reserveCapacity(Int(st.st_size)) }
    // Not zeroed: read fills what is used (zeroing 64 KB cost a small scenario more than parsing it).
    let chunkSize = st.st_size > 0 ? min(Int(st.st_size) + 1, 1 << 16) : 1 << 16
    var chunk = [UInt8](unsafeUninitializedCapacity: chunkSize) { _, n in n = chunkSize }
    while true {
      let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .unreadable(path, systemErrorText(errno))
      }
      if n == 0 { break }
      if out.count + n > limit { throw .tooLarge(path, limit) }
      out.append(contentsOf: chunk[0..<n])
    }
    return out
  }

  /// Writes a file (mode 0644) as the process's real user: a report or a saved session is the
  /// tool's, never a scenario's, whatever file-system identity the scenario took.
  package static func writeFile(_ path: String, _ text: String) throws(HostError) {
    let result: HostError? = asRealIdentity {
      let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
      if fd < 0 {
        let err = errno
        if err == EISDIR { return .isDirectory(path) }
        return .unreadable(path, systemErrorText(err))
      }
      defer { _ = close(fd) }
      if !writeAll(fd, text) { return .unreadable(path, systemErrorText(errno)) }
      return nil
    }
    if let result { throw result }
  }

  /// Appends text to a file (as the real user, like `writeFile`).
  package static func appendFile(_ path: String, _ text: String) throws(HostError) {
    let failure: HostError? = asRealIdentity {
      guard let fd = openForAppend(path) else { return .unreadable(path, systemErrorText(errno)) }
      defer { _ = close(fd) }
      return writeAll(fd, text) ? nil : .unreadable(path, systemErrorText(errno))
    }
    if let failure { throw failure }
  }

  /// Appends another file's contents to a file, 64 KiB at a time (as the real user).
  package static func appendFile(_ path: String, copying source: String) throws(HostError) {
    let failure: HostError? = asRealIdentity {
      let input = open(source, O_RDONLY | O_CLOEXEC)
      if input < 0 { return .unreadable(source, systemErrorText(errno)) }
      defer { _ = close(input) }
      guard let output = openForAppend(path) else { return .unreadable(path, systemErrorText(errno)) }
      defer { _ = close(output) }
      var chunk = [UInt8](repeating: 0, count: 1 << 16)
      while true {
        let n = chunk.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return .unreadable(source, systemErrorText(errno)) }
        if n == 0 { return nil }
        let ok = chunk.withUnsafeBytes { writeAll(output, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        if !ok { return .unreadable(path, systemErrorText(errno)) }
      }
    }
    if let failure { throw failure }
  }

  /// Runs `body` with the calling thread's file-system identity set back to the real user and
  /// group, then restores whatever it was.
  package static func asRealIdentity<T>(_ body: () -> T) -> T {
    #if os(Linux)
      let (uid, gid) = (conn_current_fsuid(), conn_current_fsgid())
      let real = (getuid(), getgid())
      if uid == real.0 && gid == real.1 { return body() }
      _ = conn_setfsuid(real.0, real.1)
      defer { _ = conn_setfsuid(uid, gid) }
      return body()
    #else
      return body()
    #endif
  }

  /// Every `*.conn` file below a directory, sorted by path (deterministic order). Symbolic links
  /// are followed, but each real directory is read once (by device and inode), so a link that
  /// points back up cannot make the walk go round.
  package static func scenarioFiles(under dir: String) -> [String] {
    var out: [String] = []
    var stack = [dir]
    var seen = Set<[UInt64]>()
    var visited = 0
    while let d = stack.popLast() {
      var st = stat()
      guard stat(d, &st) == 0, seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted else { continue }
      visited += 1
      if visited > 100_000 { break }  // bounded walk
      guard let dp = opendir(d) else { continue }
      while let ent = readdir(dp) {
        let name = withUnsafePointer(to: ent.pointee.d_name) { p in
          p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if name.hasPrefix(".") { continue }
        let path = d.hasSuffix("/") ? d + name : d + "/" + name
        switch kind(of: path) {
        case .directory: stack.append(path)
        case .file where name.hasSuffix(".conn"): out.append(path)
        default: break
        }
      }
      closedir(dp)
    }
    return out.sorted()
  }

  /// Opens (creating, mode 0600) a file to append to; nil if it cannot.
  package static func openForAppend(_ path: String) -> Int32? {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    return fd < 0 ? nil : fd
  }

  package static func closeFile(_ fd: Int32) { _ = close(fd) }

  package static func removeFile(_ path: String) { _ = unlink(path) }

  /// Creates a directory and its missing parents (mode 0700). Nil on success, else why not.
  package static func makeDirectories(_ path: String) -> String? {
    var prefix = path.hasPrefix("/") ? "/" : ""
    for part in path.split(separator: "/") {
      prefix += part
      if kind(of: prefix) != .directory {
        if mkdir(prefix, 0o700) != 0 && errno != EEXIST { return "\(prefix): \(systemErrorText(errno))" }
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
    if fd < 0 { return "\(path): \(systemErrorText(errno))" }
    _ = close(fd)
    return nil
  }

  /// The directory part of a path ("." for a bare name).
  package static func directoryPart(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }
}
