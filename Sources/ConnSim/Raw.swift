import ConnRuntime
import ConnSyntax

// Raw IP, packet and netlink sockets, as far as connect(2) and the names go (checked on Linux
// 6.18, as root):
//
// - raw IP (SOCK_RAW with a protocol): connect is ip4_datagram_connect or, for inet6,
//   ip6_datagram_connect_v6_only: the length, the family, the route, the broadcast check; it
//   records the peer. The socket's "port" is its protocol. AF_UNSPEC dissolves the peer and
//   unhashes the socket (its port becomes 0).
// - packet (AF_PACKET): no connect, listen, accept, shutdown or getpeername (EOPNOTSUPP).
// - netlink (AF_NETLINK): connect records a destination port id and the lowest group of the
//   mask given (root may name any; the model is root), and binds the socket to a port id first.
//
// Data, poll and bind on raw and packet sockets are not modelled: those calls say so.

/// A raw IP, packet or netlink socket.
struct OtherSocket {
  var common: CommonState
  /// Raw IP: the peer connect recorded. Netlink: the destination (pid, group mask).
  var peer: SocketAddress?

  init(kind: SocketKind, nonblocking: Bool, host: Int32) {
    common = CommonState(kind: kind, nonblocking: nonblocking)
    common.host = host
  }
}

extension SimBackend {
  /// What socket(2) makes of a kind: the errno the kernel answers, or whether the socket is one
  /// of this file's (true) rather than a TCP, UDP or Unix one (false).
  static func otherSocketCheck(_ kind: SocketKind) throws(BackendError) -> Result<Bool, Errno> {
    switch (kind.family, kind.type) {
    case (.packet, .stream), (.packet, .seqpacket), (.netlink, .stream), (.netlink, .seqpacket):
      return .failure(.ESOCKTNOSUPPORT)
    case (.packet, _):
      return .success(true)
    case (.netlink, _):
      // netlink_create: 32 protocols; which have a kernel socket depends on the modules loaded.
      if kind.proto < 0 || kind.proto >= 32 { return .failure(.EPROTONOSUPPORT) }
      guard [0, 2, 4, 9, 15, 16].contains(kind.proto) else {
        throw .notModelled(
          "netlink protocol \(kind.proto) (whether the kernel has it depends on its modules)")
      }
      return .success(true)
    case (.inet, .raw), (.inet6, .raw):
      if kind.proto == 0 { return .failure(.EPROTONOSUPPORT) }
      guard kind.proto < 256 else { throw .notModelled("raw protocol \(kind.proto)") }
      return .success(true)
    case (.inet, _), (.inet6, _):
      let canonical: Int32 = kind.type == .stream ? 6 : 17
      if kind.proto == 0 || kind.proto == canonical { return .success(false) }
      // A ping socket (dgram, ICMP): allowed only to the groups in net.ipv4.ping_group_range,
      // which is "1 0" (nobody) unless changed.
      if kind.type == .dgram && kind.proto == (kind.family == .inet ? 1 : 58) { return .failure(.EACCES) }
      if kind.type == .seqpacket { return .success(false) }
      throw .notModelled("protocol \(kind.proto) for \(kind.type.rawValue) \(kind.family.rawValue) sockets")
    case (.unix, _):
      // unix_create: protocol 0 or PF_UNIX; SOCK_RAW is taken as SOCK_DGRAM.
      if kind.proto != 0 && kind.proto != 1 { return .failure(.EPROTONOSUPPORT) }
      return .success(false)
    }
  }

  /// A packet socket has no connect at all (sock_no_connect): EOPNOTSUPP whatever the address
  /// and its length, before the checks every other protocol makes.
  func hasNoConnect(_ ref: SocketRef) -> Bool {
    if case .other(let h) = ref { return others[h].common.kind.family == .packet }
    return false
  }

  /// connect(2) on a netlink or raw IP socket (packet sockets never get here: `hasNoConnect`).
  func otherConnect(_ h: Handle, _ address: SocketAddress, length: Int) -> Outcome {
    switch others[h].common.kind.family {
    case .netlink:
      // netlink_connect: AF_UNSPEC disconnects; another family or a short address is EINVAL.
      if case .unspec = address {
        others[h].peer = nil
        return .ok
      }
      guard case .netlink(let pid, let groups) = address, length >= 12 else { return .failure(.EINVAL) }
      // Sending to a group or a port id needs CAP_NET_ADMIN, except on NETLINK_USERSOCK (2).
      if !privileged && (pid != 0 || groups != 0) && others[h].common.kind.proto != 2 {
        return .failure(.EPERM)
      }
      netlinkAutobind(h)
      let lowest: UInt32 = groups == 0 ? 0 : groups & (~groups &+ 1)
      others[h].peer = .netlink(pid: pid, groups: lowest)
      return .ok
    default:
      return rawConnect(h, address, length: length)
    }
  }

  /// inet_dgram_connect, then ip4_datagram_connect or ip6_datagram_connect_v6_only.
  private func rawConnect(_ h: Handle, _ address: SocketAddress, length: Int) -> Outcome {
    let s = others[h].common
    if case .unspec = address {
      // __udp_disconnect: the peer and the source address go, and the socket is unhashed (its
      // "port" becomes 0).
      others[h].peer = nil
      others[h].common.local = anyAddress(s.kind.family)
      return .ok
    }
    switch (s.kind.family, address) {
    case (.inet, .inet):
      if length < 16 { return .failure(.EINVAL) }
    case (.inet, _):
      return .failure(length < 16 ? .EINVAL : .EAFNOSUPPORT)
    case (.inet6, .inet6(let ip, _, let scope)):
      if length < 24 { return .failure(.EINVAL) }
      if (ip.isLinkLocal || ip.isLinkLocalMulticast) && scope == nil { return .failure(.EINVAL) }
    case (.inet6, _):
      return .failure(.EAFNOSUPPORT)
    default:
      return .failure(.EINVAL)
    }
    let dest = resolvedDestination(address, boundTo: s.local)
    let network = hosts[Int(s.host)].network
    if case .error(let e) = network.route(dest) { return .failure(e) }
    if holdsMappedSource(s.local, against: dest) { return .failure(.EAFNOSUPPORT) }
    if let ip = ipv4(of: dest), network.isBroadcast(ip), !s.options.broadcast { return .failure(.EACCES) }
    let source = sourceAddress(for: dest, bound: s.local, on: s.host)
    let port = UInt16(truncatingIfNeeded: s.kind.proto)
    if s.local == nil || s.local!.isWildcard { others[h].common.local = withPort(source, port) }
    others[h].peer = dest
    return .ok
  }

  /// netlink_autobind: a port id for a socket that has none (the first is the process's id).
  private func netlinkAutobind(_ h: Handle) {
    guard others[h].common.local == nil else { return }
    netlinkPorts += 1
    others[h].common.local = .netlink(
      pid: netlinkPorts == 1 ? Self.simulatedPID : UInt32(bitPattern: -4096 - netlinkPorts), groups: 0)
  }

  /// The process id the simulated process has (the first netlink port id is the process's).
  static let simulatedPID: UInt32 = 4242

  func otherBind(_ h: Handle, _ address: SocketAddress) throws(BackendError) -> Outcome {
    guard others[h].common.kind.family == .netlink else {
      throw .notModelled("bind on raw and packet sockets")
    }
    guard case .netlink(let pid, let groups) = address else { return .failure(.EINVAL) }
    // Joining groups without capabilities: NETLINK_ROUTE, USERSOCK and KOBJECT_UEVENT let
    // anyone listen; the other protocols check per group.
    if !privileged && groups != 0 && ![0, 2, 15].contains(others[h].common.kind.proto) {
      throw .notModelled(
        "joining netlink protocol \(others[h].common.kind.proto)'s groups without capabilities")
    }
    // netlink_bind: a bound socket (a connect or an earlier bind autobinds it) takes only its
    // own port id again; port 0 means "pick one" only for an unbound socket.
    if case .netlink(let bound, _)? = others[h].common.local {
      if pid != bound { return .failure(.EINVAL) }
    } else if pid == 0 {
      netlinkAutobind(h)
    } else {
      others[h].common.local = .netlink(pid: pid, groups: 0)
    }
    if case .netlink(let p, _)? = others[h].common.local {
      others[h].common.local = .netlink(pid: p, groups: groups)
    }
    return .ok
  }

  func otherPeerName(_ h: Handle) -> Outcome {
    switch others[h].common.kind.family {
    case .packet: return .failure(.EOPNOTSUPP)
    case .netlink: return .address(others[h].peer ?? .netlink(pid: 0, groups: 0))
    default:
      guard let p = others[h].peer, p.port != 0 else { return .failure(.ENOTCONN) }
      return .address(p)
    }
  }

  func otherLocalName(_ h: Handle) -> SocketAddress {
    let k = others[h].common.kind
    if let l = others[h].common.local { return l }
    switch k.family {
    case .packet: return .packet(proto: UInt16(truncatingIfNeeded: k.proto), ifindex: 0)
    case .netlink: return .netlink(pid: 0, groups: 0)
    default: return withPort(anyAddress(k.family), UInt16(truncatingIfNeeded: k.proto))
    }
  }

  func otherShutdown(_ h: Handle) -> Outcome {
    switch others[h].common.kind.family {
    case .packet, .netlink: return .failure(.EOPNOTSUPP)
    default: return others[h].peer == nil ? .failure(.ENOTCONN) : .ok
    }
  }
}
