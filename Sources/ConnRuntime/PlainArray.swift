/// A growable array of plain values that is never shared: no copy-on-write check and no
/// reference counting on a write, which an `Array` stored in a class pays on every one.
///
/// The invariant that makes the raw pointer safe lives here and nowhere else: `base` holds
/// `capacity` initialized elements, of which the first `count` are the array; every access is
/// checked against `count`; the buffer is freed once, in `deinit`; the type is a class, so
/// the buffer is never aliased by a copy. Elements are `BitwiseCopyable`: nothing to release.
final class PlainArray<Element: BitwiseCopyable> {
  private(set) var count = 0
  private var capacity = 0
  private var base: UnsafeMutablePointer<Element>
  private let filler: Element

  /// An empty array; growing fills new places with `filler`.
  init(filler: Element) {
    self.filler = filler
    base = UnsafeMutablePointer<Element>.allocate(capacity: 1)
    base.initialize(to: filler)
    capacity = 1
  }

  deinit { base.deallocate() }

  var indices: Range<Int> { 0..<count }

  @inline(__always)
  subscript(i: Int) -> Element {
    get {
      precondition(i >= 0 && i < count, "PlainArray index out of range")
      return base[i]
    }
    set {
      precondition(i >= 0 && i < count, "PlainArray index out of range")
      base[i] = newValue
    }
  }

  func append(_ e: Element) {
    grow(to: count + 1)
    base[count - 1] = e
  }

  /// Makes the array at least `n` long, the new places holding the filler.
  func grow(to n: Int) {
    if n <= count { return }
    if n > capacity {
      let newCapacity = max(n, capacity * 2, 16)
      let fresh = UnsafeMutablePointer<Element>.allocate(capacity: newCapacity)
      fresh.initialize(from: base, count: capacity)
      (fresh + capacity).initialize(repeating: filler, count: newCapacity - capacity)
      base.deallocate()
      base = fresh
      capacity = newCapacity
    }
    count = n
  }

  /// Sets every element to the filler, keeping the length.
  func reset() {
    base.update(repeating: filler, count: capacity)
  }
}
