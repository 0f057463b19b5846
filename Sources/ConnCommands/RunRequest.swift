import ArgumentParser
import ConnHost
import ConnRuntime
import ConnSyntax
import ConnSystem

/// What `conn run` was asked, as plain values, and the run itself. `RunCommand` (ArgumentParser)
/// and `FastRun` (the command line people type most, read without ArgumentParser's start-up
/// cost) both make one.
struct RunRequest {
  var paths: [String] = []
  var verbose = false
  var timeout: TimeSpan = .seconds(10)
  var scenarioTimeout: TimeSpan = .seconds(300)
  var allowNet: [String] = []
  var jobs: Int?
  var backend: BackendChoice = .system
  var format: ReportFormat = .human
  var output: String?
  var filter: String?
  var shard: String?
  var isolate = false
  var failFast = false
  var repeatCount = 1
  var strictSkips = false
  var worker = false
  var parent: Int32?
  var color = false

  /// What `--allow-net` says, checked.
  var allowedNetworks: AllowedNetworks { (try? AllowedNetworks(allowNet)) ?? AllowedNetworks() }

  func parsedShard() throws -> (Int, Int)? {
    guard let shard else { return nil }
    let parts = shard.split(separator: "/")
    guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else {
      throw ValidationError("--shard takes K/N with 1 <= K <= N, e.g. 2/4 (got '\(shard)')")
    }
    return (k, n)
  }

  func validate() throws {
    if worker { return }
    if timeout.nanoseconds <= 0 { throw ValidationError("--timeout must be more than 0") }
    if scenarioTimeout.nanoseconds <= 0 { throw ValidationError("--scenario-timeout must be more than 0") }
    if let j = jobs, j < 1 || j > 256 { throw ValidationError("--jobs must be between 1 and 256 (got \(j))") }
    if repeatCount < 1 || repeatCount > 10_000 {
      throw ValidationError("--repeat must be between 1 and 10000 (got \(repeatCount))")
    }
    _ = try parsedShard()
    if isolate, backend != .sim, let why = Isolation.unavailableReason {
      throw ValidationError("--isolate: \(why)")
    }
    _ = try AllowedNetworks(allowNet)
  }

  var runnerOptions: RunnerOptions {
    var o = RunnerOptions()
    o.timeout = timeout
    o.scenarioTimeout = scenarioTimeout
    o.allowNet = allowedNetworks.effective
    o.verbose = verbose
    o.backend = backend
    o.isolate = isolate
    return o
  }

  func execute(_ console: Console) throws {
    if worker { return runWorker() }
    if paths.isEmpty {
      throw UsageError("give at least one scenario file or directory", command: RunCommand.self)
    }
    let (found, missing) = expandPaths(paths)
    for m in missing { console.err("error: \(m): no such file or directory\n") }
    var files = found
    if let f = filter {
      files = files.filter { matchesFilter($0, relative: relativeScenarioPath($0, given: paths), f) }
    }
    if let (k, n) = try parsedShard() { files = selectShard(files, index: k, of: n) }
    if files.isEmpty {
      // Nothing to run is code 2. When nothing was found because the paths do not exist, the
      // lines above said so: one error for one problem.
      if !(found.isEmpty && !missing.isEmpty) {
        console.err(
          "error: no scenario found in \(paths.joined(separator: " "))\(filter.map { " matching '\($0)'" } ?? "")\n"
        )
      }
      throw ExitCode(2)
    }

    let colorOut = console.color
    // The report itself goes to stdout unless --output names a file.
    let humanOnStdout = format == .human || output != nil
    var batch = BatchOptions()
    // Standard input belongs to this process: a scenario read from it runs here.
    batch.jobs = files.contains("-") ? 1 : jobs ?? Host.processorCount()
    batch.repeatCount = repeatCount
    batch.failFast = failFast
    batch.runner = runnerOptions
    // Colour goes into the failure excerpts: only when they are printed to a terminal, never
    // into a report file.
    batch.runner.color = colorOut && format == .human && output == nil
    batch.workerArguments = workerArguments(color: batch.runner.color)
    if allowedNetworks.everything { console.err(AllowedNetworks.warning) }
    let runner = BatchRunner(files: files, options: batch)
    runner.stopSignal = { StopSignal.received }
    runner.stopCheck = StopSignal.check
    // Private directories that killed runs left behind (their lock is free) go now.
    PrivateDirectory.removeStale()
    if isolate { SystemBackend.removeStaleCgroups() }

    // Live progress on a terminal; plain status lines, in input order, otherwise.
    let total = files.count * repeatCount
    let progress = RunProgress(
      files: files, repeatCount: repeatCount, color: colorOut,
      live: humanOnStdout && console.outputIsTerminal, console: console)
    if humanOnStdout {
      runner.onStart = { progress.started($0) }
      runner.onResult = { done, task, report in progress.finished(task: task, done: done, report) }
      if verbose { runner.onTrace = { progress.trace(task: $0, $1) } }
    }
    // -v with --format json: each scenario's trace goes into its report, with times.
    var steps: [Int: [TraceStep]] = [:]
    var firstCall: [Int: Int64] = [:]
    if verbose && format == .json {
      let printing = runner.onTrace
      runner.onTrace = { task, line in
        printing?(task, line)
        let now = Host.monotonicNow()
        let start = firstCall[task] ?? now
        firstCall[task] = start
        steps[task, default: []].append(TraceStep(line: line, seconds: Double(now - start) / 1e9))
      }
    }
    let started = Host.monotonicNow()
    var reports = runner.run()
    // The first run of each file (with --repeat, task = file * repeat + run).
    for i in reports.indices { reports[i].steps = steps[i * repeatCount] ?? [] }
    let summary = RunSummary(
      reports, duration: TimeSpan(nanoseconds: Host.monotonicNow() - started), jobs: min(batch.jobs, total))
    if humanOnStdout { progress.end(reports, summary) }
    if format != .human || output != nil {
      let document = Reporters.render(format, reports, summary, color: false)
      if let output {
        do throws(HostError) {
          try Host.writeFile(output, document)
        } catch {
          console.err("error: --output: \(error.description)\n")
          throw ExitCode(2)
        }
      } else {
        console.out(document)
      }
    }
    if let signal = StopSignal.received {
      console.err("conn: stopped by \(StopSignal.name(signal)); the report above is partial\n")
      throw ExitCode(StopSignal.exitStatus(signal))
    }
    let failed = summary.failed + summary.errors + missing.count + (strictSkips ? summary.skipped : 0)
    if failed > 0 { throw ExitCode(1) }
  }

  func workerArguments(color: Bool) -> [String] {
    var a = [
      "--timeout", timeout.description, "--scenario-timeout", scenarioTimeout.description, "--backend",
      backend.rawValue,
    ]
    a += allowedNetworks.arguments
    if verbose { a.append("--verbose") }
    if isolate { a.append("--isolate") }
    if color { a.append("--color") }
    a += ["--parent", "\(Host.processID)"]
    return a
  }

  /// Worker mode: read "index<TAB>path" lines, run each, answer with a report record. A worker
  /// dies with its parent (SIGTERM: it ends its scenario and cleans up), and takes no new
  /// scenario once asked to stop.
  func runWorker() {
    if let parent, !StopSignal.dieWithParent(parent) { return }
    var options = runnerOptions
    options.color = color
    let runner = ScenarioRunner(options: options)
    runner.stopCheck = StopSignal.check
    let reader = PlainLineReader(fd: StandardStreams.input)
    while StopSignal.received == nil, case .line(let bytes) = reader.readLine(prompt: "") {
      let line = String(decoding: bytes, as: UTF8.self)
      guard let tab = line.firstIndex(of: "\t"), let index = Int(line[..<tab]) else { continue }
      let path = WorkerProtocol.unescape(line[line.index(after: tab)...])
      if verbose { runner.traceSink = { Host.printOut(WorkerProtocol.trace($0, index: index) + "\n") } }
      let report = runner.run(path: path)
      Host.printOut(WorkerProtocol.encode(report, index: index) + "\n")
    }
  }
}
