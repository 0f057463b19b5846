// Addresses as the language writes them, parsed and printed without libc so that the front end
// can reject `999.1.1.1:80` before anything runs, and so that the simulated backend can compare
// addresses without asking the kernel.

package struct IPv4Address: Hashable, Sendable, Comparable {
  /// Host byte order: 127.0.0.1 is 0x7f000001.
  package var value: UInt32
  package init(_ value: UInt32) { self.value = value }
  package init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
    value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
  }
  package static let any = IPv4Address(0)
  package static let loopback = IPv4Address(127, 0, 0, 1)
  package static let broadcast = IPv4Address(0xffff_ffff)
  package var isLoopback: Bool { value >> 24 == 127 }
  package var isAny: Bool { value == 0 }
  package var isMulticast: Bool { value >> 28 == 0xe }
  package static func < (l: IPv4Address, r: IPv4Address) -> Bool { l.value < r.value }

  package var description: String {
    "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
  }

  /// Parses dotted-quad text; nil on anything else (leading zeros, values over 255, missing parts).
  package static func parse<C: Collection>(_ s: C) -> IPv4Address? where C.Element == UInt8 {
    var parts = 0
    var cur: UInt32 = 0
    var digits = 0
    var result: UInt32 = 0
    for c in s {
      if c >= 0x30 && c <= 0x39 {
        if digits > 0 && cur == 0 { return nil }  // leading zero: 01 is ambiguous (octal in inet_aton)
        cur = cur * 10 + UInt32(c - 0x30)
        digits += 1
        if cur > 255 || digits > 3 { return nil }
      } else if c == 0x2E {
        if digits == 0 || parts == 3 { return nil }
        result = result << 8 | cur
        parts += 1
        cur = 0
        digits = 0
      } else {
        return nil
      }
    }
    if digits == 0 || parts != 3 { return nil }
    return IPv4Address(result << 8 | cur)
  }
}

package struct IPv6Address: Hashable, Sendable {
  package var high: UInt64
  package var low: UInt64
  package init(high: UInt64, low: UInt64) {
    self.high = high
    self.low = low
  }
  package static let any = IPv6Address(high: 0, low: 0)
  package static let loopback = IPv6Address(high: 0, low: 1)

  package var bytes: [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
      + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
  }
  package init(bytes b: [UInt8]) {
    var h: UInt64 = 0
    var l: UInt64 = 0
    for i in 0..<8 { h = h << 8 | UInt64(b[i]) }
    for i in 8..<16 { l = l << 8 | UInt64(b[i]) }
    self.init(high: h, low: l)
  }
  package var isLoopback: Bool { self == .loopback }
  package var isAny: Bool { high == 0 && low == 0 }
  /// ::ffff:a.b.c.d
  package var mappedIPv4: IPv4Address? {
    high == 0 && low >> 32 == 0xffff ? IPv4Address(UInt32(truncatingIfNeeded: low)) : nil
  }
  package static func mapping(_ v4: IPv4Address) -> IPv6Address {
    IPv6Address(high: 0, low: 0xffff_0000_0000 | UInt64(v4.value))
  }
  package var isLinkLocal: Bool { high >> 54 == 0x3fa }
  /// ff00::/8
  package var isMulticast: Bool { high >> 56 == 0xff }
  /// Interface- and link-local multicast (ff01::/16, ff02::/16): like link-local unicast, they
  /// need a scope (an interface).
  package var isLinkLocalMulticast: Bool { isMulticast && (1...2).contains((high >> 48) & 0xf) }

  /// RFC 5952 text: lowercase, longest zero run compressed, v4-mapped in dotted form.
  package var description: String {
    if let v4 = mappedIPv4 { return "::ffff:\(v4.description)" }
    let groups: [UInt16] = (0..<8).map { i in
      let word = i < 4 ? high : low
      return UInt16(truncatingIfNeeded: word >> (48 - 16 * UInt64(i % 4)))
    }
    var bestStart = -1
    var bestLen = 1
    var i = 0
    while i < 8 {
      if groups[i] == 0 {
        var j = i
        while j < 8 && groups[j] == 0 { j += 1 }
        if j - i > bestLen {
          bestStart = i
          bestLen = j - i
        }
        i = j
      } else {
        i += 1
      }
    }
    func hex(_ r: Range<Int>) -> String { r.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
    if bestStart < 0 { return hex(0..<8) }
    return hex(0..<bestStart) + "::" + hex((bestStart + bestLen)..<8)
  }

  package static func parse(_ text: [UInt8]) -> IPv6Address? {
    text.withUnsafeBufferPointer { parse($0) }
  }

  /// RFC 4291 text: groups of up to four hex digits, one `::` at most, an optional dotted IPv4
  /// tail. Groups go to stack storage: no heap allocation.
  package static func parse(_ text: UnsafeBufferPointer<UInt8>) -> IPv6Address? {
    let n = text.count
    if n < 2 || n > 45 { return nil }
    return withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 8) { g -> IPv6Address? in
      g.initialize(repeating: 0)
      var total = 0
      var gapAt = -1
      var i = 0
      if text[0] == 0x3A {
        guard text[1] == 0x3A else { return nil }
        gapAt = 0
        i = 2
      }
      while i < n {
        var j = i
        var v: UInt32 = 0
        while j < n, j - i < 5, let d = hexValue(text[j]) {
          v = v << 4 | UInt32(d)
          j += 1
        }
        if j < n && text[j] == 0x2E {
          guard total <= 6, let v4 = IPv4Address.parse(UnsafeBufferPointer(rebasing: text[i..<n])) else {
            return nil
          }
          g[total] = UInt16(v4.value >> 16)
          g[total + 1] = UInt16(v4.value & 0xffff)
          total += 2
          break
        }
        if j == i || j - i > 4 || total == 8 { return nil }
        g[total] = UInt16(v)
        total += 1
        i = j
        if i == n { break }
        guard text[i] == 0x3A else { return nil }
        if i + 1 < n && text[i + 1] == 0x3A {
          if gapAt >= 0 { return nil }
          gapAt = total
          i += 2
        } else {
          i += 1
          if i == n { return nil }
        }
      }
      if gapAt >= 0 ? total > 7 : total != 8 { return nil }
      if gapAt >= 0 {
        // Move the groups after "::" to the end and zero the gap.
        let zeros = 8 - total
        var k = total - 1
        while k >= gapAt {
          g[k + zeros] = g[k]
          k -= 1
        }
        for z in gapAt..<(gapAt + zeros) { g[z] = 0 }
      }
      var h: UInt64 = 0
      var l: UInt64 = 0
      for k in 0..<4 { h = h << 16 | UInt64(g[k]) }
      for k in 4..<8 { l = l << 16 | UInt64(g[k]) }
      return IPv6Address(high: h, low: l)
    }
  }
}

@inline(__always) func hexValue(_ c: UInt8) -> UInt8? {
  switch c {
  case 0x30...0x39: return c - 0x30
  case 0x61...0x66: return c - 0x61 + 10
  case 0x41...0x46: return c - 0x41 + 10
  default: return nil
  }
}

/// A socket address as a script writes it or as a call returns it.
///
/// The cases other than IPv4 are `indirect` (boxed): the enum is then the size of a pointer, not
/// of an IPv6 address with its scope, which keeps every statement and outcome that holds an
/// address small.
package enum SocketAddress: Hashable, Sendable {
  case inet(IPv4Address, port: UInt16)
  /// `scope` is the text after `%` (an interface name or number), resolved by the backend.
  indirect case inet6(IPv6Address, port: UInt16, scope: String?)
  /// A path; the empty path is an unnamed (unbound) Unix socket.
  indirect case unix(String)
  /// Linux abstract namespace name, written `@name`.
  indirect case abstract(String)
  /// AF_UNSPEC: dissolves a datagram association.
  case unspec
  /// AF_NETLINK: a port id (0: the kernel) and a bit mask of multicast groups.
  indirect case netlink(pid: UInt32, groups: UInt32)
  /// AF_PACKET, as getsockname reports it: the protocol (in host order) and the interface.
  indirect case packet(proto: UInt16, ifindex: Int32)

  package var family: AddressFamily? {
    switch self {
    case .inet: return .inet
    case .inet6: return .inet6
    case .unix, .abstract: return .unix
    case .netlink: return .netlink
    case .packet: return .packet
    case .unspec: return nil
    }
  }

  package var port: UInt16? {
    switch self {
    case .inet(_, let p), .inet6(_, let p, _): return p
    default: return nil
    }
  }

  /// The same address with another port (IP addresses only; others are returned as they are).
  package func withPort(_ port: UInt16) -> SocketAddress {
    switch self {
    case .inet(let a, _): return .inet(a, port: port)
    case .inet6(let a, _, let scope): return .inet6(a, port: port, scope: scope)
    default: return self
    }
  }

  /// Loopback, Unix, and unspecified addresses never leave the machine.
  package var isLocalOnly: Bool {
    switch self {
    case .inet(let a, _): return a.isLoopback
    case .inet6(let a, _, _): return a.isLoopback || (a.mappedIPv4?.isLoopback ?? false)
    case .unix, .abstract, .unspec, .netlink: return true
    // Packet sockets have no connect: nothing is sent to an address.
    case .packet: return true
    }
  }

  /// The same text the language uses: `127.0.0.1:80`, `[::1]:80`, `"/run/x.sock"`, `@name`, `unspec`.
  package var description: String {
    switch self {
    case .inet(let a, let p): return "\(a.description):\(p)"
    case .inet6(let a, let p, let s): return "[\(a.description)\(s.map { "%" + $0 } ?? "")]:\(p)"
    case .unix(let path): return path.isEmpty ? "unnamed" : quoteString(path)
    case .abstract(let name): return "@" + name
    case .unspec: return "unspec"
    case .netlink(let pid, let groups): return "netlink \(pid)" + (groups == 0 ? "" : " groups \(groups)")
    case .packet(let proto, let ifindex): return "packet proto \(proto) ifindex \(ifindex)"
    }
  }
}

/// An IP prefix, `10.0.0.0/8` or `fd00::/64`.
package enum IPPrefix: Hashable, Sendable {
  case v4(IPv4Address, Int)
  case v6(IPv6Address, Int)

  package var description: String {
    switch self {
    case .v4(let a, let l): return "\(a.description)/\(l)"
    case .v6(let a, let l): return "\(a.description)/\(l)"
    }
  }

  package func contains(_ address: SocketAddress) -> Bool {
    switch (self, address) {
    case (.v4(let net, let len), .inet(let a, _)):
      if len == 0 { return true }
      let mask: UInt32 = len >= 32 ? .max : ~(UInt32.max >> UInt32(len))
      return a.value & mask == net.value & mask
    case (.v6(let net, let len), .inet6(let a, _, _)):
      func m(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
      return a.high & m(len) == net.high & m(len) && a.low & m(len - 64) == net.low & m(len - 64)
    default: return false
    }
  }

  package var length: Int {
    switch self {
    case .v4(_, let l), .v6(_, let l): return l
    }
  }

  /// The prefix with every bit past its length cleared: 10.0.0.0/8 for 10.1.2.3/8.
  package var networkOnly: IPPrefix {
    switch self {
    case .v4(let a, let l):
      let mask: UInt32 = l == 0 ? 0 : l >= 32 ? .max : ~(UInt32.max >> UInt32(l))
      return .v4(IPv4Address(a.value & mask), l)
    case .v6(let a, let l):
      func m(_ bits: Int) -> UInt64 { bits <= 0 ? 0 : bits >= 64 ? .max : ~(UInt64.max >> UInt64(bits)) }
      return .v6(IPv6Address(high: a.high & m(l), low: a.low & m(l - 64)), l)
    }
  }
}
