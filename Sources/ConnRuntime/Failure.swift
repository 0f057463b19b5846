import ConnSyntax

// How a scenario stops early, and how that is shown: like a diagnostic, with the location, the
// line and a caret, what was expected and what came back, and the errno's meaning.

/// Why a scenario stopped early.
package struct Failure: Error, Sendable {
  package enum Kind: String, Sendable {
    /// An `expect` did not match.
    case expectation
    /// An errno with no `expect` after it.
    case unexpectedErrno
    /// The call took longer than `within` allowed.
    case tooSlow
    /// The call took less time than `after` demanded.
    case tooFast
    /// The tool stopped the call or refused it (time limit of a call, safety, not modelled).
    case backend
    /// A name could not be resolved at run time (the address of an unbound socket...).
    case runtime
    /// The whole scenario passed its time limit.
    case limit
    /// Someone asked the run to stop: Ctrl-C in the REPL, a signal to the runner.
    case stopped
  }
  package var kind: Kind
  package var message: String
  package var range: SourceRange
  package var source: SourceFile
  package var expected: String?
  package var actual: String?
  /// The errno's meaning for connect(2), when an errno is involved.
  package var explanation: String?

  package init(
    kind: Kind, message: String, range: SourceRange, source: SourceFile, expected: String? = nil,
    actual: String? = nil,
    explanation: String? = nil
  ) {
    self.kind = kind
    self.message = message
    self.range = range
    self.source = source
    self.expected = expected
    self.actual = actual
    self.explanation = explanation
  }

  package var location: (line: Int, column: Int) { source.location(of: range.start) }
}

/// One executed statement, for the REPL, `-v`, `both` and `:save`.
package struct Step: Sendable {
  package var statement: Statement
  package var outcome: Outcome
  package var elapsed: TimeSpan
}

/// Renders a failure like a diagnostic: location, message, the line with a caret, expected and
/// actual, and the errno's meaning.
package struct FailureRenderer: Sendable {
  package var color: Bool
  package init(color: Bool) { self.color = color }

  package func render(_ f: Failure) -> String {
    let r = DiagnosticRenderer(color: color)
    let (line, col) = f.location
    func paint(_ s: String, _ code: String) -> String { ansiPaint(s, code, color) }
    var out =
      paint("\(f.source.name):\(line):\(col):", "1") + " " + paint("FAIL:", "1;31") + " "
      + paint(f.message, "1") + "\n"
    out += r.excerpt(f.source, f.range)
    if let e = f.expected { out += "  expected: \(e)\n" }
    if let a = f.actual { out += "  actual:   \(a)\n" }
    if let x = f.explanation { out += "  " + paint("meaning:", "1;36") + " \(x)\n" }
    return out
  }
}
