import ConnRuntime
import ConnSyntax

// The simulated network: which destinations are local, which routes exist and what each route
// does to a packet. Built from the scenario's `net` statements on top of Linux's defaults:
// loopback (127.0.0.0/8 and ::1) and no default route.

enum RouteVerdict: Equatable {
  /// Delivered to this host (a listener may answer).
  case local
  /// The packet leaves and nothing ever answers (a silent route).
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
  /// Prefixes of this host beyond loopback (`net addr`), with the address written.
  var localPrefixes: [IPPrefix] = []

  /// The address written in each `net addr`, used as the source for destinations in its prefix.
  var extraLocal: [SocketAddress] {
    localPrefixes.map {
      switch $0 {
      case .v4(let a, _): return .inet(a, port: 0)
      case .v6(let a, _): return .inet6(a, port: 0, scope: nil)
      }
    }
  }

  /// The configured address whose prefix holds `a`.
  func localSource(for a: SocketAddress) -> SocketAddress? {
    for p in localPrefixes where p.contains(a) {
      switch p {
      case .v4(let x, _): return .inet(x, port: 0)
      case .v6(let x, _): return .inet6(x, port: 0, scope: nil)
      }
    }
    return nil
  }
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
        // Like 127.0.0.0/8 on loopback, every address of the prefix belongs to this host
        // (the kernel side runs `ip addr add PREFIX dev lo`).
        localPrefixes.append(p)
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
      return localPrefixes.contains { $0.contains(a) }
    case .inet6(let ip, _, _):
      if ip.isLoopback || ip.isAny { return true }
      if let v4 = ip.mappedIPv4 { return isLocal(.inet(v4, port: 0)) }
      return localPrefixes.contains { $0.contains(a) }
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
