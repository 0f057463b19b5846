import ConnRuntime
import ConnSyntax

// `drop` and `landlock`, as Linux 6.18 answered (isolated/privileges/ and landlock/ in the
// corpus back each rule):
// - Without capabilities (after `drop`): raw IP sockets with a protocol and every packet socket
//   are EPERM (inet_create looks the protocol up first, packet_create checks first); a netlink
//   connect to a group or a port id is EPERM (NETLINK_ROUTE lets only root send there); a TCP or
//   UDP bind below net.ipv4.ip_unprivileged_port_start is EACCES (IPv4 after the address check,
//   IPv6 before it; both before "already bound").
// - Landlock's TCP rules are checked in the connect and bind hooks, before the protocol: a
//   refused port is EACCES even where TCP would say ECONNREFUSED, EISCONN, EINPROGRESS,
//   EADDRINUSE or EADDRNOTAVAIL, and an address of the other IP family is EINVAL (not
//   EAFNOSUPPORT). AF_UNSPEC connects (a disconnect) are always allowed.
// - Landlock's abstract-socket scope: a connect or datagram to an abstract socket made before
//   the scoping layer is EPERM, after the lookup (a name nobody bound stays ECONNREFUSED) and
//   after the listener's own checks; a datagram to the connected peer is allowed.

extension SimBackend {
  /// `user`: the file-system identity (the kernel's setfsuid: only root may take another one).
  package func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome {
    if !privileged && user.uid != fsUID {
      throw .failed(
        "cannot take the file-system identity \(user.uid): 'user' needs root (and Linux), which 'drop' gave up"
      )
    }
    fsUID = user.uid
    return emit(.setUser(fsUID), .ok)
  }

  package func dropPrivileges(_ user: UserIdentity) throws(BackendError) -> Outcome {
    // A second drop would need CAP_SETGID for setgroups.
    if !privileged {
      throw .failed("cannot drop to user \(user.uid): Operation not permitted ('drop' needs root, and Linux)")
    }
    privileged = false
    fsUID = user.uid
    return emit(.dropPrivileges(user.uid), .ok)
  }

  package func restrict(_ layer: LandlockLayer) throws(BackendError) -> Outcome {
    // landlock_restrict_self: at most 16 layers (E2BIG past them).
    if landlock.count >= 16 { throw .failed("cannot add a Landlock layer: Argument list too long") }
    landlock.append(layer)
    return emit(.landlock(layer), .ok)
  }

  /// socket(2) without CAP_NET_RAW: EPERM for packet sockets and raw IP sockets with a protocol.
  static func capabilityError(_ kind: SocketKind) -> Errno? {
    switch (kind.family, kind.type) {
    case (.packet, _): return .EPERM
    case (.inet, .raw), (.inet6, .raw): return kind.proto > 0 && kind.proto < 256 ? .EPERM : nil
    default: return nil
    }
  }

  /// inet_port_requires_bind_service without CAP_NET_BIND_SERVICE.
  func portNeedsPrivilege(_ port: UInt16, host: Int32) -> Bool {
    !privileged && port != 0 && port < hosts[Int(host)].network.unprivilegedPortStart
  }

  /// Landlock's TCP check of a connect (or bind) on a TCP socket of `kind`: the errno, or nil
  /// when every layer that restricts the call allows the port (or none restricts it).
  func landlockRefusal(_ kind: SocketKind, _ address: SocketAddress, length: Int, connect: Bool) -> Errno? {
    if landlock.isEmpty { return nil }
    let layers = landlock.compactMap { connect ? $0.connect : $0.bind }
    if layers.isEmpty { return nil }
    if length < 2 { return .EINVAL }
    let port: UInt16
    switch address {
    case .unspec:
      // A connect to AF_UNSPEC disconnects, which is always allowed; a bind with it means
      // 0.0.0.0 on an IPv4 socket (port 0 here: the simulation's AF_UNSPEC carries no port), and
      // on an IPv6 socket is left to the protocol.
      if connect || kind.family != .inet { return nil }
      if length < 16 { return .EINVAL }
      port = 0
    case .inet(_, let p):
      if length < 16 { return .EINVAL }
      if kind.family != .inet { return .EINVAL }
      port = p
    case .inet6(_, let p, _):
      if length < 24 { return .EINVAL }
      if kind.family != .inet6 { return .EINVAL }
      port = p
    default:
      return nil  // another family: the protocol answers
    }
    return layers.allSatisfy { $0.contains(port) } ? nil : .EACCES
  }

  /// Landlock's abstract-socket scope: whether socket `other` was made before a layer that scopes
  /// abstract sockets (a socket made after the last such layer is in the same domain).
  func abstractScoped(_ other: Handle, _ address: SocketAddress) -> Bool {
    guard case .abstract = address else { return false }
    let made = Int(unix[other].landlockDepth)
    return made < landlock.count && landlock[made...].contains { $0.abstract }
  }
}
