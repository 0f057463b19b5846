import ConnRuntime
import ConnSyntax

// A scenario's report as plain values, so that it can cross a process boundary (parallel
// workers) and feed every output format alike.

package enum ScenarioStatus: String, Sendable, CaseIterable {
  case pass, fail, error, skip
}

/// Where and why a scenario failed, as plain values.
package struct FailureInfo: Sendable, Equatable {
  /// expectation, unexpectedErrno, tooSlow, tooFast, backend, runtime, syntax, flaky, crash
  package var kind: String
  package var message: String
  package var line: Int
  package var column: Int
  package var expected: String?
  package var actual: String?
  package var meaning: String?

  package init(
    kind: String, message: String, line: Int, column: Int, expected: String? = nil, actual: String? = nil,
    meaning: String? = nil
  ) {
    self.kind = kind
    self.message = message
    self.line = line
    self.column = column
    self.expected = expected
    self.actual = actual
    self.meaning = meaning
  }

  init(_ f: Failure) {
    let (line, column) = f.location
    self.init(
      kind: f.kind.rawValue, message: f.message, line: line, column: column, expected: f.expected,
      actual: f.actual,
      meaning: f.explanation)
  }
}

/// One line of a run's trace, as `--format json` reports it with `-v`.
package struct TraceStep: Sendable, Equatable {
  /// The line as `-v` prints it (`system: ` or `sim:    ` first under `--backend both`).
  package var line: String
  /// Seconds since the scenario's first call, as the runner saw the line arrive.
  package var seconds: Double

  package init(line: String, seconds: Double) {
    self.line = line
    self.seconds = seconds
  }

  /// The line's parts: the backend (under `both`), the call's name, its arguments, its result,
  /// and a note such as `cleanup`. A line that does not read as a call keeps only `line`.
  package var parts: (backend: String?, call: String, arguments: String, result: String, note: String?)? {
    var text = Substring(line)
    var backend: String?
    for prefix in ["system: ", "sim:    "] where text.hasPrefix(prefix) {
      backend = String(prefix.prefix { $0 != ":" })
      text = text.dropFirst(prefix.count)
    }
    var note: String?
    /// The last place `needle` occurs in `text`.
    func lastRange(_ needle: String, in text: Substring) -> Range<Substring.Index>? {
      let n = needle.count
      guard text.count >= n else { return nil }
      var start = text.index(text.endIndex, offsetBy: -n)
      while true {
        let end = text.index(start, offsetBy: n)
        if text[start..<end].elementsEqual(needle) { return start..<end }
        if start == text.startIndex { return nil }
        start = text.index(before: start)
      }
    }
    if text.hasSuffix("]"), let open = lastRange("  [", in: text) {
      note = String(text[open.upperBound..<text.index(before: text.endIndex)])
      text = text[..<open.lowerBound]
    }
    guard let paren = text.firstIndex(of: "("), let close = lastRange(") = ", in: text),
      paren < close.lowerBound
    else { return nil }
    return (
      backend, String(text[..<paren]), String(text[text.index(after: paren)..<close.lowerBound]),
      String(text[close.upperBound...]), note
    )
  }
}

package struct ScenarioReport: Sendable {
  package var path: String
  package var status: ScenarioStatus
  /// How long the run took: wall time, or the simulation's virtual time (`virtualTime`).
  package var duration: TimeSpan
  /// `duration` is virtual time (a scenario the simulation ran to its end).
  package var virtualTime = false
  package var failure: FailureInfo?
  /// Rendered diagnostics (error) or failure excerpt (fail), ready to print.
  package var detail: String
  package var skipReason: String?
  package var backend: String
  /// With `--repeat`: the status of each run, in order.
  package var runs: [ScenarioStatus] = []
  /// With `-v` and `--format json`: the trace of the (first) run, each line with its time.
  package var steps: [TraceStep] = []

  package init(path: String, status: ScenarioStatus, backend: String) {
    self.path = path
    self.status = status
    duration = .zero
    failure = nil
    detail = ""
    skipReason = nil
    self.backend = backend
  }
}
