import Testing

@testable import ConnSyntax

@Suite struct CheckerTests {
  @Test func undeclaredSocketWithSuggestion() {
    assertDiagnostic(
      "sock conn = stream inet\nconnect 1️⃣con 127.0.0.1:80\n", "check.undeclared-socket",
      message: "'con'", hint: "did you mean 'conn'?")
  }

  @Test func undeclaredSocketWithoutCandidates() {
    assertDiagnostic("close 1️⃣s\n", "check.undeclared-socket", hint: "declare it first: sock s = stream inet")
  }

  @Test func undeclaredSocketIsReportedOnce() {
    assertDiagnostic("close 1️⃣x\nclose x\npeer x\n", "check.undeclared-socket")
  }

  @Test func useBeforeDeclaration() {
    assertDiagnostic("listen 1️⃣s\nsock s = stream inet\n", "check.undeclared-socket")
  }

  @Test func acceptDeclaresItsSocket() {
    let k = cleanStatements(
      "sock l = stream inet\nbind l 127.0.0.1:0\nlisten l\naccept l as c\nexpect 4\npeer c\nexpect l\nclose c\n"
    )
    #expect(k.count == 8)
  }

  @Test func connectToAnotherSocketChecksThatName() {
    assertDiagnostic("sock s = stream inet\nconnect s 1️⃣other\n", "check.undeclared-socket")
  }

  @Test func misspelledErrnoHint() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect 1️⃣ECONREFUSED\n", "check.unknown-errno",
      message: "ECONREFUSED", hint: "ECONNREFUSED")
  }

  @Test func unknownErrnoInASecondAlternative() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect ECONNREFUSED or 1️⃣ETIMEOUT\n",
      "check.unknown-errno",
      hint: "ETIMEDOUT")
  }

  @Test func unknownOption() {
    assertDiagnostic(
      "sock s = stream inet\nset s 1️⃣SO_REUSEADR on\n", "check.unknown-option", hint: "SO_REUSEADDR")
    let s = assertDiagnostic("sock s = stream inet\nget s 1️⃣SO_NOTHING_LIKE_IT\n", "check.unknown-option")
    #expect(s.diagnostics.first?.hint?.contains("known options") == true)
  }

  @Test func readOnlyOption() {
    assertDiagnostic(
      "sock s = stream inet\nset s 1️⃣SO_ERROR 0\n", "parse.invalid-value", message: "can only be read")
  }

  @Test func expectWithNoStatementBefore() {
    assertDiagnostic("# comment\n\n1️⃣expect ok\n", "check.expect-without-statement")
    assertDiagnostic("repeat 2 {\n  1️⃣expect ok\n}\n", "check.expect-without-statement")
  }

  @Test func secondExpect() {
    assertDiagnostic(
      "sock s = stream inet\nclose s\nexpect ok\n1️⃣expect ok\n", "check.expectation-mismatch",
      hint: "join alternatives with 'or'")
  }

  @Test func expectAfterStatementsWithoutResults() {
    assertDiagnostic("net ports 1000 2000\n1️⃣expect ok\n", "check.expectation-mismatch", message: "'net'")
    assertDiagnostic("user nobody\n1️⃣expect ok\n", "check.expectation-mismatch")
    assertDiagnostic(
      "repeat 2 { sleep 1ms }\n1️⃣expect ok\n", "check.expectation-mismatch", message: "'repeat'")
  }

  @Test func pollEventsAfterConnect() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:80 nonblock\nexpect 1️⃣writable\n",
      "check.expectation-mismatch",
      message: "poll events cannot follow 'connect'")
  }

  @Test func otherShapeMismatches() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:80\nexpect 1️⃣timeout\n", "check.expectation-mismatch",
      hint: "ETIMEDOUT")
    assertDiagnostic(
      "sock s = stream inet\npoll s readable timeout 1s\nexpect 1️⃣ok\n", "check.expectation-mismatch")
    assertDiagnostic(
      "sock s = stream inet\nclose s\nexpect 1️⃣3\n", "check.expectation-mismatch", message: "a number")
    assertDiagnostic(
      "sock s = stream inet\nget s SO_ERROR\nexpect 1️⃣0\n", "check.expectation-mismatch", hint: "expect ok")
    assertDiagnostic(
      "sock s = stream inet\nclose s\nexpect 1️⃣127.0.0.1:80\n", "check.expectation-mismatch",
      message: "an address")
    assertDiagnostic("sock s = stream inet\npeer s\nexpect 1️⃣ok\n", "check.expectation-mismatch")
  }

  @Test func expectationsThatFit() {
    _ = cleanStatements(
      """
      sock s = stream inet
      expect 3 or EMFILE
      get s SO_RCVBUF
      expect 131072
      get s SO_ERROR
      expect ok or ECONNREFUSED
      poll s readable timeout 10ms
      expect timeout or readable
      local s
      expect 0.0.0.0:0
      sleep 1ms
      expect ok within 5ms
      """)
  }

  @Test func duplicateAlternative() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect EAGAIN or 1️⃣EWOULDBLOCK\n",
      "check.duplicate-expectation")
  }

  @Test func portOutOfRange() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 127.0.0.1:1️⃣70000\n", "check.out-of-range", message: "70000")
    assertDiagnostic("sock s = stream inet6\nbind s [::1]:1️⃣65536\n", "check.out-of-range")
  }

  @Test func negativeNumbersOnlyWhereAllowed() {
    assertDiagnostic("sock s = stream inet\nlisten s backlog 1️⃣-1\n", "check.out-of-range", message: "-1")
    assertDiagnostic("sock s = fd 1️⃣-99999999999\n", "check.out-of-range", message: "-2147483647")
  }

  @Test func malformedAddresses() {
    assertDiagnostic(
      "sock s = stream inet\nconnect s 1️⃣999.1.1.1:80\n", "check.malformed-address", message: "999.1.1.1")
    assertDiagnostic("sock s = stream inet6\nconnect s 1️⃣[::1\n", "lex.unterminated-bracket")
    assertDiagnostic("sock s = stream inet6\nconnect s [1️⃣::1::2]:80\n", "check.malformed-address")
    assertDiagnostic(
      "sock s = stream inet\nconnect s 1️⃣127.0.0.1\n", "check.malformed-address", hint: "127.0.0.1:80")
    assertDiagnostic("sock s = stream inet6\nconnect s 1️⃣[::1]\n", "check.malformed-address", hint: "[::1]:80")
    assertDiagnostic("sock s = stream inet\nconnect s 1️⃣127.0.0.1:8x\n", "lex.malformed")
    assertDiagnostic("sock s = stream inet6\nconnect s [fe80::1%1️⃣]:80\n", "check.malformed-address")
    assertDiagnostic("sock s = stream inet\nconnect s 1️⃣1.2.3:80\n", "check.malformed-address")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"\"\n", "path.empty")
    let long = "/" + String(repeating: "p", count: 107)
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"\(long)\"\n", "path.too-long", message: "107")
  }

  /// Relative paths stay in the private directory; a NUL would cut a path short (issue 12).
  @Test func unixPathsStayInThePrivateDirectory() {
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"../escaped.sock\"\n", "path.escapes")
    assertDiagnostic("sock s = stream unix\nconnect s 1️⃣\"../../tmp/x/dotdot.sock\"\n", "path.escapes")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"a/../../b.sock\"\n", "path.escapes")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"./a//..//../b.sock\"\n", "path.escapes")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"..\"\n", "path.escapes")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"x\\0y.sock\"\n", "path.nul", hint: "@name")
    assertDiagnostic("sock s = stream unix\nbind s 1️⃣\"\\0\"\n", "path.nul")
    // Inside, or absolute: fine.
    for ok in [
      "a/../b.sock", "./x.sock", "d/./e/../f.sock", "/tmp/../tmp/abs.sock", ".../x.sock", "a/..",
      "a/b/../../c",
    ] {
      let s = Parser.parse(SourceFile(name: "t", text: "sock s = stream unix\nbind s \"\(ok)\"\n"))
      #expect(s.diagnostics.isEmpty, "\(ok): \(s.diagnostics.map(\.message))")
    }
  }

  /// The limits on paths and abstract names come from where the scenario runs.
  @Test func pathLimitsComeFromTheContext() {
    let tight = PathLimits(relativePath: 10, absolutePath: 20, abstractName: 5)
    func ids(_ text: String) -> [String] {
      Parser.parse(SourceFile(name: "t", text: text), context: ParseContext(pathLimits: tight)).diagnostics
        .map(\.id)
    }
    #expect(ids("sock s = stream unix\nbind s \"0123456789\"\n").isEmpty)
    #expect(ids("sock s = stream unix\nbind s \"0123456789a\"\n") == ["path.relative-too-long"])
    #expect(ids("sock s = stream unix\nbind s \"/0123456789/123456789\"\n") == ["path.too-long"])
    #expect(ids("sock s = stream unix\nbind s @12345\n").isEmpty)
    #expect(ids("sock s = stream unix\nbind s @123456\n") == ["abstract.too-long"])
  }

  @Test func durationOverAnHour() {
    assertDiagnostic("sleep 1️⃣61m\n", "check.out-of-range", message: "at most 1 hour")
    assertDiagnostic("sleep 1️⃣3600.000001s\n", "check.out-of-range")
    assertDiagnostic("sleep 1️⃣99999999999999999999999s\n", "check.out-of-range")
    assertDiagnostic("sock s = stream inet\npoll s readable timeout 1️⃣4000000ms\n", "check.out-of-range")
    _ = cleanStatements("sleep 60m\nsleep 3600s\n")
  }

  @Test func repeatCountOverTheLimit() {
    assertDiagnostic("repeat 1️⃣\(Parser.maxRepeat + 1) {\n sleep 1ms\n}\n", "check.out-of-range")
    assertDiagnostic("repeat 1️⃣99999999999999999999999 {\n}\n", "check.out-of-range")
    _ = cleanStatements("repeat \(Parser.maxRepeat) {\n}\n")
  }

  @Test func prefixAndPortRangeLimits() {
    assertDiagnostic("net route 10.0.0.0/1️⃣33 unreachable\n", "check.out-of-range")
    assertDiagnostic("net route fd00::/1️⃣129 unreachable\n", "check.out-of-range")
    assertDiagnostic("net addr 1️⃣10.0.0/8\n", "check.malformed-address")
    assertDiagnostic("net ports 5000 1️⃣4000\n", "check.out-of-range")
    assertDiagnostic("net ports 1️⃣70000 80000\n", "check.out-of-range")
  }
}
