import ConnRuntime
import ConnSyntax
import ConnSystem

// Runs scenario files and collects one report per file. The command line (`conn run`), the
// tests and the benchmarks all go through here.

public enum ScenarioStatus: String, Sendable {
  case pass, fail, error, skip
}

public struct ScenarioReport: Sendable {
  public var path: String
  public var status: ScenarioStatus
  /// Wall time of the run (virtual time is not counted here).
  public var duration: TimeSpan
  public var failure: Failure?
  /// Rendered diagnostics (status error) or failure text.
  public var detail: String
  public var skipReason: String?
  /// strace-like lines, with `-v`.
  public var trace: [String]
  public var backend: String
}

public enum BackendChoice: String, CaseIterable, Sendable {
  case system
}

public struct RunnerOptions: Sendable {
  public var backend: BackendChoice = .system
  public var timeout: TimeSpan = .seconds(10)
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
    var report = ScenarioReport(
      path: path, status: .pass, duration: .zero, failure: nil, detail: "", skipReason: nil, trace: [], backend: options.backend.rawValue)
    if script.hasErrors {
      report.status = .error
      report.detail = renderDiagnostics(script, color: options.color)
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
    let interpreter = Interpreter(backend: backend, options: runOptions)
    let result = interpreter.run(script)
    backend.trace = nil
    report.trace = lines
    report.duration = elapsed()
    if case .failure(let f) = result {
      report.status = .fail
      report.failure = f
      report.detail = FailureRenderer(color: options.color).render(f)
    }
    return report
  }
}
