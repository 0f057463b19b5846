import Testing

@testable import ConnSyntax

private let decl = "sock s = stream inet\n"

@Suite struct ParserStatementTests {
  @Test func designCardLineParsesClean() {
    let kinds = cleanStatements("sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS")
    #expect(kinds.count == 3)
    guard kinds.count == 3 else { return }
    guard case .sock(let s, .socket(let kind, let nb, _)) = kinds[0] else {
      Issue.record("not a sock: \(kinds[0])")
      return
    }
    #expect(s.slot == 0 && kind == SocketKind(.stream, .inet) && !nb)
    guard case .connect(let c, .address(let a), let o) = kinds[1] else {
      Issue.record("not a connect: \(kinds[1])")
      return
    }
    #expect(c.slot == 0)
    #expect(a == .inet(IPv4Address(127, 0, 0, 1), port: 80))
    #expect(o.nonblock && o.interrupt == nil && o.addressLength == nil)
    guard case .expect(let e) = kinds[2] else {
      Issue.record("not an expect: \(kinds[2])")
      return
    }
    #expect(e.errnos.members == [.EINPROGRESS])
    #expect(!e.ok && !e.timeout && e.events.isEmpty && e.within == nil)
  }

  /// Equal `expect`s share their alternatives (ExpectationTable): each keeps exactly what it
  /// says, however many there are and however alike (ports, families, errnos, within).
  @Test func manyAlikeExpectationsKeepTheirOwnAlternatives() {
    var text = "sock u = dgram inet6\n"
    var wanted: [([SocketAddress], [Errno], TimeSpan?)] = []
    for i in 0..<300 {
      let port = UInt16(1000 + i % 150)
      switch i % 4 {
      case 0:
        text += "peer u\nexpect [::1]:\(port)\n"
        wanted.append(([.inet6(.loopback, port: port, scope: nil)], [], nil))
      case 1:
        text += "peer u\nexpect 127.0.0.1:\(port)\n"
        wanted.append(([.inet(.loopback, port: port)], [], nil))
      case 2:
        text += "peer u\nexpect [::1]:\(port) or ENOTCONN\n"
        wanted.append(([.inet6(.loopback, port: port, scope: nil)], [.ENOTCONN], nil))
      default:
        text += "peer u\nexpect ENOTCONN within \(i)ms\n"
        wanted.append(([], [.ENOTCONN], TimeSpan(nanoseconds: Int64(i) * 1_000_000)))
      }
    }
    let expects = cleanStatements(text).compactMap { k -> ConnSyntax.Expectation? in
      if case .expect(let e) = k { return e } else { return nil }
    }
    #expect(expects.count == wanted.count)
    for (e, w) in zip(expects, wanted) {
      let (addresses, errnos, within) = w
      #expect(e.addresses == addresses, "\(e.addresses) \(w)")
      #expect(e.errnos.members == errnos, "\(e.errnos.members) \(w)")
      #expect(e.within == within, "\(String(describing: e.within)) \(w)")
    }
  }

  @Test func statementRangesAndSocketNames() {
    let s = parse("sock a = dgram inet6 nonblock\n  close a  # done\n")
    #expect(s.diagnostics.isEmpty)
    #expect(s.socketNames == ["a"])
    #expect(s.statements.map(\.range) == [SourceRange(0, 29), SourceRange(32, 39)])
  }

  @Test func sockForms() {
    let k = cleanStatements(
      """
      sock a = stream inet
      sock b = dgram inet6 nonblock
      sock c = seqpacket unix
      sock d = fd 1000
      sock e = file "/dev/null"
      sock f = fd -1
      """)
    let specs: [SocketSpec] = k.compactMap {
      if case .sock(_, let spec) = $0 { return spec } else { return nil }
    }
    #expect(
      specs == [
        .socket(SocketKind(.stream, .inet), nonblocking: false),
        .socket(SocketKind(.dgram, .inet6), nonblocking: true),
        .socket(SocketKind(.seqpacket, .unix), nonblocking: false),
        .descriptor(1000),
        .file("/dev/null"),
        .descriptor(-1),
      ])
  }

  @Test func bindAddresses() {
    let k = cleanStatements(
      decl + """
        bind s 0.0.0.0:0
        bind s [::]:8080
        bind s [fe80::1%eth0]:22
        bind s "/run/x.sock"
        bind s "tab\\there\\x41"
        bind s @abstract-name
        bind s unspec
        """)
    let addrs: [SocketAddress] = k.compactMap {
      if case .bind(_, let a) = $0 { return a } else { return nil }
    }
    #expect(
      addrs == [
        .inet(.any, port: 0),
        .inet6(.any, port: 8080, scope: nil),
        .inet6(ipv6("fe80::1"), port: 22, scope: "eth0"),
        .unix("/run/x.sock"),
        .unix("tab\there\u{41}"),
        .abstract("abstract-name"),
        .unspec,
      ])
  }

  @Test func listen() {
    let k = cleanStatements(decl + "listen s\nlisten s backlog 128")
    guard k.count == 3, case .listen(_, let b1) = k[1], case .listen(_, let b2) = k[2] else {
      Issue.record("\(k)")
      return
    }
    #expect(b1 == nil && b2 == 128)
  }

  @Test func connectTargetsAndOptions() {
    let k = cleanStatements(
      decl + """
        sock l = stream inet
        connect s 10.0.0.1:443
        connect s [::ffff:127.0.0.1]:80 nonblock interrupt 100ms len 8
        connect s l
        connect s unspec
        connect s badptr
        """)
    var targets: [ConnectTarget] = []
    var options: [CallOptions] = []
    for kind in k {
      if case .connect(_, let t, let o) = kind {
        targets.append(t)
        options.append(o)
      }
    }
    #expect(targets.count == 5)
    guard targets.count == 5 else { return }
    #expect(targets[0] == .address(.inet(IPv4Address(10, 0, 0, 1), port: 443)))
    #expect(targets[1] == .address(.inet6(.mapping(.loopback), port: 80, scope: nil)))
    guard case .boundAddressOf(let l) = targets[2] else {
      Issue.record("\(targets[2])")
      return
    }
    #expect(l.slot == 1)
    #expect(targets[3] == .address(.unspec))
    #expect(targets[4] == .badPointer)
    var o = CallOptions()
    o.nonblock = true
    o.interrupt = .milliseconds(100)
    o.addressLength = 8
    #expect(options[1] == o)
    #expect(options[0] == CallOptions())
  }

  @Test func addressesFromASocketsPortNullAndFamilyNumbers() {
    let k = cleanStatements(
      decl + """
        sock l = stream inet
        connect s 127.0.0.1:l
        connect s [::ffff:127.0.0.1]:l len 28
        bind s 0.0.0.0:l
        sendto s 127.0.0.2:l "x"
        sendto s null "x"
        connect s null len 16
        connect s family 17
        peer s
        expect [::ffff:127.0.0.1]:l or 127.0.0.1:80
        """)
    guard k.count == 11 else {
      Issue.record("\(k.count) statements")
      return
    }
    guard case .connect(_, .withPortOf(let a, let ref), _) = k[2],
      case .connect(_, .withPortOf(let a6, let ref6), let o6) = k[3]
    else {
      Issue.record("\(k[2]) \(k[3])")
      return
    }
    #expect(a == .inet(IPv4Address(127, 0, 0, 1), port: 0) && ref.slot == 1)
    #expect(
      a6 == .inet6(.mapping(.loopback), port: 0, scope: nil) && ref6.slot == 1 && o6.addressLength == 28)
    guard case .bindPortOf(_, let b, let bref) = k[4] else {
      Issue.record("\(k[4])")
      return
    }
    #expect(b == .inet(IPv4Address(0), port: 0) && bref.slot == 1)
    guard case .send(_, _, _, .withPortOf(let sa, _)?, _, _) = k[5],
      case .send(_, _, _, .nullPointer?, _, _) = k[6]
    else {
      Issue.record("\(k[5]) \(k[6])")
      return
    }
    #expect(sa == .inet(IPv4Address(127, 0, 0, 2), port: 0))
    guard case .connect(_, .nullPointer, let on) = k[7], case .connect(_, .family(17), _) = k[8] else {
      Issue.record("\(k[7]) \(k[8])")
      return
    }
    #expect(on.addressLength == 16)
    guard case .expect(let e) = k[10] else { return }
    #expect(e.sockets.map(\.slot) == [1])
    #expect(e.portTemplates == [0: .inet6(.mapping(.loopback), port: 0, scope: nil)])
    #expect(e.addresses == [.inet(IPv4Address(127, 0, 0, 1), port: 80)])
  }

  @Test func aSocketsPortOnlyWhereAnAddressIsSentToOrBound() {
    #expect(
      summary(parse("sock s = stream inet\nconnect s 127.0.0.1:zz\n")) == ["check.undeclared-socket 2:21"])
    let route = parse("net route 10.0.0.0/8 unreachable\nhost h\nroute h 10.0.0.0/8 via 10.0.0.1:l\n")
    #expect(!route.diagnostics.isEmpty)
    #expect(!summary(parse("sock s = stream inet\nconnect s 127.0.0.1:1a\n")).isEmpty)
    #expect(!summary(parse("sock s = stream inet\nconnect s 127.0.0.1:a.b\n")).isEmpty)
  }

  @Test func pollOnSeveralDescriptorsAndTheirExpectations() {
    let k = cleanStatements(
      decl + """
        sock u = dgram inet
        poll s readable writable u readable timeout 1s interrupt 10ms
        expect s writable u none or timeout
        poll s writable
        expect s writable
        """)
    guard k.count == 6, case .pollSet(let targets, let timeout, let o) = k[2], case .expect(let e) = k[3],
      case .poll = k[4], case .expect(let single) = k[5]
    else {
      Issue.record("\(k)")
      return
    }
    #expect(
      targets.map(\.socket.slot) == [0, 1] && targets.map(\.events) == [[.readable, .writable], [.readable]])
    #expect(timeout == .seconds(1) && o.interrupt == .milliseconds(10))
    #expect(e.timeout && e.descriptorEvents.count == 1)
    #expect(e.descriptorEvents[0].map(\.events) == [[.writable], []])
    #expect(e.descriptorEvents[0].map { e.sockets[$0.socket].slot } == [0, 1])
    #expect(single.descriptorEvents.count == 1 && single.addresses.isEmpty)
    #expect(summary(parse(decl + "sock z = dgram inet\npoll s writable\nexpect z writable\n")).count == 1)
    #expect(summary(parse(decl + "connect s 127.0.0.1:1\nexpect s readable\n")).count == 1)
    #expect(summary(parse(decl + "poll s readable s writable\n")).count == 1)
  }

  @Test func rawPacketAndNetlinkSocketsAndNetlinkAddresses() {
    let k = cleanStatements(
      """
      sock r = raw inet proto 1 nonblock
      sock p = dgram packet
      sock n = raw netlink proto 16
      connect n netlink 0 groups 5
      bind n netlink 1234
      peer n
      expect netlink 0 groups 1 or netlink 7
      """)
    guard k.count == 7, case .sock(_, .socket(let rk, true, nil)) = k[0],
      case .sock(_, .socket(let pk, false, nil)) = k[1],
      case .sock(_, .socket(let nk, _, _)) = k[2], case .connect(_, .address(let to), _) = k[3],
      case .bind(_, let b) = k[4], case .expect(let e) = k[6]
    else {
      Issue.record("\(k)")
      return
    }
    #expect(rk == SocketKind(.raw, .inet, proto: 1) && pk == SocketKind(.dgram, .packet))
    #expect(nk == SocketKind(.raw, .netlink, proto: 16))
    #expect(to == .netlink(pid: 0, groups: 5) && b == .netlink(pid: 1234, groups: 0))
    #expect(e.addresses == [.netlink(pid: 0, groups: 1), .netlink(pid: 7, groups: 0)])
    // A socket named netlink is still a socket where no number follows.
    #expect(summary(parse("sock netlink = stream inet\nsock s = stream inet\nconnect s netlink\n")).isEmpty)
  }

  @Test func optionsByNumber() {
    let k = cleanStatements(
      decl + "set s opt IPPROTO_TCP 30 1\nset s opt 1 2 -1\nget s opt SOL_SOCKET 3\nexpect 1\n")
    #expect(k.count == 5)
    guard k.count == 5 else { return }
    guard case .set(_, .optionNumber(let first, 1)) = k[1] else {
      Issue.record("\(k[1])")
      return
    }
    #expect(first == OptionNumber(level: 6, name: 30))
    guard case .set(_, .optionNumber(let n, let v)) = k[2], case .getNumber(_, let g) = k[3] else {
      Issue.record("\(k)")
      return
    }
    #expect(n == OptionNumber(level: 1, name: 2) && v == -1 && g == OptionNumber(level: 1, name: 3))
    #expect(k[3].resultShape == .value && k[3].keyword == "get")
    #expect(summary(parse(decl + "set s opt IPPROTO_FOO 1 1\n")).count == 1)
  }

  @Test func fileStatements() {
    let k = cleanStatements(
      """
      mkdir "d"
      mkdir "d/e" mode 0700
      mkfile "f" mode 600
      chmod "." 0711
      chown "d" nobody
      chown "f" 1000
      symlink "missing" "d/link"
      rm "f"
      """)
    let ops: [FileOperation] = k.compactMap {
      if case .file(let op) = $0 { return op } else { return nil }
    }
    #expect(
      ops == [
        .mkdir("d", mode: 0o755), .mkdir("d/e", mode: 0o700), .mkfile("f", mode: 0o600),
        .chmod(".", mode: 0o711),
        .chown("d", .nobody), .chown("f", .uid(1000)), .symlink(target: "missing", link: "d/link"),
        .remove("f"),
      ])
    #expect(k.first?.keyword == "mkdir" && k.last?.keyword == "rm" && k.last?.resultShape == .status)
    // Only the private directory: no absolute path, no climbing out, no entry named "." or "..".
    #expect(summary(parse("mkdir \"/etc/x\"\n")) == ["path.absolute-file 1:7"])
    #expect(summary(parse("symlink \"/etc\" \"e\"\n")) == ["path.absolute-file 1:9"])
    #expect(summary(parse("chmod \"../x\" 0700\n")) == ["path.escapes 1:7"])
    #expect(summary(parse("rm \"a/..\"\n")).count == 1)
    #expect(summary(parse("mkdir \"a\" mode 0999\n")).count == 1)
    #expect(summary(parse("chmod \"a\" 017777\n")).count == 1)
    #expect(summary(parse("chmod \"a\"\n")).count == 1)
  }

  @Test func accept() {
    guard case .accept(let l, let c, let o)? = lastStatement(decl + "accept s as conn nonblock interrupt 2s")
    else {
      Issue.record("not an accept")
      return
    }
    #expect(l.slot == 0 && c.slot == 1)
    #expect(o.nonblock && o.interrupt == .seconds(2))
  }

  @Test func socketPair() {
    let k = cleanStatements(
      "socketpair a b = dgram unix nonblock\nsend a \"x\"\nrecv b\nsocketpair c d = stream inet")
    guard k.count == 4, case .socketPair(let a, let b, let kind, let nb) = k[0],
      case .socketPair(_, _, let kind2, let nb2) = k[3]
    else {
      Issue.record("not socketpairs: \(k)")
      return
    }
    #expect(a.slot == 0 && b.slot == 1)
    #expect(kind == SocketKind(.dgram, .unix) && nb)
    #expect(kind2 == SocketKind(.stream, .inet) && !nb2)
    #expect(k[0].resultShape == .status)
    assertDiagnostic("socketpair a 1️⃣= stream unix\n", "parse.expected")
    assertDiagnostic("socketpair a b = 1️⃣unix\n", "parse.expected")
    assertDiagnostic("socketpair a b = stream unix\nexpect 1️⃣3\n", "check.expectation-mismatch")
  }

  @Test func dup() {
    let k = cleanStatements(decl + "dup s as d\ndup d as e fd 200\nexpect 200\nclose e")
    guard k.count == 5, case .dup(let s, let d, let at) = k[1], case .dup(let d2, let e, let at2) = k[2]
    else {
      Issue.record("not dups: \(k)")
      return
    }
    #expect(s.slot == 0 && d.slot == 1 && at == nil)
    #expect(d2.slot == 1 && e.slot == 2 && at2 == 200)
    #expect(k[1].resultShape == .descriptor)
    assertDiagnostic(decl + "dup s 1️⃣d\n", "parse.expected")
    assertDiagnostic(decl + "dup s as d fd 1️⃣-1\n", "check.out-of-range")
    assertDiagnostic("dup 1️⃣s as d\n", "check.undeclared-socket")
  }

  @Test func descriptorFlags() {
    let k = cleanStatements(
      decl
        + "set s O_NONBLOCK on\nset s FD_CLOEXEC off\nget s O_NONBLOCK\nexpect 1\nget s FD_CLOEXEC\nexpect 0")
    guard k.count == 7, case .set(_, .nonblocking(true)) = k[1], case .set(_, .closeOnExec(false)) = k[2],
      case .getFlag(_, .O_NONBLOCK) = k[3], case .getFlag(_, .FD_CLOEXEC) = k[5]
    else {
      Issue.record("not flag statements: \(k)")
      return
    }
    #expect(k[3].resultShape == .value)
    assertDiagnostic(decl + "set s FD_CLOEXEC 1️⃣1\n", "parse.expected")
    assertDiagnostic(decl + "get s 1️⃣FD_CLOEXC\n", "check.unknown-option", hint: "did you mean 'FD_CLOEXEC'?")
  }

  @Test func setAndGet() {
    let k = cleanStatements(
      decl + """
        set s nonblock
        set s block
        set s SO_REUSEADDR on
        set s TCP_NODELAY off
        set s SO_SNDBUF 65536
        set s SO_RCVTIMEO 250ms
        set s SO_LINGER off
        set s SO_LINGER 5s
        get s SO_ERROR
        get s TCP_SYNCNT
        """)
    let settings: [Setting] = k.compactMap { if case .set(_, let v) = $0 { return v } else { return nil } }
    #expect(
      settings == [
        .nonblocking(true), .nonblocking(false),
        .option(.SO_REUSEADDR, .integer(1)), .option(.TCP_NODELAY, .integer(0)),
        .option(.SO_SNDBUF, .integer(65536)), .option(.SO_RCVTIMEO, .duration(.milliseconds(250))),
        .option(.SO_LINGER, .off), .option(.SO_LINGER, .duration(.seconds(5))),
      ])
    let gets: [SocketOption] = k.compactMap { if case .get(_, let o) = $0 { return o } else { return nil } }
    #expect(gets == [.SO_ERROR, .TCP_SYNCNT])
  }

  @Test func poll() {
    guard
      case .poll(_, let ev, let timeout, let o)? = lastStatement(
        decl + "poll s readable writable rdhup timeout 1.5s interrupt 10ms")
    else {
      Issue.record("not a poll")
      return
    }
    #expect(ev == [.readable, .writable, .readHangup])
    #expect(timeout == TimeSpan(nanoseconds: 1_500_000_000))
    #expect(o.interrupt == .milliseconds(10) && !o.nonblock)
    guard case .poll(_, let ev2, nil, _)? = lastStatement(decl + "poll s error hup pri") else {
      Issue.record("not a poll without timeout")
      return
    }
    #expect(ev2 == [.error, .hangup, .priority])
    guard case .poll(_, let ev3, _, _)? = lastStatement(decl + "poll s nval") else { return }
    #expect(ev3 == .invalid)
  }

  @Test func singleSocketStatements() {
    let k = cleanStatements(
      decl + "peer s\nlocal s\nshutdown s read\nshutdown s write\nshutdown s both\nclose s")
    #expect(k.map(\.keyword) == ["sock", "peer", "local", "shutdown", "shutdown", "shutdown", "close"])
    let hows: [ShutdownHow] = k.compactMap {
      if case .shutdown(_, let h) = $0 { return h } else { return nil }
    }
    #expect(hows == [.read, .write, .both])
  }

  @Test(
    arguments: [
      ("250us", 250_000), ("10ms", 10_000_000), ("1.5s", 1_500_000_000), ("2m", 120_000_000_000),
      ("7ns", 7), ("0.001s", 1_000_000), ("1.0000000004s", 1_000_000_000), ("0.5us", 500),
      ("60m", 3_600_000_000_000),
      ("0.25m", 15_000_000_000), ("0.999999999m", 59_999_999_940),
    ] as [(String, Int64)])
  func sleepDurationsInNanoseconds(_ text: String, _ ns: Int64) {
    guard case .sleep(let d, _)? = lastStatement("sleep \(text)") else {
      Issue.record("not a sleep")
      return
    }
    #expect(d.nanoseconds == ns)
  }

  @Test func singleValuesForCommandLineOptions() {
    #expect(Parser.duration("10s") == .seconds(10))
    #expect(Parser.duration("2.5ms") == TimeSpan(nanoseconds: 2_500_000))
    #expect(Parser.duration("0.999999999m") == TimeSpan(nanoseconds: 59_999_999_940))
    for bad in ["", "10", "2h", "61m", "10s 1s", "10s;", " ", "1.5", "\u{0}"] {
      #expect(Parser.duration(bad) == nil, "\(bad.debugDescription)")
    }
    #expect(Parser.prefix("10.0.0.0/8") == .v4(IPv4Address(10, 0, 0, 0), 8))
    #expect(Parser.prefix("fd00::/64") == .v6(ipv6("fd00::"), 64))
    for bad in ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "x/8", "10.0.0.0/8 x", "[::1]/64", ""] {
      #expect(Parser.prefix(bad) == nil, "\(bad)")
    }
  }

  @Test func hexEscapesAboveASCIIInPathsAreRejected() {
    // Paths are UTF-8 text: a lone byte above 0x7F would not reach the kernel as written, so
    // it is a diagnostic rather than a silent change.
    let s = parse("sock s = stream unix\nbind s \"a\\xffb\"\n")
    #expect(s.diagnostics.map(\.id) == ["lex.non-ascii-escape"])
    let ok = parse("sock s = stream unix\nbind s \"a\\x7fb\"\n")
    #expect(ok.diagnostics.isEmpty)
    guard case .bind(_, .unix(let path))? = ok.statements.last?.kind else {
      Issue.record("not a bind")
      return
    }
    #expect(Array(path.utf8) == [0x61, 0x7F, 0x62])
  }

  @Test func expectAlternatives() {
    let e = expectation(
      decl + "connect s 127.0.0.1:1 nonblock\nexpect EINPROGRESS or EALREADY or ECONNREFUSED within 4s")
    #expect(e?.errnos.members == [.ECONNREFUSED, .EALREADY, .EINPROGRESS])
    #expect(e?.within == .seconds(4))
    #expect(e?.isEmpty == false)
    let ok = expectation(decl + "close s\nexpect ok or EBADF")
    #expect(ok?.ok == true && ok?.errnos.members == [.EBADF])
    let alias = expectation(decl + "connect s 127.0.0.1:1\nexpect EWOULDBLOCK")
    #expect(alias?.errnos.members == [.EAGAIN])
  }

  @Test func expectEventsNumbersAndAddresses() {
    let ev = expectation(
      decl + "poll s readable writable timeout 1s\nexpect readable writable or error hup or timeout")
    #expect(ev?.events == [[.readable, .writable], [.error, .hangup]])
    #expect(ev?.timeout == true)
    let n = expectation("sock s = fd 7\nexpect 7 or EBADF")
    #expect(n?.numbers == [7])
    let a = expectation(decl + "peer s\nexpect 127.0.0.1:80 or [::1]:80 or \"/x\" or @y or unnamed or unspec")
    #expect(
      a?.addresses == [
        .inet(.loopback, port: 80), .inet6(.loopback, port: 80, scope: nil), .unix("/x"), .abstract("y"),
        .unix(""),
        .unspec,
      ])
    let sock = expectation(decl + "sock l = stream inet\npeer s\nexpect l")
    #expect(sock?.sockets.map(\.slot) == [1])
  }

  @Test func netRules() {
    let s = parse(
      """
      net route 10.0.0.0/8 unreachable
      net route fd00::/64 prohibit
      net route 192.0.2.0/24 blackhole
      net route 198.51.100.0/24 silent
      net addr 203.0.113.5/32
      net ports 40000 40100
      """)
    #expect(s.diagnostics.isEmpty)
    #expect(
      s.netRules.map(\.0) == [
        .route(.v4(IPv4Address(10, 0, 0, 0), 8), .unreachable),
        .route(.v6(ipv6("fd00::"), 64), .prohibit),
        .route(.v4(IPv4Address(192, 0, 2, 0), 24), .blackhole),
        .route(.v4(IPv4Address(198, 51, 100, 0), 24), .silent),
        .address(.v4(IPv4Address(203, 0, 113, 5), 32)),
        .ports(40000, 40100),
      ])
  }

  @Test func users() {
    let k = cleanStatements("user root\nuser nobody\nuser 1000")
    let ids: [UserIdentity] = k.compactMap { if case .user(let u) = $0 { return u } else { return nil } }
    #expect(ids == [.root, .nobody, .uid(1000)])
  }

  @Test func repeatBlocksNest() {
    let k = cleanStatements(decl + "repeat 3 {\n  repeat 2 { close s; sleep 1ms }\n  peer s\n}\nclose s")
    #expect(k.map(\.keyword) == ["sock", "repeat", "close"])
    guard case .repeat(let n, let body) = k[1] else { return }
    #expect(n == 3)
    #expect(body.map(\.kind.keyword) == ["repeat", "peer"])
    guard case .repeat(let m, let inner) = body[0].kind else { return }
    #expect(m == 2)
    #expect(inner.map(\.kind.keyword) == ["close", "sleep"])
  }

  @Test func emptyRepeatAndBlankLines() {
    let k = cleanStatements("\n\n;;repeat 1 {}\n\n; ;\n")
    #expect(k.map(\.keyword) == ["repeat"])
  }

  @Test func headerRequirements() {
    let s = parse("# A scenario\n# needs: root, isolate ipv6\n\nsock s = stream inet\n# needs: linux\n")
    #expect(s.diagnostics.isEmpty)
    #expect(s.requirements.names == ["root", "isolate", "ipv6"])
    assertDiagnostic("# needs: root 1️⃣rooot\n", "header.unknown-need")
  }

  @Test func headerWithCRLFLineEndings() {
    let s = parse("# needs: root linux\r\nsock s = stream inet\r\nclose s\r\n")
    #expect(summary(s) == [])
    #expect(s.requirements.names == ["root", "linux"])
  }

  @Test func headerWithInvalidUTF8StaysInBounds() {
    let bytes: [UInt8] = Array("# needs: ".utf8) + [0xFF, 0xFE] + Array("x root".utf8)
    let s = parse(bytes: bytes)
    #expect(s.diagnostics.map(\.id) == ["header.unknown-need"])
    #expect(s.diagnostics.first?.range == SourceRange(9, 12))
    #expect(s.requirements.root)
  }
}

@Suite struct ParserRecoveryTests {
  @Test func threeIndependentErrorsOnThreeLines() {
    assertDiagnostics(
      """
      sock s = stream inet
      1️⃣conect s 127.0.0.1:80
      sleep 2️⃣10
      set s SO_SNDBUF 3️⃣1ms
      close s
      """,
      [
        ExpectedDiagnostic("parse.unknown-statement", at: "1️⃣", hint: "did you mean 'connect'?"),
        ExpectedDiagnostic("parse.expected", at: "2️⃣", hint: "10ms"),
        ExpectedDiagnostic("parse.invalid-value", at: "3️⃣"),
      ])
  }

  @Test func onlyTheFirstErrorOfAStatementIsReported() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 1️⃣999.1.1.1:99999 nonblock nonblock bogus [:::]:1 1.2.3.4:99999 = {}\n",
      "check.malformed-address")
  }

  @Test func trailingJunkAfterAStatement() {
    assertDiagnostic(
      "sock s = stream inet\nclose s 1️⃣extra\nclose s", "parse.expected", message: "after 'close'")
  }

  @Test func failedDeclarationDoesNotCascade() {
    // The socket's declaration is wrong; its later uses must not each say "not declared".
    assertDiagnostic("sock s = stream 1️⃣inte\nconnect s 127.0.0.1:80\nexpect ok\nclose s\n", "parse.expected")
  }

  @Test func expectAfterAFailedStatementDoesNotCascade() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:80\npoll s 1️⃣readble\nexpect readable\n", "parse.expected")
  }

  @Test func unclosedRepeatNamesTheOpenerLine() {
    assertDiagnostic(
      "sock s = stream inet\n\nrepeat 3 {\n  close s\n  sleep 1ms\n1️⃣", "parse.unclosed-block",
      message: "at line 3")
  }

  @Test func unclosedInnerRepeat() {
    let s = assertDiagnostics(
      "repeat 2 {\n  repeat 3 {\n    sleep 1s\n}\n1️⃣", [ExpectedDiagnostic("parse.unclosed-block")])
    #expect(s.diagnostics.first?.message.contains("line 1") == true)
  }

  @Test func strayCloseBrace() {
    let s = assertDiagnostic("sock s = stream inet\n1️⃣}\nclose s\n", "parse.stray-brace")
    #expect(s.statements.map(\.kind.keyword) == ["sock", "close"])
  }

  @Test func strayBraceAfterStatementOnSameLine() {
    assertDiagnostics(
      "sock s = stream inet\nclose s 1️⃣}\n",
      [ExpectedDiagnostic("parse.stray-brace")])
  }

  @Test func bareBlockIsOneError() {
    assertDiagnostic("1️⃣{\n sleep 1s\n}\nsleep 1s\n", "parse.expected", hint: "repeat")
  }

  @Test func unknownStatementSuggestion() {
    assertDiagnostic("1️⃣sleeep 1s", "parse.unknown-statement", hint: "did you mean 'sleep'?")
    let s = assertDiagnostic("1️⃣frobnicate 1s", "parse.unknown-statement")
    #expect(s.diagnostics.first?.hint == nil)
  }

  @Test func nestingDeeperThanTheLimit() {
    let depth = Parser.maxNesting + 8
    let text =
      String(repeating: "repeat 1 {\n", count: depth) + "sleep 1ms\n" + String(repeating: "}\n", count: depth)
    let s = parse(text)
    #expect(s.diagnostics.map(\.id) == ["parse.too-deep"])
    let (line, _) = s.source.location(of: s.diagnostics.first?.range.start ?? 0)
    #expect(line == Parser.maxNesting + 1)
    // Exactly at the limit is fine.
    let atLimit =
      String(repeating: "repeat 1 {\n", count: Parser.maxNesting) + "sleep 1ms\n"
      + String(repeating: "}\n", count: Parser.maxNesting)
    #expect(parse(atLimit).diagnostics.isEmpty)
    // And statements after the too-deep block still parse.
    let after = parse(text + "sleep\n")
    #expect(after.diagnostics.map(\.id) == ["parse.too-deep", "parse.expected"])
  }

  @Test func deepUnclosedNestingIsBounded() {
    let s = parse(String(repeating: "repeat 1 {\n", count: 10_000))
    #expect(s.diagnostics.contains { $0.id == "parse.too-deep" })
    #expect(s.diagnostics.count <= Parser.maxDiagnostics + 1)
  }

  @Test func aMillionOpenBraces() {
    let bytes = [UInt8](repeating: UInt8(ascii: "{"), count: 1_000_000)
    let clock = ContinuousClock()
    var s: Script?
    let elapsed = clock.measure { s = parse(bytes: bytes) }
    #expect(elapsed < .seconds(10))
    #expect(s?.diagnostics.contains { $0.id == "parse.too-deep" } == true)
    #expect((s?.diagnostics.count ?? 0) <= Parser.maxDiagnostics + 1)
    #expect(s?.statements.isEmpty == true)
  }

  @Test func aMillionBalancedBraces() {
    let bytes =
      [UInt8](repeating: UInt8(ascii: "{"), count: 500_000)
      + [UInt8](repeating: UInt8(ascii: "}"), count: 500_000)
    let s = parse(bytes: bytes)
    #expect(s.diagnostics.contains { $0.id == "parse.too-deep" })
    #expect(s.diagnostics.count <= Parser.maxDiagnostics + 1)
  }

  @Test func tooManyErrorsStopsCollecting() {
    let text = String(repeating: "bogus\n", count: 500)
    let s = parse(text)
    #expect(s.diagnostics.count == Parser.maxDiagnostics + 1)
    #expect(s.diagnostics.last?.id == "parse.too-many-errors")
    #expect(s.diagnostics.dropLast().allSatisfy { $0.id == "parse.unknown-statement" })
  }

  @Test func manyCheckerErrorsAreCappedToo() {
    let text = (0..<300).map { "close s\($0)" }.joined(separator: "\n")
    let s = parse(text)
    #expect(s.diagnostics.count == Parser.maxDiagnostics + 1)
    #expect(s.diagnostics.last?.id == "parse.too-many-errors")
  }
}

@Suite struct PrivilegeStatementTests {
  @Test func dropTakesAnUnprivilegedUser() {
    let k = cleanStatements("drop nobody\n")
    guard case .drop(let u) = k.first else {
      Issue.record("not a drop: \(k)")
      return
    }
    #expect(u == .nobody)
    guard case .drop(.uid(1000)) = lastStatement("drop 1000") else {
      Issue.record("drop 1000")
      return
    }
    assertDiagnostic("drop 1️⃣root\n", "parse.invalid-value", message: "keeps every privilege")
    assertDiagnostic("drop 1️⃣0\n", "parse.invalid-value", message: "keeps every privilege")
  }

  @Test func landlockRights() {
    let text = "sock l = stream inet\nlandlock connect l 80 bind none abstract\n"
    guard case .landlock(let r) = cleanStatements(text).last else {
      Issue.record("not a landlock statement")
      return
    }
    #expect(r.connect?.count == 2)
    #expect(r.connect?.last == .number(80))
    if case .portOf(let s)? = r.connect?.first {
      #expect(s.slot == 0)
    } else {
      Issue.record("l is not a port")
    }
    #expect(r.bind == [])
    #expect(r.abstract)
    guard case .landlock(let only) = lastStatement("landlock abstract") else {
      Issue.record("landlock abstract")
      return
    }
    #expect(only.connect == nil && only.bind == nil && only.abstract)
  }

  @Test func landlockMistakes() {
    assertDiagnostic("landlock1️⃣\n", "parse.expected", message: "'connect', 'bind' or 'abstract'")
    assertDiagnostic("landlock connect1️⃣\n", "parse.expected", message: "ports")
    assertDiagnostic("landlock connect 1️⃣70000\n", "check.out-of-range")
    assertDiagnostic("landlock abstract 1️⃣abstract\n", "parse.invalid-value", message: "twice")
    assertDiagnostic("landlock connect none 1️⃣connect 80\n", "parse.invalid-value", message: "twice")
    assertDiagnostic("landlock connect 1️⃣\"x\"\n", "parse.expected", message: "a port")
  }

  @Test func afterDropTheIdentityStays() {
    assertDiagnostic("drop nobody\n1️⃣user root\n", "parse.invalid-value", message: "cannot change")
    assertDiagnostic("drop nobody\n1️⃣drop 1000\n", "parse.invalid-value", message: "dropped already")
    assertDiagnostic("repeat 2 {\n  1️⃣drop nobody\n}\n", "parse.invalid-value", message: "cannot repeat")
    assertDiagnostic("repeat 2 {\n  1️⃣landlock abstract\n}\n", "parse.invalid-value", message: "cannot repeat")
    assertDiagnostic("drop nobody\n1️⃣host h\n", "parse.invalid-value", message: "gave up")
    assertDiagnostic(
      "host h\ndrop nobody\n1️⃣sock s = stream inet on h\n", "parse.invalid-value", message: "another host")
    // Before the drop, all of it is fine.
    #expect(parse("user nobody\nhost h\nsock s = stream inet on h\ndrop nobody\n").diagnostics.isEmpty)
  }

  @Test func landlockNamesDeclaredSockets() {
    assertDiagnostic("landlock connect 1️⃣l\n", "check.undeclared-socket")
  }

  @Test func atMostSixteenLayers() {
    let sixteen = String(repeating: "landlock abstract\n", count: 16)
    #expect(parse(sixteen).diagnostics.isEmpty)
    assertDiagnostic(sixteen + "1️⃣landlock abstract\n", "parse.invalid-value", message: "16")
  }

  @Test func landlockIsANeed() {
    let s = parse("# needs: landlock linux\nlandlock abstract\n")
    #expect(s.requirements.landlock && s.requirements.linux)
    #expect(s.requirements.names == ["linux", "landlock"])
    #expect(s.changesThreadForGood)
    #expect(!parse("user nobody\nrepeat 2 { sleep 1ms }\n").changesThreadForGood)
    #expect(parse("repeat 1 { sleep 1ms }\ndrop nobody\n").changesThreadForGood)
  }
}

@Suite struct BackgroundCallTests {
  @Test func backgroundIsACallOption() {
    let k = cleanStatements(
      "sock s = stream inet\nconnect s 127.0.0.1:80 background\nwait s\nexpect ECONNREFUSED\n")
    guard case .connect(_, _, let o) = k[1] else {
      Issue.record("not a connect: \(k)")
      return
    }
    #expect(o.background && !o.nonblock)
    #expect(k[1].inBackground && !k[1].hasResult)
    guard case .wait = k[2] else {
      Issue.record("not a wait")
      return
    }
    #expect(
      parse("sock l = stream inet\nrecv l 10 MSG_PEEK background\nwait l\nexpect \"x\"\n").diagnostics.isEmpty
    )
    #expect(parse("sock l = stream inet\nread l 10 background\nwait l\nexpect \"\"\n").diagnostics.isEmpty)
    #expect(
      parse("sock l = stream inet\npoll l readable timeout 1s background\nwait l\nexpect readable\n")
        .diagnostics.isEmpty)
  }

  @Test func acceptInTheBackgroundDeclaresAtWait() {
    #expect(
      parse("sock l = stream inet\naccept l as c background\nwait l\nexpect ok\nclose c\n").diagnostics
        .isEmpty)
    assertDiagnostic(
      "sock l = stream inet\naccept l as c background\nclose 1️⃣c\nwait l\nexpect ok\n",
      "check.undeclared-socket")
  }

  @Test func mistakes() {
    let s = "sock s = stream inet\n"
    assertDiagnostic(
      s + "connect s 127.0.0.1:80 background\n1️⃣expect ok\nwait s\nexpect ok\n", "check.expectation-mismatch",
      hint: "'wait s'")
    assertDiagnostic(s + "wait 1️⃣s\n", "parse.invalid-value", message: "no call of 's'")
    assertDiagnostic(s + "signal 1️⃣s\n", "parse.invalid-value", message: "no call of 's'")
    assertDiagnostic(
      s + "recv s background\n1️⃣recv s background\nwait s\nexpect 0\n", "parse.invalid-value",
      message: "already")
    assertDiagnostic(s + "1️⃣recv s background\n", "parse.invalid-value", message: "never collected")
    assertDiagnostic(
      s + "repeat 2 {\n  1️⃣recv s background\n}\nwait s\nexpect 0\n", "parse.invalid-value",
      message: "inside 'repeat'")
    assertDiagnostic(s + "connect s 1️⃣background\n", "parse.expected", message: "an address")
    assertDiagnostic(s + "shutdown s both 1️⃣background\n", "parse.expected")
    // Its socket is not closed nor its name reused while the call runs.
    assertDiagnostic(
      "sock l = stream inet\naccept l as c background\nclose 1️⃣l\nwait l\nexpect EINVAL\n",
      "parse.invalid-value",
      message: "has a call in the background")
    assertDiagnostic(
      s + "recv s background\nsock 1️⃣s = stream inet\nwait s\nexpect 0\n", "parse.invalid-value",
      message: "has a call in the background")
    // The expectation after `wait` is the collected call's.
    assertDiagnostic(
      s + "connect s 127.0.0.1:80 background\nwait s\nexpect 1️⃣\"bytes\"\n", "check.expectation-mismatch")
  }

  @Test func aSessionCarriesBackgroundCallsAcrossPieces() {
    var context = ParseContext()
    context.isSession = true
    context.declaredSockets = ["s"]
    #expect(
      Parser.parse(SourceFile(name: "a", text: "recv s background\n"), context: context).diagnostics.isEmpty)
    context.background = ["s": BackgroundCallInfo(shape: .data, acceptInto: nil)]
    #expect(
      Parser.parse(SourceFile(name: "b", text: "wait s\nexpect \"x\"\n"), context: context).diagnostics
        .isEmpty)
    context.background = [:]
    context.previousStatement = .wait(SocketRef(slot: 0, range: .none))
    context.lastWaitShape = .data
    #expect(Parser.parse(SourceFile(name: "c", text: "expect \"x\"\n"), context: context).diagnostics.isEmpty)
  }
}
