// The network around the scenario: hosts (each its own network namespace on the kernel), the
// links between them (veth pairs), routes, addresses, firewall rules and sysctls. Written as
// statements (`host`, `link`, `route`, `addr`, `firewall`, `sysctl`) and carried out at their
// place in the scenario, so a link can go down or an address disappear between two connects.

/// A host of the scenario: 0 is `self`, the scenario's own (where sockets live unless a `sock`
/// says `on HOST`); the others are numbered in the order their `host` statements appear.
package struct HostRef: Hashable, Sendable {
  package var index: Int32
  package var range: SourceRange
  package init(index: Int32, range: SourceRange) {
    self.index = index
    self.range = range
  }
  package static let selfIndex: Int32 = 0
}

/// An IP address without a port.
package enum IPAddress: Hashable, Sendable {
  case v4(IPv4Address)
  case v6(IPv6Address)

  package var description: String {
    switch self {
    case .v4(let a): return a.description
    case .v6(let a): return a.description
    }
  }
}

/// Where a route sends what it matches.
package enum RouteTarget: Hashable, Sendable {
  /// Through a gateway on a link.
  case via(IPAddress)
  /// Through a host: its address on the link to the route's host, of the prefix's family.
  case viaHost(HostRef)
  case unreachable
  case prohibit
  case blackhole
}

/// A host's network interface: loopback, or its end of the link to another host (named, inside
/// the host, after that host).
package enum Device: Hashable, Sendable {
  case loopback
  case link(to: HostRef)
}

package enum FirewallChain: String, CaseIterable, Sendable {
  case input, output, forward
}

package enum FirewallProtocol: String, Sendable {
  case tcp, udp
}

/// What a rule matches; nil matches anything.
package struct FirewallMatch: Hashable, Sendable {
  package var proto: FirewallProtocol?
  package var source: IPPrefix?
  package var destination: IPPrefix?
  package var sourcePort: UInt16?
  package var destinationPort: UInt16?
  package init() {}
}

/// ICMP unreachable codes a reject can send (nftables spells them so). The `icmp` family
/// applies to IPv4 packets only, `icmpv6` to IPv6 only, `icmpx` to both.
package enum ICMPReject: String, CaseIterable, Sendable {
  case netUnreachable = "net-unreachable"
  case hostUnreachable = "host-unreachable"
  case portUnreachable = "port-unreachable"
  case adminProhibited = "admin-prohibited"
  case noRoute = "no-route"
  case addrUnreachable = "addr-unreachable"

  /// The types each family has.
  package static let icmp: [ICMPReject] = [
    .netUnreachable, .hostUnreachable, .portUnreachable, .adminProhibited,
  ]
  package static let icmpv6: [ICMPReject] = [.noRoute, .addrUnreachable, .portUnreachable, .adminProhibited]
  package static let icmpx: [ICMPReject] = [.noRoute, .hostUnreachable, .portUnreachable, .adminProhibited]
}

package enum ICMPFamily: String, Sendable {
  case icmp, icmpv6, icmpx
}

package enum FirewallVerdict: Hashable, Sendable {
  case accept
  case drop
  /// Plain `reject`: in nftables' inet family, ICMP(v6) port unreachable.
  case reject
  case rejectWithReset
  case rejectWithICMP(ICMPFamily, ICMPReject)
}

/// One topology statement.
package enum TopologyStatement: Hashable, Sendable {
  /// `host NAME [router]`: a host of its own (a network namespace with loopback up); a router
  /// forwards between its links.
  case host(HostRef, router: Bool)
  /// `link A B PREFIX [PREFIX]`: a link between two hosts; A gets the prefix's first address,
  /// B the second (one IPv4 and one IPv6 prefix at most).
  case link(HostRef, HostRef, [IPPrefix])
  /// `link A B up|down`: A's end of the link.
  case linkState(HostRef, HostRef, up: Bool)
  /// `route HOST PREFIX (via ADDRESS|HOST | unreachable | prohibit | blackhole)`.
  case route(HostRef, IPPrefix, RouteTarget)
  /// `addr add|del [HOST] DEVICE PREFIX`.
  case address(HostRef, Device, IPPrefix, add: Bool)
  /// `firewall HOST CHAIN [tcp|udp] [saddr P] [daddr P] [sport N] [dport N] VERDICT`.
  case firewall(HostRef, FirewallChain, FirewallMatch, FirewallVerdict)
  /// `sysctl HOST KEY VALUE`: one of the host's own (per network namespace) `net.*` settings.
  case sysctl(HostRef, key: String, value: String)
  /// `firewall HOST connect deny | reject with ERRNO`: sockets made on the host from here on
  /// have connect(2) refused at once, with EPERM or the errno (a cgroup BPF connect hook on the
  /// kernel).
  case connectHook(HostRef, Errno?)

  /// The same statement with every host renumbered (a session numbers hosts across pieces).
  package func mapHosts(_ f: (Int32) -> Int32) -> TopologyStatement {
    func m(_ h: HostRef) -> HostRef { HostRef(index: f(h.index), range: h.range) }
    switch self {
    case .host(let h, let router): return .host(m(h), router: router)
    case .link(let a, let b, let p): return .link(m(a), m(b), p)
    case .linkState(let a, let b, let up): return .linkState(m(a), m(b), up: up)
    case .route(let h, let p, .viaHost(let g)): return .route(m(h), p, .viaHost(m(g)))
    case .route(let h, let p, let t): return .route(m(h), p, t)
    case .address(let h, .link(let to), let p, let add): return .address(m(h), .link(to: m(to)), p, add: add)
    case .address(let h, .loopback, let p, let add): return .address(m(h), .loopback, p, add: add)
    case .firewall(let h, let c, let match, let v): return .firewall(m(h), c, match, v)
    case .sysctl(let h, let k, let v): return .sysctl(m(h), key: k, value: v)
    case .connectHook(let h, let e): return .connectHook(m(h), e)
    }
  }

  /// The statement's keyword.
  package var keyword: String {
    switch self {
    case .host: return "host"
    case .link, .linkState: return "link"
    case .route: return "route"
    case .address: return "addr"
    case .firewall, .connectHook: return "firewall"
    case .sysctl: return "sysctl"
    }
  }
}

/// The n-th address of a prefix (n = 1: the first after the network address).
package func address(_ n: UInt32, in p: IPPrefix) -> IPAddress {
  switch p.networkOnly {
  case .v4(let a, _): return .v4(IPv4Address(a.value &+ n))
  case .v6(let a, _): return .v6(IPv6Address(high: a.high, low: a.low &+ UInt64(n)))
  }
}

extension IPAddress {
  /// The address as a socket address with port 0.
  package var socketAddress: SocketAddress {
    switch self {
    case .v4(let a): return .inet(a, port: 0)
    case .v6(let a): return .inet6(a, port: 0, scope: nil)
    }
  }
}
