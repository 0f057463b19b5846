import ConnRuntime
import ConnSyntax

// What TCP and UDP share: bind's address rules (inet_bind, inet6_bind), the port conflict check
// with SO_REUSEADDR and SO_REUSEPORT, source address selection, and the address arithmetic of
// v4-mapped IPv6 and the wildcard.

protocol InetSocket {
  var common: CommonState { get set }
  var isListening: Bool { get }
}

extension SimBackend {
  /// The address bind(2) would bind, or the errno it gives before looking at ports. The order
  /// is the kernel's, and differs by family: inet_bind checks the address before the state
  /// (a bound socket binding a foreign address answers EADDRNOTAVAIL), __inet6_bind the state
  /// before the address. A sockaddr shorter than the family's is EINVAL, a long one of another
  /// family EAFNOSUPPORT.
  func inetBindAddress(_ s: CommonState, _ address: SocketAddress) -> Result<SocketAddress, Errno> {
    let network = hosts[Int(s.host)].network
    // inet_num: a port held (a failed connect or a datagram disconnect may have given it back).
    let bound = s.localPort != 0
    /// inet_addr_valid_or_nonlocal: local, multicast and broadcast addresses can be bound.
    func v4Bindable(_ ip: IPv4Address) -> Bool {
      s.options.freebind || ip.isAny || ip.isMulticast || network.isBroadcast(ip)
        || network.isLocal(.inet(ip, port: 0))
    }
    switch (s.kind.family, address) {
    case (.inet, .inet(let ip, let port)):
      if !v4Bindable(ip) { return .failure(.EADDRNOTAVAIL) }
      if portNeedsPrivilege(port, host: s.host) { return .failure(.EACCES) }
      if bound { return .failure(.EINVAL) }
      return .success(address)
    case (.inet, .unspec):
      // AF_UNSPEC with INADDR_ANY binds the wildcard.
      if bound { return .failure(.EINVAL) }
      return .success(.inet(.any, port: 0))
    case (.inet, _):
      return .failure(Self.naturalLength(address) < 16 ? .EINVAL : .EAFNOSUPPORT)
    case (.inet6, .inet6(let ip, let port, let scope)):
      if ip.isMulticast && s.kind.type == .stream { return .failure(.EINVAL) }
      if portNeedsPrivilege(port, host: s.host) { return .failure(.EACCES) }
      if bound { return .failure(.EINVAL) }
      if let v4 = ip.mappedIPv4 {
        if s.options.v6only { return .failure(.EINVAL) }
        // Still holding an IPv6 address it was bound to (a disconnect kept it): no v4-mapped one.
        if s.addressLocked, case .inet6(let held, _, _)? = s.local, !held.isAny, held.mappedIPv4 == nil {
          return .failure(.EINVAL)
        }
        return v4Bindable(v4) ? .success(address) : .failure(.EADDRNOTAVAIL)
      }
      if ip.isAny { return .success(address) }
      // Link-local unicast and multicast need an interface (a scope).
      if (ip.isLinkLocal || ip.isLinkLocalMulticast) && scope == nil { return .failure(.EINVAL) }
      if !ip.isMulticast && !s.options.freebind && !network.isLocal(address) {
        return .failure(.EADDRNOTAVAIL)
      }
      return .success(address)
    case (.inet6, _):
      // A sockaddr_in (16 bytes) is shorter than a sockaddr_in6.
      return .failure(Self.naturalLength(address) < 24 ? .EINVAL : .EAFNOSUPPORT)
    default:
      return .failure(.EINVAL)
    }
  }

  /// bind(2) for TCP and UDP: the address rules, then the port (a free ephemeral one for port
  /// 0, else the conflict check).
  func inetBind<S: InetSocket>(
    _ h: Handle, _ address: SocketAddress, in table: inout SocketTable<S>, ports: inout PortTable,
    datagram: Bool
  ) -> Outcome {
    switch inetBindAddress(table[h].common, address) {
    case .failure(let e): return .failure(e)
    case .success(let addr):
      var port = addr.port ?? 0
      if port == 0 && table[h].common.options.bindAddressNoPort {
        // IP_BIND_ADDRESS_NO_PORT: the address now, the port at connect.
        Self.setLocal(h, addr, in: &table, ports: &ports)
        table[h].common.userBound = true
        table[h].common.addressLocked = !addr.isWildcard
        table[h].common.portLocked = false
        return .ok
      }
      if port == 0 {
        guard let p = ports.ephemeral(in: hosts[Int(table[h].common.host)].network.ephemeral) else {
          return .failure(.EADDRINUSE)
        }
        port = p
      } else if portConflict(h, addr, in: table, ports: ports, datagram: datagram) {
        return .failure(.EADDRINUSE)
      }
      Self.setLocal(h, withPort(addr, port), in: &table, ports: &ports)
      table[h].common.userBound = true
      table[h].common.addressLocked = !addr.isWildcard
      table[h].common.portLocked = (addr.port ?? 0) != 0
      return .ok
    }
  }

  /// Changes a socket's local address, keeping its protocol's port table in step.
  static func setLocal<S: InetSocket>(
    _ h: Handle, _ a: SocketAddress?, in table: inout SocketTable<S>, ports: inout PortTable
  ) {
    let old = table[h].common.localPort
    let new = a?.port ?? 0
    if old != new {
      ports.remove(h, port: old)
      ports.add(h, port: new)
    }
    table[h].common.local = a
  }

  /// bind(2)'s port check: EADDRINUSE unless both sides agreed to share (SO_REUSEADDR with no
  /// listener among them for TCP, or SO_REUSEPORT).
  func portConflict<S: InetSocket>(
    _ h: Handle, _ addr: SocketAddress, in table: SocketTable<S>, ports: PortTable, datagram: Bool
  ) -> Bool {
    let s = table[h].common.options
    var clash = false
    ports.forEachHolder(of: addr.port ?? 0) { o in
      if o == h { return true }
      let other = table[o]
      // Ports belong to a network namespace: another host's sockets never clash.
      if other.common.host != table[h].common.host { return true }
      guard let ol = other.common.local,
        overlaps(addr, v6only: s.v6only, ol, v6only: other.common.options.v6only)
      else { return true }
      if s.reusePort && other.common.options.reusePort { return true }
      if s.reuseAddr && other.common.options.reuseAddr && (datagram || !other.isListening) { return true }
      clash = true
      return false
    }
    return clash
  }

  /// Do two bound addresses overlap (equal, or one is a wildcard of a family the other covers)?
  private func overlaps(_ a: SocketAddress, v6only av6: Bool, _ b: SocketAddress, v6only bv6: Bool) -> Bool {
    switch (a, b) {
    case (.inet(let x, _), .inet(let y, _)): return x.isAny || y.isAny || x == y
    case (.inet6(let x, _, _), .inet6(let y, _, _)): return x.isAny || y.isAny || x == y
    case (.inet6(let x, _, _), .inet(let y, _)):
      if x.isAny { return !av6 }
      return x.mappedIPv4.map { y.isAny || $0 == y } ?? false
    case (.inet(let x, _), .inet6(let y, _, _)):
      if y.isAny { return !bv6 }
      return y.mappedIPv4.map { x.isAny || $0 == x } ?? false
    default: return false
    }
  }

  /// Would a listener bound to `l` take a SYN for `dest`?
  func listenerTakes(_ l: SocketAddress, v6only: Bool, _ dest: SocketAddress) -> Bool {
    switch (l, dest) {
    case (.inet(let a, _), .inet(let d, _)): return a.isAny || a == d
    case (.inet(let a, _), .inet6(let d, _, _)): return d.mappedIPv4.map { a.isAny || a == $0 } ?? false
    case (.inet6(let a, _, _), .inet6(let d, _, _)):
      if let v4 = d.mappedIPv4 {
        if v6only { return false }
        return a.isAny || a.mappedIPv4 == v4
      }
      return a.isAny || a == d
    case (.inet6(let a, _, _), .inet(let d, _)):
      if v6only { return false }
      return a.isAny || a.mappedIPv4 == d
    default: return false
    }
  }

  /// The source address of a packet to `dest` from a socket on host `host` bound to `bound`.
  func sourceAddress(for dest: SocketAddress, bound: SocketAddress?, on host: Int32) -> SocketAddress {
    if let l = bound {
      switch l {
      case .inet(let ip, _) where !ip.isAny: return l
      case .inet6(let ip, _, _) where !ip.isAny: return l
      default: break
      }
    }
    return hosts[Int(host)].network.source(for: dest)
  }
}

extension SimNetwork {
  /// The source address of an unbound socket's packet to `dest`.
  func source(for dest: SocketAddress) -> SocketAddress {
    switch dest {
    case .inet(let ip, _):
      // A loopback destination that is one of this host's own addresses is its own source
      // (the local route's preferred source); any other one is reached from 127.0.0.1.
      if ip.isLoopback {
        let own = localPrefixes.contains { $0.hostAddress.socketAddress == .inet(ip, port: 0) }
        return own ? .inet(ip, port: 0) : .inet(.loopback, port: 0)
      }
      if let src = localSource(for: dest) { return src }
      return extraLocal.first { if case .inet = $0 { return true } else { return false } }
        ?? .inet(.loopback, port: 0)
    case .inet6(let ip, _, _):
      if let v4 = ip.mappedIPv4 {
        var src: IPv4Address = .loopback
        if !v4.isLoopback {
          if case .inet(let s, _)? = localSource(for: .inet(v4, port: 0)) {
            src = s
          } else if isLocal(.inet(v4, port: 0)) {
            src = v4
          }
        }
        return .inet6(.mapping(src), port: 0, scope: nil)
      }
      if ip.isLoopback { return .inet6(.loopback, port: 0, scope: nil) }
      if let src = localSource(for: dest) { return src }
      return extraLocal.first { if case .inet6 = $0 { return true } else { return false } }
        ?? .inet6(.loopback, port: 0, scope: nil)
    default: return dest
    }
  }
}

func withPort(_ a: SocketAddress, _ p: UInt16) -> SocketAddress {
  switch a {
  case .inet(let ip, _): return .inet(ip, port: p)
  case .inet6(let ip, _, let sc): return .inet6(ip, port: p, scope: sc)
  default: return a
  }
}

/// A datagram (UDP or raw) socket holding a v4-mapped source, bound or left by a connect, cannot
/// reach an IPv6 destination (EAFNOSUPPORT).
func holdsMappedSource(_ local: SocketAddress?, against dest: SocketAddress) -> Bool {
  guard case .inet6(let ip, _, _) = dest, ip.mappedIPv4 == nil, !ip.isAny,
    case .inet6(let held, _, _)? = local
  else { return false }
  return held.mappedIPv4.map { !$0.isAny } == true
}

/// The wildcard address of a family, port 0.
func anyAddress(_ family: AddressFamily) -> SocketAddress {
  family == .inet6 ? .inet6(.any, port: 0, scope: nil) : .inet(.any, port: 0)
}

/// `a` as a socket of `family` reports it: v4 in an inet6 socket is ::ffff:a.b.c.d.
func peerAddress(_ a: SocketAddress, as family: AddressFamily) -> SocketAddress {
  switch (a, family) {
  case (.inet(let ip, let p), .inet6): return .inet6(.mapping(ip), port: p, scope: nil)
  case (.inet6(let ip, let p, _), .inet): return ip.mappedIPv4.map { .inet($0, port: p) } ?? a
  default: return a
  }
}

/// Connecting to the wildcard address from a socket bound to a unicast address: the route
/// lookup takes the source as the destination (IPv4); an IPv6 socket holding a v4-mapped source goes
/// to ::ffff:127.0.0.1. Otherwise as `resolvedDestination(_:)`.
func resolvedDestination(_ a: SocketAddress, boundTo local: SocketAddress?) -> SocketAddress {
  switch (a, local) {
  case (.inet(let ip, let p), .inet(let l, _)?)
  where ip.isAny && !l.isAny && !l.isMulticast && l != .broadcast:
    return .inet(l, port: p)
  case (.inet6(let ip, let p, let s), .inet6(let l, _, _)?) where ip.isAny && l.mappedIPv4 != nil && !l.isAny:
    return .inet6(.mapping(.loopback), port: p, scope: s)
  case (.inet6(let ip, let p, let s), .inet6(let l, _, _)?)
  where ip.mappedIPv4?.isAny == true
    && l.mappedIPv4.map({ !$0.isAny && !$0.isMulticast && $0 != .broadcast }) == true:
    // ::ffff:0.0.0.0 is IPv4's any address: the bound IPv4 source, as for an inet socket.
    return .inet6(l, port: p, scope: s)
  default: return resolvedDestination(a)
  }
}

/// Connecting to the wildcard address reaches this host (Linux rewrites it to loopback).
func resolvedDestination(_ a: SocketAddress) -> SocketAddress {
  switch a {
  case .inet(let ip, let p) where ip.isAny: return .inet(.loopback, port: p)
  case .inet6(let ip, let p, let s) where ip.isAny: return .inet6(.loopback, port: p, scope: s)
  case .inet6(let ip, let p, let s) where ip.mappedIPv4?.isAny == true:
    return .inet6(.mapping(.loopback), port: p, scope: s)
  default: return a
  }
}

/// The IPv4 address of a destination, plain or v4-mapped.
func ipv4(of a: SocketAddress) -> IPv4Address? {
  switch a {
  case .inet(let ip, _): return ip
  case .inet6(let ip, _, _): return ip.mappedIPv4
  default: return nil
  }
}

/// The same endpoint, whether written v4 or v4-mapped, and whatever the scope.
func sameEndpoint(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
  func norm(_ x: SocketAddress) -> SocketAddress {
    if case .inet6(let ip, let p, _) = x, let v4 = ip.mappedIPv4 { return .inet(v4, port: p) }
    if case .inet6(let ip, let p, _) = x { return .inet6(ip, port: p, scope: nil) }
    return x
  }
  return norm(a) == norm(b)
}
