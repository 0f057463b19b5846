// Recursive descent, one function per grammar rule with the rule quoted above it. The parser
// pulls tokens from the lexer one at a time (no token array), decodes values as it goes, and
// recovers at statement boundaries: after the first error in a statement it skips to the next
// `;` or newline, so each mistake is reported once and never cascades.
//
// Guards: every loop must consume a token or stop (checked), `repeat` nesting is capped at
// `maxNesting`, and a file stops collecting diagnostics after `maxDiagnostics`.
//
// This file holds the entry points, the parser's state and the rules for scripts and blocks.
// The statement rules are in ParserStatements.swift, `expect` in ParserExpect.swift, the values
// (numbers, durations, addresses, prefixes, strings) in ParserValues.swift; the machinery they
// share lives beside them (NameTable, Keywords, ExpectationTable, Header, OptionValues).

package enum Parser {
  /// Deepest `repeat` nesting accepted.
  package static let maxNesting = 32
  /// Diagnostics collected per file before giving up.
  package static let maxDiagnostics = 100
  /// Limits the checker enforces on values.
  package static let maxRepeat = 100_000_000
  package static let maxDuration = TimeSpan.seconds(3600)

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
      var p = ParserState(buf, source: source, pathLimits: context.pathLimits)
      let statements = p.parseScript()
      failedSlots = p.failedSlots
      failedStarts = p.failedStarts
      var diags = p.lexer.diagnostics + p.diagnostics
      diags.sort { $0.range.start < $1.range.start }
      var script = Script(
        source: source, statements: statements, socketNames: p.names.names,
        requirements: Requirements(), diagnostics: diags)
      script.hostNames = p.hosts.names
      return script
    }
    let (requirements, headerDiags) = Header.parse(source)
    script.requirements = requirements
    do {
      var checker = Checker(script: script)
      checker.predeclare(context.declaredSockets)
      checker.predeclareTopology(hosts: context.declaredHosts, links: context.declaredLinks)
      checker.previousKind = context.previousStatement
      checker.predeclareBackground(context.background, lastWaitShape: context.lastWaitShape)
      checker.requireWaits = !context.isSession
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
}

/// What a session knew before the text being parsed, and what the place it runs allows.
package struct ParseContext: Sendable {
  /// Socket names declared earlier.
  package var declaredSockets: [String] = []
  /// Hosts and links made earlier.
  package var declaredHosts: [String] = []
  package var declaredLinks: [(String, String, [IPPrefix])] = []
  /// The statement that ran last, for an `expect` at the start of the text.
  package var previousStatement: StatementKind?
  /// How long Unix paths and abstract names may be where the scenario runs (the backend says).
  package var pathLimits = PathLimits.kernel
  /// A piece of a session (the REPL): calls started in the background earlier, by socket name,
  /// and what the last `wait` gave. A whole script must collect each of its background calls.
  package var isSession = false
  package var background: [String: BackgroundCallInfo] = [:]
  package var lastWaitShape: ResultShape?
  package init(
    declaredSockets: [String] = [], previousStatement: StatementKind? = nil, pathLimits: PathLimits = .kernel
  ) {
    self.declaredSockets = declaredSockets
    self.previousStatement = previousStatement
    self.pathLimits = pathLimits
  }
}

/// The longest Unix socket path and abstract name a scenario may write. sun_path holds 107
/// bytes and a NUL; a backend that puts relative paths in a directory of its own, or prefixes
/// abstract names, leaves less room, and says how much through the runtime's `Backend`.
package struct PathLimits: Hashable, Sendable {
  package var relativePath: Int
  package var absolutePath: Int
  package var abstractName: Int
  package init(relativePath: Int, absolutePath: Int, abstractName: Int) {
    self.relativePath = relativePath
    self.absolutePath = absolutePath
    self.abstractName = abstractName
  }
  /// What the kernel itself accepts.
  package static let kernel = PathLimits(relativePath: 107, absolutePath: 107, abstractName: 107)
  /// The tighter of two (a scenario run under both backends must fit each).
  package func intersection(_ o: PathLimits) -> PathLimits {
    PathLimits(
      relativePath: min(relativePath, o.relativePath), absolutePath: min(absolutePath, o.absolutePath),
      abstractName: min(abstractName, o.abstractName))
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
  var hosts = HostTable()
  var depth = 0
  /// Line of each open `repeat`, for "'}' expected (to close 'repeat' at line N)".
  var openBlocks: [UInt32] = []
  /// Socket slots named by the statements being parsed; those of statements that failed go to
  /// `failedSlots`, and the failed statements' starts to `failedStarts`, so that the checker does
  /// not report a second error (an undeclared name, a misplaced `expect`) for one mistake.
  var statementRefs: [Int32] = []
  /// While an address is parsed where a socket name may stand for its port (`127.0.0.1:l`),
  /// and the name found there.
  var portNames = false
  var portName: SocketRef?
  var failedSlots = Set<Int32>()
  var failedStarts: [UInt32] = []
  /// The distinct expectations seen so far, to share.
  var expectations = ExpectationTable()
  /// Where the last consumed token ended: a statement's range ends there.
  var lastConsumedEnd: UInt32 = 0
  /// The vocabulary tables, fetched once (each global's lazy-initialisation check is not free
  /// on every lookup).
  let errnoNames = Errno.byName
  let eventNames = PollEvents.byName
  let optionNames = SocketOption.byName
  let pathLimits: PathLimits

  init(_ buf: UnsafeBufferPointer<UInt8>, source: SourceFile, pathLimits: PathLimits = .kernel) {
    self.buf = buf
    self.source = source
    self.pathLimits = pathLimits
    lexer = Lexer(buf)
    token = Token(kind: .eof, start: 0, end: 0)
    advance()
  }

  // MARK: - Token helpers

  @inline(__always) mutating func advance() { token = lexer.next() }

  @inline(__always) mutating func consume() {
    lastConsumedEnd = token.end
    advance()
  }

  /// NAME
  mutating func parseSocketRef() throws(StatementError) -> SocketRef {
    guard token.kind == .identifier else { throw unexpected("a socket name") }
    let r = SocketRef(slot: names.intern(buf, Int(token.start), Int(token.end)), range: token.range)
    statementRefs.append(r.slot)
    consume()
    return r
  }

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
    case .identifier, .integer, .duration, .ipv4, .ipv6, .prefix, .abstractName, .dottedName:
      return "'\(lexer.text(Int(t.start), Int(t.end)))'"
    case .string: return "a string"
    default: return t.kind.description
    }
  }

  @inline(__always) func isWord(_ kw: StaticString) -> Bool {
    guard token.kind == .identifier, Int(token.end - token.start) == kw.utf8CodeUnitCount else {
      return false
    }
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
        if token.kind == .rightBrace {
          advance()
        } else {
          _ = error(.unclosedBlock(openedAt: line(open.start), at: token.range, opener: "{"))
        }
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
}
