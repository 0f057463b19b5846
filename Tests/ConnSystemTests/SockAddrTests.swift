import ConnRuntime
import ConnSyntax
import Testing

@testable import ConnSystem

/// Addresses go into a sockaddr and come back out as the language writes them.
@Suite struct SockAddrTests {
  func roundTrip(_ a: SocketAddress, dir: String = "/tmp/conn-abcdef", prefix: String = "conn.1.2.") -> (
    SocketAddress, Int
  ) {
    var sa = SockAddr()
    let len = sa.encode(a, dir: { dir }, abstractPrefix: prefix)
    return (sa.decode(len, dir: dir, abstractPrefix: prefix), Int(len))
  }

  @Test func internetAddresses() {
    let v4 = SocketAddress.inet(IPv4Address(127, 0, 0, 2), port: 8080)
    #expect(roundTrip(v4) == (v4, 16))
    let v6 = SocketAddress.inet6(.loopback, port: 443, scope: nil)
    #expect(roundTrip(v6) == (v6, 28))
    let mapped = SocketAddress.inet6(.mapping(.loopback), port: 1, scope: nil)
    #expect(roundTrip(mapped).0 == mapped)
    // A numeric scope comes back as the number the kernel holds.
    let scoped = SocketAddress.inet6(IPv6Address.parse(Array("fe80::1".utf8))!, port: 9, scope: "7")
    #expect(roundTrip(scoped).0 == scoped)
  }

  @Test func unixPathsLiveInThePrivateDirectoryAndComeBackRelative() {
    let (back, len) = roundTrip(.unix("x.sock"))
    #expect(back == .unix("x.sock"))
    // sun_path offset (2) + "/tmp/conn-abcdef/x.sock" + NUL.
    #expect(len == 2 + "/tmp/conn-abcdef/x.sock".utf8.count + 1)
    #expect(roundTrip(.unix("/run/abs.sock")).0 == .unix("/run/abs.sock"))
  }

  @Test func abstractNamesGetAPrivatePrefixThatIsStrippedAgain() {
    let (back, len) = roundTrip(.abstract("name"))
    #expect(back == .abstract("name"))
    #expect(len == 2 + 1 + "conn.1.2.name".utf8.count)
  }

  @Test func unspecIsAFamilyAlone() {
    #expect(roundTrip(.unspec).0 == .unspec)
  }

  @Test func everyErrnoHasANumberAndComesBack() {
    for e in Errno.allCases {
      let n = platformErrnoNumber(e)
      #expect(n > 0, "\(e.name) has no number")
      // Aliases share numbers (EWOULDBLOCK is EAGAIN): the name that comes back has that number.
      #expect(platformErrno(number: n).map(platformErrnoNumber) == n)
    }
  }
}

/// getsockname answers are kept only while they cannot change.
@Suite struct NameCacheTests {
  @Test func onlyBoundSocketsAreKeptAndAnyChangeForgetsThem() {
    var c = NameCache()
    let a = SocketAddress.inet(.loopback, port: 5)
    c.answered(3, a)
    #expect(c.cached(3) == nil, "not bound by bind: nothing kept")
    c.bound(3)
    c.answered(3, a)
    #expect(c.cached(3) == a)
    c.invalidate(3)
    #expect(c.cached(3) == nil)
    c.bound(70_000)  // past the table: never kept
    c.answered(70_000, a)
    #expect(c.cached(70_000) == nil)
  }
}
