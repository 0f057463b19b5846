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
  private(set) var entries: [DescriptorEntry?] = []
  /// Bit set: the descriptor is open.
  private var used: [UInt64] = []
  /// Bit set: that word of `used` is full.
  private var full: [UInt64] = []
  let limit: Int

  init(limit: Int, occupied: [Descriptor] = []) {
    self.limit = max(limit, 3)
    for name in ["<stdin>", "<stdout>", "<stderr>"] { _ = allocate(.file(name)) }
    for fd in occupied where fd > 2 && Int(fd) < self.limit { occupy(fd) }
  }

  /// Marks a number as taken by something outside the scenario (the tool's own descriptors).
  private mutating func occupy(_ fd: Descriptor) {
    let i = Int(fd)
    while used.count <= i / 64 { used.append(0) }
    while full.count <= i / 4096 { full.append(0) }
    while entries.count <= i { entries.append(nil) }
    entries[i] = .file("<conn>")
    used[i / 64] |= 1 << UInt64(i % 64)
    if used[i / 64] == .max { full[i / 4096] |= 1 << UInt64((i / 64) % 64) }
  }

  subscript(fd: Descriptor) -> DescriptorEntry? {
    fd >= 0 && Int(fd) < entries.count ? entries[Int(fd)] : nil
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
    let w = fd / 64
    while used.count <= w { used.append(0) }
    while full.count <= w / 64 { full.append(0) }
    while entries.count <= fd { entries.append(nil) }
    entries[fd] = entry
    used[w] |= 1 << UInt64(fd % 64)
    if used[w] == .max { full[w / 64] |= 1 << UInt64(w % 64) }
    return Descriptor(fd)
  }

  /// Frees a descriptor; returns what it was.
  mutating func release(_ fd: Descriptor) -> DescriptorEntry? {
    guard let e = self[fd] else { return nil }
    let i = Int(fd)
    entries[i] = nil
    used[i / 64] &= ~(1 << UInt64(i % 64))
    full[i / 4096] &= ~(1 << UInt64((i / 64) % 64))
    return e
  }
}
