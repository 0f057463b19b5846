import ConnHost
import ConnRuntime
import ConnSim
import ConnSyntax
import ConnSystem

// The read-eval-print loop. Each line is parsed in the session's context (the sockets declared
// so far, the statement that ran last) and its statements run one at a time through one
// long-lived interpreter, so each outcome is printed as soon as the kernel gives it. Nothing a
// user types ends the session: a syntax error points into the line, a failed `expect` is shown
// with a caret and the session goes on, and Ctrl-C only interrupts.
//
// The REPL never calls libc itself: input comes from a `LineReading`, output goes to a closure,
// and the kernel is reached through the interpreter's backend. Ctrl-C is a stop request the
// interpreter checks after each statement: a call blocked in the kernel returns EINTR (the
// answer shown), and a `repeat` stops before its next statement.
//
// This file is the loop; the `:` commands are in ReplCommands.swift, the printing in
// ReplRendering.swift, what `:save` writes in ReplSession.swift.

package struct ReplOptions: Sendable {
  package var backend: BackendChoice = .system
  /// The limit on every blocking call.
  package var timeout: TimeSpan = .seconds(10)
  package var allowNet: [IPPrefix] = []
  package var color = false
  /// With `--isolate`: the private network namespace the session runs in.
  package var isolatedNamespace: UInt64?
  package init() {}
}

package final class Repl {
  package static let prompt = "conn> "
  package static let continuationPrompt = "...> "
  /// Diagnostics shown for one line; a pasted megabyte of noise gets a summary after these.
  static let maxDiagnosticsShown = 10

  /// Backends a session can use (`both` compares whole runs, which a session is not).
  package static var backendChoices: [BackendChoice] {
    BackendChoice.allCases.filter { $0.rawValue != "both" }
  }

  let reader: LineReading
  package internal(set) var options: ReplOptions
  let write: (String) -> Void
  let router = StepRouter()
  var interpreter: Interpreter
  /// Socket names declared so far, in order, for the parser and for completion.
  var declared: [String] = []
  /// Hosts and links made so far (the parser checks later lines against them).
  var declaredHosts: [String] = []
  var declaredLinks: [(String, String, [IPPrefix])] = []
  var declaredNames: Set<String> = []
  var closedNames: Set<String> = []
  /// Calls the session runs in the background, by socket name (for the checker of later lines).
  var backgroundCalls: [String: BackgroundCallInfo] = [:]
  var lastWaitShape: ResultShape?
  var record = SessionRecord()
  /// The lines of an open `repeat` block.
  var pendingBytes: [UInt8] = []
  var pendingLines: [String] = []
  var quitting = false
  /// Something went wrong during the session (a syntax error, a failed expect...). With input
  /// that is not a terminal, `conn repl` then exits with 1, so scripts can tell.
  package internal(set) var hadErrors = false

  package init(reader: LineReading, options: ReplOptions, output: @escaping (String) -> Void) {
    self.reader = reader
    self.options = options
    self.write = output
    interpreter = Self.makeInterpreter(options, router)
  }

  static func makeInterpreter(_ options: ReplOptions, _ router: StepRouter) -> Interpreter {
    let backend: Backend
    switch options.backend {
    case .sim: backend = SimBackend(descriptorLimit: Host.openFileLimit(), coroutines: ThreadCoroutines())
    case .system, .both:
      backend = SystemBackend(
        allowedNetworks: options.allowNet, isolated: options.isolatedNamespace != nil,
        namespace: options.isolatedNamespace)
    }
    var run = RunOptions()
    run.timeout = options.timeout
    // A session has no overall limit; Ctrl-C stops what runs too long.
    run.scenarioTimeout = nil
    run.requireExpectations = false
    let interpreter = Interpreter(backend: backend, options: run)
    interpreter.onStep = { router.sink?($0) }
    interpreter.stopCheck = StopSignal.check
    interpreter.stopReason = Self.interruptedMessage
    return interpreter
  }

  static let interruptedMessage = "interrupted (Ctrl-C)"

  package var banner: String {
    "conn \(connVersion), backend \(options.backend.rawValue). Type a statement to run it, :help for help, Ctrl-D to leave.\n"
  }

  // MARK: - The loop

  /// Reads and runs lines until `:quit` or the end of the input, then closes everything.
  package func run() {
    if reader.isInteractive { write(banner) }
    // SIGTERM or SIGHUP ends the session (Ctrl-C only interrupts); everything is cleaned up.
    while !quitting && StopSignal.received == nil {
      var completer = ReplCompleter(socketNames: declared, backendNames: Self.backendChoices.map(\.rawValue))
      completer.hostNames = ["self"] + declaredHosts
      reader.completer = completer
      handle(reader.readLine(prompt: pendingBytes.isEmpty ? Self.prompt : Self.continuationPrompt))
    }
    interpreter.finish()
    reader.close()
  }

  package func handle(_ event: InputEvent) {
    switch event {
    case .line(let bytes):
      handleLine(bytes)
    case .interrupted:
      if !pendingBytes.isEmpty {
        rememberPending()
        pendingBytes = []
        pendingLines = []
        note("the open block was dropped")
      }
    case .tooLong(let n):
      error("the line is too long (\(n) bytes; at most \(replMaxLineLength)): nothing was run")
    case .end:
      if !pendingBytes.isEmpty {
        let source = SourceFile(name: "<repl>", bytes: pendingBytes)
        printDiagnostics(Parser.parse(source, context: context).diagnostics, source)
        note("the open block was not run")
        rememberPending()
        pendingBytes = []
        pendingLines = []
      }
      quitting = true
    }
  }

  var context: ParseContext {
    var c = ParseContext(
      declaredSockets: declared, previousStatement: interpreter.lastStatement,
      pathLimits: interpreter.backend.pathLimits)
    c.declaredHosts = declaredHosts
    c.declaredLinks = declaredLinks
    c.isSession = true
    // A call whose `wait` failed is gone from the interpreter, though no step said so.
    let running = interpreter.backgroundNames
    c.background = backgroundCalls.filter { running.contains($0.key) }
    c.lastWaitShape = lastWaitShape
    return c
  }

  func handleLine(_ bytes: [UInt8]) {
    if bytes.count > replMaxLineLength {
      error("the line is too long (\(bytes.count) bytes; at most \(replMaxLineLength)): nothing was run")
      return
    }
    let body = bytes.drop { $0 == 0x20 || $0 == 0x09 }
    if body.first == UInt8(ascii: ":") {
      let text = String(decoding: body, as: UTF8.self)
      reader.remember(text)
      command(text)
      return
    }
    let lineText = String(decoding: bytes, as: UTF8.self)
    if pendingBytes.isEmpty && body.allSatisfy({ $0 == 0x0D }) { return }

    let newLineStart = pendingBytes.isEmpty ? 0 : pendingBytes.count + 1
    let candidate = pendingBytes.isEmpty ? bytes : pendingBytes + [0x0A] + bytes
    let source = SourceFile(name: "<repl>", bytes: candidate)
    let script = Parser.parse(source, context: context)
    let errors = script.diagnostics.filter { $0.severity == .error }
    // An open block at the very end of the input is not an error yet: ask for more.
    func openAtEnd(_ d: Diagnostic) -> Bool {
      d.id == "parse.unclosed-block" && Int(d.range.start) >= candidate.count
    }

    if !errors.isEmpty && errors.allSatisfy(openAtEnd) {
      pendingBytes = candidate
      pendingLines.append(lineText)
      return
    }
    if !errors.isEmpty && !pendingBytes.isEmpty
      && errors.allSatisfy({ openAtEnd($0) || Int($0.range.start) >= newLineStart })
    {
      // Only the line just typed is wrong: keep the block typed so far.
      printDiagnostics(script.diagnostics.filter { !openAtEnd($0) }, source)
      note("that line was not added; the block is still open (close it with '}', or drop it with Ctrl-C)")
      hadErrors = true
      return
    }
    pendingLines.append(lineText)
    rememberPending()
    pendingBytes = []
    pendingLines = []
    if !errors.isEmpty {
      printDiagnostics(script.diagnostics, source)
      hadErrors = true
      return
    }
    printDiagnostics(script.diagnostics, source)  // warnings
    runScript(script, echo: false)
  }

  /// Puts the lines of the statement just entered into the history: a block as one line when
  /// it can be joined back into one, so that Up recalls it whole.
  func rememberPending() {
    if !reader.keepsHistory { return }
    let lines = pendingLines.map(\.trimmingSpaces).filter { !$0.isEmpty }
    if lines.count <= 1 || lines.contains(where: { $0.contains("#") }) {
      for l in lines { reader.remember(l) }
      return
    }
    var joined = lines[0]
    for l in lines.dropFirst() {
      joined += (joined.hasSuffix("{") || l.hasPrefix("}")) ? " " + l : "; " + l
    }
    reader.remember(joined)
  }

  // MARK: - Running statements

  enum StatementResult { case ran, interrupted, failed }

  /// Runs the top-level statements of a parsed text one at a time. `echo` prints each
  /// statement's text beside its outcome (for :load; lines with several statements do it too).
  @discardableResult
  func runScript(_ script: Script, echo: Bool) -> Bool {
    if let (_, range) = script.netRules.first {
      printProblem(
        "'net' statements set up the network before a scenario starts; a session's network cannot change",
        script.source, range,
        hint: "put them at the top of a file and run it with conn run (with --isolate on the kernel backend)")
      hadErrors = true
      return false
    }
    let tops = script.statements
    let showText = echo || tops.count > 1
    let width = min(40, tops.map { displayText(script.source.text($0.range)).count }.max() ?? 0)
    _ = Host.takeInterrupt()  // a Ctrl-C pressed before this line is not for it
    for (i, st) in tops.enumerated() {
      let result = runStatement(st, in: script, showText: showText, width: width)
      let rest = tops.count - i - 1
      switch result {
      case .ran: continue
      case .failed:
        if rest > 0 { note("the rest (\(rest) statement\(rest == 1 ? "" : "s")) was not run") }
        return false
      case .interrupted:
        if rest > 0 {
          note("interrupted: the rest (\(rest) statement\(rest == 1 ? "" : "s")) was not run")
          return false
        }
      }
    }
    return true
  }

  func runStatement(_ st: Statement, in script: Script, showText: Bool, width: Int) -> StatementResult {
    var sub = Script(
      source: script.source, statements: [st], socketNames: script.socketNames,
      requirements: script.requirements)
    sub.hostNames = script.hostNames
    let text = script.source.text(st.range)
    let lead = showText ? pad(displayText(text), width) + "  " : ""
    var single: Step?
    var aggregate = RepeatAggregate()
    let isBlock: Bool
    if case .repeat = st.kind { isBlock = true } else { isBlock = false }
    router.sink = { [unowned self] step in
      self.track(step, script)
      if isBlock {
        aggregate.add(
          step, text: { script.source.text(step.statement.range) }, saved: { self.savedExpectation(step) })
      } else {
        single = step
      }
    }
    let result = interpreter.execute(sub)
    router.sink = nil
    let interrupted = Host.takeInterrupt()
    // The terminal echoed ^C where the cursor was: start the answer on a line of its own.
    if interrupted && reader.isInteractive { write("\n") }
    var failure: Failure?
    if case .failure(let f) = result {
      // A single statement that Ctrl-C cut short has its answer (EINTR); only a block that it
      // stopped counts as stopped.
      if !(f.kind == .stopped && single != nil) { failure = f }
    }

    switch st.kind {
    case .expect(let e):
      if let f = failure {
        write(renderFailure(f))
      } else {
        write(lead + paint("pass", "32") + "\n")
        record.typedExpect(text)
        if e.addresses.contains(where: \.isAbstract) { record.needsLinux = true }
      }
    case .repeat:
      printAggregate(aggregate)
      if let f = failure { write(renderFailure(f)) }
      if let f = failure, f.kind != .expectation && f.kind != .tooSlow && f.kind != .tooFast {
        record.comment(
          ["not saved (stopped: \(f.message)):"] + blockLines(st, script.source, aggregate, [], indent: ""))
      } else {
        let failedExpect = failure.flatMap { Self.expectStatement(containing: $0.range.start, in: [st]) }
        record.block(blockLines(st, script.source, aggregate, failedExpect.map { [$0] } ?? [], indent: ""))
      }
    default:
      if let step = single {
        var shown = lead + paint("= ", "2") + paintOutcome(step.outcome)
        if interrupted && step.outcome == .failure(.EINTR) { shown += paint("  (Ctrl-C)", "2") }
        write(shown + "\n")
        var saved = text
        if interrupted && step.outcome == .failure(.EINTR),
          let option = Self.interruptOption(st.kind, step.elapsed)
        {
          saved += option
        }
        let expect = st.kind.hasResult ? SavedExpectation.line([savedExpectation(step)]) : nil
        record.statement(saved, expect: expect, hasResult: st.kind.hasResult)
      }
      if let f = failure {
        write(renderFailure(f))
        if single == nil { record.comment(["\(text)    (not saved: \(f.message))"]) }
      }
    }
    if failure != nil {
      hadErrors = true
      return .failed
    }
    return interrupted ? .interrupted : .ran
  }

  /// The names and states the session keeps track of, from each statement that ran.
  func track(_ step: Step, _ script: Script) {
    func name(_ r: SocketRef) -> String { script.socketNames[Int(r.slot)] }
    if let s = step.statement.kind.backgroundSocket, step.outcome == .ok {
      var into: String?
      if case .accept(_, let i, _) = step.statement.kind { into = name(i) }
      backgroundCalls[name(s)] = BackgroundCallInfo(shape: step.statement.kind.resultShape, acceptInto: into)
      return
    }
    switch step.statement.kind {
    case .sock(let r, _):
      declare(name(r))
      if case .number = step.outcome { closedNames.remove(name(r)) }
    case .wait(let r):
      if let b = backgroundCalls.removeValue(forKey: name(r)) {
        lastWaitShape = b.shape
        if let into = b.acceptInto {
          declare(into)
          if case .number = step.outcome { closedNames.remove(into) }
        }
      }
    case .accept(_, let into, _), .dup(_, let into, _):
      declare(name(into))
      if case .number = step.outcome { closedNames.remove(name(into)) }
    case .socketPair(let a, let b, _, _):
      declare(name(a))
      declare(name(b))
      if step.outcome == .ok {
        closedNames.remove(name(a))
        closedNames.remove(name(b))
      }
    case .close(let r):
      if step.outcome == .ok { closedNames.insert(name(r)) }
    case .user, .drop:
      record.needsRoot = true
      record.needsLinux = true
    case .landlock:
      record.needsLinux = true
      record.needsLandlock = true
    case .topology(let t):
      record.needsIsolate = true
      func host(_ h: HostRef) -> String { script.hostNames[Int(h.index)] }
      switch t {
      case .host(let h, _): declaredHosts.append(host(h))
      case .link(let a, let b, let p): declaredLinks.append((host(a), host(b), p))
      default: break
      }
    case .bind(_, let a) where a.isAbstract:
      record.needsLinux = true
    case .connect(_, .address(let a), _) where a.isAbstract:
      record.needsLinux = true
    default: break
    }
    if case .address(let a) = step.outcome, a.isAbstract { record.needsLinux = true }
  }

  func declare(_ name: String) {
    if declaredNames.insert(name).inserted { declared.append(name) }
  }

  /// How `:save` checks a step's outcome: socket names stand for addresses with kernel-chosen ports.
  func savedExpectation(_ step: Step) -> SavedExpectation {
    SavedExpectation.of(step.outcome, after: step.statement.kind) { address in
      for b in interpreter.allBindings where b.owned && !closedNames.contains(b.name) {
        if case .address(let bound) = interpreter.backend.localName(b.fd), bound == address { return b.name }
      }
      return nil
    }
  }

  /// ` interrupt 1.234s` for a call that Ctrl-C interrupted, so that a replay is interrupted too.
  package static func interruptOption(_ kind: StatementKind, _ elapsed: TimeSpan) -> String? {
    let options: CallOptions
    switch kind {
    case .connect(_, _, let o), .accept(_, _, let o), .poll(_, _, _, let o): options = o
    default: return nil
    }
    if options.interrupt != nil { return nil }
    let ms = max(1, (elapsed.nanoseconds + 500_000) / 1_000_000)
    return " interrupt " + TimeSpan.milliseconds(ms).description
  }

  /// The `expect` statement whose range holds `offset` (a failed expectation's position).
  static func expectStatement(containing offset: UInt32, in statements: [Statement]) -> UInt32? {
    for st in statements {
      switch st.kind {
      case .expect where st.range.start <= offset && offset <= st.range.end: return st.range.start
      case .repeat(_, let body):
        if let found = expectStatement(containing: offset, in: body) { return found }
      default: break
      }
    }
    return nil
  }

  /// A `repeat` for `:save`: its body as typed, each statement followed by an `expect` that
  /// holds every outcome it had, unless a typed `expect` (that never failed) already follows.
  func blockLines(
    _ st: Statement, _ source: SourceFile, _ aggregate: RepeatAggregate, _ failedExpects: Set<UInt32>,
    indent: String
  ) -> [String] {
    guard case .repeat(let count, let body) = st.kind else { return [indent + source.text(st.range)] }
    var lines = [indent + "repeat \(count) {"]
    let inner = indent + "  "
    for (j, b) in body.enumerated() {
      switch b.kind {
      case .expect:
        if !failedExpects.contains(b.range.start) { lines.append(inner + source.text(b.range)) }
      case .repeat:
        lines += blockLines(b, source, aggregate, failedExpects, indent: inner)
      default:
        lines.append(inner + source.text(b.range))
        var typedFollows = false
        if j + 1 < body.count, case .expect = body[j + 1].kind,
          !failedExpects.contains(body[j + 1].range.start)
        {
          typedFollows = true
        }
        if b.kind.hasResult && !typedFollows, let saved = aggregate.saved(b.range.start),
          let line = SavedExpectation.line(saved)
        {
          lines.append(inner + line)
        }
      }
    }
    lines.append(indent + "}")
    return lines
  }
}

// MARK: - Helpers

/// Forwards the interpreter's steps to whatever statement is running now.
final class StepRouter {
  var sink: ((Step) -> Void)?
}

extension String {
  /// Without leading and trailing blanks (spaces, tabs, CR), on bytes: it runs on every line.
  var trimmingSpaces: String {
    let u = utf8
    func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }
    guard let first = u.firstIndex(where: { !blank($0) }) else { return "" }
    let last = u.lastIndex(where: { !blank($0) })!
    if first == u.startIndex && last == u.index(before: u.endIndex) { return self }
    return String(self[first...last])
  }
}
