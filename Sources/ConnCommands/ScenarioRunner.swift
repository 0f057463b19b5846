import ConnRuntime
import ConnSyntax
import ConnSystem

// Runs one scenario file and turns the outcome into a report of plain values, so that a report
// can cross a process boundary (parallel workers) and feed every output format alike.

public enum ScenarioStatus: String, Sendable, CaseIterable {
  case pass, fail, error, skip
}

/// Where and why a scenario failed, as plain values.
public struct FailureInfo: Sendable, Equatable {
  /// expectation, unexpectedErrno, tooSlow, backend, runtime, syntax, flaky, crash
  public var kind: String
  public var message: String
  public var line: Int
  public var column: Int
  public var expected: String?
  public var actual: String?
  public var meaning: String?

  public init(kind: String, message: String, line: Int, column: Int, expected: String? = nil, actual: String? = nil, meaning: String? = nil) {
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
      kind: f.kind.rawValue, message: f.message, line: line, column: column, expected: f.expected, actual: f.actual,
      meaning: f.explanation)
  }
}

public struct ScenarioReport: Sendable {
  public var path: String
  public var status: ScenarioStatus
  /// Wall time of the run.
  public var duration: TimeSpan
  public var failure: FailureInfo?
  /// Rendered diagnostics (error) or failure excerpt (fail), ready to print.
  public var detail: String
  public var skipReason: String?
  /// strace-like lines, with `-v`.
  public var trace: [String]
  public var backend: String
  /// With `--repeat`: the status of each run, in order.
  public var runs: [ScenarioStatus] = []

  public init(path: String, status: ScenarioStatus, backend: String) {
    self.path = path
    self.status = status
    duration = .zero
    failure = nil
    detail = ""
    skipReason = nil
    trace = []
    self.backend = backend
  }
}

public enum BackendChoice: String, CaseIterable, Sendable {
  case system
}

public struct RunnerOptions: Sendable {
  public var backend: BackendChoice = .system
  /// Limit on each blocking call.
  public var timeout: TimeSpan = .seconds(10)
  /// Limit on a whole scenario.
  public var scenarioTimeout: TimeSpan = .seconds(300)
  public var allowNet: [IPPrefix] = []
  public var verbose = false
  public var color = false
  public init() {}
}

public final class ScenarioRunner {
  public let options: RunnerOptions
  public init(options: RunnerOptions) { self.options = options }

  /// Why a scenario cannot run here, or nil.
  func skipReason(_ script: Script) -> String? {
    let r = script.requirements
    if r.linux && !Host.isLinux { return "needs Linux" }
    if r.root && !Host.isRoot { return "needs root" }
    if options.backend == .system && (r.isolate || !script.netRules.isEmpty) {
      return "needs --isolate (it changes the network with 'net' statements)"
    }
    if r.ipv6 && !ScenarioRunner.hasIPv6Loopback { return "needs IPv6 loopback (::1)" }
    return nil
  }

  static let hasIPv6Loopback: Bool = {
    let b = SystemBackend()
    defer { b.endScenario(closing: []) }
    guard case .number(let fd) = b.socket(SocketKind(.dgram, .inet6), nonblocking: false) else { return false }
    defer { _ = b.close(Descriptor(fd)) }
    return b.bind(Descriptor(fd), .inet6(.loopback, port: 0, scope: nil)) == .ok
  }()

  func makeBackend() -> Backend {
    switch options.backend {
    case .system: return SystemBackend(allowedNetworks: options.allowNet)
    }
  }

  /// Runs one file start to finish.
  public func run(path: String, backend: Backend? = nil) -> ScenarioReport {
    let loaded = LoadedScenario.load(path)
    return run(loaded.script, path: path, backend: backend)
  }

  public func run(_ script: Script, path: String, backend given: Backend? = nil) -> ScenarioReport {
    let start = Host.monotonicNow()
    func elapsed() -> TimeSpan { TimeSpan(nanoseconds: Host.monotonicNow() - start) }
    var report = ScenarioReport(path: path, status: .pass, backend: options.backend.rawValue)
    if script.hasErrors {
      report.status = .error
      report.detail = renderDiagnostics(script, color: options.color)
      if let d = script.diagnostics.first(where: { $0.severity == .error }) {
        let (line, col) = script.source.location(of: d.range.start)
        report.failure = FailureInfo(kind: "syntax", message: d.message, line: line, column: col)
      }
      report.duration = elapsed()
      return report
    }
    if let why = skipReason(script) {
      report.status = .skip
      report.skipReason = why
      return report
    }
    let backend = given ?? makeBackend()
    var lines: [String] = []
    if options.verbose { backend.trace = { lines.append($0) } }
    var runOptions = RunOptions()
    runOptions.timeout = options.timeout
    runOptions.scenarioTimeout = options.scenarioTimeout
    let interpreter = Interpreter(backend: backend, options: runOptions)
    let result = interpreter.run(script)
    backend.trace = nil
    report.trace = lines
    report.duration = elapsed()
    if case .failure(let f) = result {
      report.status = .fail
      report.failure = FailureInfo(f)
      report.detail = FailureRenderer(color: options.color).render(f)
    }
    return report
  }
}
