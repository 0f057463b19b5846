import ConnRuntime
import ConnSyntax

// A deterministic model of Linux sockets, its network and its clock. The kernel is the
// specification: each rule below cites the kernel behaviour it follows, and the corpus runs
// under `--backend both` to check that the two agree.
//
// Time is virtual: it moves only when a scenario waits (sleep, poll, a blocking call), and then
// it jumps to the next event (a SYN retransmission, a timeout). A 127-second SYN timeout costs
// microseconds.
//
// What is not modelled fails the statement with "not modelled by the simulated backend: ...",
// never with an invented answer. The list is in docs/LANGUAGE.md ("The simulated backend").

package final class SimBackend: Backend {
  package let name = "sim"
  // The state below is read on every call, by this class alone: no run-time exclusivity checks
  // (they cost more than the simulation of a connect itself).
  @exclusivity(unchecked) package var trace: ((String) -> Void)?

  /// Virtual monotonic time, in nanoseconds.
  @exclusivity(unchecked) private var clock: Int64 = 0
  @exclusivity(unchecked) private var table: [SimFileHandle?] = []
  @exclusivity(unchecked) private var network = SimNetwork(rules: [])
  @exclusivity(unchecked) private var attempts: [SynAttempt] = []
  @exclusivity(unchecked) private var sequence = 0
  private var files: [String: FileEntry] = [:]
  private var abstractNames: [String: SimSocket] = [:]
  private var fsUID: UInt32 = 0
  @exclusivity(unchecked) private var nextEphemeral: Int = 0

  enum SimFileHandle {
    case socket(SimSocket)
    case file(String)
  }

  /// The private directory relative Unix paths resolve in (never created anywhere).
  static let scenarioDir = "/tmp/conn-sim"

  package init() { reset() }

  /// Forgets every socket and file; the clock is left alone (a finished scenario's time stays
  /// readable) and restarts at zero in beginScenario.
  private func reset() {
    // 0, 1 and 2 are standard input, output and error: sockets start at 3, as in a fresh process.
    table = [.file("<stdin>"), .file("<stdout>"), .file("<stderr>")]
    attempts = []
    sequence = 0
    abstractNames = [:]
    fsUID = 0
    nextEphemeral = 0
    files = [
      "/": .directory(mode: 0o755, owner: 0),
      "/dev": .directory(mode: 0o755, owner: 0),
      "/dev/null": .file,
      "/tmp": .directory(mode: 0o1777, owner: 0),
      SimBackend.scenarioDir: .directory(mode: 0o700, owner: 0),
    ]
  }

  package func now() -> TimeSpan { TimeSpan(nanoseconds: clock) }

  package func beginScenario(netRules: [NetRule]) throws(BackendError) {
    reset()
    clock = 0
    network = SimNetwork(rules: netRules)
  }

  package func endScenario(closing descriptors: [Descriptor]) {
    for fd in descriptors { _ = closeDescriptor(fd) }
    reset()
  }

  private func emit(_ call: @autoclosure () -> String, _ o: Outcome) -> Outcome {
    if let t = trace { t("\(call()) = \(o.description)") }
    return o
  }

  // MARK: - Descriptors

  private func allocate(_ h: SimFileHandle) -> Descriptor {
    if let free = table.firstIndex(where: { $0 == nil }) {
      table[free] = h
      return Descriptor(free)
    }
    table.append(h)
    return Descriptor(table.count - 1)
  }

  private func handle(_ fd: Descriptor) -> SimFileHandle? {
    fd >= 0 && Int(fd) < table.count ? table[Int(fd)] : nil
  }

  /// The failure `socketOrFail` emitted.
  private var lastFailure: Outcome = .ok

  /// The socket behind `fd`, or nil after emitting EBADF or ENOTSOCK for `call` (then
  /// `lastFailure` holds that outcome).
  private func socketOrFail(_ fd: Descriptor, _ call: @autoclosure () -> String) -> SimSocket? {
    switch socketOf(fd) {
    case .success(let s): return s
    case .failure(let e):
      lastFailure = emit(call(), .failure(e))
      return nil
    }
  }

  /// EBADF for a closed number, ENOTSOCK for a file, else the socket.
  private func socketOf(_ fd: Descriptor) -> Result<SimSocket, Errno> {
    switch handle(fd) {
    case nil: return .failure(.EBADF)
    case .file: return .failure(.ENOTSOCK)
    case .socket(let s): return .success(s)
    }
  }

  // MARK: - Time and events

  /// Runs every event due at or before `t`, in time order (ties: first scheduled first), and
  /// moves the clock to `t`.
  private func advance(to t: Int64) {
    while let i = nextAttemptIndex(), attempts[i].time <= t {
      let a = attempts.remove(at: i)
      if a.time > clock { clock = a.time }
      process(a)
    }
    if t > clock { clock = t }
  }

  private func nextAttemptIndex() -> Int? {
    var best: Int?
    for (i, a) in attempts.enumerated() {
      if let b = best, (attempts[b].time, attempts[b].sequence) <= (a.time, a.sequence) { continue }
      best = i
    }
    return best
  }

  private var nextEventTime: Int64? { nextAttemptIndex().map { attempts[$0].time } }

  /// Linux's SYN schedule: initial RTO 1 s, doubling; `synCount` retransmissions, then the
  /// attempt fails one more RTO after the last (3 s for TCP_SYNCNT 1, 127 s for the default 6).
  private static func transmissionTime(_ k: Int) -> Int64 { (Int64(1) << Int64(k)) - 1 }

  private func process(_ a: SynAttempt) {
    let s = a.socket
    guard s.state == .synSent else { return }
    if a.transmission > s.synCount {
      fail(s, .ETIMEDOUT)
      return
    }
    if case .local = network.route(a.target), let listener = findListener(a.target, from: s) {
      if listener.queueFull {
        retry(a)  // the SYN is dropped; it is sent again later
      } else {
        establish(s, with: listener, target: a.target)
      }
      return
    }
    if case .local = network.route(a.target) {
      fail(s, .ECONNREFUSED)  // RST from the local stack: nobody listens there
      return
    }
    retry(a)  // lost on the way: no answer at all
  }

  private func retry(_ a: SynAttempt) {
    var next = a
    next.transmission += 1
    next.time = a.start + SimBackend.transmissionTime(next.transmission) * 1_000_000_000
    attempts.append(next)
  }

  private func schedule(_ s: SimSocket, target: SocketAddress) {
    sequence += 1
    attempts.append(SynAttempt(socket: s, target: target, start: clock, transmission: 0, time: clock, sequence: sequence))
  }

  private func cancelAttempts(_ s: SimSocket) { attempts.removeAll { $0.socket === s } }

  /// The connect failed (RST or timeout): sk_err set, the socket closed for both directions.
  private func fail(_ s: SimSocket, _ e: Errno) {
    s.state = .closed
    s.error = e
    s.shutRead = true
    s.shutWrite = true
    s.peer = nil
    if !s.userBound { s.local = s.local.map { withPort($0, 0) } }
    cancelAttempts(s)
  }

  private func establish(_ client: SimSocket, with listener: SimSocket, target: SocketAddress) {
    let child = SimSocket(kind: listener.kind, nonblocking: false)
    child.state = .established
    child.sockState = .connected
    child.local = childLocal(listener: listener, target: target)
    child.peer = client.local.map { peerAddress($0, as: listener.kind.family) }
    child.remote = client
    client.remote = child
    client.state = .established
    client.peer = target
    listener.acceptQueue.append(child)
  }

  /// The address an accepted socket reports: the one the client connected to, in the
  /// listener's family (an inet6 listener reports v4 clients as ::ffff:a.b.c.d).
  private func childLocal(listener: SimSocket, target: SocketAddress) -> SocketAddress {
    peerAddress(resolvedDestination(target), as: listener.kind.family)
  }

  private func peerAddress(_ a: SocketAddress, as family: AddressFamily) -> SocketAddress {
    switch (a, family) {
    case (.inet(let ip, let p), .inet6): return .inet6(.mapping(ip), port: p, scope: nil)
    case (.inet6(let ip, let p, _), .inet): return ip.mappedIPv4.map { .inet($0, port: p) } ?? a
    default: return a
    }
  }

  /// Connecting to the wildcard address reaches this host (Linux rewrites it to loopback).
  private func resolvedDestination(_ a: SocketAddress) -> SocketAddress {
    switch a {
    case .inet(let ip, let p) where ip.isAny: return .inet(.loopback, port: p)
    case .inet6(let ip, let p, let s) where ip.isAny: return .inet6(.loopback, port: p, scope: s)
    default: return a
    }
  }

  /// A listening TCP socket that would take a SYN for `target`.
  private func findListener(_ target: SocketAddress, from client: SimSocket) -> SimSocket? {
    let dest = resolvedDestination(target)
    var found: SimSocket?
    forEachSocket { s in
      guard found == nil, s.isTCP, s.state == .listening, let l = s.local, l.port == dest.port else { return }
      if addressMatches(listener: l, listenerSocket: s, dest: dest) { found = s }
    }
    return found
  }

  private func addressMatches(listener l: SocketAddress, listenerSocket s: SimSocket, dest: SocketAddress) -> Bool {
    switch (l, dest) {
    case (.inet(let a, _), .inet(let d, _)): return a.isAny || a == d
    case (.inet(let a, _), .inet6(let d, _, _)): return d.mappedIPv4.map { a.isAny || a == $0 } ?? false
    case (.inet6(let a, _, _), .inet6(let d, _, _)):
      if let v4 = d.mappedIPv4 {
        if s.v6only { return false }
        return a.isAny || a.mappedIPv4 == v4
      }
      return a.isAny || a == d
    case (.inet6(let a, _, _), .inet(let d, _)):
      if s.v6only { return false }
      return a.isAny || a.mappedIPv4 == d
    default: return false
    }
  }

  /// Every socket: those with a descriptor and those waiting in an accept queue. A socket has at
  /// most one descriptor (nothing here duplicates one) and a queued socket has none, so each is
  /// visited once, with no set to allocate on every lookup.
  private func forEachSocket(_ body: (SimSocket) -> Void) {
    for h in table {
      if case .socket(let s)? = h {
        body(s)
        for c in s.acceptQueue { body(c) }
      }
    }
  }

  /// Waits (in virtual time) until `ready()` holds, the optional `timeout` passes, the user's
  /// `interrupt` fires, or the run's limit is reached.
  private enum WaitResult { case ready, timeout, interrupted }

  private func wait(
    until ready: () -> Bool, timeout: TimeSpan?, interrupt: TimeSpan?, limit: TimeSpan
  ) throws(BackendError) -> WaitResult {
    let start = clock
    if ready() { return .ready }
    let timeoutAt = timeout.map { start + $0.nanoseconds }
    let interruptAt = interrupt.map { start + $0.nanoseconds }
    let limitAt = start + limit.nanoseconds
    while true {
      let stops = [timeoutAt, interruptAt, limitAt].compactMap { $0 }
      let stop = stops.min()!
      if let e = nextEventTime, e <= stop {
        advance(to: e)
        if ready() { return .ready }
        continue
      }
      advance(to: stop)
      if ready() { return .ready }
      // The earliest reason to stop wins; the user's timeout and interrupt before the limit.
      if let t = timeoutAt, t == stop { return .timeout }
      if let i = interruptAt, i == stop { return .interrupted }
      throw .timedOut(limit)
    }
  }

  // MARK: - Backend: socket, open, close

  package func socket(_ kind: SocketKind, nonblocking: Bool) -> Outcome {
    advance(to: clock)
    if kind.type == .seqpacket && kind.family != .unix {
      // SOCK_SEQPACKET over IP is SCTP, a module this model does not have.
      return emit("socket(\(kind.family), SOCK_SEQPACKET, 0)", .failure(.EPROTONOSUPPORT))
    }
    let s = SimSocket(kind: kind, nonblocking: nonblocking)
    let fd = allocate(.socket(s))
    return emit("socket(\(kind.family.rawValue), \(kind.type.rawValue)\(nonblocking ? "|nonblock" : ""))", .number(Int64(fd)))
  }

  package func openFile(_ path: String) -> Outcome {
    switch lookup(absolute(path), forUID: 0) {
    case .success(.file), .success(.directory): return emit("open(\(quoteString(path)))", .number(Int64(allocate(.file(path)))))
    case .success(.socket): return emit("open(\(quoteString(path)))", .failure(.ENXIO))
    case .failure(let e): return emit("open(\(quoteString(path)))", .failure(e))
    }
  }

  package func close(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    return emit("close(\(fd))", closeDescriptor(fd))
  }

  private func closeDescriptor(_ fd: Descriptor) -> Outcome {
    guard let h = handle(fd) else { return .failure(.EBADF) }
    table[Int(fd)] = nil
    if case .socket(let s) = h, !table.contains(where: { if case .socket(let o)? = $0 { return o === s } else { return false } }) {
      release(s)
    }
    return .ok
  }

  /// The last descriptor of a socket closed: unbind it, reset what was queued on it, tell the peer.
  private func release(_ s: SimSocket) {
    cancelAttempts(s)
    for child in s.acceptQueue {
      // Unaccepted connections are reset.
      if let c = child.remote {
        c.state = .closed
        c.error = .ECONNRESET
        c.shutRead = true
        c.shutWrite = true
      }
    }
    s.acceptQueue = []
    // Only a two-way link is a connection: a Unix datagram client's `remote` points at its
    // target, which keeps its own association.
    if let r = s.remote, r.remote === s {
      if s.isTCP && s.linger == 0 {
        fail(r, .ECONNRESET)  // SO_LINGER 0: close sends a reset, not a FIN
      } else {
        r.remoteClosed = true
      }
      r.remote = nil
    }
    if let key = s.unixKey {
      if key.hasPrefix("@") {
        abstractNames[String(key.dropFirst())] = nil
      } else if case .socket(_, let type, let owner)? = files[key] {
        files[key] = .socket(nil, type: type, owner: owner)
      }
    }
    s.state = .closed
    s.local = nil
  }

  // MARK: - Unix file system

  private func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : SimBackend.scenarioDir + "/" + path
  }

  private func relative(_ path: String) -> String {
    path.hasPrefix(SimBackend.scenarioDir + "/") ? String(path.dropFirst(SimBackend.scenarioDir.count + 1)) : path
  }

  private func canSearch(_ e: FileEntry, uid: UInt32) -> Bool {
    guard case .directory(let mode, let owner) = e else { return false }
    if uid == 0 { return true }
    return uid == owner ? mode & 0o100 != 0 : mode & 0o001 != 0
  }

  /// Walks a path: ENOENT for a missing component, ENOTDIR for a non-directory on the way,
  /// EACCES for a directory the identity may not search.
  private func lookup(_ path: String, forUID uid: UInt32) -> Result<FileEntry, Errno> {
    let parts = path.split(separator: "/").map(String.init)
    var current = "/"
    for (i, p) in parts.enumerated() {
      guard let dir = files[current] else { return .failure(.ENOENT) }
      guard case .directory = dir else { return .failure(.ENOTDIR) }
      if !canSearch(dir, uid: uid) { return .failure(.EACCES) }
      current = current == "/" ? "/" + p : current + "/" + p
      if i == parts.count - 1 {
        guard let e = files[current] else { return .failure(.ENOENT) }
        return .success(e)
      }
      if files[current] == nil {
        // Only the model's own directories exist; anything else under them is missing.
        return .failure(.ENOENT)
      }
    }
    return files[current].map { .success($0) } ?? .failure(.ENOENT)
  }

  private func parentOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "/" }
    let p = String(path[..<slash])
    return p.isEmpty ? "/" : p
  }

  // MARK: - bind

  package func bind(_ fd: Descriptor, _ address: SocketAddress) -> Outcome {
    advance(to: clock)
    func call() -> String { "bind(\(fd), \(address.description))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if s.isUnix { return emit(call(), bindUnix(s, address)) }
    return emit(call(), bindInet(s, address))
  }

  private func bindUnix(_ s: SimSocket, _ address: SocketAddress) -> Outcome {
    switch address {
    case .unix(let path):
      if s.local != nil { return .failure(.EINVAL) }
      let full = absolute(path)
      let parent = parentOf(full)
      switch lookup(parent, forUID: fsUID) {
      case .failure(let e): return .failure(e)
      case .success(.directory(let mode, let owner)):
        if fsUID != 0 && !(fsUID == owner ? mode & 0o200 != 0 : mode & 0o002 != 0) { return .failure(.EACCES) }
      case .success: return .failure(.ENOTDIR)
      }
      if files[full] != nil { return .failure(.EADDRINUSE) }
      files[full] = .socket(s, type: s.kind.type, owner: fsUID)
      s.unixKey = full
      s.local = .unix(path)
      s.userBound = true
      return .ok
    case .abstract(let name):
      if s.local != nil { return .failure(.EINVAL) }
      if abstractNames[name] != nil { return .failure(.EADDRINUSE) }
      abstractNames[name] = s
      s.unixKey = "@" + name
      s.local = .abstract(name)
      s.userBound = true
      return .ok
    case .unspec:
      return .failure(.EINVAL)
    default:
      return .failure(.EINVAL)
    }
  }

  private func bindInet(_ s: SimSocket, _ address: SocketAddress) -> Outcome {
    var addr = address
    switch (s.kind.family, address) {
    case (.inet, .inet): break
    case (.inet, .unspec): addr = .inet(.any, port: 0)  // AF_UNSPEC with INADDR_ANY binds the wildcard
    case (.inet, _): return .failure(.EAFNOSUPPORT)
    case (.inet6, .inet6(let ip, _, _)):
      if ip.mappedIPv4 != nil && s.v6only { return .failure(.EINVAL) }
    case (.inet6, .inet): return .failure(.EINVAL)  // 16 bytes is shorter than sockaddr_in6
    case (.inet6, _): return .failure(.EAFNOSUPPORT)
    default: return .failure(.EINVAL)
    }
    if s.localPort != 0 || (s.local != nil && s.userBound) { return .failure(.EINVAL) }
    if !s.freebind && !network.isLocal(addr) { return .failure(.EADDRNOTAVAIL) }
    var port = addr.port ?? 0
    if port == 0 {
      guard let p = freePort(for: s, at: addr) else { return .failure(.EADDRINUSE) }
      port = p
    } else if conflicts(s, addr) {
      return .failure(.EADDRINUSE)
    }
    s.local = withPort(addr, port)
    s.userBound = true
    return .ok
  }

  private func withPort(_ a: SocketAddress, _ p: UInt16) -> SocketAddress {
    switch a {
    case .inet(let ip, _): return .inet(ip, port: p)
    case .inet6(let ip, _, let sc): return .inet6(ip, port: p, scope: sc)
    default: return a
    }
  }

  /// Do two bound addresses overlap (equal, or one is a wildcard of a family the other covers)?
  private func overlaps(_ a: SocketAddress, _ aSocket: SimSocket, _ b: SocketAddress, _ bSocket: SimSocket) -> Bool {
    func v4(_ x: SocketAddress) -> (IPv4Address?, Bool) {  // (address, wildcard)
      switch x {
      case .inet(let ip, _): return (ip, ip.isAny)
      case .inet6(let ip, _, _): return (ip.mappedIPv4, false)
      default: return (nil, false)
      }
    }
    switch (a, b) {
    case (.inet(let x, _), .inet(let y, _)): return x.isAny || y.isAny || x == y
    case (.inet6(let x, _, _), .inet6(let y, _, _)): return x.isAny || y.isAny || x == y
    case (.inet6(let x, _, _), .inet(let y, _)):
      if x.isAny { return !aSocket.v6only }
      return x.mappedIPv4.map { y.isAny || $0 == y } ?? false
    case (.inet(let x, _), .inet6(let y, _, _)):
      if y.isAny { return !bSocket.v6only }
      return y.mappedIPv4.map { x.isAny || $0 == x } ?? false
    default: return false
    }
  }

  private func sameProtocol(_ a: SimSocket, _ b: SimSocket) -> Bool {
    a.isTCP == b.isTCP && a.isUDP == b.isUDP && !a.isUnix && !b.isUnix
  }

  /// bind(2)'s port check: EADDRINUSE unless both sides agreed to share (SO_REUSEADDR with no
  /// listener among them for TCP, or SO_REUSEPORT).
  private func conflicts(_ s: SimSocket, _ addr: SocketAddress) -> Bool {
    var clash = false
    forEachSocket { o in
      guard !clash, o !== s, sameProtocol(o, s), let ol = o.local, ol.port == addr.port, ol.port != 0 else { return }
      guard overlaps(addr, s, ol, o) else { return }
      if s.reusePort && o.reusePort { return }
      if s.reuseAddr && o.reuseAddr && (s.isUDP || o.state != .listening) { return }
      clash = true
    }
    return clash
  }

  /// A free ephemeral port for bind(…:0) or an automatic bind, in a fixed order.
  private func freePort(for s: SimSocket, at addr: SocketAddress) -> UInt16? {
    let range = network.ephemeral
    let count = Int(range.upperBound) - Int(range.lowerBound) + 1
    for k in 0..<count {
      let p = UInt16(Int(range.lowerBound) + (nextEphemeral + k) % count)
      if !conflicts(s, withPort(addr, p)) && !portTaken(p, by: s) {
        nextEphemeral = (nextEphemeral + k + 1) % count
        return p
      }
    }
    return nil
  }

  /// Any socket of the same protocol on this port at all (automatic binds never share).
  private func portTaken(_ p: UInt16, by s: SimSocket) -> Bool {
    var taken = false
    forEachSocket { o in if o !== s && sameProtocol(o, s) && o.localPort == p { taken = true } }
    return taken
  }

  // MARK: - listen, accept

  package func listen(_ fd: Descriptor, backlog: Int32) -> Outcome {
    advance(to: clock)
    func call() -> String { "listen(\(fd), \(backlog))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if s.kind.type == .dgram { return emit(call(), .failure(.EOPNOTSUPP)) }
    // The kernel caps the backlog at net.core.somaxconn (4096).
    let b = Int(min(max(backlog, 0), 4096))
    if s.isUnix {
      if s.local == nil { return emit(call(), .failure(.EINVAL)) }
      if s.state == .established || s.sockState == .connected { return emit(call(), .failure(.EINVAL)) }
      s.state = .listening
      s.backlog = b
      return emit(call(), .ok)
    }
    if s.sockState != .unconnected || (s.state != .closed && s.state != .listening) { return emit(call(), .failure(.EINVAL)) }
    if s.localPort == 0 {
      let base = s.local ?? (s.kind.family == .inet ? .inet(.any, port: 0) : .inet6(.any, port: 0, scope: nil))
      guard let p = freePort(for: s, at: base) else { return emit(call(), .failure(.EADDRINUSE)) }
      s.local = withPort(base, p)
    }
    s.state = .listening
    s.backlog = b
    return emit(call(), .ok)
  }

  package func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    advance(to: clock)
    func call() -> String { "accept4(\(fd)\(options.nonblock ? ", SOCK_NONBLOCK" : ""))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if s.kind.type == .dgram { return emit(call(), .failure(.EOPNOTSUPP)) }
    if s.state != .listening { return emit(call(), .failure(.EINVAL)) }
    if s.acceptQueue.isEmpty {
      if s.nonblocking { return emit(call(), .failure(.EAGAIN)) }
      let timeout = s.receiveTimeout.nanoseconds > 0 ? s.receiveTimeout : nil
      switch try wait(until: { !s.acceptQueue.isEmpty }, timeout: timeout, interrupt: options.interrupt, limit: limit) {
      case .ready: break
      case .timeout: return emit(call(), .failure(.EAGAIN))
      case .interrupted: return emit(call(), .failure(.EINTR))
      }
    }
    let child = s.acceptQueue.removeFirst()
    child.nonblocking = options.nonblock
    return emit(call(), .number(Int64(allocate(.socket(child)))))
  }

  // MARK: - connect

  package func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    advance(to: clock)
    if options.nonblock, case .success(let s) = socketOf(fd) { s.nonblocking = true }
    func call() -> String { "connect(\(fd), \(target == .badPointer ? "badptr" : { if case .address(let a) = target { return a.description } else { return "" } }()))" }
    // The kernel's order: the descriptor (EBADF), then copying the address (EFAULT, and EINVAL
    // for a length it cannot take), then the socket itself (ENOTSOCK).
    guard handle(fd) != nil else { return emit(call(), .failure(.EBADF)) }
    let address: SocketAddress
    switch target {
    case .badPointer:
      if let l = options.addressLength, l == 0 { return emit(call(), try connectLengthZero(fd)) }
      return emit(call(), .failure(options.addressLength.map { $0 < 0 || $0 > 128 } == true ? .EINVAL : .EFAULT))
    case .address(let a): address = a
    }
    let length = options.addressLength.map(Int.init) ?? naturalLength(address)
    if length < 0 || length > 128 { return emit(call(), .failure(.EINVAL)) }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if length < 2 { return emit(call(), .failure(.EINVAL)) }
    let o: Outcome
    if s.isUnix {
      o = try connectUnix(s, address, length: length, options, limit: limit)
    } else if s.isTCP {
      o = try connectTCP(s, address, length: length, options, limit: limit)
    } else {
      o = connectUDP(s, address, length: length)
    }
    return emit(call(), o)
  }

  private func connectLengthZero(_ fd: Descriptor) throws(BackendError) -> Outcome {
    if case .failure(let e) = socketOf(fd) { return .failure(e) }
    return .failure(.EINVAL)
  }

  /// The length a C program passes for each family: sizeof(struct sockaddr_in) and so on.
  private func naturalLength(_ a: SocketAddress) -> Int {
    switch a {
    case .inet: return 16
    case .inet6: return 28
    case .unix(let p): return 2 + p.utf8.count + 1
    case .abstract(let n): return 2 + 1 + n.utf8.count
    case .unspec: return 16
    }
  }

  /// __inet_stream_connect and tcp_v4_connect / tcp_v6_connect.
  private func connectTCP(_ s: SimSocket, _ address: SocketAddress, length: Int, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    if case .unspec = address {
      // AF_UNSPEC disconnects (tcp_disconnect); a connected peer sees a reset.
      if let r = s.remote {
        r.error = .ECONNRESET
        r.state = .closed
        r.shutRead = true
        r.shutWrite = true
        r.remote = nil
      }
      cancelAttempts(s)
      // tcp_disconnect: an established or half-open connection is reset, and the reset is
      // recorded on this side too.
      if s.state == .established || s.state == .synSent { s.error = .ECONNRESET }
      s.remote = nil
      if s.state != .listening { s.state = .closed }
      s.sockState = .unconnected
      s.peer = nil
      s.shutRead = false
      s.shutWrite = false
      if !s.userBound { s.local = nil }
      return .ok
    }
    var err: Errno
    switch s.sockState {
    case .connected:
      return .failure(.EISCONN)
    case .connecting:
      err = .EALREADY
    case .unconnected:
      if s.state != .closed { return .failure(.EISCONN) }
      if let e = tcpStart(s, address, length: length) { return .failure(e) }
      s.sockState = .connecting
      err = .EINPROGRESS
      if !s.nonblocking { advance(to: clock) }  // a blocking caller lets loopback answer first
    }
    if s.state == .synSent {
      let timeout: TimeSpan? = s.nonblocking ? .zero : (s.sendTimeout.nanoseconds > 0 ? s.sendTimeout : nil)
      if timeout == .zero { return .failure(err) }
      switch try wait(until: { s.state != .synSent }, timeout: timeout, interrupt: options.interrupt, limit: limit) {
      case .ready: break
      case .timeout: return .failure(err)
      case .interrupted: return .failure(.EINTR)
      }
    }
    if s.state == .closed {
      let e = s.error ?? .ECONNABORTED
      s.error = nil
      s.sockState = .unconnected
      // tcp_disconnect: the socket can connect again.
      s.shutRead = false
      s.shutWrite = false
      return .failure(e)
    }
    s.sockState = .connected
    return .ok
  }

  /// The protocol part: length and family checks, route, source address and port, the SYN.
  private func tcpStart(_ s: SimSocket, _ address: SocketAddress, length: Int) -> Errno? {
    var dest = address
    switch s.kind.family {
    case .inet:
      if length < 16 { return .EINVAL }
      guard case .inet = address else { return .EAFNOSUPPORT }
    case .inet6:
      if length < 24 { return .EINVAL }
      guard case .inet6(let ip, let port, _) = address else { return .EAFNOSUPPORT }
      if let v4 = ip.mappedIPv4 {
        if s.v6only { return .ENETUNREACH }
        dest = .inet6(.mapping(v4), port: port, scope: nil)
      }
    case .unix: return .EINVAL
    }
    let routed = resolvedDestination(dest)
    switch network.route(routed) {
    case .error(let e): return e
    default: break
    }
    if case .inet(let ip, _) = routed, network.isBroadcast(ip) || ip.isMulticast { return .ENETUNREACH }
    if case .inet6(let ip, _, _) = routed, let v4 = ip.mappedIPv4, network.isBroadcast(v4) || v4.isMulticast { return .ENETUNREACH }
    // Source address and port.
    let source = sourceAddress(for: routed, socket: s)
    if s.localPort == 0 {
      guard let p = connectPort(s, source: source, dest: routed) else { return .EADDRNOTAVAIL }
      s.local = withPort(source, p)
    } else {
      let local = withPort(source, s.localPort)
      if fourTupleTaken(s, local: local, dest: routed) { return .EADDRNOTAVAIL }
      s.local = local
    }
    s.peer = nil
    s.state = .synSent
    schedule(s, target: routed)
    return nil
  }

  private func sourceAddress(for dest: SocketAddress, socket s: SimSocket) -> SocketAddress {
    if let l = s.local {
      switch l {
      case .inet(let ip, _) where !ip.isAny: return l
      case .inet6(let ip, _, _) where !ip.isAny: return l
      default: break
      }
    }
    switch dest {
    case .inet(let ip, _):
      if ip.isLoopback { return .inet(.loopback, port: 0) }
      if let src = network.localSource(for: dest) { return src }
      return network.extraLocal.first { if case .inet = $0 { return true } else { return false } } ?? .inet(.loopback, port: 0)
    case .inet6(let ip, _, _):
      if let v4 = ip.mappedIPv4 {
        let src: IPv4Address = v4.isLoopback ? .loopback : (network.isLocal(.inet(v4, port: 0)) ? v4 : .loopback)
        return .inet6(.mapping(src), port: 0, scope: nil)
      }
      if ip.isLoopback { return .inet6(.loopback, port: 0, scope: nil) }
      if let src = network.localSource(for: dest) { return src }
      return network.extraLocal.first { if case .inet6 = $0 { return true } else { return false } } ?? .inet6(.loopback, port: 0, scope: nil)
    default: return dest
    }
  }

  private func fourTupleTaken(_ s: SimSocket, local: SocketAddress, dest: SocketAddress) -> Bool {
    var taken = false
    forEachSocket { o in
      guard !taken, o !== s, o.isTCP, o.state == .synSent || o.state == .established, let ol = o.local else { return }
      let op = o.peer ?? attempts.first { $0.socket === o }?.target
      guard let op else { return }
      if sameEndpoint(ol, local) && sameEndpoint(op, dest) { taken = true }
    }
    return taken
  }

  private func sameEndpoint(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
    func norm(_ x: SocketAddress) -> SocketAddress {
      if case .inet6(let ip, let p, _) = x, let v4 = ip.mappedIPv4 { return .inet(v4, port: p) }
      if case .inet6(let ip, let p, _) = x { return .inet6(ip, port: p, scope: nil) }
      return x
    }
    return norm(a) == norm(b)
  }

  /// inet_hash_connect: an ephemeral port whose 4-tuple is free; none left is EADDRNOTAVAIL.
  private func connectPort(_ s: SimSocket, source: SocketAddress, dest: SocketAddress) -> UInt16? {
    let range = network.ephemeral
    let count = Int(range.upperBound) - Int(range.lowerBound) + 1
    for k in 0..<count {
      let p = UInt16(Int(range.lowerBound) + (nextEphemeral + k) % count)
      if conflicts(s, withPort(source, p)) || portTaken(p, by: s) { continue }
      nextEphemeral = (nextEphemeral + k + 1) % count
      return p
    }
    return nil
  }

  /// ip4_datagram_connect / ip6_datagram_connect.
  private func connectUDP(_ s: SimSocket, _ address: SocketAddress, length: Int) -> Outcome {
    if case .unspec = address {
      s.peer = nil
      s.remote = nil
      s.state = .closed
      if !s.userBound { s.local = nil }
      return .ok
    }
    var dest = address
    switch (s.kind.family, address) {
    case (.inet, .inet):
      if length < 16 { return .failure(.EINVAL) }
    case (.inet, _):
      if length < 16 { return .failure(.EINVAL) }
      return .failure(.EAFNOSUPPORT)
    case (.inet6, .inet(let ip, let p)):
      // An inet6 datagram socket takes a sockaddr_in as IPv4 (unless IPV6_V6ONLY).
      if s.v6only { return .failure(.EAFNOSUPPORT) }
      dest = .inet6(.mapping(ip), port: p, scope: nil)
    case (.inet6, .inet6(let ip, _, _)):
      if length < 24 { return .failure(.EINVAL) }
      if ip.mappedIPv4 != nil && s.v6only { return .failure(.ENETUNREACH) }
    case (.inet6, _):
      return .failure(.EAFNOSUPPORT)
    default:
      return .failure(.EINVAL)
    }
    let routed = resolvedDestination(dest)
    if case .error(let e) = network.route(routed) { return .failure(e) }
    let v4: IPv4Address? = {
      if case .inet(let ip, _) = routed { return ip }
      if case .inet6(let ip, _, _) = routed { return ip.mappedIPv4 }
      return nil
    }()
    if let ip = v4, network.isBroadcast(ip), !s.broadcast { return .failure(.EACCES) }
    let source = sourceAddress(for: routed, socket: s)
    if s.localPort == 0 {
      guard let p = freePort(for: s, at: source) else { return .failure(.EAGAIN) }
      s.local = withPort(source, p)
    } else if let l = s.local, case .inet(let ip, _) = l, ip.isAny {
      s.local = withPort(source, s.localPort)
    } else if let l = s.local, case .inet6(let ip, _, _) = l, ip.isAny {
      s.local = withPort(source, s.localPort)
    }
    s.peer = routed.port == 0 ? nil : routed
    s.state = routed.port == 0 ? .closed : .established
    return .ok
  }

  /// unix_stream_connect and unix_dgram_connect.
  private func connectUnix(_ s: SimSocket, _ address: SocketAddress, length: Int, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    if case .unspec = address {
      if s.kind.type != .dgram { return .failure(.EINVAL) }
      s.remote = nil
      s.peer = nil
      return .ok
    }
    let other: SimSocket
    switch findUnix(address, type: s.kind.type) {
    case .failure(let e): return .failure(e)
    case .success(let o): other = o
    }
    if s.kind.type == .dgram {
      // unix_may_send: a peer connected to someone else does not take us.
      if let theirs = other.remote, theirs !== s { return .failure(.EPERM) }
      s.remote = other
      s.peer = other.local
      return .ok
    }
    if other.state != .listening || other.shutRead { return .failure(.ECONNREFUSED) }
    if other.queueFull {
      if s.nonblocking { return .failure(.EAGAIN) }
      let timeout = s.sendTimeout.nanoseconds > 0 ? s.sendTimeout : nil
      switch try wait(until: { !other.queueFull }, timeout: timeout, interrupt: options.interrupt, limit: limit) {
      case .ready: break
      case .timeout: return .failure(.EAGAIN)
      case .interrupted: return .failure(.EINTR)
      }
    }
    switch s.state {
    case .closed where s.sockState == .unconnected: break
    case .established: return .failure(.EISCONN)
    default:
      if s.sockState == .connected { return .failure(.EISCONN) }
      return .failure(.EINVAL)
    }
    let child = SimSocket(kind: other.kind, nonblocking: false)
    child.state = .established
    child.sockState = .connected
    child.local = other.local
    child.peer = s.local ?? .unix("")
    child.remote = s
    s.remote = child
    s.state = .established
    s.sockState = .connected
    s.peer = other.local
    other.acceptQueue.append(child)
    return .ok
  }

  /// unix_find_other: the bound socket behind a path or abstract name.
  private func findUnix(_ address: SocketAddress, type: SocketType) -> Result<SimSocket, Errno> {
    switch address {
    case .abstract(let name):
      // Abstract names are found by name and type together: anything else is "nobody there".
      guard let o = abstractNames[name], o.kind.type == type else { return .failure(.ECONNREFUSED) }
      return .success(o)
    case .unix(let path):
      let full = absolute(path)
      switch lookup(full, forUID: fsUID) {
      case .failure(let e): return .failure(e)
      case .success(.socket(let o, let t, let owner)):
        // Connecting needs write permission on the socket file (mode 0755 under umask 022).
        if fsUID != 0 && fsUID != owner { return .failure(.EACCES) }
        guard let o else { return .failure(.ECONNREFUSED) }
        if t != type { return .failure(.EPROTOTYPE) }
        return .success(o)
      case .success:
        return .failure(.ECONNREFUSED)
      }
    default:
      return .failure(.EINVAL)
    }
  }

  // MARK: - Options

  package func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome {
    advance(to: clock)
    func call() -> String { "fcntl(\(fd), F_SETFL, \(on ? "O_NONBLOCK" : "0"))" }
    switch handle(fd) {
    case nil: return emit(call(), .failure(.EBADF))
    case .file: return emit(call(), .ok)
    case .socket(let s):
      s.nonblocking = on
      return emit(call(), .ok)
    }
  }

  package func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError) -> Outcome {
    advance(to: clock)
    func call() -> String { "setsockopt(\(fd), \(option.rawValue), \(value.description))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    var n: Int64 = 0
    if case .integer(let v) = value { n = v }
    let flag = n != 0
    switch option {
    case .SO_BROADCAST: s.broadcast = flag
    case .SO_REUSEADDR: s.reuseAddr = flag
    case .SO_REUSEPORT: s.reusePort = flag
    case .SO_KEEPALIVE: s.keepalive = flag
    case .SO_SNDTIMEO, .SO_RCVTIMEO:
      guard case .duration(let d) = value else { throw .notModelled("\(option.rawValue) with a value that is not a duration") }
      if option == .SO_SNDTIMEO { s.sendTimeout = d } else { s.receiveTimeout = d }
    case .SO_LINGER:
      switch value {
      case .off: s.linger = nil
      case .duration(let d): s.linger = d.nanoseconds / 1_000_000_000
      case .integer(let v): s.linger = v
      }
    case .SO_SNDBUF: s.sendBuffer = max(n * 2, 4608)
    case .SO_RCVBUF: s.receiveBuffer = max(n * 2, 2304)
    case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT:
      if s.isUnix { return emit(call(), .failure(.EOPNOTSUPP)) }
      if !s.isTCP { return emit(call(), .failure(.ENOPROTOOPT)) }
      switch option {
      case .TCP_SYNCNT:
        if n < 1 || n > 127 { return emit(call(), .failure(.EINVAL)) }
        s.synCount = Int(n)
      case .TCP_NODELAY: s.noDelay = flag
      default:
        if n < 0 { return emit(call(), .failure(.EINVAL)) }
        s.userTimeout = n
      }
    case .IPV6_V6ONLY:
      if s.isUnix { return emit(call(), .failure(.EOPNOTSUPP)) }
      if s.kind.family != .inet6 { return emit(call(), .failure(.ENOPROTOOPT)) }
      if s.localPort != 0 { return emit(call(), .failure(.EINVAL)) }
      s.v6only = flag
    case .IP_FREEBIND, .IP_BIND_ADDRESS_NO_PORT:
      if s.isUnix { return emit(call(), .failure(.EOPNOTSUPP)) }
      if option == .IP_FREEBIND { s.freebind = flag } else { s.bindAddressNoPort = flag }
    case .SO_ERROR, .SO_TYPE, .SO_DOMAIN, .SO_ACCEPTCONN:
      return emit(call(), .failure(.ENOPROTOOPT))
    }
    return emit(call(), .ok)
  }

  package func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    advance(to: clock)
    func call() -> String { "getsockopt(\(fd), \(option.rawValue))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    func b(_ v: Bool) -> Outcome { .number(v ? 1 : 0) }
    let o: Outcome
    switch option {
    case .SO_ERROR:
      if let e = s.error {
        s.error = nil
        o = .failure(e)
      } else {
        o = .ok
      }
    case .SO_TYPE: o = .number(s.kind.type == .stream ? 1 : s.kind.type == .dgram ? 2 : 5)
    case .SO_DOMAIN: o = .number(s.kind.family == .inet ? 2 : s.kind.family == .inet6 ? 10 : 1)
    case .SO_ACCEPTCONN: o = b(s.state == .listening)
    case .SO_BROADCAST: o = b(s.broadcast)
    case .SO_REUSEADDR: o = b(s.reuseAddr)
    case .SO_REUSEPORT: o = b(s.reusePort)
    case .SO_KEEPALIVE: o = b(s.keepalive)
    case .SO_SNDTIMEO: o = .number(s.sendTimeout.nanoseconds / 1_000_000)
    case .SO_RCVTIMEO: o = .number(s.receiveTimeout.nanoseconds / 1_000_000)
    case .SO_LINGER: o = .number(s.linger ?? -1)
    case .SO_SNDBUF, .SO_RCVBUF:
      throw .notModelled("reading \(option.rawValue) (the kernel's default buffer sizes depend on its settings)")
    case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT:
      if s.isUnix { o = .failure(.EOPNOTSUPP) } else if !s.isTCP { o = .failure(.ENOPROTOOPT) } else {
        o = option == .TCP_SYNCNT ? .number(Int64(s.synCount)) : option == .TCP_NODELAY ? b(s.noDelay) : .number(s.userTimeout)
      }
    case .IPV6_V6ONLY:
      o = s.isUnix ? .failure(.EOPNOTSUPP) : s.kind.family != .inet6 ? .failure(.ENOPROTOOPT) : b(s.v6only)
    case .IP_FREEBIND: o = s.isUnix ? .failure(.EOPNOTSUPP) : b(s.freebind)
    case .IP_BIND_ADDRESS_NO_PORT: o = s.isUnix ? .failure(.EOPNOTSUPP) : b(s.bindAddressNoPort)
    }
    return emit(call(), o)
  }

  // MARK: - poll, names, shutdown, sleep, user

  /// What poll(2) would report for the socket now (before masking by the requested events).
  private func readiness(_ s: SimSocket) -> PollEvents {
    var m = PollEvents()
    if s.isTCP {
      switch s.state {
      case .listening:
        if !s.acceptQueue.isEmpty { m.insert(.readable) }
        return m
      case .synSent:
        return m
      case .closed, .established:
        if (s.shutRead && s.shutWrite) || s.state == .closed { m.insert(.hangup) }
        if s.shutRead || s.remoteClosed { m.formUnion([.readable, .readHangup]) }
        m.insert(.writable)
        if s.error != nil { m.insert(.error) }
        return m
      }
    }
    if s.isUnix && s.kind.type != .dgram {
      if s.state == .listening {
        if !s.acceptQueue.isEmpty { m.insert(.readable) }
        return m
      }
      if s.state == .closed || (s.shutRead && s.shutWrite) { m.insert(.hangup) }
      if s.remoteClosed || s.shutRead { m.formUnion([.readable, .readHangup]) }
      m.insert(.writable)
      return m
    }
    // Datagram sockets: always writable here; errors and full shutdown show.
    m.insert(.writable)
    if s.shutRead && s.shutWrite { m.insert(.hangup) }
    if s.shutRead { m.formUnion([.readable, .readHangup]) }
    if s.error != nil { m.insert(.error) }
    return m
  }

  package func poll(_ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    advance(to: clock)
    func call() -> String { "poll(\(fd), \(events.description), \(timeout?.description ?? "none"))" }
    let always: PollEvents = [.error, .hangup]
    func current() -> PollEvents {
      switch handle(fd) {
      case nil: return .invalid
      case .file: return events.intersection([.readable, .writable])
      case .socket(let s): return readiness(s).intersection(events.union(always))
      }
    }
    var result = current()
    if result.isEmpty {
      let t = timeout.map { min($0, limit) }
      switch try wait(until: { !current().isEmpty }, timeout: t, interrupt: options.interrupt, limit: limit) {
      case .ready: result = current()
      case .timeout:
        if timeout == nil || timeout! > limit { throw .timedOut(limit) }
        return emit(call(), .pollTimeout)
      case .interrupted: return emit(call(), .failure(.EINTR))
      }
    }
    return emit(call(), .events(result))
  }

  package func peerName(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    func call() -> String { "getpeername(\(fd))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if s.isUnix {
      if s.kind.type == .dgram {
        guard let r = s.remote else { return emit(call(), .failure(.ENOTCONN)) }
        return emit(call(), .address(r.local ?? .unix("")))
      }
      guard s.state == .established, let p = s.peer ?? s.remote?.local else { return emit(call(), .failure(.ENOTCONN)) }
      return emit(call(), .address(p))
    }
    if s.isTCP && s.state != .established { return emit(call(), .failure(.ENOTCONN)) }
    guard let p = s.peer else { return emit(call(), .failure(.ENOTCONN)) }
    return emit(call(), .address(p))
  }

  package func localName(_ fd: Descriptor) -> Outcome {
    advance(to: clock)
    func call() -> String { "getsockname(\(fd))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    if let l = s.local { return emit(call(), .address(l)) }
    switch s.kind.family {
    case .inet: return emit(call(), .address(.inet(.any, port: 0)))
    case .inet6: return emit(call(), .address(.inet6(.any, port: 0, scope: nil)))
    case .unix: return emit(call(), .address(.unix("")))
    }
  }

  package func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome {
    advance(to: clock)
    func call() -> String { "shutdown(\(fd), \(how.rawValue))" }
    guard let s = socketOrFail(fd, call()) else { return lastFailure }
    let rd = how != .write
    let wr = how != .read
    if s.isUnix {
      if rd { s.shutRead = true }
      if wr { s.shutWrite = true }
      if let r = s.remote, wr { r.remoteClosed = true }
      return emit(call(), .ok)
    }
    switch s.state {
    case .closed:
      // inet_shutdown: ENOTCONN, but the flags are set all the same.
      if rd { s.shutRead = true }
      if wr { s.shutWrite = true }
      return emit(call(), .failure(.ENOTCONN))
    case .listening:
      if rd {
        s.state = .closed
        s.acceptQueue = []
      }
      return emit(call(), .ok)
    case .synSent:
      cancelAttempts(s)
      s.state = .closed
      s.sockState = .unconnected
      return emit(call(), .ok)
    case .established:
      if rd { s.shutRead = true }
      if wr {
        s.shutWrite = true
        s.remote?.remoteClosed = true
      }
      return emit(call(), .ok)
    }
  }

  package func sleep(_ duration: TimeSpan, limit: TimeSpan) throws(BackendError) {
    let d = min(duration, limit)
    advance(to: clock + d.nanoseconds)
    if let t = trace { t("nanosleep(\(d.description)) = 0") }
    if duration > limit { throw .timedOut(limit) }
  }

  package func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome {
    switch user {
    case .root: fsUID = 0
    case .nobody: fsUID = 65534
    case .uid(let u): fsUID = u
    }
    return emit("setfsuid(\(fsUID))", .ok)
  }
}

extension SimBackend.SimFileHandle: Equatable {
  static func == (l: Self, r: Self) -> Bool {
    switch (l, r) {
    case (.socket(let a), .socket(let b)): return a === b
    case (.file(let a), .file(let b)): return a == b
    default: return false
    }
  }
}
