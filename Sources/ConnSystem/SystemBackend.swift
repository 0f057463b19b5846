#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims
import ConnHost
import ConnRuntime
import ConnSyntax

// The kernel backend, one entry point per requirement of `Backend` (past 600 lines because the
// protocol has that many calls; the time limits, name cache and topology have files of their
// own). Each requirement is the syscall it names, made once: no
// retries, no translation; the errno a user sees is the one the kernel set. Around the calls:
// the time limit of a call that can block (CallTimer), getsockname answers that cannot change
// (NameCache), and the safety check of a destination beyond loopback.
//
// Scenario privacy: relative Unix paths resolve inside a private directory made for the scenario
// (PrivateDirectory), and abstract names get a private prefix; both are stripped again when an
// address is reported. So scenarios can run side by side and still write `"x.sock"` and `@name`.
// A socket file a scenario binds at an absolute path is removed at its end, if it is still that
// socket (same device and inode).

package final class SystemBackend: Backend {
  package let name = "system"
  package let virtualTime = false
  @exclusivity(unchecked) package var trace: ((TraceRecord) -> Void)?
  /// A relative path gets the private directory in front, an abstract name a private prefix.
  package static let pathLimits = PathLimits(
    relativePath: 107 - PrivateDirectory.pathPrefixLength, absolutePath: 107, abstractName: 80)
  package var pathLimits: PathLimits { Self.pathLimits }

  /// Destinations allowed beyond loopback (`--allow-net`).
  @exclusivity(unchecked) package var allowedNetworks: [IPPrefix]
  /// True when the scenario runs in a network namespace of its own: every destination is safe.
  @exclusivity(unchecked) package var isolated: Bool
  /// The namespace the scenario was given; destinations beyond loopback are allowed only while
  /// the calling thread is still in it.
  @exclusivity(unchecked) package var namespace: UInt64?

  // The state below is read or changed on every call, by this class alone, on one thread: no
  // run-time exclusivity check (it cost as much as the interpreter's own work on a call).
  @exclusivity(unchecked) private var flags = DescriptorFlags()
  @exclusivity(unchecked) private var timer = CallTimer()
  @exclusivity(unchecked) private var names = NameCache()
  @exclusivity(unchecked) private var privateDirectory: PrivateDirectory?
  /// Socket files bound at absolute paths: removed at the end if they are still those sockets.
  @exclusivity(unchecked) private var boundFiles: [(path: String, device: UInt64, inode: UInt64)] = []
  /// `user` changed the file-system identity: endScenario gives the real one back.
  @exclusivity(unchecked) var identityChanged = false
  /// Set by the runner when the scenario runs on a thread of its own that ends with it: only then
  /// may `drop` and `landlock` change the thread for good.
  @exclusivity(unchecked) package var threadIsDisposable = false
  /// `drop` or `landlock` ran: the thread may no longer be able to clean up (after `drop` it
  /// cannot even enter the private directory). endScenario then closes descriptors only, and
  /// `finishCleanup`, on the runner's own thread, does the rest.
  @exclusivity(unchecked) var changedForGood = false
  /// Calls in the background (Background.swift): the big backend lock, made by the first; the
  /// calls under way, by number.
  @exclusivity(unchecked) var backgroundLock: UnsafeMutableRawPointer?
  @exclusivity(unchecked) var backgroundJobs: [Int32: BackgroundJob] = [:]
  @exclusivity(unchecked) var backgroundCount: Int32 = 0
  /// The scenario named or got descriptor 0, 1 or 2: they are put back at the end.
  @exclusivity(unchecked) private var touchedStandardStreams = false
  private let abstractPrefix: String
  private static let counter = AtomicCounter()

  package init(allowedNetworks: [IPPrefix] = [], isolated: Bool = false, namespace: UInt64? = nil) {
    self.allowedNetworks = allowedNetworks
    self.isolated = isolated
    self.namespace = namespace
    abstractPrefix = "conn.\(getpid()).\(SystemBackend.counter.next())."
    // Modes of made files (mkdir, mkfile, a bound socket's file) must not depend on the shell.
    umask(mode_t(FileOperation.umask))
  }

  package func now() -> TimeSpan { TimeSpan(nanoseconds: timer.now()) }

  // MARK: - Scenario lifetime

  /// nftables' `nft`, if installed (firewall statements need it).
  package static var nftPath: String? { Topology.nftPath }
  /// Removes connect-hook cgroups that killed runs left (see CgroupHooks.removeStale).
  @discardableResult
  package static func removeStaleCgroups() -> [String] { CgroupHooks.removeStale() }

  /// Why `firewall HOST connect ...` cannot work here (nil: it can).
  package static var connectHookUnavailableReason: String? { CgroupHooks.unavailableReason }

  /// The scenario's hosts and links (made by the first topology statement).
  @exclusivity(unchecked) private var topology: Topology?

  package func applyTopology(_ steps: [TopologyStatement], hostNames: [String]) throws(BackendError) {
    guard isolated, let ns = namespace else {
      throw .refused(
        "'\(steps.first?.keyword ?? "host")' statements change the network and run only inside a private namespace: needs --isolate"
      )
    }
    if topology == nil { topology = try Topology(namespace: ns) }
    try topology!.apply(steps, names: hostNames)
  }

  package func beginScenario(netRules: [NetRule]) throws(BackendError) {
    if !netRules.isEmpty && !isolated {
      throw .failed(
        "'net' statements change the network and run only inside a private namespace: needs --isolate")
    }
  }

  package func endScenario(closing descriptors: [Descriptor]) {
    if !backgroundJobs.isEmpty || backgroundLock != nil { endBackgroundCalls() }
    for fd in descriptors {
      let o = result(sysClose(fd))
      trace?(TraceRecord(.close(fd), o, note: "cleanup"))
    }
    flags.removeAll()
    names.removeAll()
    if !changedForGood { releaseScenarioResources() }
  }

  /// What endScenario left to the runner's thread after `drop` or `landlock` (nothing otherwise).
  package func finishCleanup() {
    guard changedForGood else { return }
    changedForGood = false
    releaseScenarioResources()
  }

  /// Files, hosts, the private directory and the standard streams: what only an identity that
  /// still has its privileges can be sure to undo.
  private func releaseScenarioResources() {
    if identityChanged {
      _ = conn_setfsuid(getuid(), getgid())
      identityChanged = false
    }
    removeBoundFiles()
    topology?.close()
    topology = nil
    privateDirectory?.remove()
    privateDirectory = nil
    if touchedStandardStreams {
      StandardStreams.restoreScenarioStreams()
      touchedStandardStreams = false
    }
  }

  /// The private directory, made on first use (by the real identity).
  func scenarioDirectory() -> String {
    if let d = privateDirectory { return d.path }
    // Without a private directory, relative paths point nowhere (the call fails with ENOENT)
    // and nothing is ever removed: never fall back to a shared directory.
    guard case .success(let d) = PrivateDirectory.make() else {
      return "/nonexistent/conn-private-directory-unavailable"
    }
    privateDirectory = d
    return d.path
  }

  private func removeBoundFiles() {
    for f in boundFiles {
      var st = stat()
      guard lstat(f.path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK, UInt64(st.st_dev) == f.device,
        UInt64(st.st_ino) == f.inode
      else { continue }
      let rc = Host.asRealIdentity { unlink(f.path) }
      trace?(TraceRecord(.unlink(path: f.path), rc == 0 ? .ok : Platform.failure(errno), note: "cleanup"))
    }
    boundFiles.removeAll()
  }

  // MARK: - Calls

  @inline(__always) private func result(_ rc: Int32) -> Outcome {
    rc < 0 ? Platform.failure(errno) : .ok
  }

  @inline(__always) func traced(_ call: @autoclosure () -> TracedCall, _ o: Outcome) -> Outcome {
    if let t = trace { t(TraceRecord(call(), o)) }
    return o
  }

  /// socket(2)'s domain and type for a kind (always close-on-exec).
  private static func socketArguments(_ kind: SocketKind, nonblocking nb: Bool) -> (Int32, Int32) {
    let domain: Int32
    switch kind.family {
    case .inet: domain = AF_INET
    case .inet6: domain = AF_INET6
    case .unix: domain = AF_UNIX
    case .packet: domain = AF_PACKET
    case .netlink: domain = AF_NETLINK
    }
    var type: Int32
    switch kind.type {
    case .stream: type = SocketConstants.stream
    case .dgram: type = SocketConstants.dgram
    case .seqpacket: type = SocketConstants.seqpacket
    case .raw: type = SocketConstants.raw
    }
    type |= SocketConstants.cloexec
    if nb { type |= SocketConstants.nonblock }
    return (domain, type)
  }

  package func socket(_ kind: SocketKind, nonblocking nb: Bool, on host: Int32) throws(BackendError)
    -> Outcome
  {
    let (domain, type) = Self.socketArguments(kind, nonblocking: nb)
    let fd: Int32
    let err: Int32
    if host == 0 && !(topology?.hasConnectHook(on: 0) ?? false) {
      fd = sysSocket(domain, type, kind.proto)
      err = errno
    } else {
      guard let t = topology else { throw .failed("host \(host) does not exist") }
      // (A host's sockets are made in its namespace; with a connect hook, in its cgroup too.)
      (fd, err) = try t.socket(on: host, domain: domain, type: type, proto: kind.proto)
    }
    let o: Outcome = fd < 0 ? Platform.failure(err) : .number(Int64(fd))
    if fd >= 0 {
      flags.set(
        fd, (nb ? DescriptorFlags.nonblocking : 0) | (kind.type == .dgram ? DescriptorFlags.datagram : 0))
      if fd <= 2 { touchedStandardStreams = true }
    }
    return traced(.socket(kind, nonblocking: nb), o)
  }

  package func socketPair(_ kind: SocketKind, nonblocking nb: Bool) throws(BackendError) -> (
    Outcome, (Descriptor, Descriptor)?
  ) {
    let (domain, type) = Self.socketArguments(kind, nonblocking: nb)
    var fds: [Int32] = [-1, -1]
    let rc = socketpair(domain, type, kind.proto, &fds)
    let o = result(rc)
    var pair: (Descriptor, Descriptor)?
    if rc == 0 {
      pair = (fds[0], fds[1])
      for fd in fds {
        flags.set(
          fd, (nb ? DescriptorFlags.nonblocking : 0) | (kind.type == .dgram ? DescriptorFlags.datagram : 0))
        names.forget(fd)
        if fd <= 2 { touchedStandardStreams = true }
      }
    }
    return (traced(.socketPair(kind, nonblocking: nb, pair: pair), o), pair)
  }

  package func dup(_ fd: Descriptor, onto target: Descriptor?) throws(BackendError) -> Outcome {
    for n in [fd] + (target.map { [$0] } ?? []) {
      if let what = ReservedDescriptors.owner(of: n) {
        throw .refused("descriptor \(n) is conn's own (\(what)); a scenario may not use it")
      }
    }
    let rc: Int32
    if let target {
      rc = conn_dup3_cloexec(fd, target)
    } else {
      rc = fcntl(fd, F_DUPFD_CLOEXEC, 0)
    }
    let err = errno
    if rc >= 0 {
      // Both numbers now share one open file: O_NONBLOCK set through one is seen by the other,
      // and a call on one can move the other's address.
      let shared = flags.value(fd) & DescriptorFlags.datagram | DescriptorFlags.shared
      flags.set(fd, shared)
      flags.set(rc, shared)
      names.shared(fd)
      names.forget(rc)
      names.shared(rc)
      if rc <= 2 { touchedStandardStreams = true }
    }
    return traced(.dup(fd, target: target), rc < 0 ? Platform.failure(err) : .number(Int64(rc)))
  }

  package func adopt(_ fd: Descriptor) throws(BackendError) {
    if let what = ReservedDescriptors.owner(of: fd) {
      throw .refused("descriptor \(fd) is conn's own (\(what)); a scenario may not use it")
    }
    if fd <= 2 { touchedStandardStreams = true }
  }

  package func openFile(_ path: String, limit: TimeSpan) throws(BackendError) -> Outcome {
    // open(2) can block (a FIFO with no writer): bounded like any blocking call.
    let (fd, err) = try timer.bounded(mayBlock: true, interrupt: nil, limit: limit) {
      sysOpen(path, O_RDONLY | O_CLOEXEC)
    }
    let o: Outcome = fd < 0 ? Platform.failure(err) : .number(Int64(fd))
    if fd >= 0 {
      flags.set(fd, 0)
      if fd <= 2 { touchedStandardStreams = true }
    }
    return traced(.open(path: path), o)
  }

  package func bind(_ fd: Descriptor, _ address: SocketAddress) throws(BackendError) -> Outcome {
    var sa = SockAddr()
    let len = sa.encode(address, dir: { self.scenarioDirectory() }, abstractPrefix: abstractPrefix)
    let rc = sa.withPointer { sysBind(fd, $0, len) }
    names.invalidate(fd)
    if rc == 0 {
      names.bound(fd)
      if case .unix(let path) = address, path.hasPrefix("/") {
        var st = stat()
        if lstat(path, &st) == 0 { boundFiles.append((path, UInt64(st.st_dev), UInt64(st.st_ino))) }
      }
    }
    return traced(.bind(fd, address, length: Int(len)), result(rc))
  }

  package func listen(_ fd: Descriptor, backlog: Int32) -> Outcome {
    traced(.listen(fd, backlog: backlog), result(sysListen(fd, backlog)))
  }

  /// Refuses destinations that would leave the machine, unless allowed or isolated.
  private func checkSafety(_ a: SocketAddress) throws(BackendError) {
    if a.isLocalOnly { return }
    if isolated {
      // Checked again at each call: only inside the scenario's own namespace.
      if let ns = namespace, conn_netns_inode() == ns { return }
      throw .refused(
        "refused to connect to \(a.description): the scenario is not inside its private network namespace")
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
      "refused to connect to \(a.description): it is outside loopback on the host network (allow it with --allow-net \(hint), or run the scenario in its own namespace with --isolate)"
    )
  }

  /// Whether a connect or accept on `fd` can block: not on a nonblocking descriptor, nor on a
  /// datagram socket (connect only records the peer; accept fails at once).
  @inline(__always) private func mayBlock(_ fd: Descriptor) -> Bool {
    !flags.has(fd, DescriptorFlags.nonblocking | DescriptorFlags.datagram)
  }

  package func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    // A connect may give the socket a new local address, now or when it completes later.
    names.invalidate(fd)
    switch target {
    case .badPointer, .nullPointer, .family:
      // Pointers the scenario asks for on purpose, or a struct sockaddr that holds only a family
      // number and zeros: zeros are the any address for AF_INET and AF_INET6, which stays on
      // this machine, and the kernel refuses the other families without sending anything.
      let len = socklen_t(truncatingIfNeeded: options.addressLength ?? Int32(target.defaultLength ?? 16))
      var storage = sockaddr_storage()
      if case .family(let f) = target { storage.ss_family = sa_family_t(f) }
      let (rc, err) = try timer.bounded(mayBlock: mayBlock(fd), interrupt: options.interrupt, limit: limit) {
        switch target {
        case .badPointer:
          return sysConnect(fd, conn_bad_pointer().assumingMemoryBound(to: sockaddr.self), len)
        case .nullPointer: return sysConnect(fd, nil, len)
        default:
          return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sysConnect(fd, $0, len) }
          }
        }
      }
      return traced(
        .connect(fd, target, length: Int(Int32(bitPattern: len))), rc < 0 ? Platform.failure(err) : .ok)
    case .address(let a):
      try checkSafety(a)
      var sa = SockAddr()
      var len = sa.encode(a, dir: { self.scenarioDirectory() }, abstractPrefix: abstractPrefix)
      if let l = options.addressLength { len = socklen_t(truncatingIfNeeded: l) }
      let (rc, err) = try timer.bounded(mayBlock: mayBlock(fd), interrupt: options.interrupt, limit: limit) {
        sa.withPointer { sysConnect(fd, $0, len) }
      }
      return traced(
        .connect(fd, target, length: Int(Int32(bitPattern: len))), rc < 0 ? Platform.failure(err) : .ok)
    }
  }

  package func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError)
    -> Outcome
  {
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let (rc, err) = try timer.bounded(mayBlock: mayBlock(fd), interrupt: options.interrupt, limit: limit) {
      sa.withPointer { conn_accept4(fd, $0, &len, options.nonblock ? 1 : 0) }
    }
    if rc >= 0 {
      flags.set(rc, options.nonblock ? DescriptorFlags.nonblocking : 0)
      if rc <= 2 { touchedStandardStreams = true }
    }
    let o: Outcome = rc < 0 ? Platform.failure(err) : .number(Int64(rc))
    let peer = rc >= 0 ? sa.decode(len, dir: privateDirectory?.path, abstractPrefix: abstractPrefix) : nil
    return traced(.accept(fd, peer: peer, nonblocking: options.nonblock), o)
  }

  package func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome {
    let current = fcntl(fd, F_GETFL)
    if current < 0 { return traced(.setNonblocking(fd, on), Platform.failure(errno)) }
    let nf = on ? current | O_NONBLOCK : current & ~O_NONBLOCK
    let rc = nf == current ? 0 : fcntl(fd, F_SETFL, nf)
    let o = result(rc)
    if o == .ok { flags.update(fd, DescriptorFlags.nonblocking, on) }
    return traced(.setNonblocking(fd, on), o)
  }

  package func setCloseOnExec(_ fd: Descriptor, _ on: Bool) -> Outcome {
    let current = fcntl(fd, F_GETFD)
    if current < 0 { return traced(.setCloseOnExec(fd, on), Platform.failure(errno)) }
    let rc = fcntl(fd, F_SETFD, on ? current | FD_CLOEXEC : current & ~FD_CLOEXEC)
    return traced(.setCloseOnExec(fd, on), result(rc))
  }

  package func getFlag(_ fd: Descriptor, _ flag: DescriptorFlag) -> Outcome {
    let rc: Int32
    switch flag {
    case .O_NONBLOCK: rc = fcntl(fd, F_GETFL)
    case .FD_CLOEXEC: rc = fcntl(fd, F_GETFD)
    }
    let bit = flag == .O_NONBLOCK ? O_NONBLOCK : FD_CLOEXEC
    return traced(.getFlag(fd, flag), rc < 0 ? Platform.failure(errno) : .number(rc & bit != 0 ? 1 : 0))
  }

  package func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError)
    -> Outcome
  {
    names.invalidate(fd)
    guard let (level, name) = SocketConstants.option(option) else {
      throw .failed("\(option.rawValue) is not available on this platform")
    }
    let rc: Int32
    switch (option, value) {
    case (.SO_LINGER, _):
      var l = linger()
      if case .duration(let d) = value {
        l.l_onoff = 1
        l.l_linger = Int32(d.nanoseconds / 1_000_000_000)
      } else if case .integer(let n) = value {
        l.l_onoff = 1
        l.l_linger = Int32(n)
      }
      rc = setsockopt(fd, level, name, &l, socklen_t(MemoryLayout<linger>.size))
    case (_, .duration(let d)):
      var tv = timeval(
        tv_sec: Int(d.nanoseconds / 1_000_000_000), tv_usec: Int(d.nanoseconds % 1_000_000_000 / 1000))
      rc = setsockopt(fd, level, name, &tv, socklen_t(MemoryLayout<timeval>.size))
    case (_, .integer(let n)):
      var v = Int32(truncatingIfNeeded: n)
      rc = setsockopt(fd, level, name, &v, 4)
    case (_, .off):
      var v: Int32 = 0
      rc = setsockopt(fd, level, name, &v, 4)
    }
    return traced(.setOption(fd, option, value), result(rc))
  }

  package func setOption(_ fd: Descriptor, number n: OptionNumber, _ value: Int32) throws(BackendError)
    -> Outcome
  {
    names.invalidate(fd)
    var v = value
    return traced(.setOptionNumber(fd, n, value), result(setsockopt(fd, n.level, n.name, &v, 4)))
  }

  package func getOption(_ fd: Descriptor, number n: OptionNumber) throws(BackendError) -> Outcome {
    var v: Int32 = 0
    var len = socklen_t(4)
    let rc = getsockopt(fd, n.level, n.name, &v, &len)
    return traced(.getOptionNumber(fd, n), rc < 0 ? Platform.failure(errno) : .number(Int64(v)))
  }

  package func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    guard let (level, name) = SocketConstants.option(option) else {
      throw .failed("\(option.rawValue) is not available on this platform")
    }
    let o: Outcome
    var rc: Int32
    switch option {
    case .SO_SNDTIMEO, .SO_RCVTIMEO:
      var tv = timeval()
      var len = socklen_t(MemoryLayout<timeval>.size)
      rc = getsockopt(fd, level, name, &tv, &len)
      o = rc < 0 ? Platform.failure(errno) : .number(Int64(tv.tv_sec) * 1000 + Int64(tv.tv_usec) / 1000)
    case .SO_LINGER:
      var l = linger()
      var len = socklen_t(MemoryLayout<linger>.size)
      rc = getsockopt(fd, level, name, &l, &len)
      o = rc < 0 ? Platform.failure(errno) : .number(l.l_onoff == 0 ? -1 : Int64(l.l_linger))
    default:
      var v: Int32 = 0
      var len = socklen_t(4)
      rc = getsockopt(fd, level, name, &v, &len)
      if rc < 0 {
        o = Platform.failure(errno)
      } else if option == .SO_ERROR {
        o = v == 0 ? .ok : Platform.failure(v)
      } else {
        o = .number(Int64(v))
      }
    }
    return traced(.getOption(fd, option, callFailed: rc < 0), o)
  }

  package func poll(
    _ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    var p = pollfd(fd: fd, events: SocketConstants.pollBits(events), revents: 0)
    let wait = min(timeout ?? limit, limit)
    let outcome = try ppoll(&p, count: 1, timeout: timeout, options, limit: limit)
    return traced(.poll(fd, events, timeout: wait), outcome ?? .events(SocketConstants.pollEvents(p.revents)))
  }

  package func pollSet(_ set: [PolledDescriptor], timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    var p = set.map { pollfd(fd: $0.fd, events: SocketConstants.pollBits($0.events), revents: 0) }
    let wait = min(timeout ?? limit, limit)
    let outcome = try ppoll(&p, count: p.count, timeout: timeout, options, limit: limit)
    return traced(
      .pollSet(set, timeout: wait), outcome ?? .pollSet(p.map { SocketConstants.pollEvents($0.revents) }))
  }

  /// ppoll(2) on `count` descriptors, bounded by its own timeout (only a user interrupt needs
  /// the timer): `.pollTimeout` or an errno, or nil when descriptors are ready (their revents
  /// are then in `fds`).
  private func ppoll(
    _ fds: UnsafeMutablePointer<pollfd>, count: Int, timeout: TimeSpan?, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome? {
    let wait = min(timeout ?? limit, limit)
    var armed = false
    if let i = options.interrupt, i <= wait {
      armed = conn_interrupt_arm(i.nanoseconds) == 0
    }
    let paused = conn_gil_pause()
    let rc = conn_ppoll(fds, UInt(count), wait.nanoseconds)
    let err = rc < 0 ? errno : 0
    conn_gil_resume(paused)
    if armed { _ = conn_interrupt_disarm() }
    if rc < 0 { return Platform.failure(err) }
    if rc == 0 {
      if timeout == nil || timeout! > limit { throw .timedOut(limit) }
      return .pollTimeout
    }
    return nil
  }

  // MARK: - Data

  package func send(
    _ fd: Descriptor, _ call: DataCall, _ data: [UInt8], to: ResolvedTarget?, _ mflags: MessageFlags,
    _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    let f = conn_msg_flags(UInt32(mflags.rawValue))
    let blocks = !flags.has(fd, DescriptorFlags.nonblocking) && !mflags.contains(.dontWait)
    // Data may make a socket's local address change (sendto autobinds; TFO connects).
    names.invalidate(fd)
    var shownTarget: SocketAddress?
    let (rc, err): (Int32, Int32)
    // EPIPE, never a SIGPIPE that would end the process.
    conn_sigpipe_hold()
    defer { conn_sigpipe_release() }
    switch to {
    case .address(let a)?:
      try checkSafety(a)
      shownTarget = a
      var sa = SockAddr()
      let len = sa.encode(a, dir: { self.scenarioDirectory() }, abstractPrefix: abstractPrefix)
      (rc, err) = try timer.bounded(mayBlock: blocks, interrupt: options.interrupt, limit: limit) {
        data.withUnsafeBytes { buf in
          sa.withPointer { Int32(truncatingIfNeeded: sendto(fd, buf.baseAddress, buf.count, f, $0, len)) }
        }
      }
    case .badPointer?:
      (rc, err) = try timer.bounded(mayBlock: blocks, interrupt: options.interrupt, limit: limit) {
        data.withUnsafeBytes { buf in
          Int32(
            truncatingIfNeeded: sendto(
              fd, buf.baseAddress, buf.count, f, conn_bad_pointer().assumingMemoryBound(to: sockaddr.self),
              socklen_t(MemoryLayout<sockaddr_in>.size)))
        }
      }
    case .family(let family)?:
      var storage = sockaddr_storage()
      storage.ss_family = sa_family_t(family)
      (rc, err) = try timer.bounded(mayBlock: blocks, interrupt: options.interrupt, limit: limit) {
        data.withUnsafeBytes { buf in
          withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
              Int32(truncatingIfNeeded: sendto(fd, buf.baseAddress, buf.count, f, $0, 16))
            }
          }
        }
      }
    case nil, .nullPointer?:
      // sendto(fd, ..., NULL, 0) is send(2).
      (rc, err) = try timer.bounded(mayBlock: blocks, interrupt: options.interrupt, limit: limit) {
        data.withUnsafeBytes { buf in
          call == .write
            ? Int32(truncatingIfNeeded: sysWrite(fd, buf.baseAddress, buf.count))
            : Int32(truncatingIfNeeded: sysSend(fd, buf.baseAddress, buf.count, f))
        }
      }
    }
    return traced(
      .send(fd, call, data, to: shownTarget, mflags), rc < 0 ? Platform.failure(err) : .number(Int64(rc)))
  }

  package func receive(
    _ fd: Descriptor, _ call: DataCall, max: Int, _ mflags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    let f = conn_msg_flags(UInt32(mflags.rawValue))
    let blocks = !flags.has(fd, DescriptorFlags.nonblocking) && !mflags.contains(.dontWait)
    var buffer = [UInt8](repeating: 0, count: max)
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let (rc, err) = try timer.bounded(mayBlock: blocks, interrupt: options.interrupt, limit: limit) {
      buffer.withUnsafeMutableBytes { buf in
        switch call {
        case .read: return Int32(truncatingIfNeeded: sysRead(fd, buf.baseAddress, buf.count))
        case .recvfrom:
          return sa.withPointer {
            Int32(truncatingIfNeeded: recvfrom(fd, buf.baseAddress, buf.count, f, $0, &len))
          }
        default: return Int32(truncatingIfNeeded: sysRecv(fd, buf.baseAddress, buf.count, f))
        }
      }
    }
    let o: Outcome
    if rc < 0 {
      o = Platform.failure(err)
    } else {
      let copied = min(Int(rc), max)
      var from: SocketAddress?
      if call == .recvfrom && len > 0 {
        from = sa.decode(len, dir: privateDirectory?.path, abstractPrefix: abstractPrefix)
      }
      o = .data(ReceivedBytes(Array(buffer.prefix(copied)), length: Int(rc), from: from))
    }
    return traced(.receive(fd, call, max: max, mflags), o)
  }

  package func peerName(_ fd: Descriptor) -> Outcome {
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = sa.withPointer { getpeername(fd, $0, &len) }
    let o: Outcome =
      rc < 0
      ? Platform.failure(errno)
      : .address(sa.decode(len, dir: privateDirectory?.path, abstractPrefix: abstractPrefix))
    return traced(.peerName(fd), o)
  }

  /// getsockname, answered from NameCache when the address cannot have changed. With a trace,
  /// every call is made, so the trace shows each one.
  package func localName(_ fd: Descriptor) -> Outcome {
    if trace == nil, let a = names.cached(fd) { return .address(a) }
    var sa = SockAddr()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    let rc = sa.withPointer { getsockname(fd, $0, &len) }
    if rc < 0 { return traced(.localName(fd), Platform.failure(errno)) }
    let a = sa.decode(len, dir: privateDirectory?.path, abstractPrefix: abstractPrefix)
    if trace == nil { names.answered(fd, a) }
    return traced(.localName(fd), .address(a))
  }

  package func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome {
    let h: Int32
    switch how {
    case .read: h = Int32(SHUT_RD)
    case .write: h = Int32(SHUT_WR)
    case .both: h = Int32(SHUT_RDWR)
    }
    names.invalidate(fd)
    return traced(.shutdown(fd, how), result(sysShutdown(fd, h)))
  }

  package func close(_ fd: Descriptor) -> Outcome {
    let o = result(sysClose(fd))
    flags.set(fd, 0)
    names.forget(fd)
    if fd <= 2 { touchedStandardStreams = true }
    return traced(.close(fd), o)
  }

  package func sleep(_ duration: TimeSpan) -> TimeSpan {
    var ts = timespec(
      tv_sec: Int(duration.nanoseconds / 1_000_000_000), tv_nsec: Int(duration.nanoseconds % 1_000_000_000))
    var rem = timespec()
    let paused = conn_gil_pause()
    let rc = nanosleep(&ts, &rem)
    let sleepErrno = errno
    conn_gil_resume(paused)
    errno = sleepErrno
    let left =
      rc != 0 && errno == EINTR
      ? TimeSpan(nanoseconds: Int64(rem.tv_sec) * 1_000_000_000 + Int64(rem.tv_nsec)) : .zero
    _ = traced(.sleep(duration), left > .zero ? .failure(.EINTR) : .ok)
    return left
  }

  package func file(_ op: FileOperation) throws(BackendError) -> Outcome {
    _ = scenarioDirectory()
    guard let root = privateDirectory?.descriptor, root >= 0 else {
      throw .failed("file statements need the scenario's private directory, which could not be made")
    }
    let err = try FileStatements.apply(op, beneath: root)
    return traced(.file(op), err == 0 ? .ok : Platform.failure(err))
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
