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
