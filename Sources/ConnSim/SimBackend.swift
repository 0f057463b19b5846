import ConnRuntime
import ConnSyntax

// A deterministic model of Linux sockets, its network and its clock. The kernel is the
// specification: each rule cites the kernel behaviour it follows, and the corpus runs under
// `--backend both` to check that the two agree.
//
// This file is the Backend conformance, one entry point per requirement (past 600 lines because
// the protocol has that many calls; each is a short dispatch): it finds the socket behind a descriptor (EBADF, ENOTSOCK), hands the
// call to its family (TCP.swift, UDP.swift, Unix.swift, Raw.swift; options in Options.swift;
// `drop` and `landlock` in Privileges.swift, calls in the background in Background.swift) and records
// the trace. The shared machinery has files of its own: the clock and its events (Clock.swift),
// descriptors (Descriptors.swift), ports (Ports.swift), the file system (FileSystem.swift), the
// network (Network.swift).
//
// What is not modelled fails the statement with "not modelled by the simulated backend: ...",
// never with an invented answer. The list is in docs/LANGUAGE.md ("The simulated backend").

package final class SimBackend: Backend {
  package let name = "sim"
  package let virtualTime = true
  @exclusivity(unchecked) package var trace: ((TraceRecord) -> Void)?
  package var pathLimits: PathLimits { .kernel }

  // The state below is read and changed on every call, by this class alone, one call at a
  // time: the run-time exclusivity check on each access cost more than the simulated call.

  /// Virtual monotonic time, in nanoseconds.
  @exclusivity(unchecked) var clock: Int64 = 0
  @exclusivity(unchecked) var events = EventQueue()
  @exclusivity(unchecked) var descriptors: DescriptorTable
  @exclusivity(unchecked) var tcp = SocketTable<TCPSocket>()
  @exclusivity(unchecked) var udp = SocketTable<UDPSocket>()
  @exclusivity(unchecked) var unix = SocketTable<UnixSocket>()
  /// Raw IP, packet and netlink sockets (Raw.swift).
  @exclusivity(unchecked) var others = SocketTable<OtherSocket>()
  /// Netlink port ids handed out so far.
  @exclusivity(unchecked) var netlinkPorts: Int32 = 0
  @exclusivity(unchecked) var tcpPorts = PortTable()
  /// UDP hands out its ports from the middle of the range: Linux picks ports at random, so a
  /// TCP and a UDP socket of one scenario practically never get the same number, and a TCP
  /// connect to a UDP socket's port must not find a TCP listener there by accident.
  @exclusivity(unchecked) var udpPorts = PortTable(startOffset: 10000)
  /// The scenario's hosts: `self` first (its `net` rules), then each `host` statement's.
  @exclusivity(unchecked) var hosts: [SimHost] = [SimHost(name: "self", network: SimNetwork(rules: []))]
  @exclusivity(unchecked) var files = SimFileSystem()
  @exclusivity(unchecked) var abstractNames: [String: Handle] = [:]
  @exclusivity(unchecked) var fsUID: UInt32 = 0
  /// The process has its capabilities (no `drop` yet).
  @exclusivity(unchecked) var privileged = true
  /// Calls in the background (Background.swift): how to run them, those under way by number,
  /// and the one running now (nil: the scenario itself runs).
  let coroutines: Coroutines?
  @exclusivity(unchecked) var pendingCalls: [Int32: PendingCall] = [:]
  @exclusivity(unchecked) var backgroundCount: Int32 = 0
  @exclusivity(unchecked) var runningCall: PendingCall?
  /// The Landlock layers so far, oldest first.
  @exclusivity(unchecked) var landlock: [LandlockLayer] = []
  /// RLIMIT_NOFILE: no descriptor at or above it (EMFILE).
  let descriptorLimit: Int
  /// Numbers the real process holds for itself (taken in the simulation too).
  let occupied: [Descriptor]

  /// `descriptorLimit`: the limit on open files, as the real process has it; `occupied`: the
  /// descriptors the process has open besides 0, 1 and 2. With both, the two backends number
  /// descriptors alike and answer EMFILE at the same count.
  package init(descriptorLimit: Int = 1024, occupied: [Descriptor] = [], coroutines: Coroutines? = nil) {
    self.coroutines = coroutines
    self.descriptorLimit = descriptorLimit
    self.occupied = occupied
    descriptors = DescriptorTable(limit: descriptorLimit, occupied: occupied)
  }

  /// Forgets every socket and file; the clock is left alone (a finished scenario's time stays
  /// readable) and restarts at zero in beginScenario.
  private func reset() {
    descriptors = DescriptorTable(limit: descriptorLimit, occupied: occupied)
    events.removeAll()
    tcp.removeAll()
    udp.removeAll()
    unix.removeAll()
    others.removeAll()
    netlinkPorts = 0
    tcpPorts.removeAll()
    udpPorts.removeAll()
    abstractNames = [:]
    fsUID = 0
    privileged = true
    landlock = []
    files = SimFileSystem()
  }

  package func now() -> TimeSpan { TimeSpan(nanoseconds: clock) }

  package func beginScenario(netRules: [NetRule]) throws(BackendError) {
    reset()
    clock = 0
    hosts = [SimHost(name: "self", network: SimNetwork(rules: netRules))]
  }

  package func endScenario(closing descriptors: [Descriptor]) {
    if !pendingCalls.isEmpty { endBackgroundCalls() }
    for fd in descriptors {
      let o = closeDescriptor(fd)
      trace?(TraceRecord(.close(fd), o, note: "cleanup"))
    }
    reset()
  }

  @inline(__always)
  func emit(_ call: @autoclosure () -> TracedCall, _ o: Outcome) -> Outcome {
    if let t = trace { t(TraceRecord(call(), o)) }
    return o
  }

  // MARK: - Descriptors

  /// The socket behind `fd`: EBADF for a closed number, ENOTSOCK for a file.
  private func socketRef(_ fd: Descriptor) -> Result<SocketRef, Errno> {
    switch descriptors[fd] {
    case nil: return .failure(.EBADF)
    case .file: return .failure(.ENOTSOCK)
    case .socket(let r): return .success(r)
    }
  }

  func kind(of ref: SocketRef) -> SocketKind {
    switch ref {
    case .tcp(let h): return tcp[h].common.kind
    case .udp(let h): return udp[h].common.kind
    case .unix(let h): return unix[h].common.kind
    case .other(let h): return others[h].common.kind
    }
  }

  /// The state every family shares, for reading or changing.
  func withCommon<R, E: Error>(_ ref: SocketRef, _ body: (inout CommonState) throws(E) -> R) throws(E) -> R {
    switch ref {
    case .tcp(let h): return try body(&tcp[h].common)
    case .udp(let h): return try body(&udp[h].common)
    case .unix(let h): return try body(&unix[h].common)
    case .other(let h): return try body(&others[h].common)
    }
  }

  private func common(_ ref: SocketRef) -> CommonState { withCommon(ref) { $0 } }

  /// Gives a socket a descriptor; nil when the process has none left (EMFILE).
  private func open(_ ref: SocketRef) -> Descriptor? {
    guard let fd = descriptors.allocate(.socket(ref)) else { return nil }
    withCommon(ref) { $0.descriptors += 1 }
    return fd
  }

  private func closeDescriptor(_ fd: Descriptor) -> Outcome {
    guard let entry = descriptors.release(fd) else { return .failure(.EBADF) }
    if case .socket(let ref) = entry {
      let left = withCommon(ref) { (s: inout CommonState) -> Int in
        s.descriptors -= 1
        return s.descriptors
      }
      if left == 0 { release(ref) }
    }
    return .ok
  }

  private func release(_ ref: SocketRef) {
    switch ref {
    case .tcp(let h): tcpRelease(h)
    case .udp(let h): udpRelease(h)
    case .unix(let h): unixRelease(h)
    case .other(let h): others.remove(h)
    }
  }

  // MARK: - Backend: socket, descriptors, files

  package func socket(_ kind: SocketKind, nonblocking: Bool, on host: Int32) throws(BackendError) -> Outcome {
    if host < 0 || Int(host) >= hosts.count || hosts[Int(host)].name.isEmpty {
      throw .failed("host \(host) does not exist")
    }
    advance(to: clock)
    let call = TracedCall.socket(kind, nonblocking: nonblocking)
    if kind.type == .seqpacket && kind.family != .unix {
      // SOCK_SEQPACKET over IP is SCTP, a module this model does not have: inet_create finds
      // nothing registered for the type (ESOCKTNOSUPPORT), as on a kernel without sctp.ko.
      return emit(call, .failure(.ESOCKTNOSUPPORT))
    }
    if !privileged, let e = Self.capabilityError(kind) { return emit(call, .failure(e)) }
    let ref: SocketRef
    let other: Bool
    switch try Self.otherSocketCheck(kind) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(let o): other = o
    }
    switch (kind.family, kind.type) {
    case _ where other:
      ref = .other(others.add(OtherSocket(kind: kind, nonblocking: nonblocking, host: host)))
    case (.unix, .raw):
      // unix_create takes SOCK_RAW as SOCK_DGRAM.
      let dgram = SocketKind(.dgram, .unix, proto: kind.proto)
      ref = .unix(unix.add(UnixSocket(kind: dgram, nonblocking: nonblocking, host: host)))
    case (.unix, _): ref = .unix(unix.add(UnixSocket(kind: kind, nonblocking: nonblocking, host: host)))
    case (_, .stream): ref = .tcp(tcp.add(TCPSocket(kind: kind, nonblocking: nonblocking, host: host)))
    default: ref = .udp(udp.add(UDPSocket(kind: kind, nonblocking: nonblocking, host: host)))
    }
    guard let fd = open(ref) else {
      release(ref)
      return emit(call, .failure(.EMFILE))
    }
    if let denied = hosts[Int(host)].connectHook, kind.family != .unix {
      withCommon(ref) { $0.connectDenied = denied }
    }
    // Landlock's scope looks at the domain a socket was made in.
    if case .unix(let h) = ref { unix[h].landlockDepth = UInt8(landlock.count) }
    return emit(call, .number(Int64(fd)))
  }

  /// __sys_socketpair: both descriptors first (EMFILE), then the sockets (the family's answers of
  /// socket(2)), then the family's socketpair: only AF_UNIX has one (EOPNOTSUPP).
  package func socketPair(_ kind: SocketKind, nonblocking: Bool) throws(BackendError) -> (
    Outcome, (Descriptor, Descriptor)?
  ) {
    advance(to: clock)
    func traced(_ o: Outcome, _ pair: (Descriptor, Descriptor)? = nil) -> (Outcome, (Descriptor, Descriptor)?)
    {
      (emit(.socketPair(kind, nonblocking: nonblocking, pair: pair), o), pair)
    }
    guard let fd1 = descriptors.allocate(.file("<reserved>")) else { return traced(.failure(.EMFILE)) }
    guard let fd2 = descriptors.allocate(.file("<reserved>")) else {
      _ = descriptors.release(fd1)
      return traced(.failure(.EMFILE))
    }
    func giveBack() {
      _ = descriptors.release(fd2)
      _ = descriptors.release(fd1)
    }
    if kind.type == .seqpacket && kind.family != .unix {
      // As socket(2): SOCK_SEQPACKET over IP is SCTP, which this model does not have.
      giveBack()
      return traced(.failure(.ESOCKTNOSUPPORT))
    }
    if kind.family != .unix {
      // inet_stream_ops and inet_dgram_ops: sock_no_socketpair.
      giveBack()
      return traced(.failure(.EOPNOTSUPP))
    }
    // unix_socketpair: two unnamed sockets, each the other's peer (connected, for every type).
    var a = UnixSocket(kind: kind, nonblocking: nonblocking)
    var b = UnixSocket(kind: kind, nonblocking: nonblocking)
    // Landlock's scope looks at the domain a socket was made in.
    a.landlockDepth = UInt8(landlock.count)
    b.landlockDepth = UInt8(landlock.count)
    if kind.type != .dgram {
      a.state = .established
      b.state = .established
      a.connected = true
      b.connected = true
      a.peer = .unix("")
      b.peer = .unix("")
    }
    let ha = unix.add(a)
    let hb = unix.add(b)
    unix[ha].remote = hb
    unix[hb].remote = ha
    _ = descriptors.release(fd2)
    _ = descriptors.release(fd1)
    descriptors.place(.socket(.unix(ha)), at: fd1)
    descriptors.place(.socket(.unix(hb)), at: fd2)
    unix[ha].common.descriptors = 1
    unix[hb].common.descriptors = 1
    return traced(.ok, (fd1, fd2))
  }

  /// fcntl(F_DUPFD_CLOEXEC) or dup3(fd, target, O_CLOEXEC): one more descriptor for the same
  /// socket (or file), which lives until its last descriptor is closed.
  package func dup(_ fd: Descriptor, onto target: Descriptor?) throws(BackendError) -> Outcome {
    advance(to: clock)
    let call = TracedCall.dup(fd, target: target)
    if let target, descriptors.isOccupied(target) {
      throw .refused("descriptor \(target) is conn's own; a scenario may not use it")
    }
    guard let target else {
      // fcntl F_DUPFD_CLOEXEC: EBADF for a closed number, then the lowest free one (EMFILE).
      guard let entry = descriptors[fd], !descriptors.isOccupied(fd) else {
        return emit(call, .failure(.EBADF))
      }
      guard let n = descriptors.allocate(entry) else { return emit(call, .failure(.EMFILE)) }
      shareOpenFile(entry, from: fd, to: n)
      return emit(call, .number(Int64(n)))
    }
    // ksys_dup3: the same number is EINVAL, a number past the limit EBADF, then the old one.
    if fd == target { return emit(call, .failure(.EINVAL)) }
    if target < 0 || Int(target) >= descriptorLimit { return emit(call, .failure(.EBADF)) }
    guard let entry = descriptors[fd], !descriptors.isOccupied(fd) else {
      return emit(call, .failure(.EBADF))
    }
    // Whatever the target held is closed first, silently.
    if descriptors[target] != nil { _ = closeDescriptor(target) }
    descriptors.place(entry, at: target)
    shareOpenFile(entry, from: fd, to: target)
    return emit(call, .number(Int64(target)))
  }

  /// A new descriptor `to` for what `from` has open: a socket counts one more descriptor; a
  /// file's O_NONBLOCK is copied (Linux shares it: a later change through one is not modelled).
  private func shareOpenFile(_ entry: DescriptorEntry, from: Descriptor, to: Descriptor) {
    switch entry {
    case .socket(let ref): withCommon(ref) { $0.descriptors += 1 }
    case .file: descriptors.setFileNonblocking(to, descriptors.fileNonblocking(from))
    }
  }

  package func applyTopology(_ steps: [TopologyStatement], hostNames: [String]) throws(BackendError) {
    advance(to: clock)
    try applyTopologySteps(steps, hostNames: hostNames)
  }

  /// Every descriptor number is the scenario's: the simulated process has nothing else.
  package func adopt(_ fd: Descriptor) throws(BackendError) {}

  package func openFile(_ path: String, limit: TimeSpan) throws(BackendError) -> Outcome {
    let call = TracedCall.open(path: path)
    switch files.lookup(files.absolute(path), uid: 0) {
    case .success((_, let e)):
      if case .socket = e.kind { return emit(call, .failure(.ENXIO)) }
      guard let fd = descriptors.allocate(.file(path)) else { return emit(call, .failure(.EMFILE)) }
      return emit(call, .number(Int64(fd)))
    case .failure(let e): return emit(call, .failure(e))
    }
  }

  package func close(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    return emit(.close(fd), closeDescriptor(fd))
  }

  // MARK: - bind, listen, accept, connect

  package func bind(_ fd: Descriptor, _ address: SocketAddress) throws(BackendError) -> Outcome {
    advance(to: clock)
    let call = TracedCall.bind(fd, address, length: naturalLength(address))
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(.tcp(let h)):
      if let e = landlockRefusal(tcp[h].common.kind, address, length: naturalLength(address), connect: false)
      {
        return emit(call, .failure(e))
      }
      return emit(call, tcpBind(h, address))
    case .success(.udp(let h)): return emit(call, udpBind(h, address))
    case .success(.unix(let h)): return emit(call, unixBind(h, address))
    case .success(.other(let h)): return emit(call, try otherBind(h, address))
    }
  }

  package func listen(_ fd: Descriptor, backlog: Int32) -> Outcome {
    advance(to: clock)
    let call = TracedCall.listen(fd, backlog: backlog)
    // The kernel caps the backlog at net.core.somaxconn.
    let b = Int(min(max(backlog, 0), Linux.maximumBacklog))
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(.udp), .success(.other): return emit(call, .failure(.EOPNOTSUPP))
    case .success(.unix(let h)) where unix[h].isDatagram: return emit(call, .failure(.EOPNOTSUPP))
    case .success(.tcp(let h)): return emit(call, tcpListen(h, backlog: b))
    case .success(.unix(let h)): return emit(call, unixListen(h, backlog: b))
    }
  }

  package func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError)
    -> Outcome
  {
    advance(to: clock)
    func call(_ peer: SocketAddress? = nil) -> TracedCall {
      .accept(fd, peer: peer, nonblocking: options.nonblock)
    }
    let ref: SocketRef
    switch socketRef(fd) {
    case .failure(let e): return emit(call(), .failure(e))
    case .success(let r): ref = r
    }
    let queue: () -> [Handle]
    switch ref {
    case .udp, .other: return emit(call(), .failure(.EOPNOTSUPP))
    case .unix(let h) where unix[h].isDatagram: return emit(call(), .failure(.EOPNOTSUPP))
    case .tcp(let h):
      if tcp[h].state != .listening { return emit(call(), .failure(.EINVAL)) }
      queue = { self.tcp.contains(h) ? self.tcp[h].acceptQueue : [] }
    case .unix(let h):
      if unix[h].state != .listening { return emit(call(), .failure(.EINVAL)) }
      // unix_accept: a listener shut for reading has nothing more to give: EINVAL for a caller
      // that would wait (a nonblocking one gets EAGAIN first).
      if unix[h].common.shutRead && unix[h].acceptQueue.isEmpty && !unix[h].common.nonblocking {
        return emit(call(), .failure(.EINVAL))
      }
      queue = { self.unix.contains(h) ? self.unix[h].acceptQueue : [] }
    }
    // accept4 takes a descriptor number before it takes (or waits for) a connection: a socket
    // made while a background accept waits gets the next number.
    guard let reserved = descriptors.reserve() else { return emit(call(), .failure(.EMFILE)) }
    let s = common(ref)
    if queue().isEmpty {
      if s.nonblocking {
        descriptors.unreserve(reserved)
        return emit(call(), .failure(.EAGAIN))
      }
      let t = s.options.receiveTimeout
      let waited: WaitResult
      do throws(BackendError) {
        waited = try wait(
          until: { !queue().isEmpty }, timeout: t.nanoseconds > 0 ? t : nil, interrupt: options.interrupt,
          limit: limit)
      } catch {
        descriptors.unreserve(reserved)
        throw error
      }
      switch waited {
      case .ready: break
      case .timeout:
        descriptors.unreserve(reserved)
        return emit(call(), .failure(.EAGAIN))
      case .interrupted:
        descriptors.unreserve(reserved)
        return emit(call(), .failure(.EINTR))
      }
    }
    let child: SocketRef
    let peer: SocketAddress?
    switch ref {
    case .tcp(let h):
      let c = tcp[h].acceptQueue.removeFirst()
      tcp[c].common.nonblocking = options.nonblock
      child = .tcp(c)
      peer = tcp[c].peer
    case .unix(let h):
      let c = unix[h].acceptQueue.removeFirst()
      unix[c].common.nonblocking = options.nonblock
      child = .unix(c)
      peer = unix[c].peer
    case .udp, .other:
      descriptors.unreserve(reserved)
      return emit(call(), .failure(.EOPNOTSUPP))
    }
    descriptors.place(.socket(child), at: reserved)
    // An accepted socket's file is made now, in the domain the process is in now.
    if case .unix(let c) = child { unix[c].landlockDepth = UInt8(landlock.count) }
    withCommon(child) { $0.descriptors += 1 }
    return emit(call(peer), .number(Int64(reserved)))
  }

  package func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    advance(to: clock)
    let address: SocketAddress
    var length = options.addressLength.map(Int.init) ?? target.defaultLength ?? 0
    switch target {
    case .badPointer, .nullPointer:
      let call = TracedCall.connect(fd, target, length: length)
      // The kernel's order: the descriptor (EBADF), then copying the address (EFAULT, and EINVAL
      // for a length it cannot take; a length of 0 copies nothing), then the socket itself
      // (ENOTSOCK), then the protocol, which takes no address shorter than a family (EINVAL).
      guard descriptors[fd] != nil else { return emit(call, .failure(.EBADF)) }
      if length == 0 {
        switch socketRef(fd) {
        case .failure(let e): return emit(call, .failure(e))
        case .success(let ref): return emit(call, .failure(hasNoConnect(ref) ? .EOPNOTSUPP : .EINVAL))
        }
      }
      return emit(call, .failure(length < 0 || length > 128 ? .EINVAL : .EFAULT))
    case .family(let f): address = Self.familyStandIn(f, length: length, for: socketRef(fd))
    case .address(let a):
      address = a
      length = options.addressLength.map(Int.init) ?? naturalLength(address)
    }
    let call = TracedCall.connect(fd, target, length: length)
    guard descriptors[fd] != nil else { return emit(call, .failure(.EBADF)) }
    if length < 0 || length > 128 { return emit(call, .failure(.EINVAL)) }
    let ref: SocketRef
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(let r): ref = r
    }
    if hasNoConnect(ref) { return emit(call, .failure(.EOPNOTSUPP)) }
    if length < 2 { return emit(call, .failure(.EINVAL)) }
    switch ref {
    case .tcp(let h):
      if let e = landlockRefusal(tcp[h].common.kind, address, length: length, connect: true) {
        return emit(call, .failure(e))
      }
      return emit(call, try tcpConnect(h, address, length: length, options, limit: limit))
    case .udp(let h): return emit(call, udpConnect(h, address, length: length))
    case .unix(let h): return emit(call, try unixConnect(h, address, options, limit: limit))
    case .other(let h): return emit(call, otherConnect(h, address, length: length))
    }
  }

  /// The length the kernel backend passes for each family: sizeof(struct sockaddr_in) and so
  /// on; a relative Unix path is first made absolute in the private directory
  /// (/tmp/conn-XXXXXX/, 17 bytes), an abstract name gets the run's prefix ("conn.PID.N.",
  /// counted as 14 bytes).
  static func naturalLength(_ a: SocketAddress) -> Int {
    switch a {
    case .inet: return 16
    case .inet6: return 28
    case .unix(let p): return 2 + (p.hasPrefix("/") ? 0 : 17) + p.utf8.count + 1
    case .abstract(let n): return 2 + 1 + 14 + n.utf8.count
    case .unspec: return 16
    case .netlink: return 12
    case .packet: return 20
    }
  }

  private func naturalLength(_ a: SocketAddress) -> Int { Self.naturalLength(a) }

  /// What a `struct sockaddr` holding only family `f` and zeros reads as: the any address of
  /// AF_INET or AF_INET6, AF_UNSPEC, an abstract name of NUL bytes for AF_UNIX; any other
  /// family is one the socket does not take, which an address of another family stands for.
  static func familyStandIn(_ f: UInt16, length: Int, for socket: Result<SocketRef, Errno>) -> SocketAddress {
    switch f {
    case 0: return .unspec
    case 2: return .inet(IPv4Address(0), port: 0)
    case 10: return .inet6(IPv6Address(high: 0, low: 0), port: 0, scope: nil)
    case 1 where length > 3: return .abstract(String(repeating: "\0", count: length - 3))
    default:
      if case .success(.unix) = socket { return .inet(IPv4Address(0), port: 0) }
      return .unix("\0")
    }
  }

  // MARK: - Options, poll, names, shutdown

  package func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome {
    advance(to: clock)
    let call = TracedCall.setNonblocking(fd, on)
    switch descriptors[fd] {
    case nil: return emit(call, .failure(.EBADF))
    case .file:
      descriptors.setFileNonblocking(fd, on)
      return emit(call, .ok)
    case .socket(let ref):
      withCommon(ref) { $0.nonblocking = on }
      return emit(call, .ok)
    }
  }

  package func setCloseOnExec(_ fd: Descriptor, _ on: Bool) -> Outcome {
    advance(to: clock)
    guard descriptors[fd] != nil, !descriptors.isOccupied(fd) else {
      return emit(.setCloseOnExec(fd, on), .failure(.EBADF))
    }
    descriptors.setCloseOnExec(fd, on)
    return emit(.setCloseOnExec(fd, on), .ok)
  }

  package func getFlag(_ fd: Descriptor, _ flag: DescriptorFlag) -> Outcome {
    advance(to: clock)
    let set: Bool
    switch (descriptors[fd], flag) {
    case (nil, _): return emit(.getFlag(fd, flag), .failure(.EBADF))
    case (_, .FD_CLOEXEC): set = descriptors.closeOnExec(fd)
    case (.file?, .O_NONBLOCK): set = descriptors.fileNonblocking(fd)
    case (.socket(let ref)?, .O_NONBLOCK): set = withCommon(ref) { $0.nonblocking }
    }
    return emit(.getFlag(fd, flag), .number(set ? 1 : 0))
  }

  package func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError)
    -> Outcome
  {
    advance(to: clock)
    let call = TracedCall.setOption(fd, option, value)
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(let ref): return emit(call, try setOption(ref, option, value))
    }
  }

  package func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    advance(to: clock)
    switch socketRef(fd) {
    case .failure(let e): return emit(.getOption(fd, option, callFailed: true), .failure(e))
    case .success(let ref):
      let o = try getOption(ref, option)
      // SO_ERROR's pending errno is a value read, not a failure of the call.
      let failed = option != .SO_ERROR && o.isError
      return emit(.getOption(fd, option, callFailed: failed), o)
    }
  }

  package func poll(
    _ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    advance(to: clock)
    try refuseOtherPoll(fd)
    let call = TracedCall.poll(fd, events, timeout: min(timeout ?? limit, limit))
    let o = try pollWait(timeout: timeout, options, limit: limit) { () -> Outcome? in
      let r = revents(fd, events)
      return r.isEmpty ? nil : .events(r)
    }
    return emit(call, o)
  }

  package func pollSet(_ set: [PolledDescriptor], timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    advance(to: clock)
    for d in set { try refuseOtherPoll(d.fd) }
    let call = TracedCall.pollSet(set, timeout: min(timeout ?? limit, limit))
    let o = try pollWait(timeout: timeout, options, limit: limit) { () -> Outcome? in
      let r = set.map { revents($0.fd, $0.events) }
      return r.allSatisfy(\.isEmpty) ? nil : .pollSet(r)
    }
    return emit(call, o)
  }

  private func refuseOtherPoll(_ fd: Descriptor) throws(BackendError) {
    if case .socket(.other)? = descriptors[fd] {
      throw .notModelled("poll on raw, packet and netlink sockets")
    }
  }

  /// What poll(2) reports for one descriptor now: what was asked for, and error and hup always.
  private func revents(_ fd: Descriptor, _ events: PollEvents) -> PollEvents {
    switch descriptors[fd] {
    case nil: return .invalid
    case .file: return events.intersection([.readable, .writable])
    case .socket(let ref): return readiness(ref).intersection(events.union([.error, .hangup]))
    }
  }

  /// Waits until `ready` has a result, or the timeout, the limit or an interrupt.
  private func pollWait(
    timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan, _ ready: () -> Outcome?
  ) throws(BackendError) -> Outcome {
    if let o = ready() { return o }
    let t = timeout.map { min($0, limit) }
    switch try wait(until: { ready() != nil }, timeout: t, interrupt: options.interrupt, limit: limit) {
    case .ready: return ready() ?? .pollTimeout
    case .timeout:
      if timeout == nil || timeout! > limit { throw .timedOut(limit) }
      return .pollTimeout
    case .interrupted: return .failure(.EINTR)
    }
  }

  /// What poll(2) would report for the socket now (before masking by the requested events).
  private func readiness(_ ref: SocketRef) -> PollEvents {
    switch ref {
    case .tcp(let h): return tcpReadiness(h)
    case .udp(let h): return udpReadiness(h)
    case .unix(let h): return unixReadiness(h)
    case .other: return []
    }
  }

  // MARK: - Data (Data.swift)

  package func send(
    _ fd: Descriptor, _ callKind: DataCall, _ data: [UInt8], to: ResolvedTarget?, _ flags: MessageFlags,
    _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    advance(to: clock)
    var shown: SocketAddress?
    if case .address(let a)? = to { shown = a }
    let call = TracedCall.send(fd, callKind, data, to: shown, flags)
    let ref: SocketRef
    switch descriptors[fd] {
    case nil: return emit(call, .failure(.EBADF))
    case .file:
      if callKind == .write { throw .notModelled("writing to a file") }
      return emit(call, .failure(.ENOTSOCK))
    case .socket(let r): ref = r
    }
    if case .badPointer? = to { return emit(call, .failure(.EFAULT)) }
    if case .family? = to { throw .notModelled("sendto with a bare family number") }
    switch ref {
    case .tcp(let h): return emit(call, try tcpSend(h, data, to: shown, flags, options, limit: limit))
    case .udp(let h): return emit(call, udpSend(h, data, to: shown, flags, limit: limit))
    case .unix(let h): return emit(call, try unixSend(h, data, to: shown, flags, options, limit: limit))
    case .other: throw .notModelled("sending on raw, packet and netlink sockets")
    }
  }

  package func receive(
    _ fd: Descriptor, _ callKind: DataCall, max: Int, _ flags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    advance(to: clock)
    let call = TracedCall.receive(fd, callKind, max: max, flags)
    let ref: SocketRef
    switch descriptors[fd] {
    case nil: return emit(call, .failure(.EBADF))
    case .file:
      if callKind == .read { throw .notModelled("reading a file") }
      return emit(call, .failure(.ENOTSOCK))
    case .socket(let r): ref = r
    }
    var o: Outcome
    switch ref {
    case .tcp(let h): o = try tcpReceive(h, max: max, flags, options, limit: limit)
    case .udp(let h): o = try udpReceive(h, max: max, flags, options, limit: limit)
    case .unix(let h): o = try unixReceive(h, max: max, flags, options, limit: limit)
    case .other: throw .notModelled("receiving on raw, packet and netlink sockets")
    }
    // recv and read say nothing of the sender; recvfrom does (TCP: nothing, as the kernel).
    if case .data(var d) = o {
      if callKind != .recvfrom {
        d.from = nil
      } else if case .tcp = ref {
        d.from = nil
      }
      o = .data(d)
    }
    return emit(call, o)
  }

  package func peerName(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    let call = TracedCall.peerName(fd)
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(.tcp(let h)):
      guard tcp[h].state == .established, let p = tcp[h].peer else { return emit(call, .failure(.ENOTCONN)) }
      return emit(call, .address(p))
    case .success(.udp(let h)):
      // inet_getname: no peer port, no peer (a socket connected to port 0 included).
      guard let p = udp[h].peer, p.port != 0 else { return emit(call, .failure(.ENOTCONN)) }
      return emit(call, .address(p))
    case .success(.unix(let h)):
      return emit(call, unixPeerName(h))
    case .success(.other(let h)):
      return emit(call, otherPeerName(h))
    }
  }

  package func localName(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    let call = TracedCall.localName(fd)
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(.tcp(let h)) where tcp[h].common.localPort == 0 && tcp[h].staleLocal != nil:
      return emit(call, .address(tcp[h].staleLocal!))
    case .success(.other(let h)):
      return emit(call, .address(otherLocalName(h)))
    case .success(let ref):
      let (local, family) = withCommon(ref) { ($0.local, $0.kind.family) }
      if let l = local { return emit(call, .address(l)) }
      return emit(call, .address(family == .unix ? .unix("") : anyAddress(family)))
    }
  }

  /// An option by its numbers: one the language names, as that one (an int value; the struct
  /// options and SO_ERROR's errno number are not modelled this way); any other is not modelled.
  package func setOption(_ fd: Descriptor, number n: OptionNumber, _ value: Int32) throws(BackendError)
    -> Outcome
  {
    guard let o = Linux.option(number: n), o.valueKind != .duration else {
      throw .notModelled("socket option \(n.levelName) \(n.name) by number")
    }
    return try setOption(fd, o, .integer(Int64(value)))
  }

  package func getOption(_ fd: Descriptor, number n: OptionNumber) throws(BackendError) -> Outcome {
    guard let o = Linux.option(number: n), o.valueKind != .duration, o != .SO_ERROR else {
      throw .notModelled("socket option \(n.levelName) \(n.name) by number")
    }
    return try getOption(fd, o)
  }

  package func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome {
    advance(to: clock)
    let call = TracedCall.shutdown(fd, how)
    let rd = how != .write
    let wr = how != .read
    switch socketRef(fd) {
    case .failure(let e): return emit(call, .failure(e))
    case .success(.tcp(let h)): return emit(call, tcpShutdown(h, read: rd, write: wr))
    case .success(.udp(let h)): return emit(call, udpShutdown(h, read: rd, write: wr))
    case .success(.unix(let h)): return emit(call, unixShutdown(h, read: rd, write: wr))
    case .success(.other(let h)): return emit(call, otherShutdown(h))
    }
  }

  package func sleep(_ duration: TimeSpan) -> TimeSpan {
    advanceSettling(to: clock + duration.nanoseconds)
    _ = emit(.sleep(duration), .ok)
    return .zero
  }
}
