// The checker runs after parsing and before anything executes. It resolves socket names in
// source order (a name is usable after the `sock` or `accept ... as` that declares it) and checks
// that each `expect` follows a statement whose result it can describe.

struct Checker {
  let script: Script
  var diagnostics: [Diagnostic] = []
  /// Indexed by slot: has a `sock` or `accept ... as` declared it yet?
  private var declared: [Bool] = []
  /// From the parser: sockets named in statements that did not parse, and where those statements
  /// start. Their names are not reported as undeclared, nor is an `expect` right after one of them
  /// checked: the parse error already covers the mistake.
  var failedSlots: Set<Int32> = []
  var failedStarts: [UInt32] = []

  init(script: Script) {
    self.script = script
    declared = [Bool](repeating: false, count: script.socketNames.count)
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
  }

  private mutating func use(_ r: SocketRef) {
    if declared[Int(r.slot)] || failedSlots.contains(r.slot) { return }
    let name = script.socketNames[Int(r.slot)]
    let candidates = declared.indices.filter { declared[$0] }.map { script.socketNames[$0] }.sorted()
    diagnostics.append(
      .undeclaredSocket(name, at: r.range, suggestion: closestName(to: name, in: candidates, maxDistance: 2)))
    declared[Int(r.slot)] = true  // report each name once
  }

  private mutating func checkBlock(
    _ statements: [Statement], from blockStart: UInt32, outer: Statement? = nil
  ) {
    // Statements are read in place (by index), not copied one by one: a long file has millions.
    var previous = -1
    for i in statements.indices {
      switch statements[i].kind {
      case .sock(let r, _): declared[Int(r.slot)] = true
      case .bind(let r, _), .listen(let r, _), .set(let r, _), .get(let r, _), .poll(let r, _, _, _),
        .peer(let r),
        .local(let r), .shutdown(let r, _), .close(let r):
        use(r)
      case .connect(let r, .boundAddressOf(let other), _):
        use(r)
        use(other)
      case .connect(let r, _, _):
        use(r)
      case .accept(let l, let into, _):
        use(l)
        declared[Int(into.slot)] = true
      case .expect(let e):
        for r in e.sockets { use(r) }
        let start = statements[i].range.start
        let from = previous >= 0 ? statements[previous].range.end : (outer?.range.end ?? blockStart)
        if !failedStarts.contains(where: { $0 >= from && $0 < start }) {
          // The previous statement is read in place; its keyword is spelled only for a message.
          if previous >= 0 {
            checkExpectation(e, statements[i].range, after: statements[previous].kind.resultShape) {
              statements[previous].kind.keyword
            }
          } else if let outer {
            checkExpectation(e, statements[i].range, after: outer.kind.resultShape) { outer.kind.keyword }
          } else {
            let r = statements[i].range
            diagnostics.append(.expectWithoutStatement(at: SourceRange(Int(r.start), Int(r.start) + 6)))
          }
        }
      case .repeat(_, let body):
        checkBlock(body, from: statements[i].range.start)
      case .sleep, .net, .user:
        break
      }
      previous = i
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
    if e.ok && (s == .events || s == .address) {
      mismatch("'ok'", s == .events ? "expect the events, or timeout" : "expect the address")
    }
    if !e.numbers.isEmpty && !(s == .descriptor || s == .value) {
      mismatch(
        "a number",
        s == .socketError
          ? "SO_ERROR reads as ok or an errno: expect ok" : "only 'sock', 'accept' and 'get' give a number")
    }
    if !(e.addresses.isEmpty && e.sockets.isEmpty) && s != .address {
      mismatch("an address", "only 'peer' and 'local' give an address")
    }
  }
}
