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
