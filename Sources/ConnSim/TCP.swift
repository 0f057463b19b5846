import ConnRuntime
import ConnSyntax

// TCP: the state machine of net/ipv4/tcp*.c as far as connect(2) and its neighbours show it.
// `state` is sk_state (TCP_CLOSE, LISTEN, SYN_SENT, ESTABLISHED), `sockState` is sock->state
// (SS_UNCONNECTED, SS_CONNECTING, SS_CONNECTED). A SYN to this host is answered at once, as the
// loopback device does within the call; a SYN that a route loses is sent again on Linux's
// schedule (1 s, doubling, TCP_SYNCNT times), in virtual time.

struct TCPSocket: InetSocket {
  enum State { case closed, listening, synSent, established }
  enum SocketState { case unconnected, connecting, connected, disconnecting }

  var common: CommonState
  var state: State = .closed
  var sockState: SocketState = .unconnected
  var peer: SocketAddress?
  /// The socket at the other end of the connection.
  var remote: Handle?
  /// The other end closed (a FIN arrived).
  var remoteClosed = false
  var backlog = 0
  var acceptQueue: [Handle] = []
  /// The connection attempt under way (events of older attempts are dropped), and its target.
  var attempt: UInt32 = 0
  var target: SocketAddress?
  /// An ICMP error for the first SYN, kept as a soft error (what a timeout then reports).
  var softError: Errno?
  /// Bytes received and not read yet.
  var received: [UInt8] = []
  /// A connect failed (refused, timed out, unreachable): listen then answers EINVAL on Linux
  /// 6.x, though the socket can connect and bind again.
  var connectFailed = false
  /// What getsockname still shows after a failed connect gave the port back (the kernel
  /// clears inet_num, not inet_sport): the source address until connect reports the failure
  /// (tcp_disconnect then resets an address the user did not bind), then the wildcard.
  var staleLocal: SocketAddress?
  /// AF_UNSPEC stopped this socket listening: it can listen again, but a connect from it
  /// answers EINVAL (Linux 6.18, seen by conn fuzz).
  var wasListener = false
  /// The port was picked by this connect (not bound before it): such a socket never meets
  /// itself.
  var portFromConnect = false
  /// Fast Open: the connect asked for a cookie (a Fast Open listener's SYN-ACK brings one).
  var requestsCookie = false
  /// TCP_FASTOPEN_CONNECT with a cookie: connect returned 0 without sending the SYN, which goes
  /// with the first data.
  var deferred = false

  init(kind: SocketKind, nonblocking: Bool, host: Int32 = 0) {
    common = CommonState(kind: kind, nonblocking: nonblocking)
    common.host = host
  }

  /// Linux queues backlog + 1 connections.
  var queueFull: Bool { acceptQueue.count > backlog }
  var isListening: Bool { state == .listening }
}

extension SimBackend {
  // MARK: - connect

  /// __inet_stream_connect and tcp_v4_connect / tcp_v6_connect.
  func tcpConnect(_ h: Handle, _ address: SocketAddress, length: Int, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    if case .unspec = address {
      tcpDisconnect(h)
      return .ok
    }
    // A cgroup connect hook runs before the socket's state is looked at (after the length).
    if let denied = tcp[h].common.connectDenied {
      return .failure(length < (tcp[h].common.kind.family == .inet6 ? 24 : 16) ? .EINVAL : denied)
    }
    // A deferred Fast Open connect is one already made (its SYN waits for data): EISCONN, but
    // a blocking call first waits for the handshake like any connect under way, and nothing
    // sends the SYN meanwhile, so it waits until SO_SNDTIMEO (or the limit).
    if tcp[h].deferred {
      if tcp[h].common.nonblocking { return .failure(.EISCONN) }
      let t = tcp[h].common.options.sendTimeout
      switch try wait(
        until: { !self.tcp[h].deferred }, timeout: t.nanoseconds > 0 ? t : nil, interrupt: options.interrupt,
        limit: limit)
      {
      case .ready where tcp[h].state == .established:
        // Another thread's send made the handshake meanwhile: connected.
        tcp[h].sockState = .connected
        return .ok
      case .ready, .timeout: return .failure(.EISCONN)
      case .interrupted: return .failure(.EINTR)
      }
    }
    var err: Errno
    switch tcp[h].sockState {
    case .connected:
      return .failure(.EISCONN)
    case .disconnecting:
      // inet_shutdown left a half-connected socket SS_DISCONNECTING: connect's default case.
      return .failure(.EINVAL)
    case .connecting:
      err = .EALREADY
    case .unconnected:
      if tcp[h].state != .closed { return .failure(.EISCONN) }
      // TCP_FASTOPEN_CONNECT: with a cookie for the destination, the SYN waits for the first
      // data (connect says 0 at once); without one, an ordinary connect that asks for a cookie.
      let host = tcp[h].common.host
      let fastOpen = tcp[h].common.options.fastOpenConnect && hosts[Int(host)].fastOpen & 1 != 0
      let deferred = fastOpen && hasFastOpenCookie(h, to: address)
      if let e = tcpStart(h, address, length: length, sendSyn: !deferred) { return .failure(e) }
      tcp[h].sockState = .connecting
      if deferred {
        tcp[h].deferred = true
        return .ok
      }
      if fastOpen { tcp[h].requestsCookie = true }
      if tcp[h].common.nonblocking { return .failure(.EINPROGRESS) }
      err = .EINPROGRESS
    }
    if tcp[h].state == .synSent {
      if tcp[h].common.nonblocking { return .failure(err) }
      let sendTimeout = tcp[h].common.options.sendTimeout
      let timeout: TimeSpan? = sendTimeout.nanoseconds > 0 ? sendTimeout : nil
      switch try wait(
        until: { tcp[h].state != .synSent }, timeout: timeout, interrupt: options.interrupt, limit: limit)
      {
      case .ready: break
      case .timeout: return .failure(err)
      case .interrupted: return .failure(.EINTR)
      }
    }
    if tcp[h].state == .closed {
      let e = tcp[h].common.error ?? .ECONNABORTED
      tcp[h].common.error = nil
      if let l = tcp[h].staleLocal, !tcp[h].common.addressLocked {
        tcp[h].staleLocal = withPort(anyAddress(tcp[h].common.kind.family), l.port ?? 0)
      }
      tcp[h].sockState = .unconnected
      // tcp_disconnect: the socket can connect again.
      tcp[h].common.shutRead = false
      tcp[h].common.shutWrite = false
      return .failure(e)
    }
    tcp[h].sockState = .connected
    return .ok
  }

  /// The protocol part: length and family checks, route, source address and port, the SYN.
  private func tcpStart(_ h: Handle, _ address: SocketAddress, length: Int, sendSyn: Bool = true) -> Errno? {
    var dest = address
    switch tcp[h].common.kind.family {
    case .inet:
      if length < 16 { return .EINVAL }
      guard case .inet = address else { return .EAFNOSUPPORT }
    case .inet6:
      if length < 24 { return .EINVAL }
      guard case .inet6(let ip, let port, let scope) = address else { return .EAFNOSUPPORT }
      // tcp_v6_connect: multicast is unreachable; link-local needs an interface.
      if ip.isMulticast { return .ENETUNREACH }
      if ip.isLinkLocal && scope == nil { return .EINVAL }
      if let v4 = ip.mappedIPv4 {
        if tcp[h].common.options.v6only { return .ENETUNREACH }
        dest = .inet6(.mapping(v4), port: port, scope: nil)
      }
    case .unix, .packet, .netlink: return .EINVAL
    }
    let routed = resolvedDestination(dest, boundTo: tcp[h].common.local)
    let host = tcp[h].common.host
    let network = hosts[Int(host)].network
    if case .error(let e) = network.route(routed) { return e }
    // A dual-stack socket bound to one family cannot reach the other (after the route).
    if tcp[h].common.addressLocked, case .inet6(let bound, _, _)? = tcp[h].common.local, !bound.isAny,
      case .inet6(let ip, _, _) = dest
    {
      if ip.mappedIPv4 != nil && bound.mappedIPv4 == nil { return .ENETUNREACH }
      if ip.mappedIPv4 == nil && !ip.isAny && bound.mappedIPv4 != nil { return .EAFNOSUPPORT }
    }
    if let ip = ipv4(of: routed), network.isBroadcast(ip) || ip.isMulticast { return .ENETUNREACH }
    // After the route: a socket AF_UNSPEC took out of listening cannot take a port to connect.
    if tcp[h].wasListener { return .EINVAL }
    // Source address and port.
    let source = sourceAddress(for: routed, bound: tcp[h].common.local, on: host)
    let localPort = tcp[h].common.localPort
    tcp[h].portFromConnect = localPort == 0
    if localPort == 0 {
      guard let p = tcpPorts.ephemeral(in: network.ephemeral) else { return .EADDRNOTAVAIL }
      setLocal(h, withPort(source, p))
    } else {
      let local = withPort(source, localPort)
      if fourTupleTaken(h, local: local, dest: routed) { return .EADDRNOTAVAIL }
      tcp[h].common.local = local
    }
    tcp[h].peer = nil
    tcp[h].softError = nil
    tcp[h].state = .synSent
    tcp[h].attempt &+= 1
    tcp[h].target = routed
    if sendSyn { sendFirstSyn(h) }
    return nil
  }

  /// The first SYN of the attempt under way (a deferred Fast Open connect sends it with data).
  func sendFirstSyn(_ h: Handle) {
    guard let target = tcp[h].target else { return }
    processSyn(SynAttempt(socket: h, attempt: tcp[h].attempt, target: target, start: clock, transmission: 0))
  }

  /// Whether socket `h`'s host holds a Fast Open cookie for the addresses a connect to
  /// `destination` would use (the source it would pick, as tcpStart picks it).
  func hasFastOpenCookie(_ h: Handle, to destination: SocketAddress) -> Bool {
    let local = tcp[h].common.local
    let host = tcp[h].common.host
    let source = sourceAddress(for: resolvedDestination(destination, boundTo: local), bound: local, on: host)
    return hosts[Int(host)].fastOpenCookies.contains(fastOpenCookieKey(source, destination))
  }

  /// What a cookie is kept under: the source and destination addresses, as TCP metrics key
  /// it (no ports; a v4-mapped address as IPv4).
  func fastOpenCookieKey(_ source: SocketAddress?, _ destination: SocketAddress) -> String {
    func ip(_ a: SocketAddress?) -> String {
      guard let a else { return "-" }
      if case .inet6(let v6, _, _) = a, let v4 = v6.mappedIPv4 { return v4.description }
      return a.ipAddress.map { "\($0)" } ?? a.description
    }
    return ip(source) + ">" + ip(destination)
  }

  /// Is another connection already using this local address and port towards `dest`?
  private func fourTupleTaken(_ h: Handle, local: SocketAddress, dest: SocketAddress) -> Bool {
    var taken = false
    tcpPorts.forEachHolder(of: local.port ?? 0) { o in
      if o == h || tcp[o].common.host != tcp[h].common.host { return true }
      let other = tcp[o]
      guard other.state == .synSent || other.state == .established, let ol = other.common.local,
        let op = other.peer ?? other.target
      else { return true }
      taken = sameEndpoint(ol, local) && sameEndpoint(op, dest)
      return !taken
    }
    return taken
  }

  // MARK: - The SYN and its answers

  /// A SYN (or its retransmission) goes out, and meets what it meets (Hosts.swift).
  func processSyn(_ a: SynAttempt) {
    let h = a.socket
    guard tcp.contains(h), tcp[h].state == .synSent, tcp[h].attempt == a.attempt else { return }
    if a.neighbourFailure {
      tcpFail(h, .EHOSTUNREACH)
      return
    }
    let host = tcp[h].common.host
    let synCount = tcp[h].common.options.synCount ?? hosts[Int(host)].synRetries
    if a.transmission > synCount {
      // An ICMP error that came while the socket was busy is what the timeout reports.
      tcpFail(h, tcp[h].softError ?? .ETIMEDOUT)
      return
    }
    let fate: SynFate
    if !tcp[h].portFromConnect, let l = tcp[h].common.local, sameEndpoint(l, resolvedDestination(a.target)),
      findListener(a.target, on: host) == nil
    {
      // A socket connecting to its own address and port: simultaneous open, it is connected
      // to itself (unless shut for writing before: then the open is aborted).
      if tcp[h].common.shutWrite {
        // connect answers ECONNABORTED, but no error is left pending (poll shows none).
        tcpFail(h, .ECONNABORTED)
        tcp[h].common.error = nil
        return
      }
      tcp[h].remote = h
      tcp[h].state = .established
      tcp[h].peer = a.target
      tcp[h].target = nil
      return
    }
    if hosts.count == 1 && hosts[0].firewall.isEmpty {
      // One host and no rules, the usual case: delivered here or lost on the way.
      if case .local = hosts[0].network.route(a.target) {
        fate = findListener(a.target, on: 0).map(SynFate.listener) ?? .reset
      } else {
        fate = .lost
      }
    } else {
      let source = tcp[h].common.local ?? anyAddress(tcp[h].common.kind.family)
      fate = synFate(from: host, source: source, destination: a.target)
    }
    switch fate {
    case .listener(let listener):
      if tcp[listener].queueFull {
        retry(a)  // the SYN is dropped; it is sent again later
      } else {
        establish(h, with: listener, target: a.target)
      }
    case .reset:
      tcpFail(h, .ECONNREFUSED)  // RST: nobody listens there, or a firewall said so
    case .icmp(let e):
      // The first ICMP error arrives while connect holds the socket: the kernel keeps it only
      // as a soft error, and the error on the retransmitted SYN, a second later, is the answer.
      if a.transmission == 0 {
        tcp[h].softError = e
        retry(a)
      } else {
        tcpFail(h, e)
      }
    case .neighbourFailure(let delay):
      if a.transmission == 0 {
        var failure = a
        failure.neighbourFailure = true
        events.schedule(failure, at: a.start + delay)
      }
    case .lost:
      retry(a)  // lost on the way: no answer at all
    }
  }

  /// Linux's SYN schedule: initial RTO 1 s, doubling; `synCount` retransmissions, then the
  /// attempt fails one more RTO after the last (3 s for TCP_SYNCNT 1, 127 s for the default 6).
  private func retry(_ a: SynAttempt) {
    var next = a
    next.transmission += 1
    events.schedule(next, at: a.start + ((Int64(1) << Int64(next.transmission)) - 1) * 1_000_000_000)
  }

  /// The connect failed (RST or timeout): sk_err set, the socket closed for both directions.
  private func tcpFail(_ h: Handle, _ e: Errno) {
    let wasConnecting = tcp[h].state == .synSent
    tcp[h].state = .closed
    tcp[h].common.ended(by: e)
    tcp[h].peer = nil
    tcp[h].target = nil
    if wasConnecting { tcp[h].connectFailed = true }
    // The port goes back to the table; an address the user did not bind goes too, and
    // getsockname shows the wildcard with the old port.
    if !tcp[h].common.portLocked, let l = tcp[h].common.local {
      tcp[h].staleLocal = l
      setLocal(h, tcp[h].common.addressLocked ? withPort(l, 0) : nil)
      tcp[h].common.userBound = tcp[h].common.addressLocked
    }
  }

  private func establish(_ client: Handle, with listener: Handle, target: SocketAddress) {
    let l = tcp[listener].common
    var child = TCPSocket(kind: l.kind, nonblocking: false, host: l.host)
    child.state = .established
    child.sockState = .connected
    // The address the client connected to, in the listener's family (an inet6 listener
    // reports v4 clients as ::ffff:a.b.c.d).
    child.common.local = peerAddress(resolvedDestination(target), as: l.kind.family)
    child.peer = tcp[client].common.local.map { peerAddress($0, as: l.kind.family) }
    child.remote = client
    let c = tcp.add(child)
    tcpPorts.add(c, port: child.common.localPort)
    tcp[client].remote = c
    // A listener with a Fast Open queue, on a host that lets listeners grant it, answers a
    // cookie request with a cookie.
    if tcp[client].requestsCookie {
      tcp[client].requestsCookie = false
      if tcp[listener].common.options.fastOpenQueue > 0 && hosts[Int(l.host)].fastOpen & 2 != 0 {
        hosts[Int(tcp[client].common.host)].fastOpenCookies.insert(
          fastOpenCookieKey(tcp[client].common.local, target))
      }
    }
    tcp[client].state = .established
    tcp[client].peer = target
    tcp[client].target = nil
    tcp[listener].acceptQueue.append(c)
  }

  /// A listening socket on host `host` that would take a SYN for `target`.
  func findListener(_ target: SocketAddress, on host: Int32) -> Handle? {
    let dest = resolvedDestination(target)
    // Walked by hand and read field by field: a whole socket copied per holder cost more than
    // the rest of a simulated connect.
    var n = tcpPorts.firstNode(of: dest.port ?? 0)
    while n != 0 {
      let h = tcpPorts.holder(n)
      if tcp[h].state == .listening, tcp[h].common.host == host, let l = tcp[h].common.local,
        listenerTakes(l, v6only: tcp[h].common.options.v6only, dest)
      {
        return h
      }
      n = tcpPorts.nextNode(n)
    }
    return nil
  }

  // MARK: - Disconnecting and closing

  /// tcp_disconnect: what connect(AF_UNSPEC) does, and shutdown of a listener (for reading) or
  /// of a connect under way. A listener stops listening and its unaccepted connections are
  /// reset; an established connection is reset (sk_err ECONNRESET on both sides), as is a
  /// connect under way on this side; the socket can then connect again.
  func tcpDisconnect(_ h: Handle) {
    // tcp_disconnect forgets a deferred Fast Open connect and a cookie request.
    tcp[h].deferred = false
    tcp[h].requestsCookie = false
    let old = tcp[h].state
    if old == .listening {
      stopListening(h)
      tcp[h].wasListener = true
    }
    if let r = tcp[h].remote, tcp.contains(r) { resetConnection(r) }
    if old == .established || old == .synSent {
      tcp[h].common.error = .ECONNRESET
      // As after a failed connect: listen then answers EINVAL (Linux 6.18).
      tcp[h].connectFailed = true
    }
    if tcp[h].remote == h { tcp[h].remote = nil }  // connected to itself: nobody else to reset
    tcp[h].remote = nil
    tcp[h].target = nil
    tcp[h].state = .closed
    tcp[h].sockState = .unconnected
    tcp[h].peer = nil
    tcp[h].common.shutRead = false
    tcp[h].common.shutWrite = false
    // tcp_disconnect resets an address bind did not lock and gives back a port it did not
    // lock; a port given back still shows in getsockname.
    // A socket that was closed already keeps what it holds (no state change, no port put back).
    let c = tcp[h].common
    let any = anyAddress(c.kind.family)
    if old == .closed {
      return
    } else if c.portLocked {
      if !c.addressLocked, let l = c.local { tcp[h].common.local = withPort(any, l.port ?? 0) }
    } else {
      if let port = c.local?.port ?? tcp[h].staleLocal?.port, port != 0 {
        tcp[h].staleLocal = withPort(c.addressLocked ? (c.local ?? any) : any, port)
      }
      setLocal(h, c.addressLocked ? c.local.map { withPort($0, 0) } : nil)
      tcp[h].common.userBound = c.addressLocked
    }
  }

  /// The last descriptor of a socket closed: its unaccepted connections are reset, the other
  /// end of its connection learns of it (a FIN, or a reset with SO_LINGER 0), its port is free.
  func tcpRelease(_ h: Handle) {
    stopListening(h)
    if let r = tcp[h].remote, tcp.contains(r), tcp[r].remote == h {
      if tcp[h].common.options.linger == 0 {
        tcpFail(r, .ECONNRESET)  // SO_LINGER 0: close sends a reset, not a FIN
      } else {
        tcp[r].remoteClosed = true
      }
      tcp[r].remote = nil
    }
    setLocal(h, nil)
    tcp.remove(h)
  }

  /// inet_csk_listen_stop: every connection still in the queue is reset (its client sees
  /// ECONNRESET) and dropped.
  private func stopListening(_ h: Handle) {
    for child in tcp[h].acceptQueue where tcp.contains(child) {
      if let c = tcp[child].remote, tcp.contains(c) { resetConnection(c) }
      setLocal(child, nil)
      tcp.remove(child)
    }
    tcp[h].acceptQueue = []
  }

  /// The other end of a connection that is being reset.
  private func resetConnection(_ r: Handle) {
    tcp[r].common.ended(by: .ECONNRESET)
    tcp[r].state = .closed
    tcp[r].remote = nil
  }

  // MARK: - listen, accept, shutdown

  func tcpListen(_ h: Handle, backlog: Int) -> Outcome {
    let s = tcp[h]
    if s.sockState != .unconnected || (s.state != .closed && s.state != .listening) {
      return .failure(.EINVAL)
    }
    if s.connectFailed {
      // Linux 6.18: after a failed connect, listen takes a port and then answers EINVAL; the
      // socket keeps the port (a bind then answers EINVAL, a connect leaves from that port).
      if s.common.localPort == 0,
        let p = tcpPorts.ephemeral(in: hosts[Int(s.common.host)].network.ephemeral)
      {
        setLocal(h, withPort(s.common.local ?? anyAddress(s.common.kind.family), p))
      }
      return .failure(.EINVAL)
    }
    if s.common.localPort == 0 {
      let base = s.common.local ?? anyAddress(s.common.kind.family)
      guard let p = tcpPorts.ephemeral(in: hosts[Int(s.common.host)].network.ephemeral) else {
        return .failure(.EADDRINUSE)
      }
      setLocal(h, withPort(base, p))
    }
    tcp[h].state = .listening
    tcp[h].backlog = backlog
    return .ok
  }

  func tcpShutdown(_ h: Handle, read rd: Bool, write wr: Bool) -> Outcome {
    // inet_shutdown: a connect still under way (sock->state SS_CONNECTING) whose socket is
    // closed already (refused while nobody looked) becomes SS_DISCONNECTING for good.
    if tcp[h].sockState == .connecting && tcp[h].state == .closed { tcp[h].sockState = .disconnecting }
    switch tcp[h].state {
    case .closed:
      // inet_shutdown: ENOTCONN, but the flags are set all the same.
      if rd { tcp[h].common.shutRead = true }
      if wr { tcp[h].common.shutWrite = true }
      return .failure(.ENOTCONN)
    case .listening:
      if rd { tcpDisconnect(h) }
      return .ok
    case .synSent:
      tcpDisconnect(h)
      return .ok
    case .established:
      if rd { tcp[h].common.shutRead = true }
      if wr {
        tcp[h].common.shutWrite = true
        if let r = tcp[h].remote, tcp.contains(r) { tcp[r].remoteClosed = true }
      }
      return .ok
    }
  }

  // MARK: - Ports

  private func setLocal(_ h: Handle, _ a: SocketAddress?) { Self.setLocal(h, a, in: &tcp, ports: &tcpPorts) }

  func tcpBind(_ h: Handle, _ address: SocketAddress) -> Outcome {
    inetBind(h, address, in: &tcp, ports: &tcpPorts, datagram: false)
  }

  // MARK: - poll

  func tcpReadiness(_ h: Handle) -> PollEvents {
    let s = tcp[h]
    var m = PollEvents()
    switch s.state {
    case .listening:
      if !s.acceptQueue.isEmpty { m.insert(.readable) }
    case .synSent:
      // A deferred Fast Open connect is writable: its SYN waits for data.
      if s.deferred { m.insert(.writable) }
    case .closed, .established:
      // A FIN received counts as a read shutdown (RCV_SHUTDOWN): with our own write shutdown,
      // both directions are done.
      if ((s.common.shutRead || s.remoteClosed) && s.common.shutWrite) || s.state == .closed {
        m.insert(.hangup)
      }
      if s.common.shutRead || s.remoteClosed { m.formUnion([.readable, .readHangup]) }
      if !s.received.isEmpty { m.insert(.readable) }
      m.insert(.writable)
      if s.common.error != nil { m.insert(.error) }
    }
    return m
  }
}
