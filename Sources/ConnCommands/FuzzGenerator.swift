// `conn fuzz`, part 1: random well-formed scenarios. A scenario is a list of lines, one
// statement each (no blocks), so that shrinking can drop any line. The draw is biased toward
// what decides connect(2)'s answer: several sockets whose states change (bound, listening,
// connected, shut down, closed), connects to each other by name, reconnects and AF_UNSPEC,
// options set before a connect, nonblocking connects followed by poll, get SO_ERROR, peer and
// local, and a little data.
//
// `extended` (conn fuzz --extended) also draws what the language gained after the generator
// was written: NULL and bare-family addresses, addresses that take another socket's port,
// polls of several descriptors, file statements in the private directory, `drop`, Landlock
// layers, and calls in the background (each collected by a `wait`, most often after a
// `signal`, so that none waits out its limit). Without it the
// draws are exactly those of the first generator, so that the seeds of earlier runs give the
// same scenarios.
//
// Every address is loopback, an unspecified address, or one that only exists inside the
// scenario's own namespace (10.9.0.0/16 and 2001:db8::/32, which have no route there, or the
// `net` routes the scenario declares). The fuzzer runs every scenario isolated.

/// A small, fast, seedable generator (SplitMix64): the same seed gives the same scenarios on
/// every machine and every Swift version.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

struct FuzzGenerator {
  /// The seed of case `index` of a run seeded with `seed`: cases can be regenerated one by one.
  static func caseSeed(_ seed: UInt64, _ index: Int) -> UInt64 {
    var g = SplitMix64(seed: seed ^ (UInt64(index) &* 0xD6E8_FEB8_6659_FD93))
    return g.next()
  }

  private var rng: SplitMix64
  private let extended: Bool
  init(seed: UInt64, extended: Bool = false) {
    rng = SplitMix64(seed: seed)
    self.extended = extended
  }

  private struct Sock {
    var name: String
    var type: String
    var family: String
  }
  private var socks: [Sock] = []
  private var lines: [String] = []
  private var counter = 0
  /// Sockets with a call in the background (extended draws), oldest first; and the name an
  /// accept among them will declare.
  private var pending: [(socket: String, acceptInto: Sock?, connect: Bool)] = []
  private var dropped = false
  private var layers = 0

  private mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }
  private mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }

  /// One scenario: the lines of its source.
  static func scenario(seed: UInt64, extended: Bool = false) -> [String] {
    var g = FuzzGenerator(seed: seed, extended: extended)
    return g.make()
  }

  private mutating func make() -> [String] {
    // Sometimes a route that makes a prefix unreachable, or a second loopback address.
    if chance(15) {
      lines.append("net route 10.9.0.0/16 \(pick(["unreachable", "prohibit"]))")
    }
    if chance(10) { lines.append("net addr 127.0.0.5/32") }
    let family = pick(["inet", "inet", "inet6", "inet6", "unix"])
    let count = Int.random(in: 1...3, using: &rng)
    for _ in 0..<count { newSocket(family: chance(80) ? family : pick(["inet", "inet6", "unix"])) }
    let statements = Int.random(in: 3...14, using: &rng)
    for _ in 0..<statements { statement() }
    while !pending.isEmpty { collect(0) }
    return lines
  }

  private mutating func newSocket(family: String) {
    counter += 1
    let name = "s\(counter)"
    let type: String
    switch family {
    case "unix": type = pick(["stream", "dgram", "seqpacket"])
    default: type = chance(70) ? "stream" : "dgram"
    }
    socks.append(Sock(name: name, type: type, family: family))
    lines.append("sock \(name) = \(type) \(family)" + (chance(20) ? " nonblock" : ""))
  }

  private mutating func address(for family: String) -> String {
    let port = pick(["0", "0", "5555", "5556", "5555"])
    switch family {
    case "inet":
      let ip = pick([
        "127.0.0.1", "127.0.0.1", "127.0.0.1", "0.0.0.0", "127.0.0.2", "10.9.0.1", "127.0.0.5",
        "224.0.0.1", "255.255.255.255",
      ])
      return "\(ip):\(port)"
    case "inet6":
      let ip = pick([
        "::1", "::1", "::1", "::", "::ffff:127.0.0.1", "::ffff:127.0.0.1", "2001:db8::1", "fe80::1",
        "::ffff:10.9.0.1", "ff02::1",
      ])
      return "[\(ip)]:\(port)"
    default:
      return pick(["\"a.sock\"", "\"b.sock\"", "@fz", "\"a.sock\""])
    }
  }

  /// A socket, most often one of the scenario's.
  private mutating func target(for s: Sock) -> String {
    if extended && chance(15) { return extendedTarget() }
    let r = Int.random(in: 0..<100, using: &rng)
    if r < 40 {
      let anyFamily = chance(15)
      let others = socks.filter { anyFamily || $0.family == s.family }
      if !others.isEmpty { return pick(others).name }
    }
    if r < 50 { return "unspec" }
    if r < 58 { return address(for: pick(["inet", "inet6", "unix"])) }
    return address(for: s.family)
  }

  /// NULL, a bare family, or an address with another socket's port.
  private mutating func extendedTarget() -> String {
    let ipSockets = socks.filter { $0.family != "unix" }
    if chance(50), !ipSockets.isEmpty {
      let ip = pick(["127.0.0.1", "0.0.0.0", "127.0.0.2", "[::ffff:127.0.0.1]", "[::1]", "[::]"])
      return "\(ip):\(pick(ipSockets).name)"
    }
    return pick(["null", "family 0", "family 1", "family 2", "family 10", "family 16", "family 17"])
  }

  /// A poll of several descriptors, a file statement, or a bind to another socket's port.
  private mutating func extendedStatement(_ s: Sock) {
    let ipSockets = socks.filter { $0.family != "unix" }
    if !pending.isEmpty && chance(40) { return collect(Int.random(in: 0..<pending.count, using: &rng)) }
    switch Int.random(in: 0..<7, using: &rng) {
    case 4 where layers < 3:
      layers += 1
      let ports = ipSockets.isEmpty || chance(30) ? "none" : pick(ipSockets).name
      lines.append(
        "landlock \(pick(["connect \(ports)", "bind \(ports)", "abstract", "connect \(ports) abstract"]))")
    case 5 where !dropped:
      dropped = true
      lines.append("drop nobody")
    case 6 where !pending.contains(where: { $0.socket == s.name }):
      background(s)
    case 0 where socks.count > 1:
      let other = pick(socks.filter { $0.name != s.name })
      lines.append(
        "poll \(s.name) \(pick(["writable", "readable"])) \(other.name) \(pick(["writable", "readable"])) timeout 0ms"
      )
    case 1 where !ipSockets.isEmpty:
      lines.append(
        "bind \(s.name) \(pick(["0.0.0.0", "127.0.0.1", "[::]", "[::1]"])):\(pick(ipSockets).name)")
    default:
      let path = pick(["\"a.sock\"", "\"b.sock\"", "\"d\"", "\"l\""])
      switch Int.random(in: 0..<5, using: &rng) {
      case 0: lines.append("mkdir \(path)")
      case 1: lines.append("mkfile \(path)")
      case 2: lines.append("symlink \(pick(["\"a.sock\"", "\"l\"", "\"d\""])) \(path)")
      case 3: lines.append("rm \(path)")
      default: lines.append("connect \(s.name) \(pick(["\"d/a.sock\"", "\"l\"", "\"l/a.sock\""]))")
      }
    }
  }

  /// A call in the background on `s`: collected later by `collect`.
  private mutating func background(_ s: Sock) {
    switch Int.random(in: 0..<4, using: &rng) {
    case 0:
      lines.append("connect \(s.name) \(target(for: s)) background")
      pending.append((s.name, nil, true))
    case 1:
      counter += 1
      let into = Sock(name: "s\(counter)", type: s.type, family: s.family)
      lines.append("accept \(s.name) as \(into.name) background")
      pending.append((s.name, into, false))
    case 2:
      lines.append("recv \(s.name) background")
      pending.append((s.name, nil, false))
    default:
      // Long enough that a `signal` or the event comes first on the kernel too.
      lines.append("poll \(s.name) \(pick(["readable", "writable"])) timeout 2s background")
      pending.append((s.name, nil, false))
    }
  }

  /// `wait` for one call in the background, after a `signal` (a call that nothing completes
  /// would otherwise wait out its limit; a connect finishes by itself, so it goes unsignalled
  /// now and then).
  private mutating func collect(_ index: Int) {
    let p = pending.remove(at: index)
    if !p.connect || chance(70) { lines.append("signal \(p.socket)") }
    lines.append("wait \(p.socket)")
    if let into = p.acceptInto { socks.append(into) }
  }

  private mutating func statement() {
    guard !socks.isEmpty else { return newSocket(family: "inet") }
    // A socket with a call in the background is left alone until the call is collected.
    let free = socks.filter { s in !pending.contains { $0.socket == s.name } }
    guard !free.isEmpty else { return collect(0) }
    let s = extended ? pick(free) : pick(socks)
    if extended && chance(12) { return extendedStatement(s) }
    let r = Int.random(in: 0..<100, using: &rng)
    switch r {
    case 0..<6:
      newSocket(family: chance(70) ? s.family : pick(["inet", "inet6", "unix"]))
    case 6..<20:
      let what = chance(15) ? (chance(50) ? "unspec" : pick(socks).name) : address(for: s.family)
      lines.append("bind \(s.name) \(what)")
    case 20..<29:
      lines.append("listen \(s.name)" + (chance(20) ? " backlog \(pick(["0", "1"]))" : ""))
    case 29..<50:
      lines.append("connect \(s.name) \(target(for: s))" + (chance(50) ? " nonblock" : ""))
    case 50..<54:
      counter += 1
      let name = "s\(counter)"
      lines.append("accept \(s.name) as \(name) nonblock")
      socks.append(Sock(name: name, type: s.type, family: s.family))
    case 54..<63:
      let option: String
      switch Int.random(in: 0..<9, using: &rng) {
      case 0: option = "nonblock"
      case 1: option = "block"
      case 2: option = "SO_REUSEADDR on"
      case 3: option = "SO_REUSEPORT on"
      case 4: option = "IPV6_V6ONLY \(pick(["on", "off"]))"
      case 5: option = "SO_LINGER 0s"
      case 6: option = "TCP_SYNCNT 1"
      case 7: option = "SO_BROADCAST on"
      default: option = "IP_BIND_ADDRESS_NO_PORT on"
      }
      lines.append("set \(s.name) \(option)")
    case 63..<70:
      lines.append("get \(s.name) \(pick(["SO_ERROR", "SO_ERROR", "SO_ACCEPTCONN", "SO_TYPE", "SO_DOMAIN"]))")
    case 70..<76:
      lines.append(
        "poll \(s.name) \(pick(["writable", "readable", "writable readable", "readable rdhup"])) timeout \(pick(["0ms", "20ms"]))"
      )
    case 76..<82:
      lines.append("\(pick(["peer", "local"])) \(s.name)")
    case 82..<86:
      lines.append("shutdown \(s.name) \(pick(["read", "write", "both"]))")
    case 86..<90:
      lines.append("close \(s.name)")
      socks.removeAll { $0.name == s.name }
    case 90..<95:
      lines.append("send \(s.name) \"x\" MSG_DONTWAIT MSG_NOSIGNAL")
    case 95..<98:
      lines.append("recv \(s.name) MSG_DONTWAIT")
    default:
      lines.append("sleep 5ms")
    }
  }
}
