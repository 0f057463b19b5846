#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// What the machine and the process have: cores, identity, the clock, memory, descriptors.

extension Host {
  package static var isRoot: Bool { geteuid() == 0 }
  package static var processID: Int32 { getpid() }
  package static var isLinux: Bool {
    #if os(Linux)
      return true
    #else
      return false
    #endif
  }

  /// The kernel's release (uname -r).
  package static func kernelRelease() -> String {
    var u = utsname()
    uname(&u)
    return withUnsafePointer(to: &u.release) {
      $0.withMemoryRebound(to: CChar.self, capacity: 65) { String(cString: $0) }
    }
  }

  /// CLOCK_MONOTONIC in nanoseconds.
  package static func monotonicNow() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
  }

  /// CLOCK_REALTIME in nanoseconds (a seed; never a duration).
  package static func realtimeNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
  }

  /// Dies of SIGABRT, as a crash would (tests of the tools that must survive a crash).
  package static func abortForTesting() -> Never { abort() }

  /// Sleeps until killed (tests of the tools that must survive a hang).
  package static func sleepForever() -> Never {
    while true { sleep(3600) }
  }

  package static func processorCount() -> Int {
    let n = sysconf(Int32(_SC_NPROCESSORS_ONLN))
    return n > 0 ? n : 1
  }

  /// Lets the allocator keep freed memory for the next scenario: a batch allocates and frees the
  /// same blocks (the simulation's 256 KB port tables) scenario after scenario, and giving them
  /// back to the kernel each time cost a brk pair and fresh zeroed pages per scenario.
  package static func keepFreedMemory() {
    conn_keep_freed_memory()
  }

  /// The limit on open files (RLIMIT_NOFILE's soft limit): the simulation answers EMFILE where
  /// the kernel would.
  package static func openFileLimit() -> Int {
    var rl = rlimit()
    #if canImport(Glibc)
      let ok = getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &rl) == 0
    #else
      let ok = getrlimit(RLIMIT_NOFILE, &rl) == 0
    #endif
    guard ok else { return 1024 }
    return rl.rlim_cur > UInt(1 << 20) ? 1 << 20 : Int(rl.rlim_cur)
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

  /// The numbers of the descriptors open in this process (Linux; 0, 1 and 2 elsewhere).
  package static func openDescriptorNumbers() -> [Int32] {
    #if os(Linux)
      guard let dp = opendir("/proc/self/fd") else { return [0, 1, 2] }
      let own = dirfd(dp)
      var out: [Int32] = []
      while let ent = readdir(dp) {
        let name = withUnsafePointer(to: ent.pointee.d_name) { p in
          p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
        }
        if let n = Int32(name), n != own { out.append(n) }
      }
      closedir(dp)
      return out.sorted()
    #else
      return [0, 1, 2]
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

  package static func exit(_ code: Int32) -> Never { processExit(code) }
}

/// exit(3), out of the way of `Host.exit`.
private func processExit(_ code: Int32) -> Never { exit(code) }
