// The checker runs after parsing and before anything executes. It resolves socket names in
// source order (a name is usable after the `sock`, `accept ... as`, `socketpair` or `dup ... as`
// that declares it) and checks that each `expect` follows a statement whose result it can
// describe.

struct Checker {
  let script: Script
  var diagnostics: [Diagnostic] = []
  /// Indexed by slot: has a `sock`, `accept ... as`, `socketpair` or `dup ... as` declared it yet?
  private var declared: [Bool] = []
  /// From the parser: sockets named in statements that did not parse, and where those statements
  /// start. Their names are not reported as undeclared, nor is an `expect` right after one of them
  /// checked: the parse error already covers the mistake.
  var failedSlots: Set<Int32> = []
  var failedStarts: [UInt32] = []

  /// Indexed by host: has a `host` statement declared it yet? (`self` always is.)
  private var hostDeclared: [Bool] = []
  /// The links declared so far (host indexes, the smaller first), with their prefixes.
  private var links: [HostPair: [IPPrefix]] = [:]

  init(script: Script) {
    self.script = script
    declared = [Bool](repeating: false, count: script.socketNames.count)
    hostDeclared = [Bool](repeating: false, count: script.hostNames.count)
    if !hostDeclared.isEmpty { hostDeclared[0] = true }
  }

  /// Hosts and links of earlier pieces of a session.
  mutating func predeclareTopology(hosts: [String], links: [(String, String, [IPPrefix])]) {
    guard !hosts.isEmpty || !links.isEmpty else { return }  // a whole scenario: none
    let index = Dictionary(script.hostNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
    for h in hosts { if let i = index[h] { hostDeclared[i] = true } }
    for (a, b, p) in links {
      if let i = index[a], let j = index[b] { self.links[HostPair(Int32(i), Int32(j))] = p }
    }
  }

  /// Where `drop` gave the privileges up (later statements that need them are errors).
  private var droppedAt: SourceRange?
  /// `landlock` statements so far (the kernel stacks at most 16 layers).
  private var landlockLayers = 0
  /// How many `repeat` blocks enclose the statement being checked.
  private var repeatDepth = 0
  /// Calls under way in the background, by socket slot: what `wait` will give, and the name an
  /// accept will declare then.
  private var background: [Int32: (shape: ResultShape, acceptInto: Int32?, range: SourceRange?)] = [:]
  /// What the last `wait` gives (the call it collected).
  private var waitShape = ResultShape.value
  /// Every background call must be collected by a `wait` (a whole script; not a REPL piece).
  var requireWaits = true

  /// Background calls a session started before this piece.
  mutating func predeclareBackground(_ calls: [String: BackgroundCallInfo], lastWaitShape: ResultShape?) {
    if let s = lastWaitShape { waitShape = s }
    guard !calls.isEmpty else { return }
    let slots = Dictionary(
      script.socketNames.enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
    for (name, info) in calls {
      guard let slot = slots[name] else { continue }
      background[slot] = (info.shape, info.acceptInto.flatMap { slots[$0] }, nil)
    }
  }

  /// For an `expect` that opens the text: the session's previous statement.
  var previousKind: StatementKind?

  mutating func predeclare(_ names: [String]) {
    guard !names.isEmpty else { return }
    let known = Set(names)
    for (slot, name) in script.socketNames.enumerated() where known.contains(name) { declared[slot] = true }
  }

  mutating func run() {
    checkBlock(script.statements, from: 0, outer: previousKind.map { Statement($0, .none) })
    guard requireWaits else { return }
    for (slot, b) in background.sorted(by: { $0.key < $1.key }) {
      guard let r = b.range else { continue }
      let name = script.socketNames[Int(slot)]
      diagnostics.append(
        .invalidValue(
          "the call in the background on '\(name)' is never collected", at: r,
          hint: "add 'wait \(name)' and an 'expect' for its outcome"))
    }
  }

  /// Reports `r` if it is not declared. True when, in an `expect`, it is an errno name in the
  /// wrong case (`expect econnrefused`): reported as such, not as a socket.
  @discardableResult
  private mutating func use(_ r: SocketRef, inExpect: Bool = false) -> Bool {
    if declared[Int(r.slot)] || failedSlots.contains(r.slot) { return false }
    let name = script.socketNames[Int(r.slot)]
    if inExpect, Errno(name: name.uppercased()) != nil {
      diagnostics.append(.lowercaseErrno(name, at: r.range))
      return true
    }
    let candidates = declared.indices.filter { declared[$0] }.map { script.socketNames[$0] }.sorted()
    diagnostics.append(
      .undeclaredSocket(name, at: r.range, suggestion: closestName(to: name, in: candidates, maxDistance: 2)))
    declared[Int(r.slot)] = true  // report each name once
    return false
  }

  private mutating func useHost(_ h: HostRef) {
    let i = Int(h.index)
    if i < hostDeclared.count && hostDeclared[i] { return }
    let name = script.hostNames[i]
    let candidates = hostDeclared.indices.filter { hostDeclared[$0] }.map { script.hostNames[$0] }
    diagnostics.append(
      .undeclaredHost(name, at: h.range, suggestion: closestName(to: name, in: candidates, maxDistance: 2)))
    hostDeclared[i] = true  // report each name once
  }

  private mutating func checkTopology(_ t: TopologyStatement) {
    switch t {
    case .host(let h, _):
      if hostDeclared[Int(h.index)] {
        diagnostics.append(
          .topology("host '\(script.hostNames[Int(h.index)])' is declared twice", at: h.range))
      }
      hostDeclared[Int(h.index)] = true
    case .link(let a, let b, let prefixes):
      useHost(a)
      useHost(b)
      if a.index == b.index {
        diagnostics.append(.topology("a link joins two different hosts", at: b.range))
        return
      }
      let pair = HostPair(a.index, b.index)
      if links[pair] != nil {
        diagnostics.append(
          .topology(
            "'\(script.hostNames[Int(a.index)])' and '\(script.hostNames[Int(b.index)])' are linked already",
            at: b.range, hint: "one link per pair of hosts; add a router host for a second path"))
      }
      links[pair] = prefixes
    case .linkState(let a, let b, _):
      useHost(a)
      useHost(b)
      requireLink(a, b)
    case .route(let h, let p, let target):
      useHost(h)
      if case .viaHost(let g) = target {
        useHost(g)
        guard let prefixes = requireLink(h, g) else { return }
        let v4: Bool
        if case .v4 = p { v4 = true } else { v4 = false }
        if !prefixes.contains(where: { if case .v4 = $0 { return v4 } else { return !v4 } }) {
          diagnostics.append(
            .topology(
              "the link to '\(script.hostNames[Int(g.index)])' has no \(v4 ? "IPv4" : "IPv6") prefix for this route",
              at: g.range))
        }
      }
    case .address(let h, let device, _, _):
      useHost(h)
      if case .link(let to) = device {
        useHost(to)
        requireLink(h, to)
      }
    case .firewall(let h, _, _, _), .sysctl(let h, _, _), .connectHook(let h, _):
      useHost(h)
    }
  }

  @discardableResult
  private mutating func requireLink(_ a: HostRef, _ b: HostRef) -> [IPPrefix]? {
    if let p = links[HostPair(a.index, b.index)] { return p }
    diagnostics.append(
      .topology(
        "there is no link between '\(script.hostNames[Int(a.index)])' and '\(script.hostNames[Int(b.index)])'",
        at: b.range,
        hint: "link \(script.hostNames[Int(a.index)]) \(script.hostNames[Int(b.index)]) 10.9.0.0/24"))
    return nil
  }

  private mutating func checkBlock(
    _ statements: [Statement], from blockStart: UInt32, outer: Statement? = nil
  ) {
    // Statements are read in place (by index), not copied one by one: a long file has millions.
    var previous = -1
    for i in statements.indices {
      switch statements[i].kind {
      case .sock(let r, .socket(_, _, let host?)):
        useHost(host)
        if host.index != HostRef.selfIndex {
          requirePrivileges(statements[i].range, "a socket on another host")
        }
        declared[Int(r.slot)] = true
      case .sock(let r, _): declared[Int(r.slot)] = true
      case .topology(let t):
        checkTopology(t)
        requirePrivileges(statements[i].range, "'\(t.keyword)'")
      case .bind(let r, _), .listen(let r, _), .set(let r, _), .get(let r, _), .getFlag(let r, _),
        .getNumber(let r, _),
        .poll(let r, _, _, _),
        .peer(let r),
        .local(let r), .shutdown(let r, _), .close(let r):
        use(r)
      case .connect(let r, .boundAddressOf(let other), _), .bindTo(let r, let other),
        .send(_, let r, _, .boundAddressOf(let other)?, _, _), .connect(let r, .withPortOf(_, let other), _),
        .send(_, let r, _, .withPortOf(_, let other)?, _, _), .bindPortOf(let r, _, let other):
        use(r)
        use(other)
      case .connect(let r, _, _), .send(_, let r, _, _, _, _), .receive(_, let r, _, _, _):
        use(r)
      case .pollSet(let targets, _, _):
        for t in targets { use(t.socket) }
      case .accept(let l, let into, let o):
        use(l)
        // In the background, the `wait` that collects the accept declares the name.
        if !o.background { declared[Int(into.slot)] = true }
      case .dup(let l, let into, _):
        use(l)
        declared[Int(into.slot)] = true
      case .socketPair(let a, let b, _, _):
        declared[Int(a.slot)] = true
        declared[Int(b.slot)] = true
      case .expect(let e):
        var miscased = false
        for r in e.sockets where use(r, inExpect: true) { miscased = true }
        let start = statements[i].range.start
        let from = previous >= 0 ? statements[previous].range.end : (outer?.range.end ?? blockStart)
        // An errno in the wrong case is one mistake: its expect is not checked as an address.
        if !miscased && !failedStarts.contains(where: { $0 >= from && $0 < start }) {
          // The previous statement is read in place; its keyword is spelled only for a message.
          if previous >= 0, statements[previous].kind.inBackground {
            let r = statements[i].range
            let name =
              statements[previous].kind.backgroundSocket.map { script.socketNames[Int($0.slot)] } ?? "NAME"
            diagnostics.append(
              .expectationMismatch(
                "'expect'", after: "\(statements[previous].kind.keyword) ... background",
                at: SourceRange(Int(r.start), Int(r.start) + 6),
                hint: "a call in the background gives its result at 'wait \(name)'"))
          } else if previous >= 0 {
            let kind = statements[previous].kind
            let shape: ResultShape
            if case .wait = kind { shape = waitShape } else { shape = kind.resultShape }
            checkExpectation(e, statements[i].range, after: shape) { kind.keyword }
            checkPolled(e, by: statements[previous].kind)
          } else if let outer {
            let shape: ResultShape
            if case .wait = outer.kind { shape = waitShape } else { shape = outer.kind.resultShape }
            checkExpectation(e, statements[i].range, after: shape) { outer.kind.keyword }
          } else {
            let r = statements[i].range
            diagnostics.append(.expectWithoutStatement(at: SourceRange(Int(r.start), Int(r.start) + 6)))
          }
        }
      case .repeat(_, let body):
        repeatDepth += 1
        checkBlock(body, from: statements[i].range.start)
        repeatDepth -= 1
      case .user:
        if droppedAt != nil {
          diagnostics.append(
            .invalidValue(
              "'user' after 'drop': the identity cannot change any more", at: statements[i].range,
              hint: "'drop' is for good; use 'user' before it"))
        }
      case .drop:
        let r = statements[i].range
        if repeatDepth > 0 {
          diagnostics.append(.invalidValue("'drop' cannot repeat: it happens once, for good", at: r))
        } else if droppedAt != nil {
          diagnostics.append(.invalidValue("the privileges are dropped already", at: r))
        }
        droppedAt = droppedAt ?? r
      case .landlock(let rules):
        for r in rules.sockets { use(r) }
        let r = statements[i].range
        if repeatDepth > 0 {
          diagnostics.append(
            .invalidValue("'landlock' cannot repeat: each one adds a layer, for good", at: r))
        }
        landlockLayers += 1
        if landlockLayers == 17 {
          diagnostics.append(.invalidValue("Linux stacks at most 16 Landlock layers", at: r))
        }
      case .wait(let r):
        use(r)
        if repeatDepth > 0 {
          diagnostics.append(.invalidValue("'wait' cannot be inside 'repeat'", at: statements[i].range))
        }
        if let b = background.removeValue(forKey: r.slot) {
          waitShape = b.shape
          if let into = b.acceptInto { declared[Int(into)] = true }
        } else {
          waitShape = .value
          noBackgroundCall(r)
        }
      case .signal(let r):
        use(r)
        if background[r.slot] == nil { noBackgroundCall(r) }
      case .sleep, .net, .file:
        break
      }
      if statements[i].kind.inBackground { startBackground(statements[i]) }
      // Nearly every script has no call in the background: then nothing can be busy.
      if !background.isEmpty { checkBusySockets(statements[i]) }
      previous = i
    }
  }

  /// A call that runs in the background: once per socket at a time, not inside `repeat`.
  private mutating func startBackground(_ st: Statement) {
    guard let s = st.kind.backgroundSocket else {
      diagnostics.append(
        .invalidValue("a poll of several descriptors cannot run in the background", at: st.range))
      return
    }
    let name = script.socketNames[Int(s.slot)]
    if repeatDepth > 0 {
      diagnostics.append(.invalidValue("a call in the background cannot be inside 'repeat'", at: st.range))
    }
    if background[s.slot] != nil {
      diagnostics.append(
        .invalidValue(
          "'\(name)' has a call in the background already", at: st.range, hint: "'wait \(name)' for it first")
      )
      return
    }
    var into: Int32?
    if case .accept(_, let i, _) = st.kind { into = i.slot }
    background[s.slot] = (st.kind.resultShape, into, st.range)
  }

  /// A socket with a call in the background is neither closed nor given to another socket
  /// until its `wait`: the call would go on with a descriptor that is gone (on Linux, a close
  /// does not even wake it).
  private mutating func checkBusySockets(_ st: Statement) {
    let names: [SocketRef]
    switch st.kind {
    case .close(let r): names = [r]
    case .sock(let r, _), .accept(_, let r, _), .dup(_, let r, _): names = [r]
    case .socketPair(let a, let b, _, _): names = [a, b]
    default: return
    }
    for r in names where background[r.slot] != nil {
      let name = script.socketNames[Int(r.slot)]
      diagnostics.append(
        .invalidValue(
          "'\(name)' has a call in the background", at: r.range,
          hint: "'wait \(name)' for it before closing or reusing the name"))
    }
  }

  private mutating func noBackgroundCall(_ r: SocketRef) {
    let name = script.socketNames[Int(r.slot)]
    diagnostics.append(
      .invalidValue(
        "no call of '\(name)' runs in the background", at: r.range,
        hint: "start one with 'background': connect \(name) l background"))
  }

  /// `what` needs privileges that a `drop` before it gave up.
  private mutating func requirePrivileges(_ r: SourceRange, _ what: String) {
    guard droppedAt != nil else { return }
    diagnostics.append(
      .invalidValue(
        "\(what) after 'drop' needs the privileges 'drop' gave up", at: r,
        hint: "make hosts, links and rules before 'drop'"))
  }

  /// Per-descriptor events name only descriptors the poll before looked at.
  private mutating func checkPolled(_ e: Expectation, by kind: StatementKind) {
    let polled: [Int32]
    switch kind {
    case .pollSet(let targets, _, _): polled = targets.map(\.socket.slot)
    case .poll(let r, _, _, _): polled = [r.slot]
    default: return
    }
    for group in e.descriptorEvents {
      for d in group where !polled.contains(e.sockets[d.socket].slot) {
        let ref = e.sockets[d.socket]
        diagnostics.append(
          .invalidValue(
            "'\(script.socketNames[Int(ref.slot)])' is not one of the descriptors the poll looked at",
            at: ref.range))
      }
    }
  }

  private mutating func checkExpectation(
    _ e: Expectation, _ range: SourceRange, after s: ResultShape, keyword previousKeyword: () -> String
  ) {
    if s == .none {
      let keyword = previousKeyword()
      let what = keyword == "expect" ? "a second 'expect'" : "'expect'"
      diagnostics.append(
        .expectationMismatch(
          what, after: keyword, at: SourceRange(Int(range.start), Int(range.start) + 6),
          hint: keyword == "expect"
            ? "join alternatives with 'or': expect EINPROGRESS or EALREADY"
            : "'\(keyword)' has no result to check"))
      return
    }
    let at = e.textRange
    func mismatch(_ what: String, _ hint: String? = nil) {
      diagnostics.append(.expectationMismatch(what, after: previousKeyword(), at: at, hint: hint))
    }
    if !e.events.isEmpty && s != .events {
      mismatch("poll events", "poll events describe the result of 'poll'")
    }
    if e.timeout && s != .events {
      mismatch(
        "'timeout'",
        previousKeyword() == "connect"
          ? "a connect that times out fails with ETIMEDOUT" : "'timeout' is a result of 'poll'")
    }
    if !e.data.isEmpty && s != .data {
      mismatch("bytes", "only 'recv', 'recvfrom' and 'read' give bytes")
    }
    if e.ok && (s == .events || s == .address) {
      mismatch("'ok'", s == .events ? "expect the events, or timeout" : "expect the address")
    }
    if !e.numbers.isEmpty && !(s == .descriptor || s == .value || s == .data) {
      mismatch(
        "a number",
        s == .socketError
          ? "SO_ERROR reads as ok or an errno: expect ok"
          : "only 'sock', 'accept', 'dup' and 'get' give a number")
    }
    if (e.on || e.off || !e.durations.isEmpty) && s != .value {
      mismatch(
        e.durations.isEmpty ? "'\(e.on ? "on" : "off")'" : "a duration",
        s == .socketError
          ? "SO_ERROR reads as ok or an errno: expect ok" : "only 'get' reads an option's state or duration")
    }
    // After a receive, a string is the bytes expected (it reads as a Unix path elsewhere).
    let strings = e.addresses.allSatisfy { if case .unix = $0 { return true } else { return false } }
    let addressSockets = e.sockets.count - e.descriptorEvents.reduce(0) { $0 + $1.count }
    if !(e.addresses.isEmpty && addressSockets == 0) && s != .address
      && !(s == .data && strings && addressSockets == 0)
    {
      mismatch("an address", "only 'peer' and 'local' give an address")
    }
    if !e.descriptorEvents.isEmpty && s != .events {
      mismatch("events of a descriptor", "only 'poll' gives events")
    }
  }
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
