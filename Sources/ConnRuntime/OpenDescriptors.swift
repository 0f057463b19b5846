/// Descriptors opened and not yet closed, with how many names opened each (a descriptor number
/// can come back after a close). Small numbers, the usual case, live in an array indexed by the
/// number; others in a dictionary.
final class OpenDescriptors {
  private let counts = PlainArray<Int32>(filler: 0)
  private var large: [Descriptor: Int32] = [:]
  private static let arrayLimit: Descriptor = 1 << 16

  @inline(__always) func add(_ fd: Descriptor) {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      if i >= counts.count { counts.grow(to: max(i + 1, 64)) }
      counts[i] += 1
    } else {
      large[fd, default: 0] += 1
    }
  }

  @inline(__always) func remove(_ fd: Descriptor) {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      if i < counts.count && counts[i] > 0 { counts[i] -= 1 }
    } else if let c = large[fd] {
      large[fd] = c <= 1 ? nil : c - 1
    }
  }

  func removeAll() {
    counts.reset()
    large = [:]
  }

  /// Every open descriptor, in ascending order.
  func all() -> [Descriptor] {
    var out: [Descriptor] = []
    for fd in counts.indices where counts[fd] > 0 { out.append(Descriptor(fd)) }
    for (fd, c) in large where c > 0 { out.append(fd) }
    out.sort()
    return out
  }
}
