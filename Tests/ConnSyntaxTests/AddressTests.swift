import Testing

@testable import ConnSyntax

private func v4(_ s: String) -> IPv4Address? { IPv4Address.parse(Array(s.utf8)) }
private func v6(_ s: String) -> IPv6Address? { IPv6Address.parse(Array(s.utf8)) }

@Suite struct AddressTests {
  @Test(arguments: ["0.0.0.0", "127.0.0.1", "255.255.255.255", "10.20.30.40", "192.168.0.1", "1.0.0.0"])
  func ipv4RoundTrip(_ text: String) {
    #expect(v4(text)?.description == text)
  }

  @Test func ipv4Values() {
    #expect(v4("127.0.0.1") == .loopback)
    #expect(v4("127.0.0.1")?.value == 0x7f00_0001)
    #expect(v4("0.0.0.0") == .any)
    #expect(v4("255.255.255.255") == .broadcast)
    #expect(v4("224.0.0.1")?.isMulticast == true)
    #expect(v4("127.255.0.9")?.isLoopback == true)
  }

  @Test(arguments: [
    "", "1", "1.2.3", "1.2.3.4.5", "256.0.0.1", "1.2.3.256", "01.2.3.4", "1.2.3.04", "00.0.0.0", "1..2.3",
    ".1.2.3", "1.2.3.", "1234.1.1.1", "a.b.c.d", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4:80", "-1.2.3.4",
    "1.2.3.4/8",
    "999.1.1.1",
  ])
  func ipv4Invalid(_ text: String) {
    #expect(v4(text) == nil)
  }

  @Test(arguments: [
    // (input, RFC 5952 form)
    ("::", "::"),
    ("::1", "::1"),
    ("1::", "1::"),
    ("2001:db8::1", "2001:db8::1"),
    ("2001:DB8::1", "2001:db8::1"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
    ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // first of two equal runs
    ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
    ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),  // the longest run
    ("fe80::1", "fe80::1"),
    ("FE80:0:0:0:0:0:0:1", "fe80::1"),
    ("1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"),
    ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
    ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
    ("0:0:0:0:0:0:0:0", "::"),
    ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
    ("::ffff:127.0.0.1", "::ffff:127.0.0.1"),
    ("::ffff:7f00:1", "::ffff:127.0.0.1"),
    ("::FFFF:10.1.2.3", "::ffff:10.1.2.3"),
    ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
    ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
  ])
  func ipv6Canonical(_ input: String, _ canonical: String) {
    let a = v6(input)
    #expect(a?.description == canonical)
    // And the canonical text parses back to the same address.
    #expect(a.flatMap { v6($0.description) } == a)
  }

  @Test func ipv6ValuesAndMapping() {
    #expect(v6("::1") == .loopback)
    #expect(v6("::") == .any)
    #expect(v6("::1")?.isLoopback == true)
    #expect(v6("fe80::abcd")?.isLinkLocal == true)
    #expect(v6("febf::1")?.isLinkLocal == true)
    #expect(v6("fec0::1")?.isLinkLocal == false)
    let mapped = v6("::ffff:192.0.2.1")
    #expect(mapped?.mappedIPv4 == IPv4Address(192, 0, 2, 1))
    #expect(mapped == .mapping(IPv4Address(192, 0, 2, 1)))
    #expect(v6("::1")?.mappedIPv4 == nil)
    #expect(v6("2001:db8::1")?.bytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    let b = v6("2001:db8::1")!
    #expect(IPv6Address(bytes: b.bytes) == b)
  }

  @Test(arguments: [
    "", ":", ":::", ":1", "1:", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7:8::", "::g", "g::", "::1.2.3", "::256.1.1.1", "1.2.3.4", "::1.2.3.4.5",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::ffff:01.2.3.4", "[::1]", "::1%lo", "fe80::1/64", " ::1", "::1 ", "1:2:3:4:5:6:7:8:", "::-1",
    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000",
  ])
  func ipv6Invalid(_ text: String) {
    #expect(v6(text) == nil)
  }

  @Test func prefixContainsIPv4() {
    let ten = IPPrefix.v4(IPv4Address(10, 0, 0, 0), 8)
    #expect(ten.contains(.inet(IPv4Address(10, 255, 1, 2), port: 80)))
    #expect(!ten.contains(.inet(IPv4Address(11, 0, 0, 0), port: 80)))
    #expect(!ten.contains(.inet6(.mapping(IPv4Address(10, 0, 0, 1)), port: 80, scope: nil)))
    let all = IPPrefix.v4(.any, 0)
    #expect(all.contains(.inet(.broadcast, port: 1)))
    #expect(!all.contains(.unix("/x")))
    let host = IPPrefix.v4(IPv4Address(192, 0, 2, 7), 32)
    #expect(host.contains(.inet(IPv4Address(192, 0, 2, 7), port: 0)))
    #expect(!host.contains(.inet(IPv4Address(192, 0, 2, 6), port: 0)))
    let odd = IPPrefix.v4(IPv4Address(192, 0, 2, 128), 25)
    #expect(odd.contains(.inet(IPv4Address(192, 0, 2, 200), port: 0)))
    #expect(!odd.contains(.inet(IPv4Address(192, 0, 2, 127), port: 0)))
    #expect(ten.description == "10.0.0.0/8" && ten.length == 8)
  }

  @Test func prefixContainsIPv6() {
    let p64 = IPPrefix.v6(ipv6("fd00::"), 64)
    #expect(p64.contains(.inet6(ipv6("fd00::ffff:1"), port: 1, scope: nil)))
    #expect(!p64.contains(.inet6(ipv6("fd00:0:0:1::1"), port: 1, scope: nil)))
    #expect(!p64.contains(.inet(IPv4Address(10, 0, 0, 1), port: 1)))
    let p65 = IPPrefix.v6(ipv6("2001:db8::"), 65)
    #expect(p65.contains(.inet6(ipv6("2001:db8::7fff:0:0:1"), port: 1, scope: nil)))
    #expect(!p65.contains(.inet6(ipv6("2001:db8::8000:0:0:1"), port: 1, scope: nil)))
    let p12 = IPPrefix.v6(ipv6("fe80::"), 10)
    #expect(p12.contains(.inet6(ipv6("febf::1"), port: 1, scope: "lo")))
    #expect(!p12.contains(.inet6(ipv6("fec0::1"), port: 1, scope: nil)))
    let any = IPPrefix.v6(.any, 0)
    #expect(any.contains(.inet6(ipv6("ffff::1"), port: 1, scope: nil)))
    let host = IPPrefix.v6(.loopback, 128)
    #expect(host.contains(.inet6(.loopback, port: 1, scope: nil)))
    #expect(!host.contains(.inet6(ipv6("::2"), port: 1, scope: nil)))
    #expect(p64.description == "fd00::/64")
  }

  @Test func socketAddressDescriptions() {
    #expect(SocketAddress.inet(.loopback, port: 80).description == "127.0.0.1:80")
    #expect(SocketAddress.inet6(.loopback, port: 80, scope: nil).description == "[::1]:80")
    #expect(SocketAddress.inet6(ipv6("fe80::1"), port: 22, scope: "eth0").description == "[fe80::1%eth0]:22")
    #expect(SocketAddress.unix("/run/a b\"c").description == #""/run/a b\"c""#)
    #expect(SocketAddress.unix("").description == "unnamed")
    #expect(SocketAddress.abstract("x").description == "@x")
    #expect(SocketAddress.unspec.description == "unspec")
    #expect(SocketAddress.unspec.family == nil && SocketAddress.abstract("x").family == .unix)
    #expect(SocketAddress.inet6(.mapping(.loopback), port: 1, scope: nil).isLocalOnly)
    #expect(!SocketAddress.inet(IPv4Address(8, 8, 8, 8), port: 53).isLocalOnly)
  }

  @Test func quotedStringsReadBack() {
    let tricky = "a\"b\\c\nd\te\0f\u{7f}g\u{1}h\u{e9}"
    let quoted = quoteString(tricky)
    #expect(quoted == #""a\"b\\c\nd\te\0f\x7fg\x01h"# + "\u{e9}\"")
    // The quoted form is a single valid string token that decodes back to the original (as a
    // path, without the NUL, which no path may hold).
    let pathText = String(String.UnicodeScalarView(tricky.unicodeScalars.filter { $0.value != 0 }))
    let s = parse("sock s = stream unix\nbind s \(quoteString(pathText))\n")
    #expect(s.diagnostics.isEmpty)
    guard case .bind(_, .unix(let path))? = s.statements.last?.kind else {
      Issue.record("not a bind")
      return
    }
    #expect(path == pathText)
  }

  @Test func timeSpanDescriptions() {
    let cases: [(Int64, String)] = [
      (0, "0s"), (250_000, "250us"), (10_000_000, "10ms"), (1_500_000_000, "1.5s"), (120_000_000_000, "2m"),
      (7, "7ns"), (90_000_000_000, "90s"), (1_250_000, "1.25ms"),
    ]
    for (ns, text) in cases {
      #expect(TimeSpan(nanoseconds: ns).description == text)
      // What the description says is what the parser reads back.
      if case .sleep(let d, _)? = parse("sleep \(text)").statements.first?.kind {
        #expect(d.nanoseconds == ns, "\(text)")
      } else {
        Issue.record("sleep \(text) did not parse")
      }
    }
  }
}
