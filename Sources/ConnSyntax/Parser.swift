// Recursive descent, one function per grammar rule with the rule quoted above it. The parser
// pulls tokens from the lexer one at a time (no token array), decodes values as it goes, and
// recovers at statement boundaries: after the first error in a statement it skips to the next
// `;` or newline, so each mistake is reported once and never cascades.
//
// Guards: every loop must consume a token or stop (checked), `repeat` nesting is capped at
// `maxNesting`, and a file stops collecting diagnostics after `maxDiagnostics`.

package struct Parser {
  /// Deepest `repeat` nesting accepted.
  package static let maxNesting = 32
  /// Diagnostics collected per file before giving up.
  package static let maxDiagnostics = 100
  /// Limits the checker enforces on values.
  package static let maxRepeat = 100_000_000
  package static let maxDuration = TimeSpan.seconds(3600)
  /// sun_path holds 107 bytes and a NUL. A relative path gets the private directory
  /// (`/tmp/conn-XXXXXX/`, 17 bytes) in front, and an abstract name a private prefix of at most
  /// 24 bytes: these limits keep what reaches the kernel whole.
  package static let maxRelativePath = 90
  package static let maxAbstractName = 80

  /// Parses and checks a scenario. Diagnostics are in `script.diagnostics`; the statements are
  /// only meaningful when there are no errors.
  package static func parse(_ source: SourceFile) -> Script {
    parse(source, context: ParseContext())
  }

  /// Parses a piece of a longer session (the REPL's line): names declared earlier count as
  /// declared, and a leading `expect` checks the previous piece's last statement.
  package static func parse(_ source: SourceFile, context: ParseContext) -> Script {
    var failedSlots = Set<Int32>()
    var failedStarts: [UInt32] = []
    var script = source.bytes.withUnsafeBufferPointer { buf -> Script in
      var p = ParserState(buf, source: source)
      let statements = p.parseScript()
      failedSlots = p.failedSlots
      failedStarts = p.failedStarts
      var diags = p.lexer.diagnostics + p.diagnostics
      diags.sort { $0.range.start < $1.range.start }
      return Script(
        source: source, statements: statements, socketNames: p.names.names,
        requirements: Requirements(), diagnostics: diags)
    }
    let (requirements, headerDiags) = parseHeader(source)
    script.requirements = requirements
    do {
      var checker = Checker(script: script)
      checker.predeclare(context.declaredSockets)
      checker.previousKind = context.previousStatement
      checker.failedSlots = failedSlots
      checker.failedStarts = failedStarts
      checker.run()
      script.diagnostics += headerDiags + checker.diagnostics
      script.diagnostics.sort { $0.range.start < $1.range.start }
    }
    if script.diagnostics.count > maxDiagnostics {
      let cut = script.diagnostics[maxDiagnostics].range
      script.diagnostics = Array(script.diagnostics.prefix(maxDiagnostics)) + [.tooManyErrors(at: cut)]
    }
    return script
  }

  /// `# needs: root linux isolate ipv6` lines among the comments before the first statement.
  package static func parseHeader(_ source: SourceFile) -> (Requirements, [Diagnostic]) {
    var req = Requirements()
    var diags: [Diagnostic] = []
    let b = source.bytes
    var i = 0
    while i < b.count {
      var e = i
      while e < b.count && b[e] != 0x0A { e += 1 }
      var s = i
      while s < e && (b[s] == 0x20 || b[s] == 0x09 || b[s] == 0x0D) { s += 1 }
      if s < e && b[s] != 0x23 { break }  // first statement: header over
      if s < e {
        // Work on bytes so that ranges stay byte offsets even with invalid UTF-8; drop a CR (CRLF).
        let end = b[e - 1] == 0x0D ? e - 1 : e
        var k = s + 1
        while k < end && b[k] == 0x20 { k += 1 }
        if end - k >= 6 && b[k..<(k + 6)].elementsEqual("needs:".utf8) {
          for word in b[(k + 6)..<end].split(omittingEmptySubsequences: true, whereSeparator: { $0 == 0x20 || $0 == 0x09 }) {
            let w = Substring(String(decoding: word, as: UTF8.self)).trimmingCharacters(in: ",")
            if w.isEmpty { continue }
            switch w {
            case "root": req.root = true
            case "linux": req.linux = true
            case "isolate": req.isolate = true
            case "ipv6": req.ipv6 = true
            default:
              diags.append(
                Diagnostic(
                  id: "header.unknown-need", "unknown requirement '\(w)'", at: SourceRange(word.startIndex, word.endIndex),
                  hint: "known: root, linux, isolate, ipv6"))
            }
          }
        }
      }
      i = e + 1
    }
    return (req, diags)
  }
}

/// What a session knew before the text being parsed.
package struct ParseContext: Sendable {
  /// Socket names declared earlier.
  package var declaredSockets: [String] = []
  /// The statement that ran last, for an `expect` at the start of the text.
  package var previousStatement: StatementKind?
  package init(declaredSockets: [String] = [], previousStatement: StatementKind? = nil) {
    self.declaredSockets = declaredSockets
    self.previousStatement = previousStatement
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> String {
    String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
  }
}

/// Interns socket names by their bytes; a slot number stands for a name from then on.
struct NameTable {
  var names: [String] = []
  private var keys: [(Int, Int)] = []  // (start, length) of the first spelling in the buffer
  private var slots = [Int32](repeating: -1, count: 64)
  /// The name interned last (statements in a row often name the same socket): where it was
  /// spelled, its length and its slot.
  private var lastStart = 0
  private var lastLength = -1
  private var lastSlot: Int32 = 0

  mutating func intern(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int32 {
    let base = buf.baseAddress! + start
    let n = end - start
    if n == lastLength && memEqual(buf.baseAddress! + lastStart, base, n) {
      lastStart = start
      return lastSlot
    }
    let slot = lookupOrAdd(buf, start, n)
    lastStart = start
    lastLength = n
    lastSlot = slot
    return slot
  }

  private mutating func lookupOrAdd(_ buf: UnsafeBufferPointer<UInt8>, _ start: Int, _ n: Int) -> Int32 {
    let base = buf.baseAddress! + start
    var i = ByteTable<Int>.hash(base, n) & (slots.count - 1)
    while true {
      let s = slots[i]
      if s < 0 { break }
      let (ks, kn) = keys[Int(s)]
      if kn == n && memEqual(buf.baseAddress! + ks, base, n) { return s }
      i = (i + 1) & (slots.count - 1)
    }
    let slot = Int32(names.count)
    names.append(String(decoding: UnsafeBufferPointer(start: base, count: n), as: UTF8.self))
    keys.append((start, n))
    slots[i] = slot
    if names.count * 2 > slots.count { rehash(buf) }
    return slot
  }

  private mutating func rehash(_ buf: UnsafeBufferPointer<UInt8>) {
    slots = [Int32](repeating: -1, count: slots.count * 2)
    for (idx, (ks, kn)) in keys.enumerated() {
      var i = ByteTable<Int>.hash(buf.baseAddress! + ks, kn) & (slots.count - 1)
      while slots[i] >= 0 { i = (i + 1) & (slots.count - 1) }
      slots[i] = Int32(idx)
    }
  }
}

enum StatementKeyword: CaseIterable {
  case sock, bind, listen, connect, accept, set, get, poll, peer, local, shutdown, close, sleep
  case expect, net, user, `repeat`
  static let table = ByteTable(allCases.map { (String(describing: $0), $0) })
  static let names = allCases.map { String(describing: $0) }

  /// The keyword spelled by `n` bytes at `p`: the bytes, read as one little-endian word, are
  /// compared with each keyword's (every keyword has at most 8 bytes), with no hashing.
  @inline(__always)
  static func match(_ p: UnsafePointer<UInt8>, _ n: Int) -> StatementKeyword? {
    if n < 3 || n > 8 { return nil }
    var w: UInt64 = 0
    for i in 0..<n { w |= UInt64(p[i]) << (8 * UInt64(i)) }
    switch w {
    case word("sock"): return .sock
    case word("bind"): return .bind
    case word("listen"): return .listen
    case word("connect"): return .connect
    case word("accept"): return .accept
    case word("set"): return .set
    case word("get"): return .get
    case word("poll"): return .poll
    case word("peer"): return .peer
    case word("local"): return .local
    case word("shutdown"): return .shutdown
    case word("close"): return .close
    case word("sleep"): return .sleep
    case word("expect"): return .expect
    case word("net"): return .net
    case word("user"): return .user
    case word("repeat"): return .repeat
    default: return nil
    }
  }

  @inline(__always)
  private static func word(_ s: StaticString) -> UInt64 {
    var w: UInt64 = 0
    let p = s.utf8Start
    for i in 0..<s.utf8CodeUnitCount { w |= UInt64(p[i]) << (8 * UInt64(i)) }
    return w
  }
}

/// The distinct `expect` alternatives of one parse, so that equal ones share one storage. The
/// usual ones (errnos, ok, timeout, poll events, within) are found by a packed key in a small
/// open-addressing table, without hashing arrays; the rest (numbers, addresses, sockets) in a
/// dictionary.
struct ExpectationTable {
  private struct Key: Equatable {
    var low: UInt64
    var high: UInt64
    var within: Int64
    /// ok, timeout, has-within, event count (3 bits), then up to 7 event sets of 8 bits.
    var misc: UInt64
  }
  private var keys: [Key] = []
  private var values: [Expectation.Storage?] = []
  private var count = 0
  private var others: [Expectation.Alternatives: Expectation.Storage] = [:]

  private static func key(_ a: Expectation.Alternatives) -> Key? {
    guard a.numbers.isEmpty, a.addresses.isEmpty, a.sockets.isEmpty, a.events.count <= 7 else { return nil }
    var misc: UInt64 = (a.ok ? 1 : 0) | (a.timeout ? 2 : 0) | (a.within != nil ? 4 : 0) | UInt64(a.events.count) << 3
    for (i, e) in a.events.enumerated() { misc |= UInt64(e.rawValue) << (8 + 8 * UInt64(i)) }
    return Key(low: a.errnos.low, high: a.errnos.high, within: a.within?.nanoseconds ?? 0, misc: misc)
  }

  private static func slot(_ k: Key, _ mask: Int) -> Int {
    var h = k.low &* 0x9E37_79B9_7F4A_7C15
    h ^= (k.high &+ 0x632B_E59B_D9B4_E019) &* 0xBF58_476D_1CE4_E5B9
    h ^= UInt64(bitPattern: k.within) &* 0x94D0_49BB_1331_11EB
    h ^= k.misc &* 0xD6E8_FEB8_6659_FD93
    h ^= h >> 29
    return Int(truncatingIfNeeded: h) & mask
  }

  /// The storage for these alternatives: an earlier equal one, or a new one.
  mutating func shared(_ a: Expectation.Alternatives) -> Expectation.Storage {
    guard let k = Self.key(a) else {
      if let s = others[a] { return s }
      let s = Expectation.Storage(a)
      others[a] = s
      return s
    }
    if keys.isEmpty {
      keys = [Key](repeating: Key(low: 0, high: 0, within: 0, misc: 0), count: 64)
      values = [Expectation.Storage?](repeating: nil, count: 64)
    }
    var i = Self.slot(k, keys.count - 1)
    while let s = values[i] {
      if keys[i] == k { return s }
      i = (i + 1) & (keys.count - 1)
    }
    let s = Expectation.Storage(a)
    keys[i] = k
    values[i] = s
    count += 1
    if count * 2 > keys.count { grow() }
    return s
  }

  private mutating func grow() {
    let oldKeys = keys
    let oldValues = values
    keys = [Key](repeating: Key(low: 0, high: 0, within: 0, misc: 0), count: oldKeys.count * 2)
    values = [Expectation.Storage?](repeating: nil, count: oldKeys.count * 2)
    for j in oldKeys.indices {
      guard let s = oldValues[j] else { continue }
      var i = Self.slot(oldKeys[j], keys.count - 1)
      while values[i] != nil { i = (i + 1) & (keys.count - 1) }
      keys[i] = oldKeys[j]
      values[i] = s
    }
  }
}

/// Thrown inside a statement to abandon it; the diagnostic is already recorded.
struct StatementError: Error {}

struct ParserState {
  let buf: UnsafeBufferPointer<UInt8>
  let source: SourceFile
  var lexer: Lexer
  var token: Token
  var diagnostics: [Diagnostic] = []
  var names = NameTable()
  var depth = 0
  /// Line of each open `repeat`, for "'}' expected (to close 'repeat' at line N)".
  var openBlocks: [UInt32] = []
  /// Socket slots named by the statements being parsed; those of statements that failed go to
  /// `failedSlots`, and the failed statements' starts to `failedStarts`, so that the checker does
  /// not report a second error (an undeclared name, a misplaced `expect`) for one mistake.
  var statementRefs: [Int32] = []
  var failedSlots = Set<Int32>()
  var failedStarts: [UInt32] = []
  /// The distinct expectations seen so far, to share.
  var expectations = ExpectationTable()
  /// The vocabulary tables, fetched once (each global's lazy-initialisation check is not free
  /// on every lookup).
  let errnoNames = Errno.byName
  let eventNames = PollEvents.byName
  let optionNames = SocketOption.byName

  init(_ buf: UnsafeBufferPointer<UInt8>, source: SourceFile) {
    self.buf = buf
    self.source = source
    lexer = Lexer(buf)
    token = Token(kind: .eof, start: 0, end: 0)
    advance()
  }

  // MARK: - Token helpers

  @inline(__always) mutating func advance() { token = lexer.next() }

  var tooManyErrors: Bool { diagnostics.count + lexer.diagnostics.count >= Parser.maxDiagnostics }

  mutating func error(_ d: Diagnostic) -> StatementError {
    if diagnostics.count < Parser.maxDiagnostics { diagnostics.append(d) }
    return StatementError()
  }

  /// An error at the current token, unless the lexer already reported it (no cascades).
  mutating func unexpected(_ what: String, hint: String? = nil) -> StatementError {
    if token.kind == .invalid { return StatementError() }
    return error(.expected(what, found: describe(token), at: token.range, hint: hint))
  }

  func describe(_ t: Token) -> String {
    switch t.kind {
    case .identifier, .integer, .duration, .ipv4, .ipv6, .prefix, .abstractName:
      return "'\(lexer.text(Int(t.start), Int(t.end)))'"
    case .string: return "a string"
    default: return t.kind.description
    }
  }

  @inline(__always) func isWord(_ kw: StaticString) -> Bool {
    guard token.kind == .identifier, Int(token.end - token.start) == kw.utf8CodeUnitCount else { return false }
    return memEqual(buf.baseAddress! + Int(token.start), kw.utf8Start, kw.utf8CodeUnitCount)
  }

  var atStatementEnd: Bool {
    switch token.kind {
    case .newline, .semicolon, .eof, .rightBrace: return true
    default: return false
    }
  }

  var tokenText: String { lexer.text(Int(token.start), Int(token.end)) }

  // MARK: - Script and blocks

  /// script -> { statement (NEWLINE | ';') }
  mutating func parseScript() -> [Statement] {
    // A statement ends at a newline or ';', so their number bounds the statement count: with
    // room for all of them up front, a long file's list never grows by copying (which would
    // need the old and the new list at once).
    return parseBlock(reserving: statementEndCount(buf) + 1)
  }

  /// block -> { [statement] (NEWLINE | ';') } up to '}' (not consumed) or end of file
  mutating func parseBlock(reserving capacity: Int = 0) -> [Statement] {
    var statements: [Statement] = []
    if capacity > 0 { statements.reserveCapacity(capacity) }
    while true {
      while token.kind == .newline || token.kind == .semicolon { advance() }
      if token.kind == .eof { return statements }
      if token.kind == .rightBrace {
        if depth > 0 { return statements }
        _ = error(.strayCloseBrace(at: token.range))
        advance()
        continue
      }
      if tooManyErrors {
        // Stop parsing; skip to the end in linear time without more diagnostics.
        diagnostics.append(.tooManyErrors(at: token.range))
        while token.kind != .eof { advance() }
        return statements
      }
      let before = token.start
      let mark = statementRefs.count
      do {
        // Appended straight away (a statement is moved into the list, not copied), and taken
        // back out if something follows it on the line.
        statements.append(try parseStatement())
        if !atStatementEnd {
          let keyword = statements.removeLast().kind.keyword
          throw unexpected("';' or end of line after '\(keyword)' statement")
        }
        // Nested statements' names stay until the outermost statement is known to be good.
        // (Only the part from `mark` on is ever read, so the list is emptied only now and then.)
        if depth == 0 && statementRefs.count > 4096 { statementRefs.removeAll(keepingCapacity: true) }
      } catch {
        synchronize()
        failedSlots.formUnion(statementRefs[mark...])
        statementRefs.removeSubrange(mark...)
        failedStarts.append(before)
      }
      // Progress guard: every iteration consumes at least one token.
      if token.start == before && token.kind != .eof && token.kind != .rightBrace
        && token.kind != .newline && token.kind != .semicolon
      {
        advance()
      }
    }
  }

  /// Skips the rest of a bad statement: to the next `;`, newline, `}` or end of file. A `{` on
  /// the way opens a block whose body is parsed (and dropped) so that its `}` is not stray.
  mutating func synchronize() {
    while true {
      switch token.kind {
      case .newline, .semicolon, .eof, .rightBrace: return
      case .leftBrace:
        let open = token
        advance()
        if depth >= Parser.maxNesting {
          _ = error(.nestingTooDeep(at: open.range))
          skipToEndOfNesting()
          return
        }
        depth += 1
        openBlocks.append(open.start)
        _ = parseBlock()
        depth -= 1
        openBlocks.removeLast()
        if token.kind == .rightBrace { advance() } else { _ = error(.unclosedBlock(openedAt: line(open.start), at: token.range, opener: "{")) }
      default: advance()
      }
    }
  }

  /// Past the nesting limit: skip balanced braces iteratively (never recursively), so a million
  /// `{` cannot overflow the stack.
  mutating func skipToEndOfNesting() {
    var level = 1
    while token.kind != .eof {
      if token.kind == .leftBrace { level += 1 }
      if token.kind == .rightBrace {
        level -= 1
        if level == 0 {
          advance()
          return
        }
      }
      advance()
    }
  }

  func line(_ offset: UInt32) -> Int { source.location(of: offset).line }

  // MARK: - Statements

  mutating func parseStatement() throws(StatementError) -> Statement {
    guard token.kind == .identifier else {
      if token.kind == .leftBrace {
        throw error(.expected("a statement", found: "'{'", at: token.range, hint: "blocks belong to 'repeat N { ... }'"))
      }
      throw unexpected("a statement")
    }
    guard let kw = StatementKeyword.match(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
    else {
      let word = tokenText
      throw error(.unknownStatement(word, at: token.range, suggestion: closestName(to: word, in: StatementKeyword.names)))
    }
    let start = token.start
    advance()
    let kind: StatementKind
    switch kw {
    case .sock: kind = try parseSock()
    case .bind: kind = try parseBind()
    case .listen: kind = try parseListen()
    case .connect: kind = try parseConnect()
    case .accept: kind = try parseAccept()
    case .set: kind = try parseSet()
    case .get: kind = try parseGet()
    case .poll: kind = try parsePoll()
    case .peer: kind = .peer(try parseSocketRef())
    case .local: kind = .local(try parseSocketRef())
    case .shutdown: kind = try parseShutdown()
    case .close: kind = .close(try parseSocketRef())
    case .sleep: kind = .sleep(try parseDuration("a duration such as 10ms"), CallOptions())
    case .expect: kind = try parseExpect()
    case .net: kind = try parseNet()
    case .user: kind = try parseUser()
    case .repeat: return try parseRepeat(start)
    }
    return Statement(kind, SourceRange(Int(start), Int(lastConsumedEnd)))
  }

  var lastConsumedEnd: UInt32 = 0

  /// NAME
  mutating func parseSocketRef() throws(StatementError) -> SocketRef {
    guard token.kind == .identifier else { throw unexpected("a socket name") }
    let r = SocketRef(slot: names.intern(buf, Int(token.start), Int(token.end)), range: token.range)
    statementRefs.append(r.slot)
    consume()
    return r
  }

  @inline(__always) mutating func consume() {
    lastConsumedEnd = token.end
    advance()
  }

  /// sock NAME '=' ( TYPE FAMILY ['nonblock'] | 'fd' INT | 'file' STRING )
  mutating func parseSock() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    guard token.kind == .equals else {
      throw unexpected("'='", hint: "write: sock \(source.text(name.range)) = stream inet")
    }
    consume()
    if isWord("fd") {
      consume()
      let n = try parseInteger("a descriptor number", max: Int64(Int32.max))
      return .sock(name, .descriptor(Int32(n)))
    }
    if isWord("file") {
      consume()
      guard token.kind == .string else { throw unexpected("a quoted path such as \"/dev/null\"") }
      let path = try decodeString()
      return .sock(name, .file(path))
    }
    let type: SocketType
    if isWord("stream") { type = .stream } else if isWord("dgram") { type = .dgram } else if isWord("seqpacket") {
      type = .seqpacket
    } else {
      throw unexpected("a socket type (stream, dgram, seqpacket), 'fd N' or 'file PATH'")
    }
    consume()
    let family: AddressFamily
    if isWord("inet") { family = .inet } else if isWord("inet6") { family = .inet6 } else if isWord("unix") {
      family = .unix
    } else {
      throw unexpected("an address family (inet, inet6, unix)")
    }
    consume()
    var nonblock = false
    if isWord("nonblock") {
      nonblock = true
      consume()
    }
    return .sock(name, .socket(SocketKind(type, family), nonblocking: nonblock))
  }

  /// bind NAME ADDRESS
  mutating func parseBind() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let addr = try parseAddress(allowUnspec: true)
    return .bind(name, addr)
  }

  /// listen NAME ['backlog' INT]
  mutating func parseListen() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    var backlog: Int32?
    if isWord("backlog") {
      consume()
      backlog = Int32(try parseInteger("a backlog length", max: 65535))
    }
    return .listen(name, backlog: backlog)
  }

  /// connect NAME TARGET { 'nonblock' | 'interrupt' DUR | 'len' INT }
  /// TARGET -> ADDRESS | NAME | 'unspec' | 'badptr'
  mutating func parseConnect() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let target: ConnectTarget
    if token.kind == .identifier {
      if isWord("badptr") {
        consume()
        target = .badPointer
      } else if isWord("unspec") {
        consume()
        target = .address(.unspec)
      } else if isWord("nonblock") || isWord("interrupt") || isWord("len") {
        throw unexpected("an address or a socket name before '\(tokenText)'")
      } else {
        target = .boundAddressOf(try parseSocketRef())
      }
    } else {
      target = .address(try parseAddress(allowUnspec: true))
    }
    let options = try parseCallOptions(allowed: CallOption.nonblock | CallOption.interrupt | CallOption.length)
    return .connect(name, target, options)
  }

  /// Call modifiers as bits (no Set allocation on the hot path).
  enum CallOption {
    static let nonblock: UInt8 = 1
    static let interrupt: UInt8 = 2
    static let length: UInt8 = 4
  }

  /// { 'nonblock' | 'interrupt' DUR | 'len' INT }, each at most once.
  mutating func parseCallOptions(allowed: UInt8) throws(StatementError) -> CallOptions {
    var o = CallOptions()
    var seen: UInt8 = 0
    while token.kind == .identifier {
      let which: UInt8
      if isWord("nonblock") { which = CallOption.nonblock } else if isWord("interrupt") { which = CallOption.interrupt } else if isWord("len") {
        which = CallOption.length
      } else {
        break
      }
      guard allowed & which != 0 else { throw unexpected("end of statement") }
      if seen & which != 0 {
        throw error(.invalidValue("'\(tokenText)' given twice", at: token.range))
      }
      seen |= which
      consume()
      switch which {
      case CallOption.nonblock: o.nonblock = true
      case CallOption.interrupt: o.interrupt = try parseDuration("a duration after 'interrupt', such as 100ms")
      default: o.addressLength = Int32(try parseInteger("an address length in bytes", max: 4096))
      }
    }
    return o
  }

  /// accept NAME 'as' NAME { 'nonblock' | 'interrupt' DUR }
  mutating func parseAccept() throws(StatementError) -> StatementKind {
    let listener = try parseSocketRef()
    guard isWord("as") else { throw unexpected("'as' and a name for the accepted socket", hint: "accept l as c") }
    consume()
    let into = try parseSocketRef()
    let o = try parseCallOptions(allowed: CallOption.nonblock | CallOption.interrupt)
    return .accept(listener, into: into, o)
  }

  /// set NAME ( 'nonblock' | 'block' | OPTION VALUE )   VALUE -> INT | DUR | 'on' | 'off'
  mutating func parseSet() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    if isWord("nonblock") {
      consume()
      return .set(name, .nonblocking(true))
    }
    if isWord("block") {
      consume()
      return .set(name, .nonblocking(false))
    }
    let (option, optRange) = try parseOption()
    let value: OptionValue
    let valueRange = token.range
    switch token.kind {
    case .integer:
      value = .integer(try parseInteger("a value", max: Int64(Int32.max)))
    case .duration:
      value = .duration(try parseDuration("a duration"))
    case .identifier where isWord("on"):
      consume()
      value = .integer(1)
    case .identifier where isWord("off"):
      consume()
      value = option == .SO_LINGER ? .off : .integer(0)
    default:
      throw unexpected("a value for \(option.rawValue)")
    }
    if option.isReadOnly {
      throw error(.invalidValue("\(option.rawValue) can only be read (use: get \(source.text(name.range)) \(option.rawValue))", at: optRange))
    }
    switch (option.valueKind, value) {
    case (.duration, .integer):
      throw error(.invalidValue("\(option.rawValue) takes a duration", at: valueRange, hint: "for example: set \(source.text(name.range)) \(option.rawValue) 100ms"))
    case (.integer, .duration), (.boolean, .duration):
      throw error(.invalidValue("\(option.rawValue) takes a number, not a duration", at: valueRange))
    case (.integer, .off), (.boolean, .off): break
    default: break
    }
    return .set(name, .option(option, value))
  }

  /// OPTION, an SO_/TCP_/IP_ name
  mutating func parseOption() throws(StatementError) -> (SocketOption, SourceRange) {
    guard token.kind == .identifier else { throw unexpected("a socket option such as SO_ERROR") }
    let r = token.range
    guard let o = optionNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start)) else {
      let w = tokenText
      throw error(.unknownOption(w, at: r, suggestion: closestName(to: w, in: SocketOption.allCases.map(\.rawValue))))
    }
    consume()
    return (o, r)
  }

  /// get NAME OPTION
  mutating func parseGet() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let (o, _) = try parseOption()
    return .get(name, o)
  }

  /// poll NAME EVENT {EVENT} ['timeout' DUR] ['interrupt' DUR]
  mutating func parsePoll() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    var events = PollEvents()
    while token.kind == .identifier, let e = eventNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start)) {
      events.insert(e)
      consume()
    }
    if events.isEmpty { throw unexpected("poll events (readable, writable, ...)") }
    var timeout: TimeSpan?
    if isWord("timeout") {
      consume()
      timeout = try parseDuration("a duration after 'timeout', such as 1s")
    }
    let o = try parseCallOptions(allowed: CallOption.interrupt)
    return .poll(name, events, timeout: timeout, o)
  }

  /// shutdown NAME ('read' | 'write' | 'both')
  mutating func parseShutdown() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let how: ShutdownHow
    if isWord("read") { how = .read } else if isWord("write") { how = .write } else if isWord("both") { how = .both } else {
      throw unexpected("'read', 'write' or 'both'")
    }
    consume()
    return .shutdown(name, how)
  }

  /// expect ALTERNATIVE { 'or' ALTERNATIVE } ['within' DUR]
  /// ALTERNATIVE -> 'ok' | 'timeout' | ERRNO | EVENT {EVENT} | INT | ADDRESS | 'unnamed'
  ///
  /// The alternatives are collected in a scratch storage, then shared with every earlier
  /// `expect` that accepts the same (see `Expectation`).
  mutating func parseExpect() throws(StatementError) -> StatementKind {
    let textStart = token.start
    var e = Expectation.Alternatives()
    var textEnd = token.end
    while true {
      try parseAlternative(&e)
      textEnd = lastConsumedEnd
      guard isWord("or") else { break }
      consume()
    }
    let textRange = SourceRange(Int(textStart), Int(textEnd))
    if isWord("within") {
      consume()
      e.within = try parseDuration("a duration after 'within', such as 4s")
    }
    return .expect(Expectation(storage: expectations.shared(e), textRange: textRange))
  }

  mutating func parseAlternative(_ e: inout Expectation.Alternatives) throws(StatementError) {
    let r = token.range
    switch token.kind {
    case .identifier:
      let p = buf.baseAddress! + Int(token.start)
      let n = Int(token.end - token.start)
      if isWord("ok") {
        consume()
        e.ok = true
        return
      }
      if isWord("timeout") {
        consume()
        e.timeout = true
        return
      }
      if isWord("unnamed") {
        consume()
        e.addresses.append(.unix(""))
        return
      }
      if isWord("unspec") {
        consume()
        e.addresses.append(.unspec)
        return
      }
      if let errno = errnoNames.lookup(p, n) {
        consume()
        if !e.errnos.insert(errno) { _ = error(.duplicateExpectation(at: r)) }
        return
      }
      if eventNames.lookup(p, n) != nil {
        var ev = PollEvents()
        while token.kind == .identifier, let x = eventNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start)) {
          ev.insert(x)
          consume()
        }
        e.events.append(ev)
        return
      }
      let w = tokenText
      if n > 1 && p[0] == UInt8(ascii: "E") && w.allSatisfy({ $0.isUppercase || $0.isNumber }) {
        throw error(.unknownErrno(w, at: r, suggestion: closestName(to: w, in: Errno.allCases.map(\.name))))
      }
      let words = ["ok", "timeout", "unnamed", "unspec"] + PollEvents.names.map(\.0)
      if let near = closestName(to: w, in: words, maxDistance: 2) {
        throw error(
          .expected(
            "an outcome (ok, an errno name, poll events, timeout, a number or an address)", found: "'\(w)'", at: r,
            hint: "did you mean '\(near)'?"))
      }
      // Any other name is a socket: its bound address (after peer/local).
      e.sockets.append(try parseSocketRef())
    case .integer:
      e.numbers.append(try parseInteger("a number", max: Int64(Int32.max)))
    case .ipv4, .ipv6, .string, .abstractName:
      e.addresses.append(try parseAddress(allowUnspec: false))
    default:
      throw unexpected("an outcome after 'expect' (ok, an errno name, poll events, timeout, a number or an address)")
    }
  }

  /// net 'route' PREFIX KIND | net 'addr' PREFIX | net 'ports' INT INT
  mutating func parseNet() throws(StatementError) -> StatementKind {
    if isWord("route") {
      consume()
      let prefixRange = token.range
      let p = try parsePrefix()
      // The kernel refuses a route whose prefix has host bits set ("Invalid prefix").
      if p != p.networkOnly { throw error(.hostBitsSet(p, at: prefixRange)) }
      let kind: RouteKind
      if isWord("unreachable") { kind = .unreachable } else if isWord("prohibit") { kind = .prohibit } else if isWord("blackhole") {
        kind = .blackhole
      } else if isWord("silent") { kind = .silent } else {
        throw unexpected("a route type: unreachable, prohibit, blackhole or silent")
      }
      consume()
      return .net(.route(p, kind))
    }
    if isWord("addr") {
      consume()
      return .net(.address(try parsePrefix()))
    }
    if isWord("ports") {
      consume()
      let lo = try parseInteger("the first port of the ephemeral range", max: 65535)
      let hiRange = token.range
      let hi = try parseInteger("the last port of the ephemeral range", max: 65535)
      if lo < 1 || hi < lo {
        throw error(.outOfRange("ephemeral port range \(lo)-\(hi) is empty or starts at 0", at: hiRange))
      }
      return .net(.ports(UInt16(lo), UInt16(hi)))
    }
    throw unexpected("'route', 'addr' or 'ports' after 'net'")
  }

  /// user ('root' | 'nobody' | INT)
  mutating func parseUser() throws(StatementError) -> StatementKind {
    if isWord("root") {
      consume()
      return .user(.root)
    }
    if isWord("nobody") {
      consume()
      return .user(.nobody)
    }
    if token.kind == .integer { return .user(.uid(UInt32(try parseInteger("a user id", max: 65535 * 65536)))) }
    throw unexpected("'root', 'nobody' or a numeric user id")
  }

  /// repeat INT '{' block '}'
  mutating func parseRepeat(_ start: UInt32) throws(StatementError) -> Statement {
    let countRange = token.range
    let count = try parseInteger("a repeat count", max: Int64(Parser.maxRepeat))
    guard token.kind == .leftBrace else { throw unexpected("'{' after the repeat count", hint: "repeat \(count) { ... }") }
    let open = token
    advance()
    if depth >= Parser.maxNesting {
      _ = error(.nestingTooDeep(at: open.range))
      skipToEndOfNesting()
      throw StatementError()
    }
    depth += 1
    openBlocks.append(start)
    // Room for a typical body at once, rather than growing it 1, 2, 4.
    let body = parseBlock(reserving: 4)
    depth -= 1
    openBlocks.removeLast()
    guard token.kind == .rightBrace else {
      throw error(.unclosedBlock(openedAt: line(start), at: token.range))
    }
    consume()
    _ = countRange
    return Statement(.repeat(count: Int(count), body: body), SourceRange(Int(start), Int(lastConsumedEnd)))
  }

  // MARK: - Values

  /// INT, decimal, no sign.
  mutating func parseInteger(_ what: String, max: Int64) throws(StatementError) -> Int64 {
    guard token.kind == .integer else { throw unexpected(what) }
    var v: Int64 = 0
    for i in Int(token.start)..<Int(token.end) {
      v = v &* 10 &+ Int64(buf[i] - 0x30)
      if v > max || v < 0 {
        throw error(.outOfRange("\(tokenText) is out of range (0 to \(max))", at: token.range))
      }
    }
    consume()
    return v
  }

  /// DUR: digits [. digits] unit, unit one of ns us ms s m. At most one hour.
  mutating func parseDuration(_ what: String) throws(StatementError) -> TimeSpan {
    guard token.kind == .duration else {
      if token.kind == .integer {
        throw error(.expected(what, found: "'\(tokenText)'", at: token.range, hint: "add a unit: \(tokenText)ms or \(tokenText)s"))
      }
      throw unexpected(what)
    }
    var i = Int(token.start)
    let e = Int(token.end)
    var whole: Int64 = 0
    var frac: Int64 = 0
    var fracDigits = 0
    var overflow = false
    while i < e, buf[i] >= 0x30, buf[i] <= 0x39 {
      whole = whole &* 10 &+ Int64(buf[i] - 0x30)
      if whole > 1_000_000_000_000 { overflow = true }
      i += 1
    }
    if i < e && buf[i] == 0x2E {
      i += 1
      while i < e, buf[i] >= 0x30, buf[i] <= 0x39 {
        if fracDigits < 9 {
          frac = frac * 10 + Int64(buf[i] - 0x30)
          fracDigits += 1
        }
        i += 1
      }
    }
    let unit: Int64
    switch e - i {
    case 1: unit = buf[i] == 0x73 ? 1_000_000_000 : 60_000_000_000
    default:
      switch buf[i] {
      case 0x6E: unit = 1
      case 0x75: unit = 1_000
      default: unit = 1_000_000
      }
    }
    var fracNs: Int64 = 0
    if fracDigits > 0 {
      var scale: Int64 = 1
      for _ in 0..<fracDigits { scale *= 10 }
      // frac/scale of a unit, rounded to the nanosecond. (frac * unit overflows for minutes, whose
      // unit is a multiple of every scale.)
      fracNs = unit % scale == 0 ? frac * (unit / scale) : (frac * unit + scale / 2) / scale
    }
    let (mul, o1) = whole.multipliedReportingOverflow(by: unit)
    let ns = mul &+ fracNs
    if overflow || o1 || ns > Parser.maxDuration.nanoseconds {
      throw error(.outOfRange("duration \(tokenText) is out of range (at most 1 hour)", at: token.range))
    }
    consume()
    return TimeSpan(nanoseconds: ns)
  }

  /// ADDRESS -> IPV4:PORT | [IPV6(%SCOPE)]:PORT | STRING | @NAME | 'unspec'
  mutating func parseAddress(allowUnspec: Bool) throws(StatementError) -> SocketAddress {
    let r = token.range
    switch token.kind {
    case .ipv4:
      let s = Int(token.start)
      let e = Int(token.end)
      var colon = s
      while colon < e && buf[colon] != 0x3A { colon += 1 }
      guard let a = IPv4Address.parse(UnsafeBufferPointer(rebasing: buf[s..<colon])) else {
        throw error(.malformedAddress("'\(lexer.text(s, colon))' is not an IPv4 address (four numbers 0-255)", at: SourceRange(s, colon)))
      }
      guard colon < e else {
        throw error(.malformedAddress("\(lexer.text(s, e)) has no port", at: r).withHint("write \(lexer.text(s, e)):80"))
      }
      let port = try parsePort(colon + 1, e)
      consume()
      return .inet(a, port: port)
    case .ipv6:
      let s = Int(token.start)
      let e = Int(token.end)
      var close = s
      while close < e && buf[close] != 0x5D { close += 1 }
      var addrEnd = close
      var scope: String?
      var pct = s + 1
      while pct < close && buf[pct] != 0x25 { pct += 1 }
      if pct < close {
        addrEnd = pct
        scope = lexer.text(pct + 1, close)
        if scope!.isEmpty || !scope!.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }) {
          throw error(.malformedAddress("'\(scope!)' is not an interface name or index", at: SourceRange(pct + 1, close)))
        }
      }
      guard let a = IPv6Address.parse(UnsafeBufferPointer(rebasing: buf[(s + 1)..<addrEnd])) else {
        throw error(.malformedAddress("'\(lexer.text(s + 1, addrEnd))' is not an IPv6 address", at: SourceRange(s + 1, addrEnd)))
      }
      guard close + 1 < e, buf[close + 1] == 0x3A else {
        throw error(.malformedAddress("\(lexer.text(s, e)) has no port", at: r).withHint("write \(lexer.text(s, close + 1)):80"))
      }
      let port = try parsePort(close + 2, e)
      consume()
      return .inet6(a, port: port, scope: scope)
    case .string:
      let path = try decodeString()
      if path.utf8.count > 107 {
        throw error(.malformedAddress("Unix socket path is \(path.utf8.count) bytes; sun_path holds at most 107", at: r))
      }
      if path.isEmpty {
        throw error(.malformedAddress("empty Unix socket path", at: r))
      }
      if !path.hasPrefix("/") && path.utf8.count > Parser.maxRelativePath {
        throw error(
          .malformedAddress(
            "relative Unix socket path is \(path.utf8.count) bytes; conn puts it in the scenario's private directory, which leaves room for \(Parser.maxRelativePath)",
            at: r))
      }
      return .unix(path)
    case .abstractName:
      let name = lexer.text(Int(token.start) + 1, Int(token.end))
      if Int(token.end - token.start) - 1 > Parser.maxAbstractName {
        throw error(
          .malformedAddress(
            "abstract name is longer than \(Parser.maxAbstractName) bytes (conn prefixes abstract names to keep scenarios apart)", at: r))
      }
      consume()
      return .abstract(name)
    case .identifier where isWord("unspec") && allowUnspec:
      consume()
      return .unspec
    case .integer:
      throw unexpected("an address", hint: "write 127.0.0.1:\(tokenText)")
    default:
      throw unexpected("an address (127.0.0.1:80, [::1]:80, \"path\", @name)")
    }
  }

  mutating func parsePort(_ s: Int, _ e: Int) throws(StatementError) -> UInt16 {
    if s >= e { throw error(.malformedAddress("missing port number after ':'", at: SourceRange(s - 1, e))) }
    var v = 0
    for i in s..<e {
      let c = buf[i]
      guard c >= 0x30 && c <= 0x39 else {
        throw error(.malformedAddress("'\(lexer.text(s, e))' is not a port number", at: SourceRange(s, e)))
      }
      v = v * 10 + Int(c - 0x30)
      if v > 65535 {
        throw error(.outOfRange("port \(lexer.text(s, e)) is out of range (0 to 65535)", at: SourceRange(s, e)))
      }
    }
    return UInt16(v)
  }

  /// PREFIX: a.b.c.d/len or v6/len (net route also requires no bits set past len).
  mutating func parsePrefix() throws(StatementError) -> IPPrefix {
    guard token.kind == .prefix else { throw unexpected("an address prefix such as 10.0.0.0/8") }
    let s = Int(token.start)
    let e = Int(token.end)
    var slash = s
    while buf[slash] != 0x2F { slash += 1 }
    var len = 0
    if slash + 1 >= e { throw error(.malformedAddress("missing prefix length after '/'", at: token.range)) }
    for i in (slash + 1)..<e {
      let c = buf[i]
      guard c >= 0x30 && c <= 0x39, len < 1000 else {
        throw error(.malformedAddress("'\(lexer.text(slash + 1, e))' is not a prefix length", at: SourceRange(slash + 1, e)))
      }
      len = len * 10 + Int(c - 0x30)
    }
    let addrBytes = UnsafeBufferPointer(rebasing: buf[s..<slash])
    if let v4 = IPv4Address.parse(addrBytes) {
      if len > 32 { throw error(.outOfRange("prefix length \(len) is out of range for IPv4 (0 to 32)", at: SourceRange(slash + 1, e))) }
      consume()
      return .v4(v4, len)
    }
    if let v6 = IPv6Address.parse(addrBytes) {
      if len > 128 { throw error(.outOfRange("prefix length \(len) is out of range for IPv6 (0 to 128)", at: SourceRange(slash + 1, e))) }
      consume()
      return .v6(v6, len)
    }
    throw error(.malformedAddress("'\(lexer.text(s, slash))' is not an IPv4 or IPv6 address", at: SourceRange(s, slash)))
  }

  /// Decodes the current string token's escapes (the lexer has validated them).
  mutating func decodeString() throws(StatementError) -> String {
    var i = Int(token.start) + 1
    let e = Int(token.end) - 1
    if !buf[i..<e].contains(0x5C) {
      // No escape: the text is the string.
      consume()
      return String(decoding: UnsafeBufferPointer(rebasing: buf[i..<e]), as: UTF8.self)
    }
    var out: [UInt8] = []
    out.reserveCapacity(e - i)
    while i < e {
      let b = buf[i]
      if b == 0x5C {
        let n = buf[i + 1]
        switch n {
        case 0x6E: out.append(0x0A)
        case 0x74: out.append(0x09)
        case 0x30: out.append(0)
        case 0x78:
          out.append(hexValue(buf[i + 2])! << 4 | hexValue(buf[i + 3])!)
          i += 2
        default: out.append(n)
        }
        i += 2
      } else {
        out.append(b)
        i += 1
      }
    }
    consume()
    return String(decoding: out, as: UTF8.self)
  }
}

/// How many newline and ';' bytes `buf` holds: eight bytes at a time (this runs over the whole
/// file before parsing, so it must cost next to nothing).
func statementEndCount(_ buf: UnsafeBufferPointer<UInt8>) -> Int {
  guard let base = buf.baseAddress else { return 0 }
  let n = buf.count
  let words = n / 8
  var count = 0
  let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
  let high: UInt64 = 0x8080_8080_8080_8080
  let newlines: UInt64 = 0x0A0A_0A0A_0A0A_0A0A
  let semicolons: UInt64 = 0x3B3B_3B3B_3B3B_3B3B
  @inline(__always) func zeroBytes(_ v: UInt64) -> UInt64 { ~(((v & low7) &+ low7) | v) & high }
  var p = UnsafeRawPointer(base)
  for _ in 0..<words {
    let v = p.loadUnaligned(as: UInt64.self)
    count &+= (zeroBytes(v ^ newlines) | zeroBytes(v ^ semicolons)).nonzeroBitCount
    p += 8
  }
  for i in (words * 8)..<n where base[i] == 0x0A || base[i] == 0x3B { count += 1 }
  return count
}

extension Diagnostic {
  func withHint(_ h: String) -> Diagnostic {
    var d = self
    d.hint = h
    return d
  }
}

// MARK: - Single values (command-line options reuse the language's own syntax)

extension Parser {
  /// Parses a duration as the language writes it (`10s`, `250ms`), for options like `--timeout`.
  package static func duration(_ text: String) -> TimeSpan? {
    single(text) { p throws(StatementError) in try p.parseDuration("a duration") }
  }

  /// Parses a prefix (`10.0.0.0/8`, `fd00::/64`), for `--allow-net`.
  package static func prefix(_ text: String) -> IPPrefix? {
    single(text) { p throws(StatementError) in try p.parsePrefix() }
  }

  private static func single<T>(_ text: String, _ body: (inout ParserState) throws(StatementError) -> T) -> T? {
    let source = SourceFile(name: "<option>", text: text)
    return source.bytes.withUnsafeBufferPointer { buf -> T? in
      var p = ParserState(buf, source: source)
      guard let v = try? body(&p), p.token.kind == .eof, p.diagnostics.isEmpty, p.lexer.diagnostics.isEmpty else { return nil }
      return v
    }
  }
}
