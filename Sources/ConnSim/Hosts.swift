import ConnRuntime
import ConnSyntax

// The scenario's hosts in the simulation: each with its network (Network.swift), its firewall
// rules and the sysctls the model honours; the links between them; and the walk of a packet
// from host to host that decides what a SYN meets on its way: a listener, a reset, an ICMP
// error from a router or a firewall, a neighbour that never answers, or nothing at all.
//
// The answers and their timing follow what this machine's kernel gives (docs/LANGUAGE.md,
// "What the simulation models"): an ICMP error for a SYN counts only on the retransmitted SYN,
// one second later (the kernel drops the first as a soft error, the socket being locked); a
// neighbour that does not answer fails the connect with EHOSTUNREACH after mcast_solicit tries
// retrans_time_ms apart; a reset is immediate.

/// What a firewall rule does.
struct SimFirewallRule {
  var match: FirewallMatch
  var verdict: FirewallVerdict
}

/// Neighbour discovery settings of one interface and family (net.ipv4.neigh.DEV.*).
struct NeighbourSettings: Equatable {
  var mcastSolicit = 3
  var appSolicit = 0
  /// Milliseconds (stored by the kernel in jiffies: rounded up to 4 ms, at least 8 ms).
  var retransTimeMs = 1000

  /// How long resolution takes to fail (nil: it never answers, the packet is dropped silently).
  var failureDelay: Int64? {
    let tries = mcastSolicit + appSolicit
    if tries <= 0 { return nil }
    let ms = max((retransTimeMs + 3) / 4 * 4, 8)
    return Int64(tries) * Int64(ms) * 1_000_000
  }
}

struct SimHost {
  var name: String
  var router = false
  var network: SimNetwork
  var firewall: [FirewallChain: [SimFirewallRule]] = [:]
  /// net.ipv4.tcp_syn_retries.
  var synRetries = 6
  /// By "4:DEV" and "6:DEV".
  var neighbour: [String: NeighbourSettings] = [:]
  /// net.ipv6.conf.DEV.keep_addr_on_down, by device.
  var keepAddressesOnDown: Set<String> = []
  /// A connect hook for sockets made from now on (`firewall HOST connect ...`): the errno.
  var connectHook: Errno?
  /// net.ipv4.tcp_fastopen: bit 1 lets clients use Fast Open, bit 2 lets listeners grant it.
  var fastOpen = 1
  /// The Fast Open cookies this host holds, by source and destination address (TCP metrics
  /// keep them per pair of addresses, not per port; a v4-mapped address counts as IPv4).
  var fastOpenCookies: Set<String> = []

  init(name: String, network: SimNetwork) {
    self.name = name
    self.network = network
  }

  func neighbourSettings(device: String, v6: Bool) -> NeighbourSettings {
    neighbour["\(v6 ? 6 : 4):\(device)"] ?? NeighbourSettings()
  }
}

/// A packet as the firewall sees it.
struct SimPacket {
  var tcp: Bool
  var source: SocketAddress
  var destination: SocketAddress
  var v6: Bool { if case .v6 = destination.ipAddress { return true } else { return false } }
  var reversed: SimPacket { SimPacket(tcp: tcp, source: destination, destination: source) }
}

/// Where a packet's walk ended.
enum Delivery {
  /// Delivered to this host (its input chain passed).
  case arrived(Int32)
  /// A firewall on this host rejected it with a reset or an ICMP error (the errno the sender
  /// gets, nil: a reset).
  case rejected(at: Int32, Errno?)
  /// A router (not the sender) found no way on and answers with this errno.
  case routeError(at: Int32, Errno)
  /// The next hop never answered neighbour discovery: after this long, from this host.
  case neighbourFailure(at: Int32, after: Int64)
  /// The sender's own output chain dropped it (a datagram's send then says EPERM).
  case droppedOnOutput
  case lost
}

/// What a SYN meets.
enum SynFate {
  case listener(Handle)
  case reset
  /// An ICMP error (hard on a retransmission).
  case icmp(Errno)
  /// EHOSTUNREACH after this long.
  case neighbourFailure(after: Int64)
  case lost
}

extension SimBackend {
  // MARK: - Topology statements

  func applyTopologySteps(_ steps: [TopologyStatement], hostNames: [String]) throws(BackendError) {
    for (k, step) in steps.enumerated() {
      do throws(BackendError) {
        try applyStep(step, hostNames)
      } catch {
        throw .inStep(k, error)
      }
    }
  }

  private func applyStep(_ step: TopologyStatement, _ names: [String]) throws(BackendError) {
    func host(_ h: HostRef) throws(BackendError) -> Int {
      let i = Int(h.index)
      guard i < hosts.count else { throw .failed("host \(names[i]) does not exist") }
      return i
    }
    switch step {
    case .host(let h, let router):
      let i = Int(h.index)
      while hosts.count <= i { hosts.append(SimHost(name: "", network: SimNetwork(rules: []))) }
      hosts[i] = SimHost(name: names[i], network: SimNetwork(rules: []))
      hosts[i].router = router
    case .link(let a, let b, let prefixes):
      let ia = try host(a), ib = try host(b)
      hosts[ia].network.interfaces.append(
        SimInterface(peer: b.index, name: names[ib], addresses: prefixes.map { with(address(1, in: $0), $0) })
      )
      hosts[ib].network.interfaces.append(
        SimInterface(peer: a.index, name: names[ia], addresses: prefixes.map { with(address(2, in: $0), $0) })
      )
    case .linkState(let a, let b, let up):
      let ia = try host(a)
      guard let k = hosts[ia].network.interfaces.firstIndex(where: { $0.peer == b.index }) else {
        throw .failed("no link from \(names[ia]) to \(names[Int(b.index)])")
      }
      hosts[ia].network.interfaces[k].up = up
      // Linux removes a link's IPv6 addresses when it goes down (keep_addr_on_down 0).
      if !up && !hosts[ia].keepAddressesOnDown.contains(hosts[ia].network.interfaces[k].name) {
        hosts[ia].network.interfaces[k].addresses.removeAll { $0.isV6 }
      }
    case .route(let h, let p, let target):
      let i = try host(h)
      let t: SimRoute.Target
      switch target {
      case .via(let gw): t = .via(gw)
      case .viaHost(let g):
        guard let gw = gateway(Int(g.index), for: i, v6: p.isV6) else {
          throw .failed("'\(names[Int(g.index)])' has no address of this family on the link to '\(names[i])'")
        }
        t = .via(gw)
      case .unreachable: t = .verdict(.error(.EHOSTUNREACH))
      case .prohibit: t = .verdict(.error(.EACCES))
      case .blackhole: t = .verdict(.error(.EINVAL))
      }
      if case .via(let gw) = t, hosts[i].network.onLink(gw) == nil {
        // ip: "Nexthop has invalid gateway".
        throw .failed("the gateway \(gw.description) is on no link of '\(names[i])' that is up")
      }
      hosts[i].network.routes.append(SimRoute(prefix: p, target: t))
    case .address(let h, let device, let p, let add):
      let i = try host(h)
      switch device {
      case .loopback:
        if add {
          hosts[i].network.localPrefixes.append(p)
        } else if p == .v4(IPv4Address(127, 0, 0, 1), 8) || p == .v4(IPv4Address(127, 0, 0, 0), 8) {
          hosts[i].network.loopbackV4 = false
        } else if case .v6(let a, 128) = p, a.isLoopback {
          hosts[i].network.loopbackV6 = false
        } else if let k = hosts[i].network.localPrefixes.firstIndex(of: p) {
          hosts[i].network.localPrefixes.remove(at: k)
        } else {
          throw .failed("\(p.description) is not an address of lo on '\(names[i])'")
        }
      case .link(let to):
        guard let k = hosts[i].network.interfaces.firstIndex(where: { $0.peer == to.index }) else {
          throw .failed("no link from \(names[i]) to \(names[Int(to.index)])")
        }
        if add {
          hosts[i].network.interfaces[k].addresses.append(p)
        } else if let j = hosts[i].network.interfaces[k].addresses.firstIndex(of: p) {
          hosts[i].network.interfaces[k].addresses.remove(at: j)
        } else {
          throw .failed(
            "\(p.description) is not an address of '\(names[i])' on its link to '\(names[Int(to.index)])'")
        }
      }
    case .firewall(let h, let chain, let match, let verdict):
      let i = try host(h)
      hosts[i].firewall[chain, default: []].append(SimFirewallRule(match: match, verdict: verdict))
    case .sysctl(let h, let key, let value):
      try setSysctl(try host(h), key, value)
    case .connectHook(let h, let e):
      // A denying cgroup BPF program: EPERM, or the errno it sets.
      hosts[try host(h)].connectHook = e ?? .EPERM
    }
  }

  private func with(_ a: IPAddress, _ p: IPPrefix) -> IPPrefix {
    switch a {
    case .v4(let x): return .v4(x, p.length)
    case .v6(let x): return .v6(x, p.length)
    }
  }

  /// Host `g`'s address of a family on its link to `h`.
  private func gateway(_ g: Int, for h: Int, v6: Bool) -> IPAddress? {
    guard let i = hosts[g].network.interfaces.first(where: { $0.peer == Int32(h) }) else { return nil }
    return i.addresses.first(where: { $0.isV6 == v6 })?.hostAddress
  }

  /// The sysctls the model honours; the rest are refused as not modelled.
  private func setSysctl(_ h: Int, _ key: String, _ value: String) throws(BackendError) {
    let numbers = value.split(separator: " ").compactMap { Int($0) }
    func one() throws(BackendError) -> Int {
      guard numbers.count == 1 else { throw .failed("\(key) takes one number") }
      return numbers[0]
    }
    let parts = key.split(separator: ".").map(String.init)
    switch key {
    case "net.ipv4.tcp_syn_retries":
      let n = try one()
      guard n >= 1 && n <= 127 else {
        throw .failed("the kernel refused \(key) = \(value): Invalid argument")
      }
      hosts[h].synRetries = n
    case "net.ipv4.ip_local_port_range":
      // One number sets the first port only, as the kernel reads it.
      let numbers = numbers.count == 1 ? [numbers[0], Int(hosts[h].network.ephemeral.upperBound)] : numbers
      // The range may not start among the privileged ports.
      guard numbers.count == 2, numbers[0] >= 1, numbers[0] <= numbers[1], numbers[1] <= 65535,
        numbers[0] >= Int(hosts[h].network.unprivilegedPortStart)
      else {
        throw .failed("the kernel refused \(key) = \(value): Invalid argument")
      }
      hosts[h].network.ephemeral = UInt16(numbers[0])...UInt16(numbers[1])
    case "net.ipv4.tcp_fastopen":
      let n = try one()
      guard n >= 0 else { throw .failed("the kernel refused \(key) = \(value): Invalid argument") }
      // Bits 1 (clients) and 2 (listeners); the others (no cookie needed, and so on) are not.
      if n & ~3 != 0 { throw .notModelled("net.ipv4.tcp_fastopen bits other than 1 and 2 (\(n))") }
      hosts[h].fastOpen = n
    case "net.ipv4.ip_unprivileged_port_start":
      // ipv4_privileged_ports: 0 to 65535, and not past the start of the ephemeral range.
      let n = try one()
      guard n >= 0, n <= 65535, n <= Int(hosts[h].network.ephemeral.lowerBound) else {
        throw .failed("the kernel refused \(key) = \(value): Invalid argument")
      }
      hosts[h].network.unprivilegedPortStart = UInt16(n)
    case "net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding":
      hosts[h].router = try one() != 0
    // The simulation never limits its ICMP answers.
    case "net.ipv4.icmp_ratemask", "net.ipv4.icmp_ratelimit", "net.ipv6.icmp.ratelimit":
      _ = try one()
    // Duplicate address detection takes no time here (conn turns it off on the kernel too).
    case _ where parts.count == 5 && parts[1] == "ipv6" && parts[2] == "conf" && parts[4] == "accept_dad":
      _ = try one()
    default:
      if parts.count == 5, parts[0] == "net", parts[1] == "ipv4" || parts[1] == "ipv6", parts[2] == "neigh",
        parts[3] != "default"
      {
        let slot = "\(parts[1] == "ipv6" ? 6 : 4):\(parts[3])"
        var n = hosts[h].neighbour[slot] ?? NeighbourSettings()
        switch parts[4] {
        case "mcast_solicit": n.mcastSolicit = try one()
        case "app_solicit": n.appSolicit = try one()
        case "retrans_time_ms": n.retransTimeMs = try one()
        case "ucast_solicit": _ = try one()  // counts only for entries being re-checked
        default: throw .notModelled("sysctl \(key)")
        }
        hosts[h].neighbour[slot] = n
        return
      }
      if parts.count == 5, parts[0] == "net", parts[1] == "ipv6", parts[2] == "conf",
        parts[4] == "keep_addr_on_down"
      {
        if try one() != 0 {
          hosts[h].keepAddressesOnDown.insert(parts[3])
        } else {
          hosts[h].keepAddressesOnDown.remove(parts[3])
        }
        return
      }
      throw .notModelled("sysctl \(key)")
    }
  }

  // MARK: - Firewall

  /// The verdict of a host's chain on a packet (accept when no rule matches).
  func verdict(_ h: Int32, _ chain: FirewallChain, _ p: SimPacket) -> FirewallVerdict {
    guard let rules = hosts[Int(h)].firewall[chain] else { return .accept }
    for r in rules where matches(r, p) { return r.verdict }
    return .accept
  }

  private func matches(_ r: SimFirewallRule, _ p: SimPacket) -> Bool {
    let m = r.match
    if let proto = m.proto, (proto == .tcp) != p.tcp { return false }
    if let s = m.source, !(s.isV6 == p.v6 && s.contains(p.source.plainIP)) { return false }
    if let d = m.destination, !(d.isV6 == p.v6 && d.contains(p.destination.plainIP)) { return false }
    if let sp = m.sourcePort, p.source.port != sp { return false }
    if let dp = m.destinationPort, p.destination.port != dp { return false }
    // In nftables' inet family, `reject with icmp` applies to IPv4 packets only, `icmpv6` to
    // IPv6 only: a packet of the other family passes the rule.
    if case .rejectWithICMP(let family, _) = r.verdict {
      if family == .icmp && p.v6 { return false }
      if family == .icmpv6 && !p.v6 { return false }
    }
    return true
  }

  /// What the sender of `p` gets from a reject verdict (nil: a reset).
  private func rejectErrno(_ v: FirewallVerdict, _ p: SimPacket) -> Errno? {
    switch v {
    case .rejectWithReset: return p.tcp ? nil : .ECONNREFUSED
    // Plain `reject` in the inet family: ICMP(v6) port unreachable.
    case .reject: return .ECONNREFUSED
    case .rejectWithICMP(_, let type):
      switch type {
      case .netUnreachable, .noRoute: return .ENETUNREACH
      case .hostUnreachable, .addrUnreachable: return .EHOSTUNREACH
      case .portUnreachable: return .ECONNREFUSED
      // IPv4 "communication administratively prohibited" reads as EHOSTUNREACH; ICMPv6's as EACCES.
      case .adminProhibited: return p.v6 ? .EACCES : .EHOSTUNREACH
      }
    default: return .ECONNREFUSED
    }
  }

  // MARK: - The walk

  /// Walks a packet from host `from` to its destination, through the chains and routes of each
  /// host on the way.
  func deliver(_ p: SimPacket, from: Int32) -> Delivery {
    var at = from
    switch verdict(at, .output, p) {
    case .accept: break
    case .drop: return .droppedOnOutput
    case let v: return .rejected(at: at, rejectErrno(v, p))
    }
    for _ in 0..<16 {
      let net = hosts[Int(at)].network
      switch net.route(p.destination) {
      case .local:
        switch verdict(at, .input, p) {
        case .accept: return .arrived(at)
        case .drop: return .lost
        case let v: return .rejected(at: at, rejectErrno(v, p))
        }
      case .lost: return .lost
      case .error(let e):
        if at == from { return .routeError(at: at, e) }
        // A router's own answer: IPv4 sends host unreachable for an unreachable route and
        // "packet filtered" (read as EHOSTUNREACH) for a prohibited one; IPv6 sends no-route
        // for both no route and an unreachable route, and administratively prohibited (EACCES)
        // for a prohibited one; a blackhole answers nothing.
        switch e {
        case .EINVAL: return .lost
        case .EHOSTUNREACH: return .routeError(at: at, p.v6 ? .ENETUNREACH : .EHOSTUNREACH)
        case .EACCES: return .routeError(at: at, p.v6 ? .EACCES : .EHOSTUNREACH)
        default: return .routeError(at: at, .ENETUNREACH)
        }
      case .link(let k, let nextHop):
        let iface = net.interfaces[k]
        let peer = Int(iface.peer)
        // The next hop answers neighbour discovery if its end of the link is up and holds the
        // address.
        let answers =
          hosts[peer].network.interfaces.contains { i in
            i.peer == at && i.up && i.addresses.contains { $0.hostAddress == nextHop }
          }
        if !answers {
          guard
            let delay = hosts[Int(at)].neighbourSettings(device: iface.name, v6: nextHop.isV6).failureDelay
          else { return .lost }
          return .neighbourFailure(at: at, after: delay)
        }
        let next = Int32(peer)
        if hosts[peer].network.route(p.destination) == .local {
          at = next
          continue  // input chain and delivery, above
        }
        guard hosts[peer].router else { return .lost }  // not for this host, and it does not forward
        switch verdict(next, .forward, p) {
        case .accept: break
        case .drop: return .lost
        case let v: return .rejected(at: next, rejectErrno(v, p))
        }
        at = next
      }
    }
    return .lost
  }

  /// What a SYN from a socket on host `from` meets, answers included (a reset or an ICMP error
  /// that cannot find its way back is as good as lost).
  func synFate(from: Int32, source: SocketAddress, destination: SocketAddress) -> SynFate {
    let syn = SimPacket(tcp: true, source: source, destination: destination)
    func back(_ from: Int32, tcp: Bool) -> Bool {
      if case .arrived = deliver(SimPacket(tcp: tcp, source: destination, destination: source), from: from) {
        return true
      }
      return false
    }
    switch deliver(syn, from: from) {
    case .arrived(let h):
      if let l = findListener(destination, on: h) {
        return back(h, tcp: true) ? .listener(l) : .lost
      }
      return back(h, tcp: true) ? .reset : .lost
    case .rejected(let h, let errno):
      if h == from { return errno.map(SynFate.icmp) ?? .reset }
      return back(h, tcp: errno == nil) ? (errno.map(SynFate.icmp) ?? .reset) : .lost
    case .routeError(let h, let e):
      return back(h, tcp: false) ? .icmp(e) : .lost
    case .neighbourFailure(let h, let delay):
      if h == from { return .neighbourFailure(after: delay) }
      // A router that cannot resolve the next hop answers host unreachable.
      return back(h, tcp: false) ? .icmp(.EHOSTUNREACH) : .lost
    case .lost, .droppedOnOutput:
      return .lost
    }
  }
}

extension IPAddress {
  var isV6: Bool {
    if case .v6 = self { return true }
    return false
  }
}

extension IPPrefix {
  var isV6: Bool {
    if case .v6 = self { return true }
    return false
  }
}

extension SocketAddress {
  /// The address as its family's plain form (v4-mapped IPv6 as IPv4), port kept.
  var plainIP: SocketAddress {
    if case .inet6(let ip, let p, _) = self, let v4 = ip.mappedIPv4 { return .inet(v4, port: p) }
    return self
  }
}
