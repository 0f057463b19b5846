// Single values for the command line: options such as `--timeout 250ms` and `--allow-net
// 10.0.0.0/8` are read by the language's own rules, so they accept exactly what a script does.

extension Parser {
  /// Parses a duration as the language writes it (`10s`, `250ms`), for options like `--timeout`.
  package static func duration(_ text: String) -> TimeSpan? {
    single(text) { p throws(StatementError) in try p.parseDuration("a duration") }
  }

  /// Parses a prefix (`10.0.0.0/8`, `fd00::/64`), for `--allow-net`.
  package static func prefix(_ text: String) -> IPPrefix? {
    single(text) { p throws(StatementError) in try p.parsePrefix() }
  }

  /// A network prefix for `--allow-net`, or what is wrong with it: not a prefix, a leading
  /// zero, bits set past the length (as `net route` says).
  package static func networkPrefix(_ text: String) -> Result<IPPrefix, OptionProblem> {
    let source = SourceFile(name: "<option>", text: text)
    return source.bytes.withUnsafeBufferPointer { buf -> Result<IPPrefix, OptionProblem> in
      var p = ParserState(buf, source: source)
      let value = try? p.parsePrefix()
      let problems = p.lexer.diagnostics + p.diagnostics
      if let d = problems.first {
        return .failure(OptionProblem(d.message + (d.hint.map { " (\($0))" } ?? "")))
      }
      guard let v = value, p.token.kind == .eof else {
        return .failure(
          OptionProblem(
            "'\(text)' is not a prefix: write an address and a length, such as 10.0.0.0/8 or fd00::/64"))
      }
      if v != v.networkOnly {
        return .failure(
          OptionProblem(
            "\(v.description) has bits set past its length (did you mean \(v.networkOnly.description)?)"))
      }
      return .success(v)
    }
  }

  private static func single<T>(_ text: String, _ body: (inout ParserState) throws(StatementError) -> T) -> T?
  {
    let source = SourceFile(name: "<option>", text: text)
    return source.bytes.withUnsafeBufferPointer { buf -> T? in
      var p = ParserState(buf, source: source)
      guard let v = try? body(&p), p.token.kind == .eof, p.diagnostics.isEmpty, p.lexer.diagnostics.isEmpty
      else { return nil }
      return v
    }
  }
}

/// What is wrong with a command-line value, in words.
package struct OptionProblem: Error, Sendable {
  package let message: String
  package init(_ message: String) { self.message = message }
}
