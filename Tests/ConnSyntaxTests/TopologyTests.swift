import Testing

@testable import ConnSyntax

/// The topology statements: what they parse into, and what the checker refuses.
@Suite struct TopologyTests {
  func kinds(_ text: String) -> [TopologyStatement] {
    let script = Parser.parse(SourceFile(name: "t.conn", text: text))
    #expect(!script.hasErrors, "\(script.diagnostics.map(\.message))")
    return script.statements.compactMap {
      if case .topology(let t) = $0.kind { return t }
      return nil
    }
  }

  @Test func hostsLinksAndRoutesParseWithHostsNumberedSelfFirst() throws {
    let text = """
      host r router
      host srv
      link self r 10.9.1.0/24 fd00:1::/64
      link r srv 10.9.2.0/24
      route self default via r
      route srv 10.9.1.0/24 via 10.9.2.254
      route r 10.9.3.0/24 unreachable
      link self r down
      """
    let script = Parser.parse(SourceFile(name: "t.conn", text: text))
    #expect(script.hostNames == ["self", "r", "srv"])
    let t = kinds(text)
    guard case .host(let r, router: true) = t[0], case .host(let srv, router: false) = t[1] else {
      Issue.record("\(t)")
      return
    }
    #expect(r.index == 1 && srv.index == 2)
    guard case .link(let a, let b, let prefixes) = t[2] else { throw Failure("\(t[2])") }
    #expect(a.index == 0 && b.index == 1 && prefixes.count == 2)
    guard case .route(_, .v4(_, 0), .viaHost(let g)) = t[4] else { throw Failure("\(t[4])") }
    #expect(g.index == 1)
    guard case .route(_, _, .via(.v4(let gw))) = t[5] else { throw Failure("\(t[5])") }
    #expect(gw.description == "10.9.2.254")
    guard case .route(_, _, .unreachable) = t[6], case .linkState(_, _, up: false) = t[7] else {
      throw Failure("\(t[6]) \(t[7])")
    }
  }

  @Test func firewallRulesAndSysctlsParse() throws {
    let t = kinds(
      """
      host srv
      firewall srv input tcp dport 80 reject with tcp reset
      firewall srv forward daddr 10.9.3.0/24 reject with icmp host-unreachable
      firewall self output udp sport 53 drop
      firewall srv input reject
      sysctl srv net.ipv4.tcp_syn_retries 1
      sysctl self net.ipv4.ip_local_port_range 40000 40010
      addr del lo 127.0.0.1/8
      addr add srv lo 10.9.9.1/24
      """)
    guard case .firewall(_, .input, let m, .rejectWithReset) = t[1] else { throw Failure("\(t[1])") }
    #expect(m.proto == .tcp && m.destinationPort == 80)
    guard case .firewall(_, .forward, let m2, .rejectWithICMP(.icmp, .hostUnreachable)) = t[2] else {
      throw Failure("\(t[2])")
    }
    #expect(m2.destination == .v4(IPv4Address(10, 9, 3, 0), 24))
    guard case .firewall(_, .output, let m3, .drop) = t[3], case .firewall(_, _, _, .reject) = t[4] else {
      throw Failure("\(t[3])")
    }
    #expect(m3.proto == .udp && m3.sourcePort == 53)
    guard case .sysctl(_, let key, let value) = t[6] else { throw Failure("\(t[6])") }
    #expect(key == "net.ipv4.ip_local_port_range" && value == "40000 40010")
    guard case .address(let h, .loopback, _, add: false) = t[7],
      case .address(let h2, .loopback, _, add: true) = t[8]
    else { throw Failure("\(t[7]) \(t[8])") }
    #expect(h.index == 0 && h2.index == 1)
  }

  @Test func theCheckerKnowsHostsAndLinks() {
    assertDiagnostic("link self 1️⃣srv 10.9.0.0/24\n", "check.undeclared-host")
    assertDiagnostic("host srv\nlink self srv 10.9.0.0/24\nlink srv 1️⃣self 10.9.1.0/24\n", "check.topology")
    assertDiagnostic("host srv\nlink self 1️⃣srv down\n", "check.topology")
    assertDiagnostic("host srv\nhost 1️⃣srv\n", "check.topology")
    assertDiagnostic("host srv\nlink self srv 10.9.0.0/24\nroute self default6 via 1️⃣srv\n", "check.topology")
    assertDiagnostic("host 1️⃣self\n", "parse.host-name")
    assertDiagnostic("host 1️⃣averyveryverylongname\n", "parse.host-name")
    assertDiagnostic("sock s = stream inet on 1️⃣nowhere\n", "check.undeclared-host")
  }

  @Test func mistakesAreSaidWhereTheyAre() {
    assertDiagnostic("host srv\nfirewall srv input reject with 1️⃣tcp reset\n", "parse.expected")
    assertDiagnostic("sysctl self 1️⃣kernel.pid_max 10\n", "parse.sysctl")
    assertDiagnostic("host srv\nlink self srv 1️⃣10.9.0.1/24\n", "check.prefix-host-bits")
    assertDiagnostic("host srv\nlink self srv 1️⃣10.9.0.0/31\n", "check.out-of-range")
    assertDiagnostic(
      "host srv\nfirewall srv input udp dport 53 reject with icmp 1️⃣no-route\n", "parse.expected")
    assertDiagnostic("host srv\nfirewall srv input 1️⃣dport 53 drop\n", "parse.expected")
  }

  @Test func expectTakesALowerBound() throws {
    let script = Parser.parse(
      SourceFile(
        name: "t.conn",
        text: "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect ECONNREFUSED after 1ms within 2s\n"))
    #expect(!script.hasErrors)
    guard case .expect(let e) = script.statements[2].kind else { throw Failure("no expect") }
    #expect(e.after == .milliseconds(1) && e.within == .seconds(2))
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect ECONNREFUSED within 1s 1️⃣after 2s\n",
      "check.out-of-range")
  }

  @Test func bindTakesAnotherSocketsAddress() throws {
    let script = Parser.parse(
      SourceFile(
        name: "t.conn", text: "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nbind s l\n"))
    #expect(!script.hasErrors)
    guard case .bindTo(let s, let l) = script.statements[3].kind else {
      throw Failure("\(script.statements[3].kind)")
    }
    #expect(script.socketNames[Int(s.slot)] == "s" && script.socketNames[Int(l.slot)] == "l")
    assertDiagnostic("sock s = stream inet\nbind s 1️⃣l\n", "check.undeclared-socket")
  }
}

struct Failure: Error, CustomStringConvertible {
  let description: String
  init(_ d: String) { description = d }
}
