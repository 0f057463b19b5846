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

// The scenario's network on the kernel: each `host` a network namespace of its own, each `link`
// a veth pair between two of them, routes and addresses set with iproute2's `ip`, firewall rules
// with nftables' `nft`, sysctls written to /proc/sys from inside the host's namespace.
//
// Every namespace here is made by this code (unshare), held by a descriptor, and checked to be
// neither the host's nor another's before anything is changed in it; nothing is ever done in
// the namespace conn started in. The scenario's thread works in `self` and enters another host's
// namespace (setns) only to make a socket there, run a tool there or write one of its sysctls,
// and goes back at once. When the scenario ends the descriptors are closed and the kernel
// removes the namespaces, their links and their rules; if conn is killed, the same happens
// when the process goes.
//
// Commands are built from parsed values only (addresses, prefixes, numbers, host names that the
// parser allowed), never from scenario text.

final class Topology {
  struct HostNamespace {
    var name: String
    var fd: Int32
    var router: Bool
    /// The nft table and chains exist.
    var firewallReady = false
  }

  struct Link {
    var first: Int32
    var second: Int32
    var prefixes: [IPPrefix]
  }

  /// By session number; `self` (0) is the scenario's own namespace.
  private var hosts: [Int32: HostNamespace] = [:]
  /// Hosts whose new sockets are made inside a cgroup with a connect hook: its directory.
  private var connectHooks: [Int32: String] = [:]
  private var hookCount = 0
  private var links: [HostPair: Link] = [:]
  /// Whether each end of each link is up (set up or down by the scenario).
  private var endUp: [HostEnd: Bool] = [:]
  /// The last interface number given to a link's end.
  private var nextIndex = 98
  private let selfInode: UInt64
  private let initialInode: UInt64

  /// Takes `self` as the calling thread's namespace, which must be the scenario's private one.
  init(namespace: UInt64) throws(BackendError) {
    selfInode = namespace
    initialInode = conn_initial_netns_inode()
    guard conn_netns_inode() == namespace, namespace != 0, namespace != initialInode else {
      throw .refused("refusing to change the network: this thread is not in its private namespace")
    }
    let opened = conn_open_netns()
    guard opened >= 0 else {
      throw .failed("cannot open this scenario's namespace: \(Platform.strerror(errno))")
    }
    let fd = ReservedDescriptors.moveOutOfReach(opened, as: "the scenario's network namespace")
    hosts[0] = HostNamespace(name: "self", fd: fd, router: false)
    // ICMP answers without rate limits, so that errors do not turn into timeouts at random.
    try writeSysctl("net.ipv4.icmp_ratemask", "0")
    try writeSysctl("net.ipv6.icmp.ratelimit", "0")
    // No duplicate address detection on the links to come: a fresh link-local address would
    // otherwise be unusable for a second or two, and a router could not resolve neighbours.
    try writeSysctl("net.ipv6.conf.default.accept_dad", "0")
    try writeSysctl("net.ipv6.conf.all.accept_dad", "0")
  }

  /// Closes every namespace but the scenario's own: the kernel removes them with their links.
  func close() {
    for (_, dir) in connectHooks { _ = rmdir(dir) }
    connectHooks = [:]
    if let me = hosts[0] { _ = conn_setns_net(me.fd) }
    for (_, h) in hosts {
      ReservedDescriptors.remove(h.fd)
      _ = sysClose(h.fd)
    }
    hosts = [:]
    links = [:]
    endUp = [:]
  }

  deinit { close() }

  // MARK: - Running a group of statements

  /// `ip -batch` lines gathered for one host, with the statement each came from.
  private struct Batch {
    var lines: [String] = []
    var steps: [Int] = []
    mutating func add(_ line: String, _ step: Int) {
      lines.append(line)
      steps.append(step)
    }
  }

  func apply(_ steps: [TopologyStatement], names: [String]) throws(BackendError) {
    var linkAdds = Batch()
    var perHost: [(Int32, Batch)] = []
    func add(_ h: Int32, _ line: String, _ step: Int) {
      if let i = perHost.firstIndex(where: { $0.0 == h }) {
        perHost[i].1.add(line, step)
      } else {
        var b = Batch()
        b.add(line, step)
        perHost.append((h, b))
      }
    }
    // Which ends the group brings up, to wait for them to run (host, peer host).
    var broughtUp: [(Int32, Int32)] = []
    func setEnd(_ h: Int32, towards peer: Int32, up: Bool) {
      endUp[HostEnd(host: h, peer: peer)] = up
      if up { broughtUp.append((h, peer)) }
    }
    func flush() throws(BackendError) {
      if !linkAdds.lines.isEmpty {
        try runIP(in: 0, linkAdds)
        linkAdds = Batch()
      }
      for (h, b) in perHost { try runIP(in: h, b) }
      // A veth runs once both of its ends are up: wait after every host's batch, for the ends
      // brought up whose other end is up too.
      for (h, peer) in broughtUp
      where endUp[HostEnd(host: h, peer: peer)] == true && endUp[HostEnd(host: peer, peer: h)] == true {
        try waitRunning(h, [names[Int(peer)]])
      }
      broughtUp = []
      perHost = []
    }
    func name(_ h: HostRef) -> String { names[Int(h.index)] }

    for (k, step) in steps.enumerated() {
      do throws(BackendError) {
        switch step {
        case .host(let h, let router):
          try flush()
          try makeHost(h.index, name: name(h), router: router)
        case .link(let a, let b, let prefixes):
          guard let ha = hosts[a.index], let hb = hosts[b.index] else { throw .failed("unknown host") }
          let pid = getpid()
          // Distinct interface numbers for the two ends: the kernel handles a change of state
          // of a veth whose peer has its own number at once, and rate-limits the others to one
          // a second (both ends would be number 2 in fresh namespaces), which left a link that
          // had just come up dropping its first packets for up to a second.
          nextIndex += 2
          let index = nextIndex
          linkAdds.add(
            "link add \(name(b)) index \(index) netns /proc/\(pid)/fd/\(ha.fd) type veth peer name \(name(a)) index \(index + 1) netns /proc/\(pid)/fd/\(hb.fd)",
            k)
          links[HostPair(a.index, b.index)] = Link(first: a.index, second: b.index, prefixes: prefixes)
          // Up first, then the addresses: an IPv6 address added before the link is up loses its
          // first neighbour solicitation (a 1 s stall).
          for (end, peer, n) in [(a, b, UInt32(1)), (b, a, UInt32(2))] {
            add(end.index, "link set \(name(peer)) up", k)
            setEnd(end.index, towards: peer.index, up: true)
            for p in prefixes {
              let v6 = isV6(p)
              add(
                end.index,
                "addr add \(address(n, in: p).description)/\(p.length) dev \(name(peer))\(v6 ? " nodad" : "")",
                k)
            }
          }
        case .linkState(let a, let b, let up):
          add(a.index, "link set \(name(b)) \(up ? "up" : "down")", k)
          setEnd(a.index, towards: b.index, up: up)
        case .route(let h, let p, let target):
          // The family follows from the prefix (::/0 is IPv6's default route).
          let family = ""
          let prefix = p.description
          switch target {
          case .via(let gw): add(h.index, "\(family)route add \(prefix) via \(gw.description)", k)
          case .viaHost(let g):
            guard let gw = gateway(g.index, for: h.index, v6: isV6(p)) else {
              throw .failed(
                "'\(name(g))' has no \(isV6(p) ? "IPv6" : "IPv4") address on the link to '\(name(h))'")
            }
            add(h.index, "\(family)route add \(prefix) via \(gw.description)", k)
          case .unreachable: add(h.index, "\(family)route add unreachable \(prefix)", k)
          case .prohibit: add(h.index, "\(family)route add prohibit \(prefix)", k)
          case .blackhole: add(h.index, "\(family)route add blackhole \(prefix)", k)
          }
        case .address(let h, let device, let p, let isAdd):
          let dev: String
          switch device {
          case .loopback: dev = "lo"
          case .link(let to): dev = name(to)
          }
          add(
            h.index,
            "addr \(isAdd ? "add" : "del") \(p.description) dev \(dev)\(isAdd && isV6(p) ? " nodad" : "")", k)
          // A new IPv6 address answers neighbour discovery once its group is joined: wait for it.
          if isAdd && isV6(p), case .link(let to) = device { broughtUp.append((h.index, to.index)) }
        case .firewall(let h, let chain, let match, let verdict):
          try flush()
          try addFirewallRule(h.index, chain, match, verdict)
        case .sysctl(let h, let key, let value):
          try flush()
          try inNamespace(h.index) { () throws(BackendError) in try writeSysctl(key, value) }
        case .connectHook(let h, let e):
          try addConnectHook(h.index, e)
        }
      } catch {
        if case .inStep = error { throw error }
        throw .inStep(k, error)
      }
    }
    try flush()
  }

  /// Waits (at most a second) until the interfaces just brought up on host `h` run: a veth that
  /// is up but not yet running drops the first neighbour request, a one-second stall for the
  /// connect that sent it.
  private func waitRunning(_ h: Int32, _ devices: [String]) throws(BackendError) {
    if devices.isEmpty { return }
    try inNamespace(h) { () throws(BackendError) in
      let deadline = Host.monotonicNow() + 1_000_000_000
      for d in devices {
        while (conn_interface_running(d) == 0 || !ipv6Ready(d)) && Host.monotonicNow() < deadline {
          var ts = timespec(tv_sec: 0, tv_nsec: 200_000)
          _ = nanosleep(&ts, nil)
        }
      }
    }
  }

  /// Whether IPv6 on the device is ready to answer neighbour discovery: its link-local address
  /// exists, no address is tentative, and every address's solicited-node group is joined (the
  /// kernel joins it in a work queue after the address is added; until then a neighbour
  /// solicitation for the address is dropped, a one-second stall for the first connect). Read
  /// from the namespace the thread is in.
  private func ipv6Ready(_ device: String) -> Bool {
    guard let inet6 = try? Host.readFile("/proc/thread-self/net/if_inet6"),
      let igmp6 = try? Host.readFile("/proc/thread-self/net/igmp6")
    else { return true }
    var groups = Set<Substring>()
    for line in String(decoding: igmp6, as: UTF8.self).split(separator: "\n") {
      // index device group users flags timer
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      if f.count >= 3, f[1] == device { groups.insert(f[2]) }
    }
    var linkLocal = false
    for line in String(decoding: inet6, as: UTF8.self).split(separator: "\n") {
      // address index prefix-length scope flags device
      let f = line.split(separator: " ", omittingEmptySubsequences: true)
      guard f.count >= 6, f[5] == device, f[0].count == 32 else { continue }
      if let flags = UInt32(f[4], radix: 16), flags & 0x40 != 0 { return false }  // IFA_F_TENTATIVE
      if f[0].hasPrefix("fe80") { linkLocal = true }
      if !groups.contains("ff0200000000000000000001ff" + f[0].suffix(6)) { return false }
    }
    return linkLocal
  }

  private func isV6(_ p: IPPrefix) -> Bool {
    if case .v6 = p { return true }
    return false
  }

  /// Host `g`'s address, of the family asked, on its link to `h`.
  private func gateway(_ g: Int32, for h: Int32, v6: Bool) -> IPAddress? {
    guard let l = links[HostPair(g, h)] else { return nil }
    guard let p = l.prefixes.first(where: { isV6($0) == v6 }) else { return nil }
    return address(l.first == g ? 1 : 2, in: p)
  }

  // MARK: - Hosts

  private func makeHost(_ number: Int32, name: String, router: Bool) throws(BackendError) {
    guard let me = hosts[0] else { throw .failed("the scenario's namespace is gone") }
    if hosts[number] != nil { throw .failed("host '\(name)' exists already") }
    if conn_unshare_net() != 0 {
      throw .failed("cannot make a namespace for host '\(name)': \(Platform.strerror(errno))")
    }
    let opened = conn_open_netns()
    let fd =
      opened >= 0 ? ReservedDescriptors.moveOutOfReach(opened, as: "host \(name)'s network namespace") : -1
    let inode = conn_netns_inode()
    // Whatever happens next, the thread goes back to the scenario's namespace.
    defer { _ = conn_setns_net(me.fd) }
    guard fd >= 0, inode != 0, inode != selfInode, inode != initialInode,
      !hosts.values.contains(where: { conn_fd_inode($0.fd) == inode })
    else {
      if fd >= 0 {
        ReservedDescriptors.remove(fd)
        _ = sysClose(fd)
      }
      throw .failed("the namespace of host '\(name)' could not be confirmed as new; nothing was changed")
    }
    hosts[number] = HostNamespace(name: name, fd: fd, router: router)
    if conn_loopback_up() != 0 {
      throw .failed("cannot bring loopback up on host '\(name)': \(Platform.strerror(errno))")
    }
    try writeSysctl("net.ipv4.icmp_ratemask", "0")
    try writeSysctl("net.ipv6.icmp.ratelimit", "0")
    // No duplicate address detection on the links to come: a fresh link-local address would
    // otherwise be unusable for a second or two, and a router could not resolve neighbours.
    try writeSysctl("net.ipv6.conf.default.accept_dad", "0")
    try writeSysctl("net.ipv6.conf.all.accept_dad", "0")
    if router {
      try writeSysctl("net.ipv4.ip_forward", "1")
      try writeSysctl("net.ipv6.conf.all.forwarding", "1")
    }
  }

  /// Runs `body` with the thread in host `h`'s namespace, and comes back.
  func inNamespace<R>(_ h: Int32, _ body: () throws(BackendError) -> R) throws(BackendError) -> R {
    if h == 0 { return try body() }
    guard let host = hosts[h], let me = hosts[0] else { throw .failed("unknown host \(h)") }
    guard conn_setns_net(host.fd) == 0 else {
      throw .failed("cannot enter host '\(host.name)': \(Platform.strerror(errno))")
    }
    defer {
      if conn_setns_net(me.fd) != 0 || conn_netns_inode() != selfInode {
        // Not back in the scenario's namespace: stop rather than go on elsewhere.
        Host.printErr("conn: could not return to the scenario's network namespace\n")
        Host.exit(70)
      }
    }
    // Confirm where we are: a namespace this scenario made.
    guard conn_netns_inode() == conn_fd_inode(host.fd), conn_netns_inode() != initialInode else {
      throw .refused("refusing to work in host '\(host.name)': its namespace could not be confirmed")
    }
    return try body()
  }

  // MARK: - Sysctls

  /// Writes a `net.*` sysctl of the namespace the thread is in.
  private func writeSysctl(_ key: String, _ value: String) throws(BackendError) {
    let path =
      "/proc/sys/" + key.split(separator: ".", omittingEmptySubsequences: false).joined(separator: "/")
    // /proc/sys/net resolves to the opening thread's namespace.
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    if fd < 0 {
      let e = errno
      if e == ENOENT {
        throw .failed(
          "\(key) is not a setting of a host's own network namespace: it is misspelled, names a device the host does not have, or is one of the net.* settings that only the machine's namespace has"
        )
      }
      if e == EACCES {
        throw .failed("\(key) is read-only inside a network namespace")
      }
      throw .failed("cannot set \(key): \(Platform.strerror(e))")
    }
    defer { _ = sysClose(fd) }
    if !Host.writeAll(fd, value + "\n") {
      throw .failed("the kernel refused \(key) = \(value): \(Platform.strerror(errno))")
    }
  }

  // MARK: - Tools

  /// nftables' `nft`, looked up once.
  static let nftPath: String? = ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"].first {
    access($0, X_OK) == 0
  }

  private func runIP(in h: Int32, _ batch: Batch) throws(BackendError) {
    guard let ip = Isolation.ipPath else {
      throw .inStep(batch.steps.first ?? 0, .failed("the network statements need iproute2's ip command"))
    }
    let (status, output) = try inNamespace(h) { () throws(BackendError) in
      try Topology.run(ip, ["-batch", "-"], input: batch.lines.joined(separator: "\n") + "\n")
    }
    if status == 0 { return }
    // "Command failed -:N" names the batch line that failed.
    var failed = 0
    let marker = "Command failed -:"
    for l in output where l.hasPrefix(marker) {
      failed = Int(l.dropFirst(marker.count).prefix { $0.isNumber }) ?? 0
    }
    let index = failed > 0 && failed <= batch.lines.count ? failed - 1 : 0
    let detail = output.filter { !$0.hasPrefix("Command failed") }.joined(separator: "; ")
    throw .inStep(
      batch.steps[index],
      .failed("ip \(batch.lines[index]): \(detail.isEmpty ? "failed (status \(status))" : detail)"))
  }

  private func addFirewallRule(
    _ h: Int32, _ chain: FirewallChain, _ m: FirewallMatch, _ v: FirewallVerdict
  ) throws(BackendError) {
    guard let nft = Topology.nftPath else {
      throw .failed("firewall rules need nftables' nft command, which is not installed")
    }
    guard var host = hosts[h] else { throw .failed("unknown host \(h)") }
    var lines: [String] = []
    if !host.firewallReady {
      lines.append("add table inet conn")
      for c in FirewallChain.allCases {
        lines.append(
          "add chain inet conn \(c.rawValue) { type filter hook \(c.rawValue) priority 0 ; policy accept ; }")
      }
    }
    lines.append("add rule inet conn \(chain.rawValue) \(Topology.ruleText(m, v))")
    let (status, output) = try inNamespace(h) { () throws(BackendError) in
      try Topology.run(nft, ["-f", "-"], input: lines.joined(separator: "\n") + "\n")
    }
    if status != 0 {
      throw .failed("nft: \(output.joined(separator: "; ").prefix(300))")
    }
    host.firewallReady = true
    hosts[h] = host
  }

  /// The nftables rule for a match and a verdict.
  static func ruleText(_ m: FirewallMatch, _ v: FirewallVerdict) -> String {
    var parts: [String] = []
    if let s = m.source { parts.append("\(s.isV6 ? "ip6" : "ip") saddr \(s.description)") }
    if let d = m.destination { parts.append("\(d.isV6 ? "ip6" : "ip") daddr \(d.description)") }
    if let proto = m.proto {
      if m.sourcePort == nil && m.destinationPort == nil {
        parts.append("meta l4proto \(proto.rawValue)")
      }
      if let p = m.sourcePort { parts.append("\(proto.rawValue) sport \(p)") }
      if let p = m.destinationPort { parts.append("\(proto.rawValue) dport \(p)") }
    }
    switch v {
    case .accept: parts.append("accept")
    case .drop: parts.append("drop")
    case .reject: parts.append("reject")
    case .rejectWithReset: parts.append("reject with tcp reset")
    case .rejectWithICMP(let family, let type):
      parts.append("reject with \(family.rawValue) type \(type.rawValue)")
    }
    return parts.joined(separator: " ")
  }

  /// Runs a tool with `input` on its standard input; its output, standard error included.
  /// Bounded: 10 seconds, then it is killed.
  static func run(_ path: String, _ args: [String], input: String) throws(BackendError) -> (Int32, [String]) {
    guard let p = Subprocess(path: path, arguments: args, mergeStandardError: true) else {
      throw .failed("cannot start \(path)")
    }
    p.send(input)
    p.closeInput()
    var output: [String] = []
    let deadline = Host.monotonicNow() + 10_000_000_000
    var timedOut = false
    while true {
      let left = deadline - Host.monotonicNow()
      if left <= 0 {
        timedOut = true
        p.kill()
        break
      }
      if Subprocess.waitReadable([p], timeoutMilliseconds: Int32(min(left / 1_000_000, 1000))).isEmpty {
        continue
      }
      guard let more = p.readLines() else { break }
      if output.count < 100 { output += more }
    }
    let status = p.finish()
    if timedOut { throw .failed("\(path) did not finish within 10s") }
    return (status, output.filter { !$0.isEmpty })
  }

  // MARK: - Sockets

  /// A socket made on host `h` (in its namespace, and inside its connect hook's cgroup if it
  /// has one): the descriptor and errno.
  func socket(on h: Int32, domain: Int32, type: Int32, proto: Int32) throws(BackendError) -> (Int32, Int32) {
    try inNamespace(h) { () throws(BackendError) -> (Int32, Int32) in
      guard let dir = connectHooks[h], let base = CgroupHooks.base else {
        let fd = sysSocket(domain, type, proto)
        return (fd, fd < 0 ? errno : 0)
      }
      var err: Int32 = 0
      let fd = conn_socket_in_cgroup(dir + "/cgroup.procs", base + "/cgroup.procs", domain, type, proto, &err)
      if fd == -2 { throw .failed("cannot enter the connect hook's cgroup: \(Platform.strerror(err))") }
      if fd == -3 {
        throw .failed(
          "cannot leave the connect hook's cgroup: \(Platform.strerror(err)); the socket was not kept")
      }
      return (fd, err)
    }
  }

  func hasConnectHook(on h: Int32) -> Bool { connectHooks[h] != nil }

  private func addConnectHook(_ h: Int32, _ e: Errno?) throws(BackendError) {
    guard let base = CgroupHooks.base else { throw .failed(CgroupHooks.unavailableReason ?? "no cgroup v2") }
    if let old = connectHooks[h] {
      _ = rmdir(old)
      connectHooks[h] = nil
    }
    hookCount += 1
    let dir = base + "/conn-\(getpid())-\(hookCount)"
    if conn_connect_hook_create(dir, e.map(Platform.number(of:)) ?? 0) != 0 {
      throw .failed("cannot attach a cgroup BPF connect hook: \(Platform.strerror(errno))")
    }
    connectHooks[h] = dir
  }
}

extension IPPrefix {
  var isV6: Bool {
    if case .v6 = self { return true }
    return false
  }
}

/// One end of a link: the interface on `host` that leads to `peer`.
struct HostEnd: Hashable {
  let host: Int32
  let peer: Int32
}

/// Two hosts, in either order.
struct HostPair: Hashable {
  let low: Int32
  let high: Int32
  init(_ a: Int32, _ b: Int32) {
    low = min(a, b)
    high = max(a, b)
  }
}

/// Where conn can make cgroups for connect hooks: a child of its own cgroup in the cgroup v2
/// hierarchy.
enum CgroupHooks {
  /// The process's own cgroup v2 directory (mount point + path), or nil.
  static let base: String? = {
    guard let mounts = try? Host.readFile("/proc/self/mountinfo"),
      let groups = try? Host.readFile("/proc/self/cgroup")
    else { return nil }
    var mount: String?
    for line in String(decoding: mounts, as: UTF8.self).split(separator: "\n") {
      // ... MOUNTPOINT ... - cgroup2 ...
      let fields = line.split(separator: " ")
      guard let dash = fields.firstIndex(of: "-"), dash + 1 < fields.count, fields[dash + 1] == "cgroup2",
        fields.count > 4
      else { continue }
      mount = String(fields[4])
      break
    }
    guard let m = mount else { return nil }
    for line in String(decoding: groups, as: UTF8.self).split(separator: "\n") where line.hasPrefix("0::") {
      let path = String(line.dropFirst(3))
      return path == "/" ? m : m + path
    }
    return nil
  }()

  /// Removes the hook cgroups of conn processes that are gone (killed with SIGKILL, they could
  /// not remove their own): `conn-PID-N` directories whose process no longer exists and that
  /// hold no process. Returns what it removed.
  @discardableResult
  package static func removeStale() -> [String] {
    guard let b = base, let dir = opendir(b) else { return [] }
    var names: [String] = []
    while let e = readdir(dir) {
      let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
        String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
      }
      names.append(name)
    }
    closedir(dir)
    var removed: [String] = []
    for name in names where name.hasPrefix("conn-") {
      let parts = name.split(separator: "-")
      guard parts.count >= 3, let pid = Int32(parts[1]), pid != getpid() else { continue }
      // A live process keeps its cgroups (kill with signal 0 only asks whether it exists).
      if kill(pid, 0) == 0 || errno == EPERM { continue }
      if rmdir(b + "/" + name) == 0 { removed.append(b + "/" + name) }
    }
    return removed
  }

  /// Why connect hooks cannot be had here, or nil when a test hook could be attached.
  static let unavailableReason: String? = {
    #if os(Linux)
      guard let b = base else { return "no cgroup v2 hierarchy is mounted" }
      let dir = b + "/conn-probe-\(getpid())"
      if conn_connect_hook_create(dir, 0) != 0 {
        return "cannot attach a cgroup BPF connect hook: \(Platform.strerror(errno))"
      }
      _ = rmdir(dir)
      return nil
    #else
      return "cgroup BPF exists only on Linux"
    #endif
  }()
}
