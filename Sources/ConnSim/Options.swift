import ConnRuntime
import ConnSyntax

// setsockopt and getsockopt: what each option stores and reads back, and where an option does
// not apply (a TCP option on a Unix socket is EOPNOTSUPP, on a UDP socket ENOPROTOOPT).

extension SimBackend {
  /// Whether a TCP socket is in TCP_CLOSE (never connected, or back there).
  private func tcpClosed(_ ref: SocketRef) -> Bool {
    if case .tcp(let h) = ref { return tcp[h].state == .closed }
    return false
  }

  func setOption(_ ref: SocketRef, _ option: SocketOption, _ value: OptionValue) throws(BackendError)
    -> Outcome
  {
    var n: Int64 = 0
    if case .integer(let v) = value { n = v }
    let flag = n != 0
    let family = kind(of: ref).family
    let isTCP: Bool
    if case .tcp = ref { isTCP = true } else { isTCP = false }
    var failure: Errno?
    let closed = tcpClosed(ref)
    var listening = false
    if case .tcp(let h) = ref { listening = tcp[h].state == .listening }
    try withCommon(ref) { (s: inout CommonState) throws(BackendError) in
      switch option {
      case .SO_BROADCAST: s.options.broadcast = flag
      case .SO_REUSEADDR: s.options.reuseAddr = flag
      case .SO_REUSEPORT:
        // sock_setsockopt: only inet sockets can share a port (Linux 6.x).
        if flag && family != .inet && family != .inet6 {
          failure = .EOPNOTSUPP
        } else {
          s.options.reusePort = flag
        }
      case .SO_KEEPALIVE: s.options.keepalive = flag
      case .SO_SNDTIMEO, .SO_RCVTIMEO:
        guard case .duration(let d) = value else {
          throw .notModelled("\(option.rawValue) with a value that is not a duration")
        }
        if option == .SO_SNDTIMEO { s.options.sendTimeout = d } else { s.options.receiveTimeout = d }
      case .SO_LINGER:
        switch value {
        case .off: s.options.linger = nil
        case .duration(let d): s.options.linger = d.nanoseconds / 1_000_000_000
        case .integer(let v): s.options.linger = v
        }
      case .SO_SNDBUF: s.options.sendBuffer = max(n * 2, 4608)
      case .SO_RCVBUF: s.options.receiveBuffer = max(n * 2, 2304)
      case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT, .TCP_FASTOPEN_CONNECT, .TCP_FASTOPEN:
        if family == .unix {
          failure = .EOPNOTSUPP
        } else if !isTCP {
          failure = .ENOPROTOOPT
        } else if option == .TCP_FASTOPEN {
          // A listener's queue of Fast Open requests: before listen or while listening, and at
          // most net.core.somaxconn.
          if n < 0 || !(closed || listening) {
            failure = .EINVAL
          } else {
            s.options.fastOpenQueue = UInt16(min(n, 4096))
          }
        } else if option == .TCP_SYNCNT {
          if n < 1 || n > 127 { failure = .EINVAL } else { s.options.synCount = Int(n) }
        } else if option == .TCP_NODELAY {
          s.options.noDelay = flag
        } else if option == .TCP_FASTOPEN_CONNECT {
          // do_tcp_setsockopt: 0 or 1, then the host must let clients use Fast Open
          // (net.ipv4.tcp_fastopen bit 1), and only before the socket leaves TCP_CLOSE.
          if n < 0 || n > 1 {
            failure = .EINVAL
          } else if hosts[Int(s.host)].fastOpen & 1 == 0 {
            failure = .EOPNOTSUPP
          } else if !closed {
            failure = .EINVAL
          } else {
            s.options.fastOpenConnect = flag
          }
        } else if n < 0 {
          failure = .EINVAL
        } else {
          s.options.userTimeout = n
        }
      case .IPV6_V6ONLY:
        if family == .unix {
          failure = .EOPNOTSUPP
        } else if family != .inet6 {
          failure = .ENOPROTOOPT
        } else if s.localPort != 0 {
          failure = .EINVAL
        } else {
          s.options.v6only = flag
        }
      case .IP_FREEBIND, .IP_BIND_ADDRESS_NO_PORT:
        if family == .unix {
          failure = .EOPNOTSUPP
        } else if family == .packet || family == .netlink {
          failure = .ENOPROTOOPT
        } else if option == .IP_FREEBIND {
          s.options.freebind = flag
        } else {
          s.options.bindAddressNoPort = flag
        }
      case .IPV6_ADDRFORM:
        // Linux 6.18 no longer turns a socket into an IPv4 one: the option cannot be set.
        failure = family == .unix ? .EOPNOTSUPP : .ENOPROTOOPT
      case .SO_ERROR, .SO_TYPE, .SO_DOMAIN, .SO_ACCEPTCONN:
        failure = .ENOPROTOOPT
      }
    }
    return failure.map { .failure($0) } ?? .ok
  }

  func getOption(_ ref: SocketRef, _ option: SocketOption) throws(BackendError) -> Outcome {
    let k = kind(of: ref)
    let isTCP: Bool
    if case .tcp = ref { isTCP = true } else { isTCP = false }
    let isOther: Bool
    if case .other = ref { isOther = true } else { isOther = false }
    var listening = false
    var established = false
    switch ref {
    case .tcp(let h):
      listening = tcp[h].state == .listening
      established = tcp[h].state == .established
    case .unix(let h): listening = unix[h].state == .listening
    case .udp(let h): established = udp[h].peer != nil
    case .other(let h): established = others[h].peer != nil
    }
    func b(_ v: Bool) -> Outcome { .number(v ? 1 : 0) }
    return try withCommon(ref) { (s: inout CommonState) throws(BackendError) -> Outcome in
      let o = s.options
      switch option {
      case .SO_ERROR:
        defer { s.error = nil }
        return s.error.map { .failure($0) } ?? .ok
      case .SO_TYPE: return .number(Linux.typeNumber(k.type))
      case .SO_DOMAIN: return .number(Linux.familyNumber(k.family))
      case .SO_ACCEPTCONN: return b(listening)
      case .SO_BROADCAST: return b(o.broadcast)
      case .SO_REUSEADDR: return b(o.reuseAddr)
      case .SO_REUSEPORT: return b(o.reusePort)
      case .SO_KEEPALIVE: return b(o.keepalive)
      case .SO_SNDTIMEO: return .number(o.sendTimeout.nanoseconds / 1_000_000)
      case .SO_RCVTIMEO: return .number(o.receiveTimeout.nanoseconds / 1_000_000)
      case .SO_LINGER: return .number(o.linger ?? -1)
      case .SO_SNDBUF, .SO_RCVBUF:
        throw .notModelled(
          "reading \(option.rawValue) (the kernel's default buffer sizes depend on its settings)")
      case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT, .TCP_FASTOPEN_CONNECT, .TCP_FASTOPEN:
        if k.family == .unix { return .failure(.EOPNOTSUPP) }
        // Another protocol's level: IPv4 sockets pass it to ip_getsockopt (EOPNOTSUPP), the
        // others say ENOPROTOOPT.
        if !isTCP { return .failure(k.family == .inet ? .EOPNOTSUPP : .ENOPROTOOPT) }
        if option == .TCP_FASTOPEN_CONNECT { return b(o.fastOpenConnect) }
        if option == .TCP_FASTOPEN { return .number(Int64(o.fastOpenQueue)) }
        // Unset, TCP_SYNCNT reads as the host's net.ipv4.tcp_syn_retries.
        return option == .TCP_SYNCNT
          ? .number(Int64(o.synCount ?? hosts[Int(s.host)].synRetries))
          : option == .TCP_NODELAY ? b(o.noDelay) : .number(o.userTimeout)
      case .IPV6_V6ONLY:
        switch k.family {
        case .inet6: return b(o.v6only)
        case .unix, .inet: return .failure(.EOPNOTSUPP)
        default: return .failure(.ENOPROTOOPT)
        }
      case .IPV6_ADDRFORM:
        // The family the socket has, read only while it is connected (TCP_ESTABLISHED).
        switch k.family {
        case .unix, .inet: return .failure(.EOPNOTSUPP)
        case .inet6 where !isOther || k.proto == 6 || k.proto == 17:
          // ipv6_getsockopt looks at the protocol: a raw socket passes as TCP or UDP only.
          return established ? .number(Linux.familyNumber(.inet6)) : .failure(.ENOTCONN)
        default: return .failure(.ENOPROTOOPT)
        }
      case .IP_FREEBIND, .IP_BIND_ADDRESS_NO_PORT:
        if k.family == .unix { return .failure(.EOPNOTSUPP) }
        if k.family == .packet || k.family == .netlink { return .failure(.ENOPROTOOPT) }
        return b(option == .IP_FREEBIND ? o.freebind : o.bindAddressNoPort)
      }
    }
  }
}
