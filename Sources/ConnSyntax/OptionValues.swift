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
    // An address without its length: say what a length is, with the address in it.
    if !text.contains("/"), let problem = missingPrefixLength(text) { return .failure(problem) }
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

  /// `10.0.0.0` where a prefix goes: the problem, with the prefixes it may have meant (the one
  /// address; the widest of /8, /16, /24, or /64, that has no bits set past its length).
  private static func missingPrefixLength(_ text: String) -> OptionProblem? {
    let candidates: [IPPrefix]
    if let a = IPv4Address.parse(Array(text.utf8)) {
      candidates = [8, 16, 24].map { IPPrefix.v4(a, $0) } + [.v4(a, 32)]
    } else if let a = IPv6Address.parse(Array(text.utf8)) {
      candidates = [.v6(a, 64), .v6(a, 128)]
    } else {
      return nil
    }
    let single = candidates.last!
    var message = "'\(text)' has no prefix length: write \(single.description) for this address alone"
    if let network = candidates.dropLast().first(where: { $0 == $0.networkOnly }) {
      message += ", or \(network.description) for its network"
    } else {
      message += ", or a network such as \(candidates[0].networkOnly.description)"
    }
    return OptionProblem(message)
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
