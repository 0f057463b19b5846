// The syntax tree of a scenario: statements with their byte ranges, and the parsed script.
// The operands are in Operands.swift, `expect`'s alternatives in Expectation.swift.

package struct Statement: Sendable {
  package var kind: StatementKind
  /// From the keyword to the end of the last operand.
  package var range: SourceRange
  package init(_ kind: StatementKind, _ range: SourceRange) {
    self.kind = kind
    self.range = range
  }
}

/// One statement. The cases with the largest operands (connect, accept, set, poll, net) are
/// `indirect`, so that the enum stays at 24 bytes and every statement of a long scenario at 32
/// (it was 96); the cases most statements use (sock, bind, expect, close) are stored inline.
package enum StatementKind: Sendable {
  case sock(SocketRef, SocketSpec)
  case bind(SocketRef, SocketAddress)
  /// `bind s l`: bind to the address another socket is bound to (getsockname at run time).
  case bindTo(SocketRef, boundAddressOf: SocketRef)
  /// `bind s 0.0.0.0:l`: an address with the port another socket is bound to.
  indirect case bindPortOf(SocketRef, SocketAddress, portOf: SocketRef)
  case listen(SocketRef, backlog: Int32?)
  indirect case connect(SocketRef, ConnectTarget, CallOptions)
  indirect case accept(SocketRef, into: SocketRef, CallOptions)
  /// socketpair(2): two connected sockets of one kind, named in order.
  indirect case socketPair(SocketRef, SocketRef, SocketKind, nonblocking: Bool)
  /// dup(2) (`at` nil) or dup2(2) onto descriptor `at`: the same socket under a second name.
  indirect case dup(SocketRef, into: SocketRef, at: Int32?)
  indirect case set(SocketRef, Setting)
  case get(SocketRef, SocketOption)
  /// `get s opt LEVEL NAME`: an int option by its numbers.
  case getNumber(SocketRef, OptionNumber)
  /// fcntl(2) F_GETFL or F_GETFD: 1 when the flag is set.
  case getFlag(SocketRef, DescriptorFlag)
  indirect case poll(SocketRef, PollEvents, timeout: TimeSpan?, CallOptions)
  /// poll(2) on several descriptors at once.
  indirect case pollSet([PollTarget], timeout: TimeSpan?, CallOptions)
  case peer(SocketRef)
  case local(SocketRef)
  case shutdown(SocketRef, ShutdownHow)
  case close(SocketRef)
  case sleep(TimeSpan, CallOptions)
  /// send, sendto (with a target) or write: the bytes, the flags.
  indirect case send(DataCall, SocketRef, [UInt8], to: ConnectTarget?, MessageFlags, CallOptions)
  /// recv, recvfrom or read: at most `max` bytes.
  indirect case receive(DataCall, SocketRef, max: Int32, MessageFlags, CallOptions)
  case expect(Expectation)
  indirect case net(NetRule)
  indirect case topology(TopologyStatement)
  case user(UserIdentity)
  /// `drop USER`: the real, effective and saved user and group IDs, the groups and the
  /// capabilities become the user's, for the rest of the scenario.
  case drop(UserIdentity)
  /// `landlock ...`: one more Landlock layer, for the rest of the scenario.
  indirect case landlock(LandlockRules)
  /// `wait NAME`: the outcome of the call NAME runs in the background.
  case wait(SocketRef)
  /// `signal NAME`: a signal to the call NAME runs in the background (EINTR).
  case signal(SocketRef)
  /// mkdir, mkfile, chmod, chown, symlink, rm: the scenario's private directory.
  indirect case file(FileOperation)
  case `repeat`(count: Int, body: [Statement])

  /// The statement's keyword, as written.
  package var keyword: String {
    switch self {
    case .sock: return "sock"
    case .bind, .bindTo, .bindPortOf: return "bind"
    case .listen: return "listen"
    case .connect: return "connect"
    case .accept: return "accept"
    case .socketPair: return "socketpair"
    case .dup: return "dup"
    case .set: return "set"
    case .get, .getFlag, .getNumber: return "get"
    case .poll, .pollSet: return "poll"
    case .peer: return "peer"
    case .local: return "local"
    case .shutdown: return "shutdown"
    case .close: return "close"
    case .sleep: return "sleep"
    case .send(let c, _, _, _, _, _), .receive(let c, _, _, _, _): return c.rawValue
    case .expect: return "expect"
    case .net: return "net"
    case .topology(let t): return t.keyword
    case .user: return "user"
    case .drop: return "drop"
    case .landlock: return "landlock"
    case .wait: return "wait"
    case .signal: return "signal"
    case .file(let op): return op.keyword
    case .repeat: return "repeat"
    }
  }
}

/// What kind of result a statement gives, which decides what an `expect` after it may say.
package enum ResultShape: Sendable {
  /// 0 or an errno (bind, connect, ...).
  case status
  /// A descriptor or an errno (sock, accept).
  case descriptor
  /// An option's value or an errno (get).
  case value
  /// SO_ERROR: ok or the pending errno.
  case socketError
  /// poll's events, or timeout.
  case events
  /// getpeername / getsockname: an address or an errno.
  case address
  /// recv, recvfrom, read: the bytes received, or an errno.
  case data
  /// No result: an `expect` may not follow (expect, net, user, drop, landlock, repeat).
  case none
}

extension StatementKind {
  /// The one place that says what each statement gives back (the checker and the REPL ask).
  package var resultShape: ResultShape {
    switch self {
    case .sock, .accept, .dup: return .descriptor
    case .socketPair, .bind, .bindTo, .bindPortOf, .listen, .connect, .set, .shutdown, .close, .sleep, .file:
      return .status
    case .get(_, let o): return o == .SO_ERROR ? .socketError : .value
    case .getNumber: return .value
    case .getFlag: return .value
    case .send: return .value
    case .receive: return .data
    case .poll, .pollSet: return .events
    case .peer, .local: return .address
    case .expect, .net, .topology, .user, .drop, .landlock, .signal, .repeat: return .none
    // The shape of the call it collects: the checker knows which (`backgroundShape`).
    case .wait: return .value
    }
  }

  /// Whether an `expect` may follow the statement.
  package var hasResult: Bool { resultShape != .none && !inBackground }

  /// The call runs in the background (`... background`): its result comes at `wait`.
  package var inBackground: Bool {
    switch self {
    case .connect(_, _, let o), .accept(_, _, let o), .receive(_, _, _, _, let o),
      .send(_, _, _, _, _, let o),
      .poll(_, _, _, let o):
      return o.background
    default: return false
    }
  }

  /// The socket whose name a background call is collected by (`wait NAME`).
  package var backgroundSocket: SocketRef? {
    switch self {
    case .connect(let s, _, let o) where o.background: return s
    case .accept(let s, _, let o) where o.background: return s
    case .receive(_, let s, _, _, let o) where o.background: return s
    case .send(_, let s, _, _, _, let o) where o.background: return s
    case .poll(let s, _, _, let o) where o.background: return s
    default: return nil
    }
  }
}

/// A call under way in the background, as the checker tracks it: what `wait` will give, and the
/// name an accept declares then.
package struct BackgroundCallInfo: Hashable, Sendable {
  package var shape: ResultShape
  package var acceptInto: String?
  package init(shape: ResultShape, acceptInto: String?) {
    self.shape = shape
    self.acceptInto = acceptInto
  }
}

/// What a scenario says it needs, from `# needs:` lines in its header.
package struct Requirements: Hashable, Sendable {
  package var root = false
  package var linux = false
  package var isolate = false
  package var ipv6 = false
  /// nftables' `nft` command (firewall rules on the kernel).
  package var nft = false
  /// cgroup BPF connect hooks (`firewall HOST connect ...` on the kernel).
  package var bpf = false
  /// Landlock with TCP port rules and scopes (ABI 6, Linux 6.12 and later).
  package var landlock = false
  package init() {}
  package var isEmpty: Bool { !root && !linux && !isolate && !ipv6 && !nft && !bpf && !landlock }
  package var names: [String] {
    var n: [String] = []
    if root { n.append("root") }
    if linux { n.append("linux") }
    if isolate { n.append("isolate") }
    if ipv6 { n.append("ipv6") }
    if nft { n.append("nft") }
    if bpf { n.append("bpf") }
    if landlock { n.append("landlock") }
    return n
  }
}

/// A parsed scenario.
package struct Script: Sendable {
  package var source: SourceFile
  package var statements: [Statement]
  /// Socket names by slot.
  package var socketNames: [String]
  /// Host names by index: `self` first, then each `host` statement's.
  package var hostNames: [String] = ["self"]
  package var requirements: Requirements
  package var diagnostics: [Diagnostic]
  package var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  package init(
    source: SourceFile, statements: [Statement], socketNames: [String],
    requirements: Requirements = Requirements(),
    diagnostics: [Diagnostic] = []
  ) {
    self.source = source
    self.statements = statements
    self.socketNames = socketNames
    self.requirements = requirements
    self.diagnostics = diagnostics
  }

  /// Whether any statement is a topology statement (such a scenario needs its own network).
  package var hasTopology: Bool {
    func walk(_ s: [Statement]) -> Bool {
      s.contains {
        if case .topology = $0.kind { return true }
        if case .repeat(_, let body) = $0.kind { return walk(body) }
        if case .sock(_, .socket(_, _, let host?)) = $0.kind, host.index != HostRef.selfIndex { return true }
        return false
      }
    }
    return walk(statements)
  }

  /// Whether a statement changes its thread for good (`drop`, `landlock`): on the kernel such a
  /// scenario runs on a thread of its own, which ends with it.
  package var changesThreadForGood: Bool {
    func walk(_ s: [Statement]) -> Bool {
      s.contains {
        switch $0.kind {
        case .drop, .landlock: return true
        case .repeat(_, let body): return walk(body)
        default: return false
        }
      }
    }
    return walk(statements)
  }

  /// Every `net` rule, in order, wherever it appears.
  package var netRules: [(NetRule, SourceRange)] {
    var out: [(NetRule, SourceRange)] = []
    func walk(_ s: [Statement]) {
      for st in s {
        if case .net(let r) = st.kind { out.append((r, st.range)) }
        if case .repeat(_, let body) = st.kind { walk(body) }
      }
    }
    walk(statements)
    return out
  }
}
