import ConnRuntime
import ConnSim
import ConnSyntax
import Testing

/// Runs a scenario on a fresh simulated backend; returns the failure, the steps and the backend.
func simulate(
  _ text: String, timeout: TimeSpan = .seconds(10), sourceLocation: SourceLocation = #_sourceLocation
)
  -> (failure: Failure?, steps: [Step], backend: SimBackend)
{
  let script = Parser.parse(SourceFile(name: "sim.conn", text: text))
  #expect(script.diagnostics.isEmpty, "\(script.diagnostics.map(\.message))", sourceLocation: sourceLocation)
  let backend = SimBackend()
  var options = RunOptions()
  options.timeout = timeout
  let interp = Interpreter(backend: backend, options: options)
  var steps: [Step] = []
  interp.onStep = { steps.append($0) }
  if case .failure(let f) = interp.run(script) { return (f, steps, backend) }
  return (nil, steps, backend)
}

func expectPass(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
  let (f, _, _) = simulate(text, sourceLocation: sourceLocation)
  #expect(
    f == nil, "\(f.map { FailureRenderer(color: false).render($0) } ?? "")", sourceLocation: sourceLocation)
}

@Suite struct TCPStateMachineTests {
  @Test func blockingRefusedAndNonblockingRefusedWithSOError() {
    expectPass(
      """
      sock closed = stream inet
      bind closed 127.0.0.1:0
      sock s = stream inet
      connect s closed
      expect ECONNREFUSED
      get s SO_ERROR
      expect ok
      sock n = stream inet nonblock
      connect n closed
      expect EINPROGRESS
      poll n writable timeout 1s
      expect writable error hup
      get n SO_ERROR
      expect ECONNREFUSED
      get n SO_ERROR
      expect ok
      connect n closed
      expect ECONNABORTED
      """)
  }

  @Test func unreadErrorIsReturnedByTheNextConnect() {
    expectPass(
      """
      sock closed = stream inet
      bind closed 127.0.0.1:0
      sock n = stream inet nonblock
      connect n closed
      expect EINPROGRESS
      connect n closed
      expect ECONNREFUSED
      get n SO_ERROR
      expect ok
      """)
  }

  @Test func nonblockingSuccessThenZeroOnceThenEISCONN() {
    expectPass(
      """
      sock l = stream inet
      bind l 127.0.0.1:0
      listen l
      sock s = stream inet nonblock
      connect s l
      expect EINPROGRESS
      poll s writable timeout 1s
      expect writable
      connect s l
      expect ok
      connect s l
      expect EISCONN
      accept l as c
      peer c
      expect s
      """)
  }

  @Test func fullAcceptQueueDropsSYNsUntilAcceptMakesRoom() {
    // Backlog 0 holds one connection; the second SYN is dropped and retried at 1 s, 3 s...
    let (f, steps, backend) = simulate(
      """
      sock l = stream inet
      bind l 127.0.0.1:0
      listen l backlog 0
      sock a = stream inet
      connect a l
      sock b = stream inet nonblock
      connect b l
      expect EINPROGRESS
      poll b writable timeout 500ms
      expect timeout
      accept l as c1
      poll b writable timeout 5s
      expect writable
      accept l as c2
      """)
    #expect(f == nil, "\(f?.message ?? "")")
    // The retransmission at 1 s found room: the poll returned then.
    let poll = steps.last { $0.statement.kind.keyword == "poll" }
    #expect(poll?.elapsed == .milliseconds(500))
    #expect(backend.now() == .seconds(1))
  }

  @Test func defaultSYNTimeoutIs127VirtualSecondsAndInstant() {
    let clock = ContinuousClock()
    var result: (failure: Failure?, steps: [Step], backend: SimBackend)!
    let wall = clock.measure {
      result = simulate(
        """
        net route 10.9.0.0/16 silent
        sock s = stream inet
        connect s 10.9.0.1:80
        expect ETIMEDOUT within 128s
        """, timeout: .seconds(200))
    }
    #expect(result.failure == nil, "\(result.failure?.message ?? "")")
    #expect(result.steps.last?.elapsed == .seconds(127))
    #expect(wall < .milliseconds(500), "a 127-second timeout took \(wall) of real time")
  }

  @Test func synCountOneGivesUpAfterThreeSeconds() {
    let (f, steps, _) = simulate(
      """
      net route 10.9.0.0/16 silent
      sock s = stream inet
      set s TCP_SYNCNT 1
      connect s 10.9.0.1:80
      expect ETIMEDOUT within 4s
      """)
    #expect(f == nil)
    #expect(steps.last?.elapsed == .seconds(3))
  }

  @Test func interruptLeavesTheAttemptRunning() {
    expectPass(
      """
      net route 10.9.0.0/16 silent
      sock s = stream inet
      connect s 10.9.0.1:80 interrupt 200ms
      expect EINTR within 300ms
      connect s 10.9.0.1:80 nonblock
      expect EALREADY
      """)
  }

  @Test func sendTimeoutBoundsABlockingConnect() {
    expectPass(
      """
      net route 10.9.0.0/16 silent
      sock s = stream inet
      set s SO_SNDTIMEO 100ms
      connect s 10.9.0.1:80
      expect EINPROGRESS within 150ms
      connect s 10.9.0.1:80
      expect EALREADY within 150ms
      """)
  }

  @Test func blockingCallPastTheLimitIsATimeoutFailure() {
    let (f, _, _) = simulate(
      """
      net route 10.9.0.0/16 silent
      sock s = stream inet
      connect s 10.9.0.1:80
      expect ETIMEDOUT
      """, timeout: .seconds(10))
    #expect(f?.kind == .backend)
    #expect(f?.message == "timed out after 10s")
  }

  @Test func routesGiveTheirErrnos() {
    expectPass(
      """
      net route 10.8.0.0/16 unreachable
      net route 10.7.0.0/16 prohibit
      net route 10.6.0.0/16 blackhole
      sock s = stream inet
      connect s 10.8.0.1:80
      expect EHOSTUNREACH
      connect s 10.7.0.1:80
      expect EACCES
      connect s 10.6.0.1:80
      expect EINVAL
      connect s 10.5.0.1:80
      expect ENETUNREACH
      """)
  }

  @Test func fourTupleCollisionIsEADDRNOTAVAIL() {
    expectPass(
      """
      sock l = stream inet
      bind l 127.0.0.1:0
      listen l
      sock a = stream inet
      set a SO_REUSEADDR 1
      bind a 127.0.0.1:29392
      sock b = stream inet
      set b SO_REUSEADDR 1
      bind b 127.0.0.1:29392
      connect a l
      connect b l
      expect EADDRNOTAVAIL
      """)
  }

  @Test func exhaustedEphemeralRange() {
    expectPass(
      """
      net ports 40000 40001
      sock l = stream inet
      bind l 127.0.0.1:0
      local l
      expect 127.0.0.1:40000
      listen l
      sock a = stream inet
      connect a l
      sock b = stream inet
      connect b l
      expect EADDRNOTAVAIL
      """)
  }
}

@Suite struct ArgumentOrderTests {
  @Test func kernelOrderEBADFThenEFAULTThenENOTSOCK() {
    expectPass(
      """
      sock bad = fd 999
      connect bad badptr
      expect EBADF
      sock f = file "/dev/null"
      connect f badptr
      expect EFAULT
      connect f 127.0.0.1:80
      expect ENOTSOCK
      sock s = stream inet
      connect s 127.0.0.1:80 len 3
      expect EINVAL
      connect s [::1]:80
      expect EAFNOSUPPORT
      """)
  }

  @Test func descriptorsAreTheLowestFreeNumbers() {
    let (_, steps, _) = simulate(
      """
      sock a = stream inet
      sock b = stream inet
      close a
      sock c = dgram inet
      """)
    let numbers = steps.compactMap { step -> Int64? in
      if case .number(let n) = step.outcome, step.statement.kind.keyword == "sock" { return n }
      return nil
    }
    #expect(numbers == [3, 4, 3])
  }
}

@Suite struct UDPAndUnixTests {
  @Test func udpReconnectAndDissolve() {
    expectPass(
      """
      sock u = dgram inet
      connect u 127.0.0.1:9
      peer u
      expect 127.0.0.1:9
      connect u 127.0.0.1:10
      peer u
      expect 127.0.0.1:10
      connect u unspec
      peer u
      expect ENOTCONN
      local u
      expect 0.0.0.0:0
      """)
  }

  @Test func unixErrors() {
    expectPass(
      """
      sock s = stream unix
      connect s "missing.sock"
      expect ENOENT
      sock d = dgram unix
      bind d "d.sock"
      connect s "d.sock"
      expect EPROTOTYPE
      sock l = stream unix
      bind l "l.sock"
      connect s "l.sock"
      expect ECONNREFUSED
      listen l backlog 0
      sock a = stream unix
      connect a "l.sock"
      sock b = stream unix nonblock
      connect b "l.sock"
      expect EAGAIN
      connect s @nobody-here
      expect ECONNREFUSED
      """)
  }

  @Test func unixDatagramPeerConnectedElsewhereIsEPERM() {
    expectPass(
      """
      sock a = dgram unix
      bind a "a.sock"
      sock b = dgram unix
      bind b "b.sock"
      connect a "b.sock"
      sock c = dgram unix
      bind c "c.sock"
      connect c "a.sock"
      expect EPERM
      """)
  }

  @Test func socketFilesNeedWritePermission() {
    expectPass(
      """
      sock l = stream unix
      bind l "srv.sock"
      listen l
      user nobody
      sock s = stream unix
      connect s "srv.sock"
      expect EACCES
      user root
      connect s "srv.sock"
      """)
  }
}

@Suite struct NotModelledTests {
  @Test func unknownThingsFailClearlyNeverSucceedSilently() {
    let (f, _, _) = simulate("sock s = stream inet\nget s SO_SNDBUF\n")
    #expect(f?.kind == .backend)
    #expect(f?.message.hasPrefix("not modelled by the simulated backend: ") == true)
  }
}

@Suite struct DescriptorStatementTests {
  @Test func socketPairsOfEachUnixType() {
    expectPass(
      """
      socketpair a b = stream unix
      peer a
      expect unnamed
      send a "ping"
      recv b
      expect "ping"
      listen a
      expect EINVAL
      close a
      poll b readable timeout 1s
      expect readable hup
      recv b
      expect ""
      socketpair c d = dgram unix
      send d "x"
      recv c
      expect "x"
      close d
      send c "y"
      expect ECONNREFUSED
      send c "y"
      expect ENOTCONN
      socketpair e f = seqpacket unix nonblock
      recv e
      expect EAGAIN
      socketpair g h = stream inet6
      expect EOPNOTSUPP
      """)
  }

  @Test func socketPairNeedsTwoDescriptors() {
    let backend = SimBackend(descriptorLimit: 5)
    let script = Parser.parse(
      SourceFile(
        name: "sim.conn",
        text:
          "sock s = stream unix\nsocketpair a b = stream unix\nexpect EMFILE\nsock t = stream unix\nexpect 4\n"
      ))
    #expect(script.diagnostics.isEmpty)
    if case .failure(let f) = Interpreter(backend: backend, options: RunOptions()).run(script) {
      Issue.record("\(FailureRenderer(color: false).render(f))")
    }
  }

  @Test func dupKeepsTheSocketUntilTheLastClose() {
    expectPass(
      """
      sock l = stream inet
      bind l 127.0.0.1:0
      listen l
      dup l as l2
      expect 4
      close l
      sock c = stream inet
      connect c l2
      accept l2 as a
      dup a as a2 fd 100
      expect 100
      close a
      send a2 "x"
      recv c
      expect "x"
      close a2
      recv c
      expect ""
      close l2
      dup l2 as l3
      expect EBADF
      dup c as c2 fd 100
      expect 100
      dup c2 as c3 fd 100
      expect EINVAL
      dup c2 as c4 fd 2000000
      expect EBADF
      """)
  }

  @Test func dupSharesNonblocking() {
    expectPass(
      """
      socketpair p q = stream unix
      dup p as p2
      set p2 nonblock
      recv p
      expect EAGAIN
      set p block
      recv p2 interrupt 20ms
      expect EINTR
      """)
  }

  @Test func descriptorFlags() {
    expectPass(
      """
      sock s = stream inet nonblock
      get s O_NONBLOCK
      expect 1
      get s FD_CLOEXEC
      expect 1
      dup s as d
      set d O_NONBLOCK off
      set d FD_CLOEXEC off
      get s O_NONBLOCK
      expect 0
      get s FD_CLOEXEC
      expect 1
      get d FD_CLOEXEC
      expect 0
      close d
      dup s as again
      get again FD_CLOEXEC
      expect 1
      sock zero = fd 0
      get zero FD_CLOEXEC
      expect 0
      sock bad = fd -1
      get bad O_NONBLOCK
      expect EBADF
      set bad FD_CLOEXEC on
      expect EBADF
      """)
  }
}
