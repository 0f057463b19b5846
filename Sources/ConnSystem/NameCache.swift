import ConnRuntime
import ConnSyntax

// getsockname answers kept for sockets whose address cannot change. `connect s l` in a loop
// reads l's address on every pass; the address of a socket that this backend bound explicitly,
// and that has had no call since that could move it (connect, shutdown, setsockopt, bind,
// close), is fixed, so it is read once. The cache owns that rule: `bound` marks a socket after
// a successful bind, `invalidate` forgets it on any call that could move it.

struct NameCache {
  private enum Entry {
    case unknown
    /// A socket with more than one descriptor: a call on another could move it, so nothing is
    /// kept until this number is closed.
    case shared
    /// Bound by bind and untouched since: its next getsockname answer may be kept.
    case bound
    case known(SocketAddress)
  }
  private var entries: [Entry] = []
  private static let limit: Descriptor = 1 << 16

  mutating func bound(_ fd: Descriptor) {
    if fd >= 0 && Int(fd) < entries.count, case .shared = entries[Int(fd)] { return }
    set(fd, .bound)
  }

  mutating func invalidate(_ fd: Descriptor) {
    if fd >= 0 && Int(fd) < entries.count, case .shared = entries[Int(fd)] { return }
    if fd >= 0 && Int(fd) < entries.count { entries[Int(fd)] = .unknown }
  }

  /// `fd` and another number share a socket (dup): never keep an answer for it.
  mutating func shared(_ fd: Descriptor) { set(fd, .shared) }

  /// `fd` was closed: whatever comes next at that number starts afresh.
  mutating func forget(_ fd: Descriptor) {
    if fd >= 0 && Int(fd) < entries.count { entries[Int(fd)] = .unknown }
  }

  /// The kept answer, if there is one.
  func cached(_ fd: Descriptor) -> SocketAddress? {
    guard fd >= 0 && Int(fd) < entries.count, case .known(let a) = entries[Int(fd)] else { return nil }
    return a
  }

  /// Keeps `a` if the socket is one whose address is fixed.
  mutating func answered(_ fd: Descriptor, _ a: SocketAddress) {
    guard fd >= 0 && Int(fd) < entries.count, case .bound = entries[Int(fd)] else { return }
    entries[Int(fd)] = .known(a)
  }

  mutating func removeAll() { entries.removeAll(keepingCapacity: true) }

  private mutating func set(_ fd: Descriptor, _ e: Entry) {
    guard fd >= 0 && fd < Self.limit else { return }
    let i = Int(fd)
    if i >= entries.count {
      entries.append(contentsOf: repeatElement(.unknown, count: max(i + 1 - entries.count, 64)))
    }
    entries[i] = e
  }
}

/// What the backend knows of each descriptor it made: whether a call on it can block (the limit
/// timer is armed only then). Indexed by number; numbers past the array, which the kernel does
/// not hand out in practice, are treated as blocking.
struct DescriptorFlags {
  /// O_NONBLOCK is set.
  static let nonblocking: UInt8 = 1
  /// A SOCK_DGRAM socket: its connect and accept never block.
  static let datagram: UInt8 = 2
  /// Another descriptor shares the open file (dup), so O_NONBLOCK may change behind this
  /// number's back: `nonblocking` is never set for it, and every call on it is bounded.
  static let shared: UInt8 = 4
  private var small: [UInt8] = []
  private static let limit: Descriptor = 1 << 16

  /// True when any of `bits` is set for `fd`.
  @inline(__always) func has(_ fd: Descriptor, _ bits: UInt8) -> Bool {
    fd >= 0 && Int(fd) < small.count && small[Int(fd)] & bits != 0
  }

  @inline(__always) mutating func set(_ fd: Descriptor, _ value: UInt8) {
    guard fd >= 0 && fd < Self.limit else { return }
    let i = Int(fd)
    if i >= small.count {
      if value == 0 { return }
      small.append(contentsOf: repeatElement(0, count: max(i + 1 - small.count, 64)))
    }
    small[i] = value
  }

  mutating func update(_ fd: Descriptor, _ bit: UInt8, _ on: Bool) {
    let v: UInt8 = fd >= 0 && Int(fd) < small.count ? small[Int(fd)] : 0
    if on && bit & Self.nonblocking != 0 && v & Self.shared != 0 { return }
    set(fd, on ? v | bit : v & ~bit)
  }

  /// What `fd` has (0 for a number it knows nothing of).
  func value(_ fd: Descriptor) -> UInt8 { fd >= 0 && Int(fd) < small.count ? small[Int(fd)] : 0 }

  mutating func removeAll() { for i in small.indices { small[i] = 0 } }
}
