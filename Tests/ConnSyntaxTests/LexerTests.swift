import Testing

@testable import ConnSyntax

/// Kinds and texts of every token before end of file.
private func lex(_ text: String) -> [(TokenKind, String)] {
  let bytes = Array(text.utf8)
  let (tokens, _) = Lexer.tokenize(bytes)
  return tokens.dropLast().map { t in
    (t.kind, String(decoding: bytes[Int(t.start)..<Int(t.end)], as: UTF8.self))
  }
}

private func kinds(_ text: String) -> [TokenKind] { lex(text).map(\.0) }

/// The single token a word lexes to, with no diagnostics.
private func single(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TokenKind? {
  let (tokens, diags) = Lexer.tokenize(Array(text.utf8))
  #expect(diags.isEmpty, "\(text): \(diags.map(\.id))", sourceLocation: sourceLocation)
  #expect(tokens.count == 2, "\(text) is \(tokens.count - 1) tokens", sourceLocation: sourceLocation)
  #expect(
    tokens.first?.start == 0 && tokens.first?.end == UInt32(text.utf8.count), sourceLocation: sourceLocation)
  #expect(tokens.last?.kind == .eof, sourceLocation: sourceLocation)
  return tokens.first?.kind
}

@Suite struct LexerTests {
  @Test func emptyInputIsJustEOF() {
    let (tokens, diags) = Lexer.tokenize([])
    #expect(tokens == [Token(kind: .eof, start: 0, end: 0)])
    #expect(diags.isEmpty)
  }

  @Test(arguments: ["s", "stream", "ECONNREFUSED", "SO_REUSEADDR", "_x", "a1", "x_1_y", "nonblock"])
  func identifiers(_ word: String) {
    #expect(single(word) == .identifier)
  }

  @Test(arguments: ["0", "80", "65535", "100000000", "007"])
  func integers(_ word: String) {
    #expect(single(word) == .integer)
  }

  @Test(arguments: ["250us", "10ms", "1.5s", "2m", "7ns", "0s", "0.25ms", "3600s"])
  func durations(_ word: String) {
    #expect(single(word) == .duration)
  }

  @Test(arguments: ["127.0.0.1:80", "10.1.2.3", "0.0.0.0:0", "999.1.1.1:80"])
  func ipv4Endpoints(_ word: String) {
    // The lexer only shapes the token; the parser checks the numbers (999 is its job).
    #expect(single(word) == .ipv4)
  }

  @Test(arguments: ["[::1]:80", "[::ffff:127.0.0.1]:80", "[fe80::1%lo]:80", "[::1]", "[2001:db8::1]:65535"])
  func bracketedIPv6(_ word: String) {
    #expect(single(word) == .ipv6)
  }

  @Test(arguments: ["10.0.0.0/8", "fd00::/64", "0.0.0.0/0", "::/0", "192.168.1.0/24"])
  func prefixes(_ word: String) {
    #expect(single(word) == .prefix)
  }

  @Test(arguments: [
    #""""#, #""/run/x.sock""#, #""a\\b""#, #""q\"q""#, #""\n\t\0""#, #""\x41\x7f""#, "\"caf\u{e9}\"",
  ])
  func strings(_ word: String) {
    #expect(single(word) == .string)
  }

  @Test func abstractNames() {
    #expect(single("@name") == .abstractName)
    #expect(single("@a.b-c/d") == .abstractName)
    #expect(lex("@x;y").map(\.1) == ["@x", ";", "y"])
    #expect(lex("@x#c").map(\.1) == ["@x"])
    #expect(lex("@x}").map(\.1) == ["@x", "}"])
  }

  @Test func punctuationAndRanges() {
    let text = "sock s = stream inet; repeat 2 {\n}"
    let (tokens, diags) = Lexer.tokenize(Array(text.utf8))
    #expect(diags.isEmpty)
    let expected: [Token] = [
      Token(kind: .identifier, start: 0, end: 4),
      Token(kind: .identifier, start: 5, end: 6),
      Token(kind: .equals, start: 7, end: 8),
      Token(kind: .identifier, start: 9, end: 15),
      Token(kind: .identifier, start: 16, end: 20),
      Token(kind: .semicolon, start: 20, end: 21),
      Token(kind: .identifier, start: 22, end: 28),
      Token(kind: .integer, start: 29, end: 30),
      Token(kind: .leftBrace, start: 31, end: 32),
      Token(kind: .newline, start: 32, end: 33),
      Token(kind: .rightBrace, start: 33, end: 34),
      Token(kind: .eof, start: 34, end: 34),
    ]
    #expect(tokens == expected)
  }

  @Test func commentsRunToEndOfLineButKeepTheNewline() {
    let text = "# header\nclose s # trailing ; { }\n#last"
    #expect(lex(text).map(\.1) == ["\n", "close", "s", "\n"])
    let (tokens, _) = Lexer.tokenize(Array(text.utf8))
    #expect(tokens.last == Token(kind: .eof, start: UInt32(text.utf8.count), end: UInt32(text.utf8.count)))
  }

  @Test func blanksIncludeTabsAndCarriageReturns() {
    #expect(
      kinds("a\t b\r\nc\u{0B}\u{0C}d") == [.identifier, .identifier, .newline, .identifier, .identifier])
  }

  @Test func tokenRangesOfAMixedLine() {
    let text = "connect c [fe80::1%eth0]:443 interrupt 1.5s len 16"
    #expect(
      lex(text).map(\.0) == [.identifier, .identifier, .ipv6, .identifier, .duration, .identifier, .integer])
    #expect(lex(text).map(\.1) == ["connect", "c", "[fe80::1%eth0]:443", "interrupt", "1.5s", "len", "16"])
  }

  @Test func malformedWords() {
    for word in ["2h", "10ms5", "1x", "abc.", "1_000", "1.5h", "5us.1", ".5s", "-1a", "-5s"] {
      let (tokens, diags) = Lexer.tokenize(Array(word.utf8))
      #expect(tokens.map(\.kind) == [.invalid, .eof], "\(word)")
      #expect(diags.map(\.id) == ["lex.malformed"], "\(word)")
      #expect(diags.first?.range == SourceRange(0, word.utf8.count), "\(word)")
    }
  }

  @Test func negativeIntegers() {
    #expect(lex("fd -1 -2147483647").map(\.0) == [.identifier, .integer, .integer])
    #expect(lex("fd -1").map(\.1) == ["fd", "-1"])
    // A lone '-' is not a number.
    let (tokens, _) = Lexer.tokenize(Array("- 1".utf8))
    #expect(tokens.first?.kind == .invalid)
  }

  @Test func sysctlKeysAreDottedNames() {
    let (tokens, diags) = Lexer.tokenize(
      Array("net.ipv4.tcp_syn_retries net.ipv4.neigh.srv.mcast_solicit".utf8))
    #expect(tokens.map(\.kind) == [.dottedName, .dottedName, .eof])
    #expect(diags.isEmpty)
  }

  @Test func bareIPv6IsDiagnosedWithAHint() {
    let (tokens, diags) = Lexer.tokenize(Array("x ::1:80".utf8))
    #expect(tokens.map(\.kind) == [.identifier, .invalid, .eof])
    #expect(diags.map(\.id) == ["lex.bare-ipv6"])
    #expect(diags.first?.range == SourceRange(2, 8))
    #expect(diags.first?.hint?.contains("[") == true)
  }

  @Test func unterminatedBracket() {
    let (tokens, diags) = Lexer.tokenize(Array("[::1 x".utf8))
    #expect(tokens.map(\.kind) == [.invalid, .identifier, .eof])
    #expect(diags.map(\.id) == ["lex.unterminated-bracket"])
    #expect(diags.first?.range == SourceRange(0, 4))
  }

  @Test func unterminatedStringStopsAtNewline() {
    let (tokens, diags) = Lexer.tokenize(Array("\"abc\nclose s".utf8))
    #expect(tokens.map(\.kind) == [.invalid, .newline, .identifier, .identifier, .eof])
    #expect(diags.map(\.id) == ["lex.unterminated-string"])
    #expect(diags.first?.range == SourceRange(0, 4))
  }

  @Test func invalidEscapes() {
    let (tokens, diags) = Lexer.tokenize(Array(#""a\qb" "\xZ1""#.utf8))
    #expect(tokens.map(\.kind) == [.invalid, .invalid, .eof])
    #expect(diags.map(\.id) == ["lex.invalid-escape", "lex.invalid-escape"])
    #expect(diags.map(\.range) == [SourceRange(2, 4), SourceRange(8, 10)])
  }

  @Test func emptyAbstractName() {
    let (tokens, diags) = Lexer.tokenize(Array("@ x".utf8))
    #expect(tokens.map(\.kind) == [.invalid, .identifier, .eof])
    #expect(diags.map(\.id) == ["lex.empty-abstract"])
  }

  @Test func invalidUTF8IsOneDiagnosticPerRun() {
    let bytes: [UInt8] = Array("a ".utf8) + [0xFF, 0xFE, 0xC0] + Array(" b".utf8)
    let (tokens, diags) = Lexer.tokenize(bytes)
    #expect(tokens.map(\.kind) == [.identifier, .invalid, .identifier, .eof])
    #expect(diags.map(\.id) == ["lex.invalid-utf8"])
    #expect(diags.first?.range.start == 2)
  }

  @Test func validNonASCIIIsNamed() {
    let (tokens, diags) = Lexer.tokenize(Array("x \u{e9}".utf8))
    #expect(tokens.map(\.kind) == [.identifier, .invalid, .eof])
    #expect(diags.map(\.id) == ["lex.invalid-character"])
    #expect(diags.first?.range == SourceRange(2, 4))
    #expect(diags.first?.message.contains("\u{e9}") == true)
  }

  @Test func nulBytes() {
    let bytes: [UInt8] = Array("close".utf8) + [0, 0, 0] + Array(" s\n".utf8)
    let (tokens, diags) = Lexer.tokenize(bytes)
    #expect(tokens.map(\.kind) == [.identifier, .invalid, .identifier, .newline, .eof])
    #expect(diags.map(\.id) == ["lex.invalid-character"])
    #expect(diags.first?.message.contains("NUL") == true)
    #expect(diags.first?.range == SourceRange(5, 6))
  }

  @Test func tooLongTokens() {
    let long = String(repeating: "a", count: Lexer.maxTokenLength + 1)
    let (tokens, diags) = Lexer.tokenize(Array(long.utf8))
    #expect(tokens.map(\.kind) == [.invalid, .eof])
    #expect(diags.map(\.id) == ["lex.too-long"])
    let ok = String(repeating: "a", count: Lexer.maxTokenLength)
    #expect(single(ok) == .identifier)
    let longString = "\"" + String(repeating: "b", count: Lexer.maxTokenLength) + "\""
    #expect(Lexer.tokenize(Array(longString.utf8)).diagnostics.map(\.id) == ["lex.too-long"])
  }

  @Test func lexerDiagnosticsAreCapped() {
    let garbage = String(repeating: "$ ", count: 10_000)
    let (tokens, diags) = Lexer.tokenize(Array(garbage.utf8))
    #expect(tokens.count == 10_001)
    #expect(diags.count == 200)
  }

  @Test func everyByteValueLexesWithinBounds() {
    var bytes: [UInt8] = []
    for _ in 0..<4 { bytes += (0...255).map { UInt8($0) } }
    let (tokens, diags) = Lexer.tokenize(bytes)
    #expect(tokens.last?.kind == .eof)
    var previousEnd: UInt32 = 0
    for t in tokens {
      #expect(t.start >= previousEnd && t.start <= t.end && Int(t.end) <= bytes.count)
      previousEnd = t.end
    }
    for d in diags { #expect(d.range.start <= d.range.end && Int(d.range.end) <= bytes.count) }
  }
}

/// The vocabulary's names are written out by hand (start-up cost): they must match the cases.
@Suite struct VocabularyNameTests {
  @Test func errnoAndKeywordNamesMatchTheirCases() {
    #expect(Errno.names.count == Errno.allCases.count)
    for e in Errno.allCases { #expect(e.name == String(describing: e)) }
    #expect(StatementKeyword.names == StatementKeyword.allCases.map { String(describing: $0) })
  }
}
