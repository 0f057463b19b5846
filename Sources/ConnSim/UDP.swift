import ConnRuntime
import ConnSyntax

// UDP: connect only records the peer (ip4_datagram_connect, ip6_datagram_connect), after the
// route lookup and the broadcast check; AF_UNSPEC dissolves the association. Nothing is sent.

struct UDPSocket: InetSocket {
  var common: CommonState
  /// The associated peer (nil: none).
  var peer: SocketAddress?
  /// Datagrams received and not read yet.
  var datagrams: [Datagram] = []

  init(kind: SocketKind, nonblocking: Bool, host: Int32 = 0) {
    common = CommonState(kind: kind, nonblocking: nonblocking)
    common.host = host
  }

  var isListening: Bool { false }
}

extension SimBackend {
  func udpConnect(_ h: Handle, _ address: SocketAddress, length: Int) -> Outcome {
    if case .unspec = address {
      // udp_disconnect: what bind did not lock goes (the address, the port).
      udp[h].peer = nil
      let c = udp[h].common
      if let l = c.local {
        if !c.portLocked {
          setUDPLocal(h, c.addressLocked ? withPort(l, 0) : nil)
          udp[h].common.userBound = c.addressLocked
        } else if !c.addressLocked {
          udp[h].common.local = withPort(anyAddress(c.kind.family), l.port ?? 0)
        }
      }
      return .ok
    }
    if let denied = udp[h].common.connectDenied {
      return .failure(length < (udp[h].common.kind.family == .inet6 ? 24 : 16) ? .EINVAL : denied)
    }
    // inet_dgram_connect binds a port before the protocol looks at the address, so a connect
    // that fails leaves the socket bound.
    if udp[h].common.localPort == 0,
      let p = udpPorts.ephemeral(in: hosts[Int(udp[h].common.host)].network.ephemeral)
    {
      setUDPLocal(h, withPort(anyAddress(udp[h].common.kind.family), p))
    }
    let s = udp[h].common
    var dest = address
    switch (s.kind.family, address) {
    case (.inet, .inet):
      if length < 16 { return .failure(.EINVAL) }
    case (.inet, _):
      if length < 16 { return .failure(.EINVAL) }
      return .failure(.EAFNOSUPPORT)
    case (.inet6, .inet(let ip, let p)):
      // An inet6 datagram socket takes a sockaddr_in as IPv4 (unless IPV6_V6ONLY, or bound to
      // an IPv6 address).
      if s.options.v6only { return .failure(.EAFNOSUPPORT) }
      if s.addressLocked, case .inet6(let b, _, _)? = s.local, !b.isAny, b.mappedIPv4 == nil {
        return .failure(.EAFNOSUPPORT)
      }
      dest = .inet6(.mapping(ip), port: p, scope: nil)
    case (.inet6, .inet6(let ip, _, let scope)):
      if length < 24 { return .failure(.EINVAL) }
      // ip6_datagram_connect: link-local unicast and multicast need an interface.
      if (ip.isLinkLocal || ip.isLinkLocalMulticast) && scope == nil { return .failure(.EINVAL) }
      // A dual-stack socket bound to one family cannot reach the other.
      if case .inet6(let bound, _, _)? = s.local, !bound.isAny {
        // Bound to an IPv6 address: no v4-mapped destination.
        if ip.mappedIPv4 != nil && bound.mappedIPv4 == nil && s.addressLocked {
          return .failure(.ENETUNREACH)
        }
      }
      if ip.mappedIPv4 != nil && s.options.v6only { return .failure(.ENETUNREACH) }
    case (.inet6, _):
      return .failure(length < 24 ? .EINVAL : .EAFNOSUPPORT)
    default:
      return .failure(.EINVAL)
    }
    let routed = resolvedDestination(dest, boundTo: s.local)
    let network = hosts[Int(s.host)].network
    if case .error(let e) = network.route(routed) {
      // Multicast and limited broadcast go out of the bound source's interface (the route
      // lookup with a source address), so only an unbound socket fails here.
      let v4 = ipv4(of: routed)
      let viaSource =
        v4.map { $0.isMulticast || $0 == .broadcast } == true
        && ipv4(of: s.local ?? .unspec).map { !$0.isAny && !$0.isMulticast && !network.isBroadcast($0) }
          == true
      if !viaSource { return .failure(e) }
    }
    // After the route.
    if holdsMappedSource(s.local, against: dest) { return .failure(.EAFNOSUPPORT) }
    if let ip = ipv4(of: routed), network.isBroadcast(ip), !s.options.broadcast { return .failure(.EACCES) }
    let source = sourceAddress(for: routed, bound: s.local, on: s.host)
    if s.localPort == 0 {
      guard let p = udpPorts.ephemeral(in: network.ephemeral) else { return .failure(.EAGAIN) }
      setUDPLocal(h, withPort(source, p))
    } else if let l = s.local, l.isWildcard {
      udp[h].common.local = withPort(source, s.localPort)
    }
    // Port 0 is a peer too: the socket is connected (send works), getpeername says ENOTCONN.
    udp[h].peer = routed
    return .ok
  }

  func udpBind(_ h: Handle, _ address: SocketAddress) -> Outcome {
    inetBind(h, address, in: &udp, ports: &udpPorts, datagram: true)
  }

  func udpRelease(_ h: Handle) {
    setUDPLocal(h, nil)
    udp.remove(h)
  }

  private func setUDPLocal(_ h: Handle, _ a: SocketAddress?) {
    Self.setLocal(h, a, in: &udp, ports: &udpPorts)
  }

  func udpShutdown(_ h: Handle, read rd: Bool, write wr: Bool) -> Outcome {
    // inet_shutdown: an unconnected datagram socket is TCP_CLOSE: ENOTCONN, flags set anyway.
    if rd { udp[h].common.shutRead = true }
    if wr { udp[h].common.shutWrite = true }
    return udp[h].peer == nil ? .failure(.ENOTCONN) : .ok
  }

  /// Datagram sockets are always writable here; errors and full shutdown show.
  func udpReadiness(_ h: Handle) -> PollEvents {
    let s = udp[h].common
    var m: PollEvents = .writable
    if s.shutRead && s.shutWrite { m.insert(.hangup) }
    if s.shutRead { m.formUnion([.readable, .readHangup]) }
    if s.error != nil { m.insert(.error) }
    if !udp[h].datagrams.isEmpty { m.insert(.readable) }
    return m
  }
}

extension SocketAddress {
  /// 0.0.0.0 or ::, any port.
  var isWildcard: Bool {
    switch self {
    case .inet(let ip, _): return ip.isAny
    case .inet6(let ip, _, _): return ip.isAny
    default: return false
    }
  }
}
