// The rest of the process's contact with the operating system that the command line needs:
// files, directories, terminals, environment, output. Kept here so that ConnCommands stays free
// of libc, as DESIGN.md's layering asks.

package enum HostError: Error, Equatable, CustomStringConvertible {
  case notFound(String)
  case isDirectory(String)
  case unreadable(String, String)
  case tooLarge(String, Int)

  package var description: String {
    switch self {
    case .notFound(let p): return "\(p): no such file or directory"
    case .isDirectory(let p): return "\(p): is a directory, not a scenario file"
    case .unreadable(let p, let why): return "\(p): cannot read: \(why)"
    case .tooLarge(let p, let n): return "\(p): file is larger than \(n) bytes"
    }
  }
}

package enum Host {
  /// Largest scenario file read (1 GiB): beyond that something is wrong with the input.
  package static let maxFileSize = 1 << 30

  package enum FileKind { case file, directory, missing, other }

  package static func kind(of path: String) -> FileKind {
    var st = stat()
    if stat(path, &st) != 0 { return .missing }
    switch st.st_mode & S_IFMT {
    case S_IFDIR: return .directory
    case S_IFREG: return .file
    default: return .other
    }
  }

  /// Reads a whole file as bytes. "-" is standard input.
  package static func readFile(_ path: String) throws(HostError) -> [UInt8] {
    let fd: Int32
    if path == "-" {
      fd = 0
    } else {
      switch kind(of: path) {
      case .missing: throw .notFound(path)
      case .directory: throw .isDirectory(path)
      default: break
      }
      fd = open(path, O_RDONLY | O_CLOEXEC)
      if fd < 0 { throw .unreadable(path, Platform.strerror(errno)) }
    }
    defer { if fd != 0 { _ = sysClose(fd) } }
    var out: [UInt8] = []
    var st = stat()
    if fstat(fd, &st) == 0 && st.st_size > 0 {
      if Int(st.st_size) > maxFileSize { throw .tooLarge(path, maxFileSize) }
      out.reserveCapacity(Int(st.st_size))
    }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
      let n = chunk.withUnsafeMutableBytes { sysReadBytes(fd, $0.baseAddress, $0.count) }
      if n < 0 {
        if errno == EINTR { continue }
        throw .unreadable(path, Platform.strerror(errno))
      }
      if n == 0 { break }
      out.append(contentsOf: chunk[0..<n])
      if out.count > maxFileSize { throw .tooLarge(path, maxFileSize) }
    }
    return out
  }

  package static func writeFile(_ path: String, _ text: String) throws(HostError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    if fd < 0 {
      let err = errno
      if err == EISDIR { throw .isDirectory(path) }
      throw .unreadable(path, Platform.strerror(err))
    }
    defer { _ = sysClose(fd) }
    if !writeAll(fd, text) { throw .unreadable(path, Platform.strerror(errno)) }
  }

  /// Every `*.conn` file below a directory, sorted by path (deterministic order).
  package static func scenarioFiles(under dir: String) -> [String] {
    var out: [String] = []
    var stack = [dir]
    var visited = 0
    while let d = stack.popLast() {
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

  package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

  package static func environment(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
  }

  /// Colour only on a terminal and never when NO_COLOR is set (https://no-color.org).
  package static func wantsColor(_ fd: Int32) -> Bool {
    if let v = environment("NO_COLOR"), !v.isEmpty { return false }
    if environment("TERM") == "dumb" { return false }
    return isTerminal(fd)
  }

  @discardableResult
  package static func writeAll(_ fd: Int32, _ s: String) -> Bool {
    var s = s
    return s.withUTF8 { b in
      var off = 0
      while off < b.count {
        let n = write(fd, b.baseAddress! + off, b.count - off)
        if n < 0 {
          if errno == EINTR { continue }
          return false
        }
        off += n
      }
      return true
    }
  }

  package static func printOut(_ s: String) { writeAll(1, s) }
  package static func printErr(_ s: String) { writeAll(2, s) }

  package static var isRoot: Bool { geteuid() == 0 }
  package static var isLinux: Bool {
    #if os(Linux)
    return true
    #else
    return false
    #endif
  }

  package static func monotonicNow() -> Int64 { Platform.monotonicNanoseconds() }

  package static func processorCount() -> Int {
    let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
    return n > 0 ? n : 1
  }

  /// Descriptors open in this process (for leak checks).
  package static func openDescriptorCount() -> Int {
    #if os(Linux)
    guard let dp = opendir("/proc/self/fd") else { return -1 }
    var n = 0
    while readdir(dp) != nil { n += 1 }
    closedir(dp)
    return n - 3  // ".", "..", and the directory's own descriptor
    #else
    var n = 0
    for fd in 0..<4096 where fcntl(Int32(fd), F_GETFD) != -1 { n += 1 }
    return n
    #endif
  }

  /// The process's peak resident set size in bytes.
  package static func peakRSSBytes() -> Int {
    var ru = rusage()
    #if canImport(Glibc)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &ru)
    return Int(ru.ru_maxrss) * 1024
    #else
    getrusage(RUSAGE_SELF, &ru)
    return Int(ru.ru_maxrss)
    #endif
  }

  /// What each open descriptor refers to ("socket:[123]", "/dev/null", ...), Linux only.
  package static func openDescriptorTargets() -> [String] {
    #if os(Linux)
    guard let dp = opendir("/proc/self/fd") else { return [] }
    var out: [String] = []
    var buf = [CChar](repeating: 0, count: 4096)
    while let ent = readdir(dp) {
      let name = withUnsafePointer(to: ent.pointee.d_name) { p in
        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if name == "." || name == ".." { continue }
      let n = readlink("/proc/self/fd/" + name, &buf, buf.count - 1)
      if n > 0 { out.append(String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)) }
    }
    closedir(dp)
    return out
    #else
    return []
    #endif
  }

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

  package static func exit(_ code: Int32) -> Never { sysExit(code) }
}
