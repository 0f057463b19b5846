// The syntax tree of a scenario. Values are already decoded (addresses parsed, durations in
// nanoseconds, errno names resolved), so the interpreter never looks at text again; every node
// keeps its byte range for diagnostics.

/// A span of time in nanoseconds. (Not `Swift.Duration`: this one is 8 bytes and prints as the
/// language writes it.)
package struct TimeSpan: Hashable, Comparable, Sendable {
  package var nanoseconds: Int64
  package init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
  package static func milliseconds(_ ms: Int64) -> TimeSpan { TimeSpan(nanoseconds: ms * 1_000_000) }
  package static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(nanoseconds: s * 1_000_000_000) }
  package static let zero = TimeSpan(nanoseconds: 0)
  package static func < (l: TimeSpan, r: TimeSpan) -> Bool { l.nanoseconds < r.nanoseconds }
  package static func + (l: TimeSpan, r: TimeSpan) -> TimeSpan { TimeSpan(nanoseconds: l.nanoseconds &+ r.nanoseconds) }
  package static func - (l: TimeSpan, r: TimeSpan) -> TimeSpan { TimeSpan(nanoseconds: l.nanoseconds &- r.nanoseconds) }
  package var seconds: Double { Double(nanoseconds) / 1e9 }

  /// The shortest exact spelling in the language's units: `250us`, `10ms`, `1.5s`, `2m`.
  package var description: String {
    let ns = nanoseconds
    if ns == 0 { return "0s" }
    if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
    if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
    if ns % 1_000_000 == 0 {
      return ns >= 1_000_000_000 ? trimmed(Double(ns) / 1e9) + "s" : "\(ns / 1_000_000)ms"
    }
    if ns % 1_000 == 0 { return ns >= 1_000_000 ? trimmed(Double(ns) / 1e6) + "ms" : "\(ns / 1_000)us" }
    return "\(ns)ns"
  }

  /// For reports: `3.004s`, `12.5ms`, `80us`.
  package var humanDescription: String {
    let ns = Double(nanoseconds)
    if nanoseconds >= 1_000_000_000 { return String(format3(ns / 1e9)) + "s" }
    if nanoseconds >= 1_000_000 { return String(format3(ns / 1e6)) + "ms" }
    return String(format3(ns / 1e3)) + "us"
  }
}

private func trimmed(_ d: Double) -> String {
  var s = String(d)
  if s.hasSuffix(".0") { s.removeLast(2) }
  return s
}

/// Three significant decimals without Foundation.
package func format3(_ d: Double) -> String {
  let scaled = (d * 1000).rounded()
  let whole = Int64(scaled) / 1000
  let frac = Int64(scaled) % 1000
  if frac == 0 { return "\(whole)" }
  var f = String(frac)
  while f.count < 3 { f = "0" + f }
  while f.hasSuffix("0") { f.removeLast() }
  return "\(whole).\(f)"
}

/// A use of a socket name. `slot` indexes `Script.socketNames`.
package struct SocketRef: Hashable, Sendable {
  package var slot: Int32
  package var range: SourceRange
  package init(slot: Int32, range: SourceRange) {
    self.slot = slot
    self.range = range
  }
}

package enum SocketSpec: Hashable, Sendable {
  /// socket(family, type [| SOCK_NONBLOCK], 0)
  case socket(SocketKind, nonblocking: Bool)
  /// A bare descriptor number, open or not: for EBADF.
  case descriptor(Int32)
  /// open(path, O_RDONLY): a descriptor that is not a socket, for ENOTSOCK.
  /// (Boxed: rare, and it keeps `sock` statements small.)
  indirect case file(String)
}

package enum ConnectTarget: Hashable, Sendable {
  case address(SocketAddress)
  /// The address another socket is bound to (getsockname at run time).
  case boundAddressOf(SocketRef)
  /// An address pointer outside the process's address space: EFAULT.
  case badPointer
}

/// Modifiers a blocking call accepts.
///
/// Stored packed (16 bytes instead of 32: optionals as flag bits), since every connect, accept,
/// poll and sleep statement holds one.
package struct CallOptions: Hashable, Sendable {
  private var interruptNanoseconds: Int64 = 0
  private var length: Int32 = 0
  private var bits: UInt8 = 0
  private static let nonblockBit: UInt8 = 1
  private static let interruptBit: UInt8 = 2
  private static let lengthBit: UInt8 = 4

  package init() {}

  /// connect: set O_NONBLOCK on the socket before the call. accept: give the accepted socket
  /// O_NONBLOCK (accept4's SOCK_NONBLOCK); the listener's own mode decides whether accept blocks.
  package var nonblock: Bool {
    get { bits & Self.nonblockBit != 0 }
    set { bits = newValue ? bits | Self.nonblockBit : bits & ~Self.nonblockBit }
  }
  /// Deliver a signal after this long, so the call returns EINTR.
  package var interrupt: TimeSpan? {
    get { bits & Self.interruptBit != 0 ? TimeSpan(nanoseconds: interruptNanoseconds) : nil }
    set {
      interruptNanoseconds = newValue?.nanoseconds ?? 0
      bits = newValue != nil ? bits | Self.interruptBit : bits & ~Self.interruptBit
    }
  }
  /// Pass this address length instead of the family's own (EINVAL on purpose).
  package var addressLength: Int32? {
    get { bits & Self.lengthBit != 0 ? length : nil }
    set {
      length = newValue ?? 0
      bits = newValue != nil ? bits | Self.lengthBit : bits & ~Self.lengthBit
    }
  }
}

package enum OptionValue: Hashable, Sendable {
  case integer(Int64)
  case duration(TimeSpan)
  /// SO_LINGER off.
  case off

  package var description: String {
    switch self {
    case .integer(let v): return "\(v)"
    case .duration(let d): return d.description
    case .off: return "off"
    }
  }
}

package enum Setting: Hashable, Sendable {
  case nonblocking(Bool)
  case option(SocketOption, OptionValue)
}

package enum RouteKind: String, CaseIterable, Sendable {
  /// Linux route type unreachable: EHOSTUNREACH.
  case unreachable
  /// Route type prohibit: EACCES.
  case prohibit
  /// Route type blackhole: EINVAL.
  case blackhole
  /// A route whose packets go nowhere and get no answer: SYNs are lost, so connects time out.
  case silent
}

package enum NetRule: Hashable, Sendable {
  case route(IPPrefix, RouteKind)
  /// A prefix whose every address is this host's (on the kernel: ip addr add PREFIX dev lo).
  case address(IPPrefix)
  /// The ephemeral port range (net.ipv4.ip_local_port_range).
  case ports(UInt16, UInt16)

  package var description: String {
    switch self {
    case .route(let p, let k): return "net route \(p.description) \(k.rawValue)"
    case .address(let p): return "net addr \(p.description)"
    case .ports(let lo, let hi): return "net ports \(lo) \(hi)"
    }
  }
}

package enum UserIdentity: Hashable, Sendable {
  case root
  case nobody
  case uid(UInt32)
}

/// What an `expect` accepts: any one of its alternatives.
///
/// The alternatives live out of line, copy-on-write, and the parser shares one copy among all
/// the `expect`s of a script that accept the same things (most say `ok` or one errno): a
/// statement holds a reference and its own text range, so the syntax tree stays small and
/// copying an `expect` costs one retain.
package struct Expectation: Hashable, Sendable {
  /// The alternatives as plain values.
  struct Alternatives: Hashable {
    var ok = false
    var timeout = false
    var errnos = ErrnoSet()
    var events: [PollEvents] = []
    var numbers: [Int64] = []
    var addresses: [SocketAddress] = []
    var sockets: [SocketRef] = []
    var within: TimeSpan?
  }

  final class Storage: @unchecked Sendable {
    /// Changed only through a uniquely referenced `Expectation` (see `unique()`), so neither
    /// sharing nor the skipped run-time exclusivity check can let two parties see a change.
    @exclusivity(unchecked) var a: Alternatives
    init(_ a: Alternatives) { self.a = a }
  }

  private var storage: Storage
  /// The alternatives as written, for "expected ..." messages.
  package var textRange: SourceRange

  package init(textRange: SourceRange) {
    storage = Storage(Alternatives())
    self.textRange = textRange
  }

  /// The parser's constructor: `storage` may be shared with other expectations.
  init(storage: Storage, textRange: SourceRange) {
    self.storage = storage
    self.textRange = textRange
  }

  private mutating func unique() {
    if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.a) }
  }

  package var ok: Bool {
    get { storage.a.ok }
    set {
      unique()
      storage.a.ok = newValue
    }
  }
  package var timeout: Bool {
    get { storage.a.timeout }
    set {
      unique()
      storage.a.timeout = newValue
    }
  }
  package var errnos: ErrnoSet {
    get { storage.a.errnos }
    _modify {
      unique()
      yield &storage.a.errnos
    }
  }
  /// Each entry is one alternative; all its events must be present in the result.
  package var events: [PollEvents] {
    get { storage.a.events }
    _modify {
      unique()
      yield &storage.a.events
    }
  }
  package var numbers: [Int64] {
    get { storage.a.numbers }
    _modify {
      unique()
      yield &storage.a.numbers
    }
  }
  package var addresses: [SocketAddress] {
    get { storage.a.addresses }
    _modify {
      unique()
      yield &storage.a.addresses
    }
  }
  /// Sockets whose bound address (getsockname) is expected, as in `peer c; expect l`.
  package var sockets: [SocketRef] {
    get { storage.a.sockets }
    _modify {
      unique()
      yield &storage.a.sockets
    }
  }
  /// The previous statement must have taken at most this long.
  package var within: TimeSpan? {
    get { storage.a.within }
    set {
      unique()
      storage.a.within = newValue
    }
  }

  package var isEmpty: Bool {
    let s = storage.a
    return !s.ok && !s.timeout && s.errnos.isEmpty && s.events.isEmpty && s.numbers.isEmpty && s.addresses.isEmpty
      && s.sockets.isEmpty
  }

  package static func == (l: Expectation, r: Expectation) -> Bool {
    l.textRange == r.textRange && (l.storage === r.storage || l.storage.a == r.storage.a)
  }

  package func hash(into h: inout Hasher) {
    h.combine(textRange)
    h.combine(storage.a)
  }
}

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
  case listen(SocketRef, backlog: Int32?)
  indirect case connect(SocketRef, ConnectTarget, CallOptions)
  indirect case accept(SocketRef, into: SocketRef, CallOptions)
  indirect case set(SocketRef, Setting)
  case get(SocketRef, SocketOption)
  indirect case poll(SocketRef, PollEvents, timeout: TimeSpan?, CallOptions)
  case peer(SocketRef)
  case local(SocketRef)
  case shutdown(SocketRef, ShutdownHow)
  case close(SocketRef)
  case sleep(TimeSpan, CallOptions)
  case expect(Expectation)
  indirect case net(NetRule)
  case user(UserIdentity)
  case `repeat`(count: Int, body: [Statement])

  /// The statement's keyword, as written.
  package var keyword: String {
    switch self {
    case .sock: return "sock"
    case .bind: return "bind"
    case .listen: return "listen"
    case .connect: return "connect"
    case .accept: return "accept"
    case .set: return "set"
    case .get: return "get"
    case .poll: return "poll"
    case .peer: return "peer"
    case .local: return "local"
    case .shutdown: return "shutdown"
    case .close: return "close"
    case .sleep: return "sleep"
    case .expect: return "expect"
    case .net: return "net"
    case .user: return "user"
    case .repeat: return "repeat"
    }
  }
}

/// What a scenario says it needs, from `# needs:` lines in its header.
package struct Requirements: Hashable, Sendable {
  package var root = false
  package var linux = false
  package var isolate = false
  package var ipv6 = false
  package init() {}
  package var isEmpty: Bool { !root && !linux && !isolate && !ipv6 }
  package var names: [String] {
    var n: [String] = []
    if root { n.append("root") }
    if linux { n.append("linux") }
    if isolate { n.append("isolate") }
    if ipv6 { n.append("ipv6") }
    return n
  }
}

/// A parsed scenario.
package struct Script: Sendable {
  package var source: SourceFile
  package var statements: [Statement]
  /// Socket names by slot.
  package var socketNames: [String]
  package var requirements: Requirements
  package var diagnostics: [Diagnostic]
  package var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

  package init(
    source: SourceFile, statements: [Statement], socketNames: [String], requirements: Requirements = Requirements(),
    diagnostics: [Diagnostic] = []
  ) {
    self.source = source
    self.statements = statements
    self.socketNames = socketNames
    self.requirements = requirements
    self.diagnostics = diagnostics
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
