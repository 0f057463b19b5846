import ConnRuntime
import ConnSyntax

// One simulated host's network: its addresses (loopback, `net addr` prefixes, the addresses of
// its links), its routes (connected prefixes of links that are up, `route` and `net route`
// statements) and what each route does to a packet. Built from the scenario's `net` statements
// and its topology statements (Hosts.swift) on top of Linux's defaults: loopback (127.0.0.0/8
// and ::1) and no default route.

enum RouteVerdict: Equatable {
  /// Delivered to this host (a listener may answer).
  case local
  /// The packet leaves and nothing ever answers (a silent route; a blackhole seen from afar).
  case lost
  /// The route lookup fails with this errno.
  case error(Errno)
  /// Out of an interface (its index) toward this next hop on the link.
  case link(Int, nextHop: IPAddress)
}

/// A host's end of a link.
struct SimInterface {
  /// The host at the other end.
  var peer: Int32
  /// The interface's name: the peer host's name.
  var name: String
  /// The interface's addresses with their prefix lengths (10.9.0.1/24).
  var addresses: [IPPrefix]
  var up = true
}

/// A route written by a `route` statement.
struct SimRoute {
  var prefix: IPPrefix
  var target: Target
  enum Target: Equatable {
    case via(IPAddress)
    case verdict(RouteVerdict)
  }
}

/// A class, not a struct: the simulation reads a host's network several times in every connect,
/// and a copy of a struct of arrays costs a retain and a release per array; each host owns its
/// own instance (made with the host, never shared). Its fields skip the run-time exclusivity
/// checks, as the backend's own do: the simulation runs on one thread at a time (its calls in the
/// background are coroutines that take turns).
final class SimNetwork {
  /// `net route` rules.
  @exclusivity(unchecked) var routes: [SimRoute] = []
  /// Prefixes of this host beyond loopback (`net addr`, `addr add ... lo`), with the address
  /// written: the whole prefix is local, as on Linux's loopback.
  @exclusivity(unchecked) var localPrefixes: [IPPrefix] = []
  /// Loopback's own addresses (`addr del lo 127.0.0.1/8` takes IPv4's away).
  @exclusivity(unchecked) var loopbackV4 = true
  @exclusivity(unchecked) var loopbackV6 = true
  @exclusivity(unchecked) var interfaces: [SimInterface] = []

  /// The address written in each `net addr`, used as the source for destinations in its prefix.
  var extraLocal: [SocketAddress] {
    localPrefixes.map(\.hostAddress.socketAddress)
  }

  /// The configured address whose prefix holds `a`.
  func localSource(for a: SocketAddress) -> SocketAddress? {
    for p in localPrefixes where p.contains(a) { return p.hostAddress.socketAddress }
    // One of this host's own link addresses: itself.
    for i in interfaces {
      for p in i.addresses where p.hostAddress.socketAddress.sameIP(a) { return p.hostAddress.socketAddress }
    }
    // Out of a link (on it, or through a gateway): that link's address of the family.
    if case .link(let k, _) = route(a) {
      let v6 = a.ipAddress?.isV6 ?? false
      if let p = interfaces[k].addresses.first(where: { $0.isV6 == v6 }) {
        return p.hostAddress.socketAddress
      }
    }
    return nil
  }
  /// The ephemeral port range (net.ipv4.ip_local_port_range).
  @exclusivity(unchecked) var ephemeral: ClosedRange<UInt16> = 32768...60999
  /// Ports below it need CAP_NET_BIND_SERVICE (net.ipv4.ip_unprivileged_port_start).
  @exclusivity(unchecked) var unprivilegedPortStart: UInt16 = 1024

  init(rules: [NetRule]) {
    for r in rules {
      switch r {
      case .route(let p, let kind):
        let v: RouteVerdict
        switch kind {
        case .unreachable: v = .error(.EHOSTUNREACH)
        case .prohibit: v = .error(.EACCES)
        case .blackhole: v = .error(.EINVAL)
        case .silent: v = .lost
        }
        routes.append(SimRoute(prefix: p, target: .verdict(v)))
      case .address(let p):
        // Like 127.0.0.0/8 on loopback, every address of the prefix belongs to this host
        // (the kernel side runs `ip addr add PREFIX dev lo`).
        localPrefixes.append(p)
      case .ports(let lo, let hi):
        ephemeral = lo...hi
      }
    }
  }

  /// Whether the host has an IPv6 address to send from.
  var hasIPv6Address: Bool {
    loopbackV6 || localPrefixes.contains { $0.isV6 }
      || interfaces.contains { $0.addresses.contains { $0.isV6 } }
  }

  /// Is this an address of this host (bind may use it)?
  func isLocal(_ a: SocketAddress) -> Bool {
    switch a {
    case .inet(let ip, _):
      if ip.isAny { return true }
      if ip.isLoopback && loopbackV4 { return true }
    case .inet6(let ip, _, _):
      if ip.isAny { return true }
      if ip.isLoopback { return loopbackV6 }
      if let v4 = ip.mappedIPv4 { return isLocal(.inet(v4, port: 0)) }
    default: return true
    }
    if localPrefixes.contains(where: { $0.contains(a) }) { return true }
    for i in interfaces {
      for p in i.addresses where p.hostAddress.socketAddress.sameIP(a) { return true }
    }
    return false
  }

  /// The limited and loopback-subnet broadcast addresses, and the broadcast address of each
  /// IPv4 prefix of a link.
  func isBroadcast(_ ip: IPv4Address) -> Bool {
    if ip == .broadcast || ip.value == 0x7fff_ffff { return true }
    for i in interfaces {
      for case .v4(let a, let len) in i.addresses where len < 31 {
        let host: UInt32 = len == 0 ? .max : UInt32.max >> UInt32(len)
        if ip.value == (a.value | host) { return true }
      }
    }
    return false
  }

  /// Route lookup for a destination: this host's own addresses first (Linux's local table),
  /// then the longest prefix among the connected prefixes of links that are up and the routes
  /// written. No match: ENETUNREACH (there is no default route).
  func route(_ a: SocketAddress) -> RouteVerdict {
    switch a {
    case .inet(let ip, _):
      if ip.isAny { return .local }
      // Without 127.0.0.1/8 on loopback, 127.0.0.0/8 matches no route.
      if ip.isLoopback { return loopbackV4 ? .local : .error(.ENETUNREACH) }
    case .inet6(let ip, _, _):
      if ip.isAny { return .local }
      // ::1 taken away: IPv6 picks a source address before it looks at the route, so with no
      // IPv6 address left the answer is EADDRNOTAVAIL; with another one, no route (ENETUNREACH).
      if ip.isLoopback { return loopbackV6 ? .local : .error(hasIPv6Address ? .ENETUNREACH : .EADDRNOTAVAIL) }
      if let v4 = ip.mappedIPv4 { return route(.inet(v4, port: 0)) }
    default: return .local
    }
    if isLocal(a) { return .local }
    var best: (length: Int, verdict: RouteVerdict)?
    func offer(_ length: Int, _ v: RouteVerdict) {
      if best == nil || length > best!.length { best = (length, v) }
    }
    for (k, i) in interfaces.enumerated() where i.up {
      for p in i.addresses where p.networkOnly.contains(a) {
        offer(p.length, .link(k, nextHop: a.ipAddress!))
      }
    }
    for r in routes where r.prefix.contains(a) {
      switch r.target {
      case .verdict(let v): offer(r.prefix.length, v)
      case .via(let gw):
        // The gateway must be on a link that is up (a route whose link went down is gone).
        if let k = onLink(gw) { offer(r.prefix.length, .link(k, nextHop: gw)) }
      }
    }
    return best?.verdict ?? .error(.ENETUNREACH)
  }
}

extension SimNetwork {
  /// The interface (up) whose prefix holds `ip`.
  func onLink(_ ip: IPAddress) -> Int? {
    let a = ip.socketAddress
    for (k, i) in interfaces.enumerated() where i.up {
      if i.addresses.contains(where: { $0.networkOnly.contains(a) }) { return k }
    }
    return nil
  }
}

extension IPPrefix {
  /// The address as written (10.9.0.1 of 10.9.0.1/24).
  var hostAddress: IPAddress {
    switch self {
    case .v4(let a, _): return .v4(a)
    case .v6(let a, _): return .v6(a)
    }
  }
}

extension SocketAddress {
  /// The IP address, v4-mapped IPv6 read as IPv4; nil for Unix addresses.
  var ipAddress: IPAddress? {
    switch self {
    case .inet(let a, _): return .v4(a)
    case .inet6(let a, _, _): return a.mappedIPv4.map(IPAddress.v4) ?? .v6(a)
    default: return nil
    }
  }

  /// The same IP address, whatever the port (and v4-mapped or not).
  func sameIP(_ o: SocketAddress) -> Bool { ipAddress != nil && ipAddress == o.ipAddress }
}
