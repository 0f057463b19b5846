#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// The descriptors conn lives on are never a scenario's. A scenario may name any descriptor
// number (`sock x = fd N`), write to it, close it; so before anything runs, the executable moves
// its own standard streams out of reach (to high, close-on-exec numbers) and gives 0, 1 and 2 to
// the scenarios, open on /dev/null, as a fresh process has them. Every other descriptor the tool
// keeps (worker pipes, the private directory) is registered here, and the kernel backend refuses
// a scenario that names one of them.

package enum StandardStreams {
  /// The tool's own standard input, output and error.
  nonisolated(unsafe) package private(set) static var input: Int32 = 0
  nonisolated(unsafe) package private(set) static var output: Int32 = 1
  nonisolated(unsafe) package private(set) static var error: Int32 = 2
  /// True once `protect()` has moved them.
  nonisolated(unsafe) package private(set) static var isProtected = false

  /// Where the tool's streams go: high enough that no scenario stumbles on them (scenarios name
  /// bad descriptors like 999), below 1024 because readline waits on its input with select(2).
  package static let protectedFloor: Int32 = 1010

  /// Moves the tool's standard streams to descriptors from `protectedFloor` on and opens
  /// /dev/null on 0, 1 and 2. Called once, by the executable, before any scenario runs.
  package static func protect() {
    if isProtected { return }
    let floor = min(protectedFloor, Int32(max(Host.openFileLimit() - 8, 3)))
    var moved: [Int32] = []
    for fd in Int32(0)...2 {
      let high = fcntl(fd, F_DUPFD_CLOEXEC, floor)
      if high < 0 {
        // A stream that was not open stays not open; /dev/null takes its place below.
        moved.append(-1)
        continue
      }
      moved.append(high)
      ReservedDescriptors.add(high, as: ["standard input", "standard output", "standard error"][Int(fd)])
    }
    input = moved[0] >= 0 ? moved[0] : input
    output = moved[1] >= 0 ? moved[1] : output
    error = moved[2] >= 0 ? moved[2] : error
    isProtected = true
    restoreScenarioStreams()
  }

  /// Puts /dev/null back on 0, 1 and 2 (after a scenario closed or replaced them), so that the
  /// next scenario starts as the first did. Only once the streams are protected.
  package static func restoreScenarioStreams() {
    guard isProtected else { return }
    let null = open("/dev/null", O_RDWR | O_CLOEXEC)
    guard null >= 0 else { return }
    for fd in Int32(0)...2 where fd != null { _ = dup2(null, fd) }
    if null > 2 {
      _ = close(null)
    } else {
      // /dev/null came back on one of 0-2 itself (it was closed): it must not be close-on-exec.
      let flags = fcntl(null, F_GETFD)
      if flags >= 0 { _ = fcntl(null, F_SETFD, flags & ~FD_CLOEXEC) }
    }
  }
}

/// Descriptors the tool keeps for itself, with what each is.
package enum ReservedDescriptors {
  /// A few entries, searched in order (a dictionary keyed by Int32 would cost every run a scan
  /// of the binary's protocol conformances when it is first filled, 15% of a one-statement run).
  nonisolated(unsafe) private static var entries: [(fd: Int32, what: String)] = []
  /// Made once, thread-safely (a static's first use is).
  nonisolated(unsafe) private static let lock: UnsafeMutablePointer<pthread_mutex_t> = {
    let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    pthread_mutex_init(m, nil)
    return m
  }()

  private static func locked<T>(_ body: () -> T) -> T {
    pthread_mutex_lock(lock)
    defer { pthread_mutex_unlock(lock) }
    return body()
  }

  package static func add(_ fd: Int32, as what: String) {
    locked {
      if let i = entries.firstIndex(where: { $0.fd == fd }) {
        entries[i].what = what
      } else {
        entries.append((fd, what))
      }
    }
  }

  /// Moves a descriptor the tool keeps out of the scenarios' way (to a high, close-on-exec
  /// number, so that a scenario's own descriptors are numbered as in a fresh process) and
  /// registers it. Returns the new number (the old one is closed), or `fd` if it cannot move.
  package static func moveOutOfReach(_ fd: Int32, as what: String) -> Int32 {
    let floor = min(StandardStreams.protectedFloor + 16, Int32(max(Host.openFileLimit() - 64, 3)))
    let high = fcntl(fd, F_DUPFD_CLOEXEC, floor)
    if high < 0 {
      add(fd, as: what)
      return fd
    }
    _ = close(fd)
    add(high, as: what)
    return high
  }
  package static func remove(_ fd: Int32) { locked { entries.removeAll { $0.fd == fd } } }

  /// What the descriptor is to the tool, or nil when it is not the tool's.
  package static func owner(of fd: Int32) -> String? { locked { entries.first { $0.fd == fd }?.what } }
}
