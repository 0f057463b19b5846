import ConnRuntime
import ConnSyntax

// Data in the simulation: what send, sendto and write put on the way and what recv, recvfrom and
// read take off. Delivery is immediate (there is no wire delay in the model); what the kernel
// does with a closed peer, a reset, a shut-down direction, an ICMP error or an empty queue is
// followed as this machine's kernel does it (docs/LANGUAGE.md, "What the simulation models"):
//
// - TCP: bytes go to the other end's queue; after shutdown(SHUT_WR) a send says EPIPE; to a peer
//   whose socket is gone the first send goes out and the reset that answers it makes the next
//   call say ECONNRESET, then EPIPE; a receive gives queued bytes first, then a pending error
//   once, then 0 (end of file) once the peer finished or this side shut reading.
// - UDP: a datagram walks the network like a SYN (Hosts.swift); nobody bound there: the ICMP
//   port unreachable that comes back is a pending ECONNREFUSED on a connected socket (ignored on
//   an unconnected one); a local firewall's output chain that drops or rejects it makes the send
//   say EPERM. A send that finds an error pending returns it and sends nothing.
// - Unix: stream and seqpacket to the connected peer; datagrams to the connected target or a
//   path (a target connected to someone else refuses with EPERM).

/// A datagram waiting to be received, and where it came from.
struct Datagram {
  var bytes: [UInt8]
  var from: SocketAddress?
}

extension SimBackend {
  private func blocks(_ s: CommonState, _ flags: MessageFlags) -> Bool {
    !s.nonblocking && !flags.contains(.dontWait)
  }

  /// Waits for `ready` as a blocking receive or send does: SO_RCVTIMEO/SO_SNDTIMEO gives EAGAIN,
  /// the user's interrupt EINTR. Nil when ready.
  private func waitForData(
    _ ready: () -> Bool, timeout: TimeSpan, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Errno? {
    switch try wait(
      until: ready, timeout: timeout.nanoseconds > 0 ? timeout : nil, interrupt: options.interrupt,
      limit: limit)
    {
    case .ready: return nil
    case .timeout: return .EAGAIN
    case .interrupted: return .EINTR
    }
  }

  /// Takes at most `max` bytes from a byte queue (MSG_PEEK leaves them).
  private func take(_ queue: inout [UInt8], _ max: Int, _ flags: MessageFlags) -> ReceivedBytes {
    let n = min(max, queue.count)
    let bytes = Array(queue.prefix(n))
    if !flags.contains(.peek) { queue.removeFirst(n) }
    return ReceivedBytes(bytes)
  }

  /// Takes the first datagram, cut to `max` bytes (MSG_TRUNC: the call returns its real length).
  private func take(_ queue: inout [Datagram], _ max: Int, _ flags: MessageFlags) -> ReceivedBytes {
    let d = queue[0]
    if !flags.contains(.peek) { queue.removeFirst() }
    let n = min(max, d.bytes.count)
    return ReceivedBytes(
      Array(d.bytes.prefix(n)), length: flags.contains(.truncate) ? d.bytes.count : n, from: d.from)
  }

  // MARK: - TCP

  func tcpSend(
    _ h: Handle, _ data: [UInt8], to target: SocketAddress?, _ flags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    if tcp[h].deferred {
      // A TCP_FASTOPEN_CONNECT connect that had a cookie: the SYN goes now, with the data, to
      // the address connect named (any other given here is ignored).
      tcp[h].deferred = false
      sendFirstSyn(h)
      return try fastOpenSent(h, data, flags, options, limit: limit)
    }
    if flags.contains(.fastOpen) {
      // tcp_sendmsg_fastopen: the host must let clients use it; AF_UNSPEC is not a destination.
      if hosts[Int(tcp[h].common.host)].fastOpen & 1 == 0 { return .failure(.EOPNOTSUPP) }
      if case .unspec? = target { return .failure(.EOPNOTSUPP) }
      guard let t = target else { return .failure(.EINVAL) }
      if tcp[h].sockState == .connecting && tcp[h].state == .established {
        // A nonblocking Fast Open send left the socket connecting: this one completes it.
        tcp[h].sockState = .connected
      } else {
        if tcp[h].state != .closed || tcp[h].sockState != .unconnected { return .failure(.EISCONN) }
        let length = t.family == .inet6 ? 28 : 16
        if let e = landlockRefusal(tcp[h].common.kind, t, length: length, connect: true) {
          return .failure(e)
        }
        if hasFastOpenCookie(h, to: t) && !blocks(tcp[h].common, flags) {
          // With a cookie the data goes in the SYN: a nonblocking call returns its count at
          // once (a blocking one connects, then sends, as below: the same answers).
          let started = try tcpConnect(h, t, length: length, options, limit: limit)
          // A connect that could not start (no route, no port, a hook) answers as connect does.
          if case .failure(let e) = started, e != .EINPROGRESS { return started }
          return try fastOpenSent(h, data, flags, options, limit: limit)
        }
        // Without a cookie the SYN asks for one, and the data waits for an ordinary handshake:
        // a blocking call connects, then sends; a nonblocking one says EINPROGRESS and queues
        // nothing.
        tcp[h].requestsCookie = hosts[Int(tcp[h].common.host)].fastOpen & 1 != 0
        let connected = try tcpConnect(h, t, length: length, options, limit: limit)
        if connected != .ok {
          tcp[h].requestsCookie = tcp[h].state == .synSent && tcp[h].requestsCookie
          return connected
        }
      }
    }
    if tcp[h].state == .synSent {
      if !blocks(tcp[h].common, flags) { return .failure(.EAGAIN) }
      if let e = try waitForData(
        { !self.tcp.contains(h) || self.tcp[h].state != .synSent },
        timeout: tcp[h].common.options.sendTimeout,
        options, limit: limit)
      {
        return .failure(e)
      }
    }
    // A pending error (the reset that ended the connection) comes first, once.
    if let e = tcp[h].common.error {
      tcp[h].common.error = nil
      return .failure(e)
    }
    guard tcp[h].state == .established, !tcp[h].common.shutWrite else { return .failure(.EPIPE) }
    if let r = tcp[h].remote, tcp.contains(r) {
      tcp[r].received += data
    } else if tcp[h].remoteClosed {
      // The peer's socket is gone: its host answers these bytes with a reset.
      tcp[h].common.ended(by: .ECONNRESET)
      tcp[h].state = .closed
    }
    return .number(Int64(data.count))
  }

  /// After a SYN that carried data (a cookie was held): on loopback the handshake is over before
  /// the call returns. Established: the data was delivered, the count is the answer (a blocking
  /// call leaves the socket connected, a nonblocking one connecting, so that the next connect
  /// says 0). Refused: a nonblocking call still returns the count (SO_ERROR says
  /// ECONNREFUSED), a blocking one the error.
  private func fastOpenSent(
    _ h: Handle, _ data: [UInt8], _ flags: MessageFlags, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    let blocking = blocks(tcp[h].common, flags)
    switch tcp[h].state {
    case .established:
      if let r = tcp[h].remote, tcp.contains(r) { tcp[r].received += data }
      if blocking { tcp[h].sockState = .connected }
      return .number(Int64(data.count))
    case .synSent:
      throw .notModelled("Fast Open data on a handshake that does not complete at once")
    default:
      if !blocking { return .number(Int64(data.count)) }
      let e = tcp[h].common.error ?? .ECONNREFUSED
      tcp[h].common.error = nil
      tcp[h].sockState = .unconnected
      return .failure(e)
    }
  }

  func tcpReceive(_ h: Handle, max: Int, _ flags: MessageFlags, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    if tcp[h].state == .listening { return .failure(.ENOTCONN) }
    if tcp[h].state == .synSent {
      if !blocks(tcp[h].common, flags) { return .failure(.EAGAIN) }
      if let e = try waitForData(
        { !self.tcp.contains(h) || self.tcp[h].state != .synSent },
        timeout: tcp[h].common.options.receiveTimeout, options, limit: limit)
      {
        return .failure(e)
      }
    }
    func ready() -> Bool {
      let s = tcp[h]
      return !s.received.isEmpty || s.common.error != nil || s.remoteClosed || s.common.shutRead
        || s.state != .established
    }
    if !ready() {
      if !blocks(tcp[h].common, flags) { return .failure(.EAGAIN) }
      if let e = try waitForData(ready, timeout: tcp[h].common.options.receiveTimeout, options, limit: limit)
      {
        return .failure(e)
      }
    }
    if !tcp[h].received.isEmpty {
      if flags.contains(.truncate) && !flags.contains(.peek) {
        // TCP's MSG_TRUNC throws the bytes away without copying them.
        let n = min(max, tcp[h].received.count)
        tcp[h].received.removeFirst(n)
        return .data(ReceivedBytes([], length: n))
      }
      return .data(take(&tcp[h].received, max, flags))
    }
    if let e = tcp[h].common.error {
      tcp[h].common.error = nil
      return .failure(e)
    }
    // Never connected: ENOTCONN; finished (a FIN, a reset already reported, shut for reading): 0.
    if tcp[h].state == .closed && !tcp[h].common.shutRead && !tcp[h].remoteClosed {
      return .failure(.ENOTCONN)
    }
    return .data(ReceivedBytes([]))
  }

  // MARK: - UDP

  func udpSend(
    _ h: Handle, _ data: [UInt8], to target: SocketAddress?, _ flags: MessageFlags, limit: TimeSpan
  ) -> Outcome {
    let connected = udp[h].peer != nil
    var destination: SocketAddress
    if let t = target {
      // Checked and autobound as a connect does, without keeping the association.
      let saved = udp[h].peer
      let o = udpConnect(h, t, length: t.family == .inet6 ? 28 : 16)
      guard o == .ok, let d = udp[h].peer, d.port != 0 else {
        udp[h].peer = saved
        return o == .ok ? .failure(.EINVAL) : o  // udp_sendmsg: no destination port, EINVAL
      }
      destination = d
      udp[h].peer = saved
    } else {
      guard let p = udp[h].peer else {
        // inet_send_prepare binds a port before udp_sendmsg finds no destination.
        if udp[h].common.localPort == 0,
          let port = udpPorts.ephemeral(in: hosts[Int(udp[h].common.host)].network.ephemeral)
        {
          Self.setLocal(h, withPort(anyAddress(udp[h].common.kind.family), port), in: &udp, ports: &udpPorts)
        }
        return .failure(.EDESTADDRREQ)
      }
      destination = p
    }
    // udp_sendmsg finds the destination first (EDESTADDRREQ, EINVAL, the route); a pending
    // error is the answer when the datagram is allocated (and it is not sent), then the shutdown.
    if let e = udp[h].common.error {
      udp[h].common.error = nil
      return .failure(e)
    }
    if udp[h].common.shutWrite { return .failure(.EPIPE) }
    destination = resolvedDestination(destination)
    // A connected socket's multicast or limited-broadcast datagram leaves through the
    // source's interface; nobody here has joined a group, so it is simply sent.
    if connected && target == nil, let v4 = ipv4(of: destination), v4.isMulticast || v4 == .broadcast {
      return .number(Int64(data.count))
    }
    // An IPv6 socket sending to a v4-mapped port 0 (udpv6_sendmsg hands it to IPv4): EINVAL.
    if udp[h].common.kind.family == .inet6, case .inet6(let ip, 0, _) = destination, ip.mappedIPv4 != nil {
      return .failure(.EINVAL)
    }
    let host = udp[h].common.host
    guard let source = udp[h].common.local else { return .failure(.EINVAL) }
    let packet = SimPacket(tcp: false, source: source.plainIP, destination: destination.plainIP)
    // The ICMP error that a datagram causes is seen on a connected socket only.
    func icmp(_ e: Errno) { if connected { udp[h].common.error = e } }
    switch deliver(packet, from: host) {
    case .arrived(let to):
      if let r = findUDPReceiver(packet, on: to) {
        udp[r].datagrams.append(
          Datagram(bytes: data, from: peerAddress(source, as: udp[r].common.kind.family)))
      } else if case .arrived = deliver(packet.reversed, from: to) {
        icmp(.ECONNREFUSED)  // ICMP port unreachable
      }
    case .rejected(let at, let e):
      if at == host {
        // The local output chain: the send itself fails.
        if let e, e == .ECONNREFUSED || e == .EACCES || (e == .EHOSTUNREACH && !packet.v6) { icmp(e) }
        return .failure(.EPERM)
      }
      // Only "port unreachable" and "administratively prohibited" are hard errors for UDP.
      if let e, e == .ECONNREFUSED || e == .EACCES || (e == .EHOSTUNREACH && isProhibited(at, packet)) {
        icmp(e)
      }
    case .routeError(let at, let e):
      if at == host { return .failure(e) }
      // A router's prohibit route: IPv4 "packet filtered" (EHOSTUNREACH), IPv6 EACCES.
      if e == .EACCES || (e == .EHOSTUNREACH && isProhibited(at, packet)) { icmp(e) }
    case .droppedOnOutput:
      return .failure(.EPERM)
    case .neighbourFailure, .lost:
      break
    }
    return .number(Int64(data.count))
  }

  /// Whether host `at` answers this packet with "administratively prohibited" (an IPv4 prohibit
  /// route or a firewall rule saying so), as opposed to a soft host unreachable.
  private func isProhibited(_ at: Int32, _ p: SimPacket) -> Bool {
    for chain in [FirewallChain.input, .forward] {
      if case .rejectWithICMP(_, .adminProhibited) = verdict(at, chain, p) { return true }
    }
    for r in hosts[Int(at)].network.routes where r.prefix.contains(p.destination) {
      if r.target == .verdict(.error(.EACCES)) { return true }
    }
    return false
  }

  /// The UDP socket on host `on` that takes a datagram for `p.destination`.
  private func findUDPReceiver(_ p: SimPacket, on host: Int32) -> Handle? {
    var n = udpPorts.firstNode(of: p.destination.port ?? 0)
    while n != 0 {
      let h = udpPorts.holder(n)
      n = udpPorts.nextNode(n)
      let s = udp[h]
      guard s.common.host == host, let l = s.common.local,
        listenerTakes(l, v6only: s.common.options.v6only, p.destination)
      else { continue }
      // A connected socket takes datagrams from its peer only.
      if let peer = s.peer, !sameEndpoint(peer, p.source) { continue }
      return h
    }
    return nil
  }

  func udpReceive(_ h: Handle, max: Int, _ flags: MessageFlags, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    func ready() -> Bool { !udp[h].datagrams.isEmpty || udp[h].common.error != nil || udp[h].common.shutRead }
    // Not waiting, nothing queued: EAGAIN, before a shutdown is looked at.
    if udp[h].datagrams.isEmpty && udp[h].common.error == nil && !blocks(udp[h].common, flags) {
      return .failure(.EAGAIN)
    }
    if !ready() {
      if !blocks(udp[h].common, flags) { return .failure(.EAGAIN) }
      if let e = try waitForData(ready, timeout: udp[h].common.options.receiveTimeout, options, limit: limit)
      {
        return .failure(e)
      }
    }
    if let e = udp[h].common.error {
      udp[h].common.error = nil
      return .failure(e)
    }
    if udp[h].datagrams.isEmpty { return .data(ReceivedBytes([])) }  // shut for reading
    return .data(take(&udp[h].datagrams, max, flags))
  }

  // MARK: - Unix

  func unixSend(
    _ h: Handle, _ data: [UInt8], to target: SocketAddress?, _ flags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    if unix[h].isDatagram {
      // Shut for writing: EPIPE before the destination is looked at.
      if unix[h].common.shutWrite { return .failure(.EPIPE) }
      let other: Handle
      if let t = target {
        switch findUnixSocket(t, type: .dgram, from: unix[h].common.host) {
        case .failure(let e): return .failure(e)
        case .success(let o): other = o
        }
      } else {
        guard let r = unix[h].remote else { return .failure(.ENOTCONN) }
        guard unix.contains(r) else {
          // The target is gone: ECONNREFUSED once, then the association is dissolved.
          unix[h].remote = nil
          unix[h].peer = nil
          return .failure(.ECONNREFUSED)
        }
        other = r
      }
      if let theirs = unix[other].remote, unix.contains(theirs), theirs != h { return .failure(.EPERM) }
      if let t = target, unix[h].remote != other, abstractScoped(other, t) { return .failure(.EPERM) }
      unix[other].datagrams.append(Datagram(bytes: data, from: unix[h].common.local ?? .unix("")))
      return .number(Int64(data.count))
    }
    if target != nil && unix[h].state != .established { return .failure(.EOPNOTSUPP) }
    guard unix[h].state == .established else { return .failure(.ENOTCONN) }
    if unix[h].common.shutWrite { return .failure(.EPIPE) }
    guard let r = unix[h].remote, unix.contains(r) else { return .failure(.EPIPE) }
    if unix[h].common.kind.type == .seqpacket {
      unix[r].datagrams.append(Datagram(bytes: data, from: nil))
    } else {
      unix[r].received += data
    }
    return .number(Int64(data.count))
  }

  func unixReceive(_ h: Handle, max: Int, _ flags: MessageFlags, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    let s = unix[h]
    if !s.isDatagram && s.state != .established {
      // Not connected: a stream socket answers EINVAL (listening or not), a seqpacket socket
      // ENOTCONN (unix_seqpacket_recvmsg checks the state first).
      return .failure(s.common.kind.type == .seqpacket ? .ENOTCONN : .EINVAL)
    }
    // A datagram socket that does not wait answers EAGAIN before it looks at a shutdown.
    if s.isDatagram && s.datagrams.isEmpty && s.common.error == nil && !blocks(s.common, flags) {
      return .failure(.EAGAIN)
    }
    func ready() -> Bool {
      let s = unix[h]
      return !s.received.isEmpty || !s.datagrams.isEmpty || s.common.error != nil || s.common.shutRead
        || (!s.isDatagram && (s.remoteClosed || s.state != .established))
    }
    if !ready() {
      if !blocks(s.common, flags) { return .failure(.EAGAIN) }
      if let e = try waitForData(ready, timeout: s.common.options.receiveTimeout, options, limit: limit) {
        return .failure(e)
      }
    }
    if !unix[h].datagrams.isEmpty { return .data(take(&unix[h].datagrams, max, flags)) }
    if !unix[h].received.isEmpty {
      var r = take(&unix[h].received, max, flags)
      if flags.contains(.truncate) { r.length = r.bytes.count }
      return .data(r)
    }
    if let e = unix[h].common.error {
      unix[h].common.error = nil
      return .failure(e)
    }
    return .data(ReceivedBytes([]))
  }
}
