// Socket names interned by their bytes: a statement refers to a socket by slot number, and the
// parser never builds a String for a name it has seen before.

/// Interns socket names by their bytes; a slot number stands for a name from then on.
struct NameTable {
  var names: [String] = []
  private var keys: [(Int, Int)] = []  // (start, length) of the first spelling in the buffer
  private var slots = [Int32](repeating: -1, count: 64)
  /// The name interned last (statements in a row often name the same socket): where it was
  /// spelled, its length and its slot.
  private var lastStart = 0
  private var lastLength = -1
  private var lastSlot: Int32 = 0

  mutating func intern(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32 {
    let base = buf.baseAddress! + start
    let n = end - start
    if n == lastLength && memEqual(buf.baseAddress! + lastStart, base, n) {
      lastStart = start
      return lastSlot
    }
    let slot = lookupOrAdd(buf, start, n)
    lastStart = start
    lastLength = n
    lastSlot = slot
    return slot
  }

  private mutating func lookupOrAdd(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ n: Int) -> Int32 {
    let base = buf.baseAddress! + start
    var i = ByteTable<Int>.hash(base, n) & (slots.count - 1)
    while true {
      let s = slots[i]
      if s < 0 { break }
      let (ks, kn) = keys[Int(s)]
      if kn == n && memEqual(buf.baseAddress! + ks, base, n) { return s }
      i = (i + 1) & (slots.count - 1)
    }
    let slot = Int32(names.count)
    names.append(String(decoding: UnsafeBufferPointer(start: base, count: n), as: UTF8.self))
    keys.append((start, n))
    slots[i] = slot
    if names.count * 2 > slots.count { rehash(buf) }
    return slot
  }

  private mutating func rehash(_ buf: UnsafeBufferPointer<UInt8>) {
    slots = [Int32](repeating: -1, count: slots.count * 2)
    for (idx, (ks, kn)) in keys.enumerated() {
      var i = ByteTable<Int>.hash(buf.baseAddress! + ks, kn) & (slots.count - 1)
      while slots[i] >= 0 { i = (i + 1) & (slots.count - 1) }
      slots[i] = Int32(idx)
    }
  }
}
