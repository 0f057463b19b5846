import ConnRuntime
import ConnSim
import ConnSyntax
import ConnSystem

// Runs one scenario file and turns the outcome into a report of plain values, so that a report
// can cross a process boundary (parallel workers) and feed every output format alike.

package enum ScenarioStatus: String, Sendable, CaseIterable {
  case pass, fail, error, skip
}

/// Where and why a scenario failed, as plain values.
package struct FailureInfo: Sendable, Equatable {
  /// expectation, unexpectedErrno, tooSlow, backend, runtime, syntax, flaky, crash
  package var kind: String
  package var message: String
  package var line: Int
  package var column: Int
  package var expected: String?
  package var actual: String?
  package var meaning: String?

  package init(kind: String, message: String, line: Int, column: Int, expected: String? = nil, actual: String? = nil, meaning: String? = nil) {
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

package struct ScenarioReport: Sendable {
  package var path: String
  package var status: ScenarioStatus
  /// Wall time of the run.
  package var duration: TimeSpan
  package var failure: FailureInfo?
  /// Rendered diagnostics (error) or failure excerpt (fail), ready to print.
  package var detail: String
  package var skipReason: String?
  /// strace-like lines, with `-v`.
  package var trace: [String]
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
    trace = []
    self.backend = backend
  }
}

package enum BackendChoice: String, CaseIterable, Sendable {
  /// The real kernel.
  case system
  /// The deterministic simulation of Linux sockets.
  case sim
  /// Both, compared statement by statement.
  case both
}

package struct RunnerOptions: Sendable {
  package var backend: BackendChoice = .system
  /// Limit on each blocking call.
  package var timeout: TimeSpan = .seconds(10)
  /// Limit on a whole scenario.
  package var scenarioTimeout: TimeSpan = .seconds(300)
  package var allowNet: [IPPrefix] = []
  package var verbose = false
  package var color = false
  /// Run each scenario in a network namespace of its own (`--isolate`).
  package var isolate = false
  package init() {}
}

package final class ScenarioRunner {
  package let options: RunnerOptions
  package init(options: RunnerOptions) { self.options = options }

  /// The namespace of the scenario being run (with --isolate).
  private var namespace: UInt64?

  /// Why a scenario cannot run here, or nil.
  func skipReason(_ script: Script) -> String? {
    let r = script.requirements
    if r.linux && !Host.isLinux { return "needs Linux" }
    if r.root && !Host.isRoot { return "needs root" }
    if options.backend != .sim && !options.isolate && (r.isolate || !script.netRules.isEmpty) {
      return "needs --isolate (it changes the network with 'net' statements)"
    }
    // The simulation models ::1 whatever the host has.
    if r.ipv6 && options.backend != .sim && !ScenarioRunner.hasIPv6Loopback { return "needs IPv6 loopback (::1)" }
    return nil
  }

  static let hasIPv6Loopback: Bool = {
    let b = SystemBackend()
    defer { b.endScenario(closing: []) }
    guard case .number(let fd) = b.socket(SocketKind(.dgram, .inet6), nonblocking: false) else { return false }
    defer { _ = b.close(Descriptor(fd)) }
    return b.bind(Descriptor(fd), .inet6(.loopback, port: 0, scope: nil)) == .ok
  }()

  /// The backend for a choice (`both` runs on each of system and sim in turn).
  func makeBackend(_ choice: BackendChoice? = nil) -> Backend {
    switch choice ?? options.backend {
    case .system, .both: return SystemBackend(allowedNetworks: options.allowNet, isolated: options.isolate, namespace: namespace)
    case .sim: return SimBackend()
    }
  }

  /// Runs one file start to finish.
  package func run(path: String) -> ScenarioReport {
    run(LoadedScenario.load(path).script, path: path)
  }

  package func run(_ script: Script, path: String) -> ScenarioReport {
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
    if options.isolate && options.backend != .sim {
      do throws(IsolationError) {
        namespace = try Isolation.enter(rules: script.netRules)
      } catch {
        report.status = .fail
        let range = error.range ?? .none
        let (line, col) = script.source.location(of: range.start)
        report.failure = FailureInfo(kind: "isolation", message: error.message, line: line, column: col)
        report.detail = DiagnosticRenderer(color: options.color).render(
          Diagnostic(id: "run.isolation", error.message, at: range), in: script.source)
        report.duration = elapsed()
        return report
      }
    }
    if options.backend == .both {
      report = runBoth(script, report: report)
      report.duration = elapsed()
      return report
    }
    let backend = makeBackend()
    let virtualStart = backend.now()
    let rec = record(script, on: backend, keepSteps: false)
    let result = rec.result
    report.trace = rec.trace
    // The simulation reports its virtual time, so its output is the same on every run.
    report.duration = backend is SimBackend ? backend.now() - virtualStart : elapsed()
    if case .failure(let f) = result {
      report.status = .fail
      report.failure = FailureInfo(f)
      report.detail = FailureRenderer(color: options.color).render(f)
    }
    return report
  }
}

// MARK: - Differential runs

extension ScenarioRunner {
  /// One backend's run: every step and the result.
  struct Recording {
    var steps: [Step] = []
    var result: Result<Void, Failure> = .success(())
    var trace: [String] = []
  }

  /// Runs a script on a backend; with `keepSteps`, every step is kept (for comparing backends;
  /// a plain run keeps none, so memory stays flat however long a `repeat` runs).
  func record(_ script: Script, on backend: Backend, keepSteps: Bool = true) -> Recording {
    var rec = Recording()
    var lines: [String] = []
    if options.verbose { backend.trace = { lines.append($0) } }
    var runOptions = RunOptions()
    runOptions.timeout = options.timeout
    runOptions.scenarioTimeout = options.scenarioTimeout
    let interpreter = Interpreter(backend: backend, options: runOptions)
    var steps: [Step] = []
    if keepSteps { interpreter.onStep = { steps.append($0) } }
    rec.result = interpreter.run(script)
    backend.trace = nil
    rec.steps = steps
    rec.trace = lines
    return rec
  }

  /// Runs the scenario on the kernel and on the simulation and fails at the first statement
  /// whose outcomes differ, showing both.
  func runBoth(_ script: Script, report base: ScenarioReport) -> ScenarioReport {
    var report = base
    let kernel = record(script, on: makeBackend(.system))
    let sim = record(script, on: makeBackend(.sim))
    report.trace = kernel.trace.map { "system: " + $0 } + sim.trace.map { "sim:    " + $0 }
    let literalPorts = Self.literalPorts(script)
    let n = min(kernel.steps.count, sim.steps.count)
    for i in 0..<n {
      let a = kernel.steps[i]
      let b = sim.steps[i]
      var same = Self.equivalent(a.outcome, b.outcome, literalPorts: literalPorts)
      // Descriptor numbers depend on what else the process has open: any number will do.
      switch (a.statement.kind, a.outcome, b.outcome) {
      case (.sock, .number, .number), (.accept, .number, .number): same = true
      default: break
      }
      if a.statement.range != b.statement.range || !same {
        return differ(report, script, at: a.statement.range, system: a.outcome.description, sim: b.outcome.description)
      }
    }
    switch (kernel.result, sim.result) {
    case (.success, .success):
      if kernel.steps.count != sim.steps.count {
        let st = (kernel.steps.count > n ? kernel.steps[n] : sim.steps[n]).statement
        return differ(report, script, at: st.range, system: kernel.steps.count > n ? kernel.steps[n].outcome.description : "(not run)",
          sim: sim.steps.count > n ? sim.steps[n].outcome.description : "(not run)")
      }
      return report
    case (.failure(let f), .failure(let g)) where f.message == g.message && f.range == g.range:
      report.status = .fail
      report.failure = FailureInfo(f)
      report.detail = FailureRenderer(color: options.color).render(f)
      return report
    case (.failure(let f), .success):
      return differ(report, script, at: f.range, system: "FAIL: " + f.message, sim: "passes")
    case (.success, .failure(let g)):
      return differ(report, script, at: g.range, system: "passes", sim: "FAIL: " + g.message)
    case (.failure(let f), .failure(let g)):
      let at = f.range.start <= g.range.start ? f.range : g.range
      return differ(report, script, at: at, system: "FAIL: " + f.message, sim: "FAIL: " + g.message)
    }
  }

  private func differ(_ base: ScenarioReport, _ script: Script, at range: SourceRange, system: String, sim: String) -> ScenarioReport {
    var report = base
    let (line, col) = script.source.location(of: range.start)
    let message = "the backends disagree: system says \(system), sim says \(sim)"
    report.status = .fail
    report.failure = FailureInfo(kind: "differ", message: message, line: line, column: col, expected: "system: " + system, actual: "sim: " + sim)
    let r = DiagnosticRenderer(color: options.color)
    let head = ansiPaint("\(script.source.name):\(line):\(col):", "1", options.color) + " " + ansiPaint("DIFFER:", "1;31", options.color)
    report.detail = "\(head) the backends disagree on this statement\n" + r.excerpt(script.source, range)
      + "  system: \(system)\n  sim:    \(sim)\n"
    return report
  }

  /// Ports written in the script: those must match exactly; others were picked by each
  /// backend and only need to be picked alike (both non-zero).
  static func literalPorts(_ script: Script) -> Set<UInt16> {
    var ports = Set<UInt16>()
    func add(_ a: SocketAddress) { if let p = a.port { ports.insert(p) } }
    func walk(_ s: [Statement]) {
      for st in s {
        switch st.kind {
        case .bind(_, let a): add(a)
        case .connect(_, .address(let a), _): add(a)
        case .expect(let e): e.addresses.forEach(add)
        case .repeat(_, let body): walk(body)
        default: break
        }
      }
    }
    walk(script.statements)
    return ports
  }

  /// Equal outcomes, except that descriptor numbers and kernel-picked ports only need to be
  /// of the same kind.
  static func equivalent(_ a: Outcome, _ b: Outcome, literalPorts: Set<UInt16>) -> Bool {
    switch (a, b) {
    case (.address(let x), .address(let y)):
      if x == y { return true }
      switch (x, y) {
      case (.inet(let i, let p), .inet(let j, let q)):
        return i == j && p != 0 && q != 0 && !literalPorts.contains(p) && !literalPorts.contains(q)
      case (.inet6(let i, let p, _), .inet6(let j, let q, _)):
        return i == j && p != 0 && q != 0 && !literalPorts.contains(p) && !literalPorts.contains(q)
      default: return false
      }
    default:
      return a == b
    }
  }
}
