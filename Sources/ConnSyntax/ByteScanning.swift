// Byte-level machinery the front end shares: a lookup table from byte strings to values (so
// that keyword, errno and option recognition never builds a String on the hot path), byte
// comparison, and a word-at-a-time count of statement ends.

/// A lookup table from byte strings to values, so that keyword and errno recognition never
/// builds a `String` on the hot path.
package struct ByteTable<Value>: @unchecked Sendable {
  /// All keys back to back; entry i is bytes[offsets[i] ..< offsets[i] + lengths[i]].
  private var bytes: [UInt8] = []
  private var offsets: [Int32] = []
  private var lengths: [Int32] = []
  private var values: [Value] = []
  private var slots: [Int32]
  private let mask: Int

  package init(_ entries: [(String, Value)]) {
    var size = 16
    while size < entries.count * 4 { size *= 2 }
    slots = [Int32](repeating: -1, count: size)
    mask = size - 1
    for (k, v) in entries {
      let key = Array(k.utf8)
      var i = key.withUnsafeBufferPointer { ByteTable.hash($0.baseAddress!, $0.count) } & mask
      while slots[i] >= 0 { i = (i + 1) & mask }
      slots[i] = Int32(values.count)
      offsets.append(Int32(bytes.count))
      lengths.append(Int32(key.count))
      bytes += key
      values.append(v)
    }
  }

  /// Eight bytes per step (a byte-at-a-time hash is a chain of dependent multiplies, slow for
  /// names such as ECONNREFUSED that the parser looks up over and over).
  @inline(__always)
  static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 8 <= n {
      h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
      h ^= h >> 32
      i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
      tail |= UInt64(p[i]) << shift
      shift += 8
      i += 1
    }
    h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    return Int(truncatingIfNeeded: h ^ (h >> 29))
  }

  package func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Value? {
    var i = ByteTable.hash(p, n) & mask
    return bytes.withUnsafeBufferPointer { keys -> Value? in
      while true {
        let s = Int(slots[i])
        if s < 0 { return nil }
        if Int(lengths[s]) == n && memEqual(keys.baseAddress! + Int(offsets[s]), p, n) { return values[s] }
        i = (i + 1) & mask
      }
    }
  }

  package func lookup(_ s: String) -> Value? {
    var s = s
    return s.withUTF8 { b in b.count == 0 ? nil : lookup(b.baseAddress!, b.count) }
  }

  package var names: [String] {
    (0..<values.count).map {
      String(decoding: bytes[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])], as: UTF8.self)
    }
  }
}

@inline(__always)
func memEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
  for i in 0..<n where a[i] != b[i] { return false }
  return true
}

/// How many newline and ';' bytes `buf` holds: eight bytes at a time (this runs over the whole
/// file before parsing, so it must cost next to nothing).
func statementEndCount(_ buf: UnsafeBufferPointer<UInt8>) -> Int {
  guard let base = buf.baseAddress else { return 0 }
  let n = buf.count
  let words = n / 8
  var count = 0
  let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
  let high: UInt64 = 0x8080_8080_8080_8080
  let newlines: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
  let semicolons: UInt64 = 0x3B3B_3B3B_3B3B_3B3B
  @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v) & high }
  var p = UnsafeRawPointer(base)
  for _ in 0..<words {
    let v = p.loadUnaligned(as: UInt64.self)
    count &+= (zeroBytes(v ^ newlines) | zeroBytes(v ^ semicolons)).nonzeroBitCount
    p += 8
  }
  for i in (words * 8)..<n where base[i] == 0x0A || base[i] == 0x3B { count += 1 }
  return count
}
