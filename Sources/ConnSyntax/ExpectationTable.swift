/// The distinct `expect` alternatives of one parse, so that equal ones share one storage. The
/// usual ones (errnos, ok, timeout, poll events, within) are found by a packed key in a small
/// open-addressing table, without hashing arrays; the rest (numbers, addresses, sockets) in a
/// dictionary. (`on`, `off` and durations, rare, go to the dictionary too.)
struct ExpectationTable {
  private struct Key: Equatable {
    var low: UInt64
    var high: UInt64
    var within: Int64
    /// ok, timeout, has-within, event count (3 bits), then up to 7 event sets of 8 bits.
    var misc: UInt64
  }
  private var keys: [Key] = []
  private var values: [Expectation.Storage?] = []
  private var count = 0
  private var others: [Expectation.Alternatives: Expectation.Storage] = [:]

  private static func key(_ a: Expectation.Alternatives) -> Key? {
    guard a.numbers.isEmpty, a.addresses.isEmpty, a.sockets.isEmpty, a.events.count <= 7, a.after == nil,
      a.data.isEmpty, !a.on, !a.off, a.durations.isEmpty
    else {
      return nil
    }
    var misc: UInt64 =
      (a.ok ? 1 : 0) | (a.timeout ? 2 : 0) | (a.within != nil ? 4 : 0) | UInt64(a.events.count) << 3
    for (i, e) in a.events.enumerated() { misc |= UInt64(e.rawValue) << (8 + 8 * UInt64(i)) }
    return Key(low: a.errnos.low, high: a.errnos.high, within: a.within?.nanoseconds ?? 0, misc: misc)
  }

  private static func slot(_ k: Key, _ mask: Int) -> Int {
    var h = k.low &* 0x9E37_79B9_7F4A_7C15
    h ^= (k.high &+ 0x632B_E59B_D9B4_E019) &* 0xBF58_476D_1CE4_E5B9
    h ^= UInt64(bitPattern: k.within) &* 0x94D0_49BB_1331_11EB
    h ^= k.misc &* 0xD6E8_FEB8_6659_FD93
    h ^= h >> 29
    return Int(truncatingIfNeeded: h) & mask
  }

  /// The storage for these alternatives: an earlier equal one, or a new one.
  mutating func shared(_ a: Expectation.Alternatives) -> Expectation.Storage {
    guard let k = Self.key(a) else {
      if let s = others[a] { return s }
      let s = Expectation.Storage(a)
      others[a] = s
      return s
    }
    if keys.isEmpty {
      keys = [Key](repeating: Key(low: 0, high: 0, within: 0, misc: 0), count: 64)
      values = [Expectation.Storage?](repeating: nil, count: 64)
    }
    var i = Self.slot(k, keys.count - 1)
    while let s = values[i] {
      if keys[i] == k { return s }
      i = (i + 1) & (keys.count - 1)
    }
    let s = Expectation.Storage(a)
    keys[i] = k
    values[i] = s
    count += 1
    if count * 2 > keys.count { grow() }
    return s
  }

  private mutating func grow() {
    let oldKeys = keys
    let oldValues = values
    keys = [Key](repeating: Key(low: 0, high: 0, within: 0, misc: 0), count: oldKeys.count * 2)
    values = [Expectation.Storage?](repeating: nil, count: oldKeys.count * 2)
    for j in oldKeys.indices {
      guard let s = oldValues[j] else { continue }
      var i = Self.slot(oldKeys[j], keys.count - 1)
      while values[i] != nil { i = (i + 1) & (keys.count - 1) }
      keys[i] = oldKeys[j]
      values[i] = s
    }
  }
}
