import ConnRuntime

// The simulated process's descriptor table. As on Linux, a new descriptor is the lowest number
// not in use, and none is handed out at or above the limit on open files (RLIMIT_NOFILE, which
// the command line reads from the real process so that the two backends agree): EMFILE. 0, 1
// and 2 are open from the start, as in a fresh process, and so is every number the real process
// holds for itself (given by the command line), so that both backends count alike.
//
// Finding the lowest free number is a walk over a two-level bitmap (a word per 64 descriptors,
// and a summary bit per full word), so it costs the same with ten or a million open.

enum DescriptorEntry {
  case socket(SocketRef)
  /// A file that is not a socket (its path, for the trace).
  case file(String)
}

struct DescriptorTable {
  /// What each number the scenario opened refers to (nil: free, or one of `occupied`).
  private(set) var entries: [DescriptorEntry?] = []
  /// Numbers the real process holds for itself (often high, near the limit): in the bitmaps
  /// only, so that a scenario does not pay for an entry per number below them.
  private var occupied: Set<Descriptor> = []
  /// Bit set: the descriptor is open.
  private var used: [UInt64] = []
  /// Bit set: that word of `used` is full.
  private var full: [UInt64] = []
  let limit: Int
  /// Numbers whose FD_CLOEXEC is off (every descriptor conn makes starts with it on; 0, 1 and 2
  /// start without it, as a fresh process has them).
  private var keptOnExec = DescriptorBits([0, 1, 2])
  /// Files (not sockets) whose O_NONBLOCK is set: a socket keeps its own.
  private var nonblockingFiles = DescriptorBits([])

  init(limit: Int, occupied: [Descriptor] = []) {
    self.limit = max(limit, 3)
    for name in ["<stdin>", "<stdout>", "<stderr>"] { _ = allocate(.file(name)) }
    for fd in occupied where fd > 2 && Int(fd) < self.limit { occupy(fd) }
  }

  /// Marks a number as taken by something outside the scenario (the tool's own descriptors).
  private mutating func occupy(_ fd: Descriptor) {
    let i = Int(fd)
    markUsed(i)
    occupied.insert(fd)
  }

  @inline(__always) private mutating func markUsed(_ i: Int) {
    let w = i / 64
    if used.count <= w { used.append(contentsOf: repeatElement(0, count: w + 1 - used.count)) }
    if full.count <= w / 64 { full.append(contentsOf: repeatElement(0, count: w / 64 + 1 - full.count)) }
    used[w] |= 1 << UInt64(i % 64)
    if used[w] == .max { full[w / 64] |= 1 << UInt64(w % 64) }
  }

  subscript(fd: Descriptor) -> DescriptorEntry? {
    if fd >= 0 && Int(fd) < entries.count, let e = entries[Int(fd)] { return e }
    return !occupied.isEmpty && occupied.contains(fd) ? .file("<conn>") : nil
  }

  /// The lowest number not in use (it may be past the limit).
  private func lowestFree() -> Int {
    // The first summary word that has a word that is not full, then that word's first free bit.
    var s = 0
    while s < full.count && full[s] == .max { s += 1 }
    let w = s < full.count ? s * 64 + (~full[s]).trailingZeroBitCount : full.count * 64
    let bit = w < used.count ? (~used[w]).trailingZeroBitCount : 0
    return w * 64 + bit
  }

  /// Whether a new descriptor can be had (accept4 checks before it takes a connection).
  var hasRoom: Bool { lowestFree() < limit }

  /// The lowest free descriptor for `entry`, or nil when the limit is reached (EMFILE).
  mutating func allocate(_ entry: DescriptorEntry) -> Descriptor? {
    let fd = lowestFree()
    if fd >= limit { return nil }
    if entries.count <= fd {
      entries.append(contentsOf: repeatElement(nil, count: max(fd + 1 - entries.count, 16)))
    }
    entries[fd] = entry
    markUsed(fd)
    return Descriptor(fd)
  }

  /// FD_CLOEXEC of an open number.
  func closeOnExec(_ fd: Descriptor) -> Bool { !keptOnExec.contains(fd) }

  mutating func setCloseOnExec(_ fd: Descriptor, _ on: Bool) {
    if on { keptOnExec.remove(fd) } else { keptOnExec.insert(fd) }
  }

  /// O_NONBLOCK of a file's descriptor (per number here; Linux keeps it per open file).
  func fileNonblocking(_ fd: Descriptor) -> Bool { nonblockingFiles.contains(fd) }

  mutating func setFileNonblocking(_ fd: Descriptor, _ on: Bool) {
    if on { nonblockingFiles.insert(fd) } else { nonblockingFiles.remove(fd) }
  }

  /// Whether `fd` is one the real process holds for itself (a scenario may not take it).
  func isOccupied(_ fd: Descriptor) -> Bool { !occupied.isEmpty && occupied.contains(fd) }

  /// Takes the lowest free number without opening anything there yet (accept4 does so before
  /// it waits): it reads as closed (EBADF) until `place` fills it or `release` gives it back.
  mutating func reserve() -> Descriptor? {
    let fd = lowestFree()
    if fd >= limit { return nil }
    markUsed(fd)
    return Descriptor(fd)
  }

  /// Gives back a number `reserve` took and nothing filled.
  mutating func unreserve(_ fd: Descriptor) {
    let i = Int(fd)
    guard i < entries.count ? entries[i] == nil : true else { return }
    used[i / 64] &= ~(1 << UInt64(i % 64))
    full[i / 4096] &= ~(1 << UInt64((i / 64) % 64))
  }

  /// Puts `entry` at `fd`, which must be free and below the limit (dup3 onto a number).
  mutating func place(_ entry: DescriptorEntry, at fd: Descriptor) {
    let i = Int(fd)
    if entries.count <= i {
      entries.append(contentsOf: repeatElement(nil, count: max(i + 1 - entries.count, 16)))
    }
    entries[i] = entry
    markUsed(i)
  }

  /// Frees a descriptor; returns what it was.
  mutating func release(_ fd: Descriptor) -> DescriptorEntry? {
    let i = Int(fd)
    let e: DescriptorEntry
    if fd >= 0 && i < entries.count, let opened = entries[i] {
      e = opened
      entries[i] = nil
    } else if !occupied.isEmpty, occupied.remove(fd) != nil {
      e = .file("<conn>")
    } else {
      return nil
    }
    used[i / 64] &= ~(1 << UInt64(i % 64))
    full[i / 4096] &= ~(1 << UInt64((i / 64) % 64))
    keptOnExec.remove(fd)
    nonblockingFiles.remove(fd)
    return e
  }
}

/// A set of descriptor numbers as bits: a close asks it twice, and a hashed set cost more than
/// the rest of the close.
struct DescriptorBits {
  private var words: [UInt64] = []

  init(_ fds: [Descriptor]) { for fd in fds { insert(fd) } }

  func contains(_ fd: Descriptor) -> Bool {
    let i = Int(fd)
    return i >= 0 && i / 64 < words.count && words[i / 64] & (1 << UInt64(i % 64)) != 0
  }

  mutating func insert(_ fd: Descriptor) {
    let i = Int(fd)
    guard i >= 0 else { return }
    if words.count <= i / 64 { words.append(contentsOf: repeatElement(0, count: i / 64 + 1 - words.count)) }
    words[i / 64] |= 1 << UInt64(i % 64)
  }

  mutating func remove(_ fd: Descriptor) {
    let i = Int(fd)
    guard i >= 0, i / 64 < words.count, words[i / 64] & (1 << UInt64(i % 64)) != 0 else { return }
    words[i / 64] &= ~(1 << UInt64(i % 64))
  }
}
