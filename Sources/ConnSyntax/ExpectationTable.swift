/// The distinct `expect` alternatives of one parse, so that equal ones share one storage. The
/// usual ones (errnos, ok, timeout, poll events, within, one IP address without a scope) are
/// found by a packed key in a small open-addressing table, without hashing arrays; the rest
/// (numbers, several addresses, sockets) in a dictionary. (`on`, `off` and durations, rare, go to
/// the dictionary too.)
struct ExpectationTable {
  private struct Key: Equatable {
    var low: UInt64
    var high: UInt64
    var within: Int64
    /// ok, timeout, has-within, event count (3 bits), then up to 7 event sets of 8 bits.
    var misc: UInt64
    /// One IP address: its bits (IPv4 in `addressLow`), and its port, family and presence in
    /// `addressPort` (port | 1 << 16 for IPv4, 2 << 16 for IPv6; 0: none).
    var addressHigh: UInt64 = 0
    var addressLow: UInt64 = 0
    var addressPort: UInt32 = 0
  }
  private var keys: [Key] = []
  private var values: [Expectation.Storage?] = []
  private var count = 0
  private var others: [Expectation.Alternatives: Expectation.Storage] = [:]

  private static func key(_ a: Expectation.Alternatives) -> Key? {
    guard a.numbers.isEmpty, a.addresses.count <= 1, a.sockets.isEmpty, a.events.count <= 7, a.after == nil,
      a.data.isEmpty, !a.on, !a.off, a.durations.isEmpty, a.portTemplates.isEmpty, a.descriptorEvents.isEmpty
    else {
      return nil
    }
    var misc: UInt64 =
      (a.ok ? 1 : 0) | (a.timeout ? 2 : 0) | (a.within != nil ? 4 : 0) | UInt64(a.events.count) << 3
    for (i, e) in a.events.enumerated() { misc |= UInt64(e.rawValue) << (8 + 8 * UInt64(i)) }
    var k = Key(low: a.errnos.low, high: a.errnos.high, within: a.within?.nanoseconds ?? 0, misc: misc)
    if let address = a.addresses.first {
      switch address {
      case .inet(let ip, let port):
        k.addressLow = UInt64(ip.value)
        k.addressPort = UInt32(port) | 1 << 16
      case .inet6(let ip, let port, nil):
        k.addressHigh = ip.high
        k.addressLow = ip.low
        k.addressPort = UInt32(port) | 2 << 16
      default:
        return nil
      }
    }
    return k
  }

  private static func slot(_ k: Key, _ mask: Int) -> Int {
    var h = k.low &* 0x9E37_79B9_7F4A_7C15
    h ^= (k.high &+ 0x632B_E59B_D9B4_E019) &* 0xBF58_476D_1CE4_E5B9
    h ^= UInt64(bitPattern: k.within) &* 0x94D0_49BB_1331_11EB
    h ^= k.misc &* 0xD6E8_FEB8_6659_FD93
    h ^=
      (k.addressHigh ^ (k.addressLow << 17 | k.addressLow >> 47) ^ UInt64(k.addressPort))
      &* 0x9FB2_1C65_1E98_DF25
    // The products above carry a change of an input's high bits to the high bits only; the
    // slot is taken from the low ones: mix them (splitmix64's finalizer), or keys that differ
    // in a port or a high errno probe one long cluster.
    h ^= h >> 30
    h = h &* 0xBF58_476D_1CE4_E5B9
    h ^= h >> 27
    h = h &* 0x94D0_49BB_1331_11EB
    h ^= h >> 31
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
