import ConnRuntime
import ConnSyntax
import Testing

/// A backend that answers from a script of outcomes and records every call, so the interpreter
/// can be tested without sockets.
final class FakeBackend: Backend {
  let name = "fake"
  let virtualTime = true
  var pathLimits: PathLimits { .kernel }
  var trace: ((TraceRecord) -> Void)?
  var clock = TimeSpan.zero
  var calls: [String] = []
  /// Answers by call name, consumed in order; when none is left, `defaultAnswer`.
  var answers: [String: [Outcome]] = [:]
  var nextFD: Int32 = 3
  var closedAtEnd: [Descriptor] = []
  var addresses: [Descriptor: SocketAddress] = [:]
  var connectThrows: BackendError?
  var connectTakes = TimeSpan.zero

  func now() -> TimeSpan { clock }
  func answer(_ call: String, _ fallback: Outcome) -> Outcome {
    calls.append(call)
    if var q = answers[call], !q.isEmpty {
      let o = q.removeFirst()
      answers[call] = q
      return o
    }
    return fallback
  }
  func beginScenario(netRules: [NetRule]) throws(BackendError) { calls.append("begin") }
  func endScenario(closing descriptors: [Descriptor]) { closedAtEnd = descriptors }
  var topology: [[TopologyStatement]] = []
  var hostNamesSeen: [String] = []
  var topologyFailsAt: Int?
  func applyTopology(_ steps: [TopologyStatement], hostNames: [String]) throws(BackendError) {
    hostNamesSeen = hostNames
    if let k = topologyFailsAt, k < steps.count { throw .inStep(k, .failed("refused step \(k)")) }
    topology.append(steps)
    calls.append("topology \(steps.map(\.keyword).joined(separator: ","))")
  }
  func socket(_ kind: SocketKind, nonblocking: Bool, on host: Int32) -> Outcome {
    if host != 0 { calls.append("on host \(host)") }
    let o = answer("socket", .number(Int64(nextFD)))
    if case .number = o { nextFD += 1 }
    return o
  }
  func adopt(_ fd: Descriptor) throws(BackendError) { calls.append("adopt \(fd)") }
  func openFile(_ path: String, limit: TimeSpan) throws(BackendError) -> Outcome {
    answer("open", .number(99))
  }
  func bind(_ fd: Descriptor, _ address: SocketAddress) throws(BackendError) -> Outcome {
    addresses[fd] = address
    return answer("bind", .ok)
  }
  func listen(_ fd: Descriptor, backlog: Int32) -> Outcome { answer("listen", .ok) }
  func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    if let e = connectThrows { throw e }
    clock = clock + connectTakes
    calls.append("connect-target \(fd) \(target)")
    return answer("connect", .ok)
  }
  func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome {
    let o = answer("accept", .number(Int64(nextFD)))
    if case .number = o { nextFD += 1 }
    return o
  }
  func socketPair(_ kind: SocketKind, nonblocking: Bool) throws(BackendError) -> (
    Outcome, (Descriptor, Descriptor)?
  ) {
    let o = answer("socketpair", .ok)
    guard o == .ok else { return (o, nil) }
    nextFD += 2
    return (o, (nextFD - 2, nextFD - 1))
  }
  func dup(_ fd: Descriptor, onto target: Descriptor?) throws(BackendError) -> Outcome {
    let o = answer("dup", .number(Int64(target ?? nextFD)))
    if case .number = o, target == nil { nextFD += 1 }
    return o
  }
  func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome { answer("fcntl", .ok) }
  func setCloseOnExec(_ fd: Descriptor, _ on: Bool) -> Outcome { answer("fcntl", .ok) }
  func getFlag(_ fd: Descriptor, _ flag: DescriptorFlag) -> Outcome { answer("fcntl", .number(1)) }
  func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError)
    -> Outcome
  { answer("setsockopt", .ok) }
  func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome {
    answer("getsockopt", .ok)
  }
  func poll(
    _ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    answer("poll", .events(.writable))
  }
  func peerName(_ fd: Descriptor) -> Outcome { answer("getpeername", .failure(.ENOTCONN)) }
  func localName(_ fd: Descriptor) -> Outcome {
    calls.append("getsockname \(fd)")
    return addresses[fd].map { .address($0) } ?? .address(.inet(.any, port: 0))
  }
  func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome { answer("shutdown", .ok) }
  func send(
    _ fd: Descriptor, _ call: DataCall, _ data: [UInt8], to: ResolvedTarget?, _ flags: MessageFlags,
    _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    answer("\(call.rawValue) \(fd) \(data.count)", .number(Int64(data.count)))
  }
  func receive(
    _ fd: Descriptor, _ call: DataCall, max: Int, _ flags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome {
    answer("\(call.rawValue) \(fd)", .data(ReceivedBytes(Array("hello".utf8))))
  }
  func close(_ fd: Descriptor) -> Outcome { answer("close \(fd)", .ok) }
  func sleep(_ duration: TimeSpan) -> TimeSpan {
    clock = clock + duration
    return .zero
  }
  func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome { answer("user", .ok) }
  func dropPrivileges(_ user: UserIdentity) throws(BackendError) -> Outcome { answer("drop", .ok) }
  func restrict(_ layer: LandlockLayer) throws(BackendError) -> Outcome { answer("landlock", .ok) }
  func startBackground(_ call: @escaping () throws(BackendError) -> Outcome) throws(BackendError) -> Int32 {
    throw .notModelled("background calls")
  }
  func waitBackground(_ id: Int32) throws(BackendError) -> Outcome { .ok }
  func signalBackground(_ id: Int32) throws(BackendError) {}
  func settle() {}
  func pollSet(_ set: [PolledDescriptor], timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    calls.append("pollset \(set.map(\.fd))")
    return answer("pollset", .pollSet(set.map { _ in .writable }))
  }
  func setOption(_ fd: Descriptor, number: OptionNumber, _ value: Int32) throws(BackendError) -> Outcome {
    calls.append("setsockopt \(fd) \(number.level) \(number.name) \(value)")
    return answer("setsockopt", .ok)
  }
  func getOption(_ fd: Descriptor, number: OptionNumber) throws(BackendError) -> Outcome {
    answer("getsockopt", .number(0))
  }
  func file(_ op: FileOperation) throws(BackendError) -> Outcome {
    calls.append("file \(op.keyword) \(op.path)")
    return answer("file", .ok)
  }
}

func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> Script {
  let script = Parser.parse(SourceFile(name: "t.conn", text: text))
  #expect(script.diagnostics.isEmpty, "\(script.diagnostics.map(\.message))", sourceLocation: sourceLocation)
  return script
}

func run(_ text: String, _ backend: FakeBackend) -> Failure? {
  let interp = Interpreter(backend: backend)
  if case .failure(let f) = interp.run(parse(text)) { return f }
  return nil
}

@Suite struct InterpreterTests {
  /// Consecutive topology statements reach the backend as one change, at their place among the
  /// other statements; a failing one is reported at its own line.
  @Test func topologyStatementsRunInGroupsAtTheirPlace() throws {
    let b = FakeBackend()
    let text = """
      host srv
      link self srv 10.9.0.0/24
      sock l = stream inet on srv
      addr del lo 127.0.0.1/8
      link self srv down
      close l
      """
    #expect(run(text, b) == nil)
    #expect(b.topology.map { $0.map(\.keyword) } == [["host", "link"], ["addr", "link"]])
    #expect(b.hostNamesSeen == ["self", "srv"])
    #expect(b.calls.contains("on host 1"))
    let order = b.calls.filter { $0.hasPrefix("topology") || $0 == "socket" }
    #expect(order == ["topology host,link", "socket", "topology addr,link"])

    let c = FakeBackend()
    c.topologyFailsAt = 1
    let f = try #require(run("host srv\nlink self srv 10.9.0.0/24\n", c))
    #expect(f.kind == .backend && f.location.line == 2 && f.message == "refused step 1")
  }

  @Test func bindToAnotherSocketsAddressAndALowerBound() throws {
    let b = FakeBackend()
    #expect(
      run("sock l = stream inet\nbind l 127.0.0.1:4242\nsock s = stream inet\nbind s l\nexpect ok", b) == nil)
    #expect(b.calls.contains("getsockname 3"))
    #expect(b.addresses[4] == .inet(IPv4Address(127, 0, 0, 1), port: 4242))
    let c = FakeBackend()
    c.answers["connect"] = [.failure(.ECONNREFUSED)]
    let f = try #require(run("sock s = stream inet\nconnect s 127.0.0.1:1\nexpect ECONNREFUSED after 1s", c))
    #expect(f.kind == .tooFast)
  }

  @Test func anAddressTakesAnotherSocketsPortWhenTheStatementRuns() throws {
    let b = FakeBackend()
    #expect(
      run(
        "sock l = stream inet\nbind l 127.0.0.1:4242\nsock s = stream inet6\nconnect s [::ffff:127.0.0.2]:l\n"
          + "bind s [::]:l\nconnect s null\nconnect s family 16", b) == nil)
    #expect(
      b.calls.contains(
        "connect-target 4 \(ResolvedTarget.address(.inet6(.mapping(IPv4Address(127, 0, 0, 2)), port: 4242, scope: nil)))"
      ))
    #expect(b.addresses[4] == .inet6(IPv6Address(high: 0, low: 0), port: 4242, scope: nil))
    #expect(b.calls.contains("connect-target 4 nullPointer"))
    #expect(b.calls.contains("connect-target 4 family(16)"))
    // A socket on a Unix path has no port to give.
    let f = try #require(
      run(
        "sock u = stream unix\nbind u \"u.sock\"\nsock s = stream inet\nconnect s 127.0.0.1:u\n",
        FakeBackend()))
    #expect(
      f.kind == .runtime && f.location.line == 4
        && f.message == "'u' is bound to \"u.sock\", which has no port")
  }

  @Test func eachDescriptorOfAPollOnSeveralIsCheckedByName() throws {
    let script =
      "sock a = stream inet\nsock b = stream inet\npoll a writable b readable writable timeout 1s\n"
    let b = FakeBackend()
    b.answers["pollset"] = [.pollSet([.writable, []])]
    #expect(run(script + "expect a writable b none", b) == nil)
    #expect(b.calls.contains("pollset [3, 4]"))
    let c = FakeBackend()
    c.answers["pollset"] = [.pollSet([.writable, []])]
    let f = try #require(run(script + "expect b readable or a error", c))
    #expect(f.kind == .expectation && f.message == "expected b readable or a error, got a writable b none")
  }

  @Test func errnoWithoutExpectFailsAtThatStatement() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ECONNREFUSED)]
    let f = try #require(run("sock s = stream inet\nconnect s 127.0.0.1:80\nclose s\n", b))
    #expect(f.kind == .unexpectedErrno)
    #expect(f.location.line == 2 && f.location.column == 1)
    #expect(f.message.contains("unexpected ECONNREFUSED"))
    // The scenario stopped: close never ran, and cleanup closed the socket.
    #expect(!b.calls.contains("close 3"))
    #expect(b.closedAtEnd == [3])
  }

  @Test func expectedErrnoPasses() {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.EINPROGRESS)]
    #expect(run("sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS", b) == nil)
  }

  @Test func alternativesMatchEither() {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.EALREADY), .failure(.EINPROGRESS)]
    #expect(
      run("sock s = stream inet\nrepeat 2 { connect s 127.0.0.1:80; expect EINPROGRESS or EALREADY }", b)
        == nil)
  }

  @Test func mismatchReportsExpectedActualAndMeaning() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ECONNREFUSED)]
    let f = try #require(run("sock s = stream inet\nconnect s 127.0.0.1:80\nexpect EINPROGRESS\n", b))
    #expect(f.kind == .expectation)
    #expect(f.location.line == 3 && f.location.column == 8)
    #expect(f.expected == "EINPROGRESS")
    #expect(f.actual?.hasPrefix("-1 ECONNREFUSED") == true)
    #expect(f.explanation?.contains("ECONNREFUSED from connect(2)") == true)
  }

  @Test func successNeedsNoExpectButOkCanBeChecked() {
    let b = FakeBackend()
    #expect(run("sock s = stream inet\nbind s 127.0.0.1:0\nexpect ok\nlisten s", b) == nil)
  }

  @Test func expectOkFailsOnErrno() throws {
    let b = FakeBackend()
    b.answers["bind"] = [.failure(.EADDRINUSE)]
    let f = try #require(run("sock s = stream inet\nbind s 127.0.0.1:0\nexpect ok", b))
    #expect(f.message == "expected ok, got EADDRINUSE")
  }

  @Test func withinChecksTheCallsDuration() throws {
    let b = FakeBackend()
    b.connectTakes = .seconds(3)
    b.answers["connect"] = [.failure(.ETIMEDOUT), .failure(.ETIMEDOUT)]
    #expect(run("sock s = stream inet\nconnect s 127.0.0.1:80\nexpect ETIMEDOUT within 4s", b) == nil)
    let f = try #require(run("sock s = stream inet\nconnect s 127.0.0.1:80\nexpect ETIMEDOUT within 2s", b))
    #expect(f.kind == .tooSlow)
    #expect(f.message.contains("3s"))
  }

  @Test func repeatRunsTheBlockCountTimes() {
    let b = FakeBackend()
    b.answers["connect"] = Array(repeating: .failure(.ECONNREFUSED), count: 5)
    #expect(
      run("repeat 5 { sock s = stream inet; connect s 127.0.0.1:1; expect ECONNREFUSED; close s }", b) == nil)
    #expect(b.calls.filter { $0 == "connect" }.count == 5)
    #expect(b.closedAtEnd.isEmpty)
  }

  @Test func socketNameTargetResolvesItsBoundAddress() {
    let b = FakeBackend()
    _ = run("sock l = stream inet\nbind l 127.0.0.1:4242\nsock s = stream inet\nconnect s l", b)
    #expect(b.calls.contains("getsockname 3"))
    #expect(
      b.calls.contains {
        $0.hasPrefix("connect-target 4 address(ConnSyntax.SocketAddress.inet(") && $0.contains("4242")
      })
  }

  @Test func peerAddressMatchesASocketName() {
    let b = FakeBackend()
    b.answers["getpeername"] = [.address(.inet(.loopback, port: 4242))]
    #expect(
      run("sock l = stream inet\nbind l 127.0.0.1:4242\nsock s = stream inet\npeer s\nexpect l", b) == nil)
  }

  @Test func closedNameReachesTheBackendAsTheStaleDescriptor() {
    let b = FakeBackend()
    b.answers["close 3"] = [.ok, .failure(.EBADF)]
    #expect(run("sock s = stream inet\nclose s\nclose s\nexpect EBADF", b) == nil)
    #expect(b.calls.filter { $0 == "close 3" }.count == 2)
    #expect(b.closedAtEnd.isEmpty)
  }

  @Test func bareDescriptorsAreNeverClosedByCleanup() {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.EBADF)]
    #expect(run("sock bad = fd 999\nconnect bad 127.0.0.1:80\nexpect EBADF", b) == nil)
    #expect(b.closedAtEnd.isEmpty)
  }

  @Test func backendTimeLimitBecomesAFailureNotAnErrno() throws {
    let b = FakeBackend()
    b.connectThrows = .timedOut(.seconds(10))
    let f = try #require(run("sock s = stream inet\nconnect s 127.0.0.1:80\nexpect ETIMEDOUT", b))
    #expect(f.kind == .backend)
    #expect(f.message == "timed out after 10s")
    #expect(f.location.line == 2)
  }

  @Test func pollEventsAreASubsetMatch() {
    let b = FakeBackend()
    b.answers["poll"] = [.events([.writable, .error, .hangup])]
    #expect(run("sock s = stream inet nonblock\npoll s writable\nexpect writable", b) == nil)
    b.answers["poll"] = [.events([.writable])]
    #expect(run("sock s = stream inet nonblock\npoll s writable\nexpect readable", b) != nil)
  }

  @Test func errnoAtTheEndOfARepeatBodyIsUnexpected() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ECONNREFUSED)]
    let f = try #require(run("sock s = stream inet\nrepeat 2 { connect s 127.0.0.1:1 }\n", b))
    #expect(f.kind == .unexpectedErrno)
  }

  @Test func stepsAreReportedForEveryStatement() {
    let b = FakeBackend()
    let interp = Interpreter(backend: b)
    var steps: [String] = []
    interp.onStep = { steps.append("\($0.statement.kind.keyword)=\($0.outcome.expectationText)") }
    _ = interp.run(parse("sock s = stream inet\nconnect s 127.0.0.1:1\npeer s\nexpect ENOTCONN"))
    #expect(steps == ["sock=3", "connect=ok", "peer=ENOTCONN"])
  }
}

@Suite struct FailureRenderingTests {
  @Test func snapshotOfAFailedExpectation() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ECONNREFUSED)]
    let f = try #require(
      run("sock s = stream inet\nconnect s 127.0.0.1:80 nonblock\nexpect EINPROGRESS\n", b))
    let text = FailureRenderer(color: false).render(f)
    let meaning = try #require(ErrnoCatalog.info(.ECONNREFUSED).meaning)
    let expected = """
      t.conn:3:8: FAIL: expected EINPROGRESS, got ECONNREFUSED
        expect EINPROGRESS
               ^~~~~~~~~~~
        expected: EINPROGRESS
        actual:   -1 ECONNREFUSED (Connection refused)
        meaning: ECONNREFUSED from connect(2): \(meaning)\(ErrnoCatalog.info(.ECONNREFUSED).linuxNote.map { " (Linux: \($0))" } ?? "")

      """
    #expect(text == expected)
  }

  @Test func snapshotOfAnUnexpectedErrno() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ENOENT)]
    let f = try #require(run("sock u = stream unix\nconnect u \"x.sock\"\n", b))
    let text = FailureRenderer(color: false).render(f)
    #expect(
      text.hasPrefix(
        """
        t.conn:2:1: FAIL: unexpected ENOENT from 'connect' (no 'expect' names it)
          connect u "x.sock"
          ^~~~~~~~~~~~~~~~~~
          expected: success
          actual:   -1 ENOENT (No such file or directory)

        """))
  }

  @Test func colourOnlyWhenAsked() throws {
    let b = FakeBackend()
    b.answers["connect"] = [.failure(.ENOENT)]
    let f = try #require(run("sock u = stream unix\nconnect u \"x.sock\"\n", b))
    #expect(!FailureRenderer(color: false).render(f).contains("\u{1B}["))
    #expect(FailureRenderer(color: true).render(f).contains("\u{1B}[1;31mFAIL:"))
  }
}

@Suite struct CatalogTests {
  @Test func everyReferenceErrnoHasAMeaningAndExample() {
    let reference: [Errno] = [
      .EACCES, .EPERM, .EADDRINUSE, .EAFNOSUPPORT, .EAGAIN, .EALREADY, .EBADF, .ECONNREFUSED, .EFAULT,
      .EINPROGRESS, .EINTR, .EISCONN, .ENETUNREACH, .ENOTSOCK, .ETIMEDOUT,
    ]
    for e in reference {
      let info = ErrnoCatalog.info(e)
      #expect(info.errno == e)
      #expect(info.inReference, "\(e.name)")
      #expect(info.meaning != nil, "\(e.name) has no meaning")
    }
    for e in Errno.allCases { #expect(!ErrnoCatalog.summary(e).isEmpty) }
  }

  @Test func examplesAreValidScenarios() {
    for info in ErrnoCatalog.entries {
      guard let ex = info.example else { continue }
      let script = Parser.parse(SourceFile(name: "\(info.errno.name).conn", text: ex))
      #expect(script.diagnostics.isEmpty, "\(info.errno.name): \(script.diagnostics.map(\.message))")
    }
  }
}
