// Diagnostics are values with a stable id; rendering them is separate (DiagnosticRenderer).
// Every message the front end can produce is a static factory below, so tests assert ids,
// not wording.

package enum Severity: String, Sendable {
  case error, warning, note
}

package struct Diagnostic: Sendable, Equatable {
  package var id: String
  package var severity: Severity
  package var message: String
  package var range: SourceRange
  /// A "did you mean" or explanatory hint, printed after the caret.
  package var hint: String?

  package init(
    id: String, _ message: String, at range: SourceRange, hint: String? = nil, severity: Severity = .error
  ) {
    self.id = id
    self.severity = severity
    self.message = message
    self.range = range
    self.hint = hint
  }
}

// MARK: - Catalog

extension Diagnostic {
  // Lexical
  static func invalidCharacter(_ what: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "lex.invalid-character", "unexpected \(what)", at: r)
  }
  static func invalidUTF8(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "lex.invalid-utf8", "invalid UTF-8 byte sequence", at: r)
  }
  static func unterminatedString(at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "lex.unterminated-string", "unterminated string (a closing '\"' is missing on this line)", at: r)
  }
  static func invalidEscape(_ e: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "lex.invalid-escape", "invalid escape '\\\(e)' in string", at: r,
      hint: "valid escapes: \\\\ \\\" \\n \\t \\0 \\xHH")
  }
  static func malformedWord(_ text: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "lex.malformed", "cannot read '\(text)' as a name, number, duration or address", at: r)
  }
  static func unterminatedBracket(at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "lex.unterminated-bracket", "IPv6 address is missing its closing ']'", at: r,
      hint: "write IPv6 endpoints as [::1]:80")
  }
  static func tokenTooLong(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "lex.too-long", "token is longer than \(Lexer.maxTokenLength) bytes", at: r)
  }

  static func hostName(_ name: String, port: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "lex.host-name",
      "'\(name)' is a host name; conn does not resolve names (no DNS, no /etc/hosts)", at: r,
      hint: "write the address: 127.0.0.1:\(port) or [::1]:\(port)")
  }

  static func bareIPv6(_ text: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "lex.bare-ipv6", "IPv6 addresses are written in brackets", at: r, hint: "write [\(text)]:PORT")
  }
  static func nonASCIIEscape(_ hex: String, at r: SourceRange) -> Diagnostic {
    // Paths are text: a lone byte above 0x7F is not valid UTF-8 and would not reach the kernel as
    // written. Say so rather than change it.
    Diagnostic(
      id: "lex.non-ascii-escape", "'\\x\(hex)' is above 0x7F; paths are UTF-8 text", at: r,
      hint: "write the character itself, in UTF-8")
  }
  static func emptyAbstractName(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "lex.empty-abstract", "'@' must be followed by an abstract socket name", at: r)
  }

  // Header
  static func unknownNeed(_ word: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "header.unknown-need", "unknown requirement '\(word)'", at: r,
      hint: "known: root, linux, isolate, ipv6, nft, bpf, landlock")
  }

  // Syntax
  static func expected(_ what: String, found: String, at r: SourceRange, hint: String? = nil) -> Diagnostic {
    Diagnostic(id: "parse.expected", "expected \(what), found \(found)", at: r, hint: hint)
  }
  static func unknownStatement(_ word: String, at r: SourceRange, suggestion: String?) -> Diagnostic {
    Diagnostic(
      id: "parse.unknown-statement", "unknown statement '\(word)'", at: r,
      hint: suggestion.map { "did you mean '\($0)'?" })
  }
  static func unclosedBlock(openedAt line: Int, at r: SourceRange, opener: String = "repeat") -> Diagnostic {
    Diagnostic(id: "parse.unclosed-block", "'}' expected (to close '\(opener)' at line \(line))", at: r)
  }
  static func strayCloseBrace(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "parse.stray-brace", "'}' without an open 'repeat' block", at: r)
  }
  static func nestingTooDeep(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "parse.too-deep", "'repeat' blocks nested deeper than \(Parser.maxNesting) levels", at: r)
  }
  static func tooManyErrors(at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "parse.too-many-errors", "too many errors (\(Parser.maxDiagnostics)); stopping here", at: r)
  }
  static func invalidValue(_ message: String, at r: SourceRange, hint: String? = nil) -> Diagnostic {
    Diagnostic(id: "parse.invalid-value", message, at: r, hint: hint)
  }
  static func outOfRange(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "check.out-of-range", message, at: r)
  }
  static func malformedData(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "parse.data", message, at: r)
  }
  static func badHostName(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "parse.host-name", message, at: r)
  }
  static func badSysctl(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "parse.sysctl", message, at: r)
  }
  static func undeclaredHost(_ name: String, at r: SourceRange, suggestion: String?) -> Diagnostic {
    Diagnostic(
      id: "check.undeclared-host", "host '\(name)' is not declared", at: r,
      hint: suggestion.map { "did you mean '\($0)'?" } ?? "declare it first: host \(name)")
  }
  static func topology(_ message: String, at r: SourceRange, hint: String? = nil) -> Diagnostic {
    Diagnostic(id: "check.topology", message, at: r, hint: hint)
  }
  static func hostBitsSet(_ p: IPPrefix, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "check.prefix-host-bits", "route prefix \(p.description) has bits set past its length", at: r,
      hint: "did you mean \(p.networkOnly.description)?")
  }
  static func malformedAddress(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "check.malformed-address", message, at: r)
  }

  // Unix paths and abstract names
  static func emptyPath(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "path.empty", "empty Unix socket path", at: r)
  }
  static func nulInPath(at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "path.nul", "a Unix socket path cannot hold a NUL byte (the kernel would read only up to it)",
      at: r,
      hint: "an abstract name is written @name")
  }
  static func pathTooLong(_ n: Int, limit: Int, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "path.too-long", "Unix socket path is \(n) bytes; sun_path holds at most \(limit)", at: r)
  }
  static func relativePathTooLong(_ n: Int, limit: Int, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "path.relative-too-long",
      "relative Unix socket path is \(n) bytes; it goes into the scenario's private directory, which leaves room for \(limit)",
      at: r)
  }
  static func pathEscapes(_ path: String, at r: SourceRange, absoluteAllowed: Bool = true) -> Diagnostic {
    Diagnostic(
      id: "path.escapes", "relative path \(quoteString(path)) climbs out of the scenario's private directory",
      at: r,
      hint: absoluteAllowed
        ? "relative paths stay inside it; write an absolute path to reach elsewhere"
        : "file statements change only the private directory: name an entry in it")
  }
  static func absoluteFilePath(_ path: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "path.absolute-file",
      "file statements change only the scenario's private directory, and \(quoteString(path)) is outside it",
      at: r, hint: "write a path relative to the private directory, such as \"dir/x.sock\"")
  }
  static func abstractNameTooLong(limit: Int, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "abstract.too-long",
      "abstract name is longer than \(limit) bytes (abstract names get a private prefix)", at: r)
  }

  // Semantic
  static func undeclaredSocket(_ name: String, at r: SourceRange, suggestion: String?) -> Diagnostic {
    Diagnostic(
      id: "check.undeclared-socket", "socket '\(name)' is not declared", at: r,
      hint: suggestion.map { "did you mean '\($0)'?" }
        ?? (name == "localhost"
          ? "conn does not resolve names: write 127.0.0.1:PORT or [::1]:PORT"
          : "declare it first: sock \(name) = stream inet"))
  }
  static func unknownErrno(_ name: String, at r: SourceRange, suggestion: String?) -> Diagnostic {
    Diagnostic(
      id: "check.unknown-errno", "unknown errno name '\(name)'", at: r,
      hint: suggestion.map { "did you mean '\($0)'?" })
  }
  static func unknownOption(_ name: String, at r: SourceRange, suggestion: String?) -> Diagnostic {
    Diagnostic(
      id: "check.unknown-option", "unknown socket option '\(name)'", at: r,
      hint: suggestion.map { "did you mean '\($0)'?" }
        ?? "known options: \((SocketOption.allCases.map(\.rawValue) + DescriptorFlag.allCases.map(\.rawValue)).joined(separator: ", "))"
    )
  }
  static func lowercaseErrno(_ name: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "check.errno-case", "errno names are written in capitals: \(name.uppercased())", at: r,
      hint: "'\(name)' is not a socket declared before this line")
  }
  static func commaBetweenAlternatives(at r: SourceRange, rewritten: String) -> Diagnostic {
    Diagnostic(
      id: "parse.comma-in-expect", "alternatives after 'expect' are joined with 'or', not ','", at: r,
      hint: "write: expect \(rewritten)")
  }
  static func durationWithoutTimeout(_ text: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "parse.poll-timeout", "a poll's time limit is written after 'timeout'", at: r,
      hint: "write 'timeout \(text)'")
  }
  static func expectWithoutStatement(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "check.expect-without-statement", "'expect' has no statement before it to check", at: r)
  }
  static func expectationMismatch(
    _ what: String, after statement: String, at r: SourceRange, hint: String? = nil
  ) -> Diagnostic {
    Diagnostic(id: "check.expectation-mismatch", "\(what) cannot follow '\(statement)'", at: r, hint: hint)
  }
  static func duplicateExpectation(at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "check.duplicate-expectation", "alternative listed twice", at: r)
  }
}

extension Diagnostic {
  func withHint(_ h: String) -> Diagnostic {
    var d = self
    d.hint = h
    return d
  }
}
