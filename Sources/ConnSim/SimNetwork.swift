import ConnRuntime
import ConnSyntax

// The simulated network: which destinations are local, which routes exist and what each route
// does to a packet. Built from the scenario's `net` statements on top of Linux's defaults:
// loopback (127.0.0.0/8 and ::1) and no default route.

enum RouteVerdict: Equatable {
  /// Delivered to this host (a listener may answer).
  case local
  /// The packet leaves and nothing ever answers (a silent route, or a dummy interface).
  case lost
  /// The route lookup fails with this errno.
  case error(Errno)
}

struct SimNetwork {
  struct Route {
    var prefix: IPPrefix
    var verdict: RouteVerdict
  }
  var routes: [Route] = []
  /// Addresses of this host beyond loopback (`net addr`).
  var extraLocal: [SocketAddress] = []
  /// The ephemeral port range (net.ipv4.ip_local_port_range).
  var ephemeral: ClosedRange<UInt16> = 32768...60999

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
        routes.append(Route(prefix: p, verdict: v))
      case .address(let p):
        // The address itself is local; the rest of its subnet is reached through a dummy
        // interface, which drops what it is given.
        switch p {
        case .v4(let a, let len):
          extraLocal.append(.inet(a, port: 0))
          routes.append(Route(prefix: .v4(a, 32), verdict: .local))
          if len < 32 { routes.append(Route(prefix: p, verdict: .lost)) }
        case .v6(let a, let len):
          extraLocal.append(.inet6(a, port: 0, scope: nil))
          routes.append(Route(prefix: .v6(a, 128), verdict: .local))
          if len < 128 { routes.append(Route(prefix: p, verdict: .lost)) }
        }
      case .ports(let lo, let hi):
        ephemeral = lo...hi
      }
    }
  }

  /// Is this an address of this host (bind may use it)?
  func isLocal(_ a: SocketAddress) -> Bool {
    switch a {
    case .inet(let ip, _):
      if ip.isLoopback || ip.isAny { return true }
      return extraLocal.contains { if case .inet(let x, _) = $0 { return x == ip } else { return false } }
    case .inet6(let ip, _, _):
      if ip.isLoopback || ip.isAny { return true }
      if let v4 = ip.mappedIPv4 { return isLocal(.inet(v4, port: 0)) }
      return extraLocal.contains { if case .inet6(let x, _, _) = $0 { return x == ip } else { return false } }
    default: return true
    }
  }

  /// The limited and loopback-subnet broadcast addresses.
  func isBroadcast(_ ip: IPv4Address) -> Bool {
    ip == .broadcast || ip.value == 0x7fff_ffff
  }

  /// Route lookup for a destination, longest prefix first; Linux's local table wins for this
  /// host's own addresses. No match: ENETUNREACH (there is no default route).
  func route(_ a: SocketAddress) -> RouteVerdict {
    switch a {
    case .inet(let ip, _):
      if ip.isLoopback || ip.isAny { return .local }
    case .inet6(let ip, _, _):
      if ip.isLoopback || ip.isAny { return .local }
      if let v4 = ip.mappedIPv4 { return route(.inet(v4, port: 0)) }
    default: return .local
    }
    if isLocal(a) { return .local }
    var best: Route?
    for r in routes where r.prefix.contains(a) {
      if best == nil || r.prefix.length > best!.prefix.length { best = r }
    }
    return best?.verdict ?? .error(.ENETUNREACH)
  }
}
