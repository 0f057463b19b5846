import CConnShims
import ConnRuntime
import ConnSyntax

// The kernel backend. Each requirement of `Backend` is one raw syscall (plus, for calls that can
// block, a per-thread timer that bounds them): no retries, no translation. The errno a user sees
// is the one the kernel set.
//
// Scenario privacy: relative Unix paths resolve inside a private directory made for the scenario,
// and abstract names get a private prefix; both are stripped again when an address is reported.
// So scenarios can run side by side and still write `"x.sock"` and `@name`.

package final class SystemBackend: Backend {
  package let name = "system"
  // Read or changed on every call, by this class alone on one thread: no run-time exclusivity
  // check (it cost as much as a cheap syscall per statement).
  /// `user` changed the file-system identity: endScenario gives root's back.
  private var identityChanged = false
  @exclusivity(unchecked) package var trace: ((String) -> Void)?

  /// Destinations allowed beyond loopback (`--allow-net`).
  package var allowedNetworks: [IPPrefix]
  /// True when the scenario runs in a network namespace of its own: every destination is safe.
  @exclusivity(unchecked) package var isolated: Bool
  /// The namespace the scenario was given; destinations beyond loopback are allowed only while
  /// the calling thread is still in it.
  package var namespace: UInt64?

  /// What this backend knows about each descriptor it created (nonblocking, datagram).
  @exclusivity(unchecked) private var flags = DescriptorFlags()
  /// How deep in `repeat` loops the interpreter is, whether the limit timer of the last blocking
  /// call is still armed (see `bounded`), and whether any socket was given SO_LINGER.
  @exclusivity(unchecked) private var loopDepth = 0
  @exclusivity(unchecked) private var timerPending = false
  @exclusivity(unchecked) private var lingerSet = false
  /// getsockname answers kept for sockets whose address cannot change (see `localName`).
  @exclusivity(unchecked) private var names: [SocketAddress?] = []
  @exclusivity(unchecked) private var scenarioDir: String?
  private let abstractPrefix: String
  private static let counter = AtomicCounter()

  package init(allowedNetworks: [IPPrefix] = [], isolated: Bool = false, namespace: UInt64? = nil) {
    self.allowedNetworks = allowedNetworks
    self.isolated = isolated
    self.namespace = namespace
    abstractPrefix = "conn.\(getpid()).\(SystemBackend.counter.next())."
    _ = conn_interrupt_install()
  }

  deinit {
    removeScenarioDir()
  }

  package func now() -> TimeSpan { TimeSpan(nanoseconds: Platform.monotonicNanoseconds()) }

  // MARK: - Scenario lifetime

  package func beginScenario(netRules: [NetRule]) throws(BackendError) {
    if !netRules.isEmpty && !isolated {
      throw .failed("'net' statements change the network and run only inside a private namespace: needs --isolate")
    }
  }

  package func endScenario(closing descriptors: [Descriptor]) {
    loopDepth = 0
    settleTimer()
    for fd in descriptors {
      _ = sysClose(fd)
      if trace != nil { emit("close(\(fd)) = 0  [cleanup]") }
    }
    flags.removeAll()
    if identityChanged {
      _ = conn_setfsuid(0, 0)
      identityChanged = false
    }
    removeScenarioDir()
  }

  private func ensureScenarioDir() -> String {
    if let d = scenarioDir { return d }
    var template = Array("/tmp/conn-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { b -> String? in
      guard let p = mkdtemp(b.baseAddress!) else { return nil }
      return String(cString: p)
    }
    // Without a private directory, relative paths point nowhere (the call fails with ENOENT)
    // and nothing is ever removed: never fall back to a shared directory that cleanup would empty.
    guard let dir = made else { return "/nonexistent/conn-private-directory-unavailable" }
    scenarioDir = dir
    return dir
  }

  private func removeScenarioDir() {
    guard let d = scenarioDir else { return }
    scenarioDir = nil
    guard let dp = opendir(d) else { return }
    var names: [String] = []
    while let ent = readdir(dp) {
      let n = withUnsafePointer(to: ent.pointee.d_name) { p in
        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if n != "." && n != ".." { names.append(n) }
    }
    closedir(dp)
    for n in names { unlink(d + "/" + n) }
    rmdir(d)
  }

  // MARK: - Tracing

  private func emit(_ s: String) { trace?(s) }

  private func traced(_ call: @autoclosure () -> String, _ o: Outcome) -> Outcome {
    if trace != nil { emit("\(call()) = \(Self.render(o))") }
    return o
  }

  static func render(_ o: Outcome) -> String {
    switch o {
    case .failure(let e): return "-1 \(e.name) (\(Platform.strerror(Platform.number(of: e))))"
    case .unknownErrno(let n, let name): return "-1 \(name ?? "E?") (\(Platform.strerror(n)))"
    default: return o.description
    }
  }

  // MARK: - Calls

  @inline(__always) private func result(_ rc: Int32) -> Outcome {
    rc < 0 ? Platform.failure(errno) : .ok
  }

  package func socket(_ kind: SocketKind, nonblocking nb: Bool) -> Outcome {
    let domain: Int32
    switch kind.family {
    case .inet: domain = AF_INET
    case .inet6: domain = AF_INET6
    case .unix: domain = AF_UNIX
    }
    var type: Int32
    switch kind.type {
    case .stream: type = SocketConstants.stream
    case .dgram: type = SocketConstants.dgram
    case .seqpacket: type = SocketConstants.seqpacket
    }
    type |= SocketConstants.cloexec
    if nb { type |= SocketConstants.nonblock }
    let fd = sysSocket(domain, type, 0)
    let o: Outcome = fd < 0 ? Platform.failure(errno) : .number(Int64(fd))
    if fd >= 0 {
      flags.set(fd, (nb ? DescriptorFlags.nonblocking : 0) | (kind.type == .dgram ? DescriptorFlags.datagram : 0))
    }
    return traced("socket(\(Self.familyName(domain)), \(kind.type == .stream ? "SOCK_STREAM" : kind.type == .dgram ? "SOCK_DGRAM" : "SOCK_SEQPACKET")\(nb ? "|SOCK_NONBLOCK" : ""), 0)", o)
  }

  package func openFile(_ path: String) -> Outcome {
    settleTimer()
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    let o: Outcome = fd < 0 ? Platform.failure(errno) : .number(Int64(fd))
    if fd >= 0 { flags.set(fd, 0) }
    return traced("open(\(quoteString(path)), O_RDONLY)", o)
  }

  package func bind(_ fd: Descriptor, _ address: SocketAddress) -> Outcome {
    switch address {
    case .unix, .abstract: settleTimer()  // a file-system call: nothing pending may interrupt it
    default: break
    }
    var sa = SockAddr()
    let len = sa.encode(address, dir: { self.ensureScenarioDir() }, abstractPrefix: abstractPrefix)
    let rc = sa.withPointer { sysBind(fd, $0, len) }
    flags.update(fd, DescriptorFlags.bound, rc == 0)
    flags.update(fd, DescriptorFlags.named, false)
    return traced("bind(\(fd), \(sa.describe(len)), \(len))", result(rc))
  }

  package func listen(_ fd: Descriptor, backlog: Int32) -> Outcome {
    traced("listen(\(fd), \(backlog))", result(sysListen(fd, backlog)))
  }

  /// Refuses destinations that would leave the machine, unless allowed or isolated.
  private func checkSafety(_ a: SocketAddress) throws(BackendError) {
    if a.isLocalOnly { return }
    if isolated {
      // Checked again at each call: only inside the scenario's own namespace.
      if let ns = namespace, conn_netns_inode() == ns { return }
      throw .refused("refused to connect to \(a.description): the scenario is not inside its private network namespace")
    }
    switch a {
    case .inet(let ip, _) where ip.isAny: return
    case .inet6(let ip, _, _) where ip.isAny || (ip.mappedIPv4?.isAny ?? false): return
    default: break
    }
    for p in allowedNetworks where p.contains(a) { return }
    let hint: String
    switch a {
    case .inet(let ip, _): hint = "\(ip.description)/32"
    case .inet6(let ip, _, _): hint = "\(ip.description)/128"
    default: hint = "CIDR"
    }
    throw .refused(
      "refused to connect to \(a.description): it is outside loopback on the host network (allow it with --allow-net \(hint), or run the scenario in its own namespace with --isolate)")
  }

  /// Runs a call that may block with the calling thread's timer armed for the smaller of the
  /// user's `interrupt` and the run's limit. Decides, when the call says EINTR, whether that was
  /// the user's interrupt (an answer) or the limit (a failure of the run).
  ///
  /// No timer when the call cannot block: on a nonblocking descriptor, and on a datagram socket
  /// (connect on UDP or a Unix datagram socket only records the peer; accept fails at once), so
  /// those calls cost exactly their syscall.
  private func bounded(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan, _ call: () -> Int32) throws(BackendError) -> (Int32, Int32) {
    let interrupt = options.interrupt
    let mayBlock = !flags.has(fd, DescriptorFlags.nonblocking | DescriptorFlags.datagram) || interrupt != nil
    if !mayBlock {
      let rc = call()
      return (rc, rc < 0 ? errno : 0)
    }
    let userFirst = interrupt.map { $0 <= limit } ?? false
    let armFor = userFirst ? interrupt! : limit
    let armed = conn_interrupt_arm(armFor.nanoseconds) == 0
    let rc = call()
    let err = rc < 0 ? errno : 0
    let fired: Bool
    if armed && loopDepth > 0 && interrupt == nil {
      // In a loop, the limit timer stays armed after the call (one syscall per call, not two):
      // the next blocking call re-arms it, and every call that could be interrupted by it
      // otherwise (poll, sleep, open, a Unix bind, a lingering close) and the end of the loop
      // disarm it first. It fires, if ever, a whole limit after the call, where nothing waits.
      fired = conn_interrupt_fired() != 0
      timerPending = !fired
    } else {
      fired = conn_interrupt_disarm() != 0
      timerPending = false
    }
    if rc < 0 && err == EINTR && fired && !userFirst { throw .timedOut(limit) }
    return (rc, err)
  }

  /// Disarms a limit timer left armed by `bounded`.
  @inline(__always) private func settleTimer() {
    if timerPending {
      _ = conn_interrupt_disarm()
      timerPending = false
    }
  }

  package func repeatLoop(_ entering: Bool) {
    loopDepth = entering ? loopDepth + 1 : max(loopDepth - 1, 0)
    if loopDepth == 0 { settleTimer() }
  }

  package func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    // A connect may give the socket a new local address, now or when it completes later.
    flags.update(fd, DescriptorFlags.bound | DescriptorFlags.named, false)
    if options.nonblock {
      let o = setNonblocking(fd, true)
      if o != .ok { return o }
    }
    switch target {
    case .badPointer:
      let len = options.addressLength.map { socklen_t($0) } ?? socklen_t(MemoryLayout<sockaddr_in>.size)
      let (rc, err) = try bounded(fd, options, limit: limit) {
        sysConnect(fd, conn_bad_pointer().assumingMemoryBound(to: sockaddr.self), len)
      }
      return traced("connect(\(fd), 0x\(String(UInt(bitPattern: conn_bad_pointer()), radix: 16)), \(len))", rc < 0 ? Platform.failure(err) : .ok)
    case .address(let a):
      try checkSafety(a)
      var sa = SockAddr()
      var len = sa.encode(a, dir: { self.ensureScenarioDir() }, abstractPrefix: abstractPrefix)
      if let l = options.addressLength { len = socklen_t(truncatingIfNeeded: l) }
      let (rc, err) = try bounded(fd, options, limit: limit) { sa.withPointer { sysConnect(fd, $0, len) } }
      return traced("connect(\(fd), \(sa.describe(min(len, socklen_t(MemoryLayout<sockaddr_storage>.size)))), \(len))", rc < 0 ? Platform.failure(err) : .ok)
    }
  }

  package func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let (rc, err) = try bounded(fd, options, limit: limit) {
      sa.withPointer { conn_accept4(fd, $0, &len, options.nonblock ? 1 : 0) }
    }
    if rc >= 0 { flags.set(rc, options.nonblock ? DescriptorFlags.nonblocking : 0) }
    let o: Outcome = rc < 0 ? Platform.failure(err) : .number(Int64(rc))
    return traced("accept4(\(fd), \(rc >= 0 ? sa.describe(len) : "..."), \(options.nonblock ? "SOCK_NONBLOCK|" : "")SOCK_CLOEXEC)", o)
  }

  package func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome {
    let flags = fcntl(fd, F_GETFL)
    if flags < 0 { return traced("fcntl(\(fd), F_GETFL)", Platform.failure(errno)) }
    let nf = on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
    let rc = nf == flags ? 0 : fcntl(fd, F_SETFL, nf)
    let o = result(rc)
    if o == .ok { self.flags.update(fd, DescriptorFlags.nonblocking, on) }
    return traced("fcntl(\(fd), F_SETFL, \(on ? "O_NONBLOCK" : "0"))", o)
  }

  package func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError) -> Outcome {
    flags.update(fd, DescriptorFlags.bound | DescriptorFlags.named, false)
    if option == .SO_LINGER { lingerSet = true }
    guard let (level, name) = SocketConstants.option(option) else {
      throw .failed("\(option.rawValue) is not available on this platform")
    }
    let rc: Int32
    var shown = value.description
    switch (option, value) {
    case (.SO_LINGER, _):
      var l = linger()
      if case .duration(let d) = value {
        l.l_onoff = 1
        l.l_linger = Int32(d.nanoseconds / 1_000_000_000)
        shown = "{l_onoff=1, l_linger=\(l.l_linger)}"
      } else if case .integer(let n) = value {
        l.l_onoff = 1
        l.l_linger = Int32(n)
      } else {
        shown = "{l_onoff=0, l_linger=0}"
      }
      rc = setsockopt(fd, level, name, &l, socklen_t(MemoryLayout<linger>.size))
    case (_, .duration(let d)):
      var tv = timeval(tv_sec: Int(d.nanoseconds / 1_000_000_000), tv_usec: Int(d.nanoseconds % 1_000_000_000 / 1000))
      shown = "{tv_sec=\(tv.tv_sec), tv_usec=\(tv.tv_usec)}"
      rc = setsockopt(fd, level, name, &tv, socklen_t(MemoryLayout<timeval>.size))
    case (_, .integer(let n)):
      var v = Int32(truncatingIfNeeded: n)
      shown = "[\(v)]"
      rc = setsockopt(fd, level, name, &v, 4)
    case (_, .off):
      var v: Int32 = 0
      rc = setsockopt(fd, level, name, &v, 4)
    }
    return traced("setsockopt(\(fd), \(SocketConstants.levelName(level)), \(option.rawValue), \(shown))", result(rc))
  }

  package func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    guard let (level, name) = SocketConstants.option(option) else {
      throw .failed("\(option.rawValue) is not available on this platform")
    }
    let o: Outcome
    var callSucceeded = false
    switch option {
    case .SO_SNDTIMEO, .SO_RCVTIMEO:
      var tv = timeval()
      var len = socklen_t(MemoryLayout<timeval>.size)
      let rc = getsockopt(fd, level, name, &tv, &len)
      o = rc < 0 ? Platform.failure(errno) : .number(Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000)
    case .SO_LINGER:
      var l = linger()
      var len = socklen_t(MemoryLayout<linger>.size)
      let rc = getsockopt(fd, level, name, &l, &len)
      o = rc < 0 ? Platform.failure(errno) : .number(l.l_onoff == 0 ? -1 : Int64(l.l_linger))
    default:
      var v: Int32 = 0
      var len = socklen_t(4)
      let rc = getsockopt(fd, level, name, &v, &len)
      callSucceeded = rc == 0
      if rc < 0 {
        o = Platform.failure(errno)
      } else if option == .SO_ERROR {
        o = v == 0 ? .ok : Platform.failure(v)
      } else {
        o = .number(Int64(v))
      }
    }
    if trace != nil {
      // As strace shows it: the call succeeded and wrote the value (for SO_ERROR, the pending
      // errno), or the call itself failed.
      let call = "getsockopt(\(fd), \(SocketConstants.levelName(level)), \(option.rawValue)"
      switch o {
      case .ok: emit("\(call), [0]) = 0")
      case .number(let n): emit("\(call), [\(n)]) = 0")
      case .failure(let e) where option == .SO_ERROR && callSucceeded: emit("\(call), [\(e.name)]) = 0")
      default: emit("\(call)) = \(Self.render(o))")
      }
    }
    return o
  }

  package func poll(_ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    settleTimer()
    var p = pollfd(fd: fd, events: SocketConstants.pollBits(events), revents: 0)
    let wait = min(timeout ?? limit, limit)
    // ppoll is bounded by its own timeout; only a user interrupt needs the timer.
    var armed = false
    if let i = options.interrupt, i <= wait {
      armed = conn_interrupt_arm(i.nanoseconds) == 0
    }
    let rc = conn_ppoll(&p, 1, wait.nanoseconds)
    let err = rc < 0 ? errno : 0
    if armed { _ = conn_interrupt_disarm() }
    let outcome: Outcome
    if rc < 0 {
      outcome = Platform.failure(err)
    } else if rc == 0 {
      if timeout == nil || timeout! > limit { throw .timedOut(limit) }
      outcome = .pollTimeout
    } else {
      outcome = .events(SocketConstants.pollEvents(p.revents))
    }
    return traced("ppoll([{fd=\(fd), events=\(events.description)}], 1, \(wait.description))", outcome)
  }

  package func peerName(_ fd: Descriptor) -> Outcome {
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = sa.withPointer { getpeername(fd, $0, &len) }
    let o: Outcome = rc < 0 ? Platform.failure(errno) : .address(sa.decode(len, dir: scenarioDir, abstractPrefix: abstractPrefix))
    return traced("getpeername(\(fd))", o)
  }

  /// getsockname. The address of a socket that this backend bound explicitly, and that has had
  /// no call since that could change it (connect, shutdown, setsockopt, bind, close), is fixed: it
  /// is read once and then answered from memory (`connect s l` in a loop reads l's address on
  /// every pass). With a trace, every call is made, so the trace shows each one.
  package func localName(_ fd: Descriptor) -> Outcome {
    if trace == nil && flags.has(fd, DescriptorFlags.named), let a = names[Int(fd)] { return .address(a) }
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = sa.withPointer { getsockname(fd, $0, &len) }
    if rc < 0 { return traced("getsockname(\(fd))", Platform.failure(errno)) }
    let a = sa.decode(len, dir: scenarioDir, abstractPrefix: abstractPrefix)
    if trace == nil && flags.has(fd, DescriptorFlags.bound) && fd < DescriptorFlags.arrayLimit {
      let i = Int(fd)
      if i >= names.count { names.append(contentsOf: repeatElement(nil, count: max(i + 1 - names.count, 64))) }
      names[i] = a
      flags.update(fd, DescriptorFlags.named, true)
    }
    return traced("getsockname(\(fd))", .address(a))
  }

  package func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome {
    let h: Int32
    switch how {
    case .read: h = Int32(SHUT_RD)
    case .write: h = Int32(SHUT_WR)
    case .both: h = Int32(SHUT_RDWR)
    }
    flags.update(fd, DescriptorFlags.bound | DescriptorFlags.named, false)
    return traced("shutdown(\(fd), \(how == .read ? "SHUT_RD" : how == .write ? "SHUT_WR" : "SHUT_RDWR"))", result(sysShutdown(fd, h)))
  }

  package func close(_ fd: Descriptor) -> Outcome {
    if lingerSet { settleTimer() }  // a lingering close waits, and a signal would cut it short
    let o = result(sysClose(fd))
    flags.set(fd, 0)
    return traced("close(\(fd))", o)
  }

  package func sleep(_ duration: TimeSpan, limit: TimeSpan) throws(BackendError) {
    settleTimer()
    let d = min(duration, limit)
    var ts = timespec(tv_sec: Int(d.nanoseconds / 1_000_000_000), tv_nsec: Int(d.nanoseconds % 1_000_000_000))
    var rem = timespec()
    // Signals are not the point of `sleep`: finish the full time.
    while nanosleep(&ts, &rem) != 0 && errno == EINTR { ts = rem }
    if trace != nil { emit("nanosleep(\(d.description)) = 0") }
    if duration > limit { throw .timedOut(limit) }
  }

  package func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome {
    let (uid, gid): (UInt32, UInt32)
    switch user {
    case .root: (uid, gid) = (0, 0)
    case .nobody: (uid, gid) = (65534, 65534)
    case .uid(let u): (uid, gid) = (u, u)
    }
    identityChanged = true
    if conn_setfsuid(uid, gid) != 0 {
      throw .failed("cannot take the file-system identity \(uid): 'user' needs root (and Linux)")
    }
    if trace != nil { emit("setfsuid(\(uid)) = 0") }
    return .ok
  }

  static func familyName(_ d: Int32) -> String {
    switch d {
    case AF_INET: return "AF_INET"
    case AF_INET6: return "AF_INET6"
    case AF_UNIX: return "AF_UNIX"
    default: return "\(d)"
    }
  }
}

/// Per-descriptor bits, in an array indexed by the descriptor number (a set lookup per call is
/// measurable next to a loopback syscall); numbers past the array, which the kernel does not
/// hand out in practice, go to a dictionary.
struct DescriptorFlags {
  /// O_NONBLOCK is set.
  static let nonblocking: UInt8 = 1
  /// A SOCK_DGRAM socket: its connect and accept never block.
  static let datagram: UInt8 = 2
  /// Bound by a successful bind of this backend, with no call since that could move its address.
  static let bound: UInt8 = 4
  /// `SystemBackend.names` holds its address.
  static let named: UInt8 = 8
  private var small: [UInt8] = []
  private var large: [Descriptor: UInt8] = [:]
  static let arrayLimit: Descriptor = 1 << 16

  /// True when any of `bits` is set for `fd`.
  @inline(__always) func has(_ fd: Descriptor, _ bits: UInt8) -> Bool {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      return i < small.count && small[i] & bits != 0
    }
    return (large[fd] ?? 0) & bits != 0
  }

  mutating func set(_ fd: Descriptor, _ value: UInt8) {
    if fd >= 0 && fd < Self.arrayLimit {
      let i = Int(fd)
      if i >= small.count {
        if value == 0 { return }
        small.append(contentsOf: repeatElement(0, count: max(i + 1 - small.count, 64)))
      }
      small[i] = value
    } else {
      large[fd] = value == 0 ? nil : value
    }
  }

  mutating func update(_ fd: Descriptor, _ bit: UInt8, _ on: Bool) {
    var v: UInt8 = 0
    if fd >= 0 && fd < Self.arrayLimit {
      v = Int(fd) < small.count ? small[Int(fd)] : 0
    } else {
      v = large[fd] ?? 0
    }
    set(fd, on ? v | bit : v & ~bit)
  }

  mutating func removeAll() {
    for i in small.indices { small[i] = 0 }
    large.removeAll()
  }
}

/// A process-wide counter (for unique private names).
final class AtomicCounter: @unchecked Sendable {
  private var value = 0
  private var lock = pthread_mutex_t()
  init() { pthread_mutex_init(&lock, nil) }
  func next() -> Int {
    pthread_mutex_lock(&lock)
    defer { pthread_mutex_unlock(&lock) }
    value += 1
    return value
  }
}
