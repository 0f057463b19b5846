import ConnHost
import ConnRuntime
import ConnSim
import ConnSyntax
import ConnSystem

// Runs one scenario file and turns the outcome into a report (Report.swift). The trace, with
// `-v`, streams out through `traceSink` line by line as the calls happen: nothing of a run is
// kept in memory, however long it runs. `--backend both` is in Differential.swift.

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
  /// Fail at an errno no `expect` names (off for the fuzzer, which compares every answer).
  package var requireExpectations = true
  package init() {}

  /// How long Unix paths and abstract names may be on the chosen backend(s).
  package var pathLimits: PathLimits {
    switch backend {
    case .system: return SystemBackend.pathLimits
    case .sim: return .kernel
    case .both: return SystemBackend.pathLimits.intersection(.kernel)
    }
  }
}

package final class ScenarioRunner {
  package let options: RunnerOptions
  /// Receives each trace line (`-v`) as it happens.
  package var traceSink: ((String) -> Void)?
  /// Checked between statements: non-zero stops the scenario (a signal to the runner).
  package var stopCheck: (@convention(c) () -> Int32)?

  package init(options: RunnerOptions) { self.options = options }

  /// The namespace of the scenario being run (with --isolate).
  var namespace: UInt64?
  /// The scenario runs on a thread of its own (it has `drop` or `landlock`): its kernel backends
  /// may change that thread for good, and are cleaned up after it ends.
  private var runningOnOwnThread = false
  private var disposableBackends: [SystemBackend] = []

  /// Why a scenario cannot run here, or nil.
  func skipReason(_ script: Script) -> String? {
    // An empty file (comments at most) checks nothing: a skip, so that --strict-skips fails it.
    if script.statements.isEmpty { return "no statements" }
    let r = script.requirements
    if r.linux && !Host.isLinux { return "needs Linux" }
    if r.root && !Host.isRoot { return "needs root" }
    if options.backend != .sim && !options.isolate && (r.isolate || !script.netRules.isEmpty) {
      return "needs --isolate (it changes the network with 'net' statements)"
    }
    if options.backend != .sim && !options.isolate && script.hasTopology {
      return "needs --isolate (it makes hosts, links, routes or firewall rules)"
    }
    if r.nft && options.backend != .sim && SystemBackend.nftPath == nil {
      return "needs nftables' nft command (apt-get install nftables)"
    }
    if r.bpf && options.backend != .sim, let why = SystemBackend.connectHookUnavailableReason {
      return "needs cgroup BPF connect hooks: \(why)"
    }
    if r.landlock && options.backend != .sim, let why = SystemBackend.landlockUnavailableReason {
      return "needs Landlock: \(why)"
    }
    // The simulation models ::1 whatever the host has.
    if r.ipv6 && options.backend != .sim && !ScenarioRunner.hasIPv6Loopback {
      return "needs IPv6 loopback (::1)"
    }
    return nil
  }

  /// The descriptors this process holds (for the simulation to hold them too), read once.
  static let processDescriptors = Host.openDescriptorNumbers()

  static let hasIPv6Loopback: Bool = {
    let b = SystemBackend()
    defer { b.endScenario(closing: []) }
    guard case .number(let fd)? = try? b.socket(SocketKind(.dgram, .inet6), nonblocking: false) else {
      return false
    }
    defer { _ = b.close(Descriptor(fd)) }
    return (try? b.bind(Descriptor(fd), .inet6(.loopback, port: 0, scope: nil))) == .ok
  }()

  /// The backend for a choice (`both` runs on each of system and sim in turn).
  func makeBackend(_ choice: BackendChoice? = nil) -> Backend {
    switch choice ?? options.backend {
    case .system, .both:
      let b = SystemBackend(
        allowedNetworks: options.allowNet, isolated: options.isolate, namespace: namespace)
      if runningOnOwnThread {
        b.threadIsDisposable = true
        disposableBackends.append(b)
      }
      return b
    case .sim:
      // Beside the kernel (`both`), the process's descriptors as they are now; alone, as they
      // were when the runner started.
      let occupied = options.backend == .both ? Host.openDescriptorNumbers() : Self.processDescriptors
      return SimBackend(
        descriptorLimit: Host.openFileLimit(), occupied: occupied, coroutines: ThreadCoroutines())
    }
  }

  /// An interpreter on `backend` with the run's limits, its trace going to `traceSink` (each
  /// line after `prefix`), and the runner's stop request.
  func makeInterpreter(_ backend: Backend, tracePrefix prefix: String = "") -> Interpreter {
    if let sink = traceSink { backend.trace = { sink(prefix + $0.description) } }
    var runOptions = RunOptions()
    runOptions.timeout = options.timeout
    runOptions.scenarioTimeout = options.scenarioTimeout
    runOptions.requireExpectations = options.requireExpectations
    let interpreter = Interpreter(backend: backend, options: runOptions)
    interpreter.stopCheck = stopCheck
    interpreter.stopReason = "stopped by a signal"
    return interpreter
  }

  /// Runs one file start to finish.
  package func run(path: String) -> ScenarioReport {
    run(LoadedScenario.load(path, pathLimits: options.pathLimits).script, path: path)
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
          .isolationFailed(error.message, at: range), in: script.source)
        report.duration = elapsed()
        return report
      }
    }
    if script.changesThreadForGood && options.backend != .sim {
      var result = report
      let ran = runOnOwnThread { result = self.runHere(script, report: report, start: start) }
      if !ran {
        result.status = .fail
        result.failure = FailureInfo(
          kind: "runtime", message: "could not start the thread this scenario needs ('drop', 'landlock')",
          line: 1,
          column: 1)
        result.detail = "error: could not start the thread this scenario needs ('drop', 'landlock')"
      }
      return result
    }
    return runHere(script, report: report, start: start)
  }

  /// `drop` and `landlock` change the thread that runs them for good: `body` runs on a thread of
  /// its own, which ends with it, and the kernel backends it made are cleaned up here, by a
  /// thread whose identity is intact. False when no thread could be made (`body` did not run).
  func runOnOwnThread(_ body: @escaping () -> Void) -> Bool {
    runningOnOwnThread = true
    let ran = Host.runOnOwnThread(body)
    runningOnOwnThread = false
    for b in disposableBackends { b.finishCleanup() }
    disposableBackends = []
    return ran
  }

  /// Runs a checked scenario on the calling thread, on the chosen backend(s).
  private func runHere(_ script: Script, report base: ScenarioReport, start: Int64) -> ScenarioReport {
    func elapsed() -> TimeSpan { TimeSpan(nanoseconds: Host.monotonicNow() - start) }
    var report = base
    if options.backend == .both {
      report = runBoth(script, report: report)
      report.duration = elapsed()
      return report
    }
    let backend = makeBackend()
    let virtualStart = backend.now()
    let result = makeInterpreter(backend).run(script)
    backend.trace = nil
    // The simulation reports its virtual time, so its output is the same on every run.
    report.virtualTime = backend.virtualTime
    report.duration = backend.virtualTime ? backend.now() - virtualStart : elapsed()
    if case .failure(let f) = result {
      report.status = .fail
      report.failure = FailureInfo(f)
      report.detail = FailureRenderer(color: options.color).render(f)
    }
    return report
  }
}
