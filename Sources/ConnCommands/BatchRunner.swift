import ConnHost
import ConnRuntime
import ConnSyntax
import ConnSystem

// Schedules scenarios: in this process when one job suffices, otherwise across worker processes
// (`conn run --worker`), one scenario at a time each. Results come back in completion order
// through `onResult`; `run` returns them in input order, with `--repeat` runs merged.
//
// - The runs of one scenario (`--repeat`) go one after another, never side by side: a scenario
//   with a fixed port would otherwise collide with itself.
// - A stop request (SIGINT, SIGTERM, SIGHUP) ends scheduling; the workers are asked to stop
//   (SIGTERM: they end their scenario between statements and clean up), given a few seconds,
//   then killed; what did not run is reported as not run.
// - A worker that dies or runs past the scenario limit (plus a grace) is replaced, and its
//   scenario reported as what happened to it.

package struct BatchOptions: Sendable {
  package var jobs = 1
  package var repeatCount = 1
  package var failFast = false
  package var runner = RunnerOptions()
  /// Arguments that make a worker run with the same options as this process.
  package var workerArguments: [String] = []
  /// The executable a worker runs: this one (tests, which are not conn, name the built binary).
  package var workerExecutable = Subprocess.currentExecutable
  package init() {}
}

package final class BatchRunner {
  package let files: [String]
  package let options: BatchOptions
  /// Called once per finished run: (finished so far, the run's task index, its report).
  package var onResult: ((Int, Int, ScenarioReport) -> Void)?
  /// Called when a run starts (for live progress).
  package var onStart: ((String) -> Void)?
  /// Receives the trace lines of each run (`-v`) as they happen: (task, line). A task is the
  /// index of one run: file index * repeat count + run.
  package var onTrace: ((Int, String) -> Void)?
  /// The signal that asks the run to stop, if one came.
  package var stopSignal: () -> Int32? = { nil }
  /// What the interpreter of an in-process run checks between statements (the signal word).
  package var stopCheck: (@convention(c) () -> Int32)?
  /// How long stopped workers get to finish their scenario and clean up.
  package static let stopGrace: Int64 = 5_000_000_000

  package init(files: [String], options: BatchOptions) {
    self.files = files
    self.options = options
  }

  private var results: [ScenarioReport?] = []
  private var finished = 0
  private var stopScheduling = false
  private var schedule: RunSchedule!

  /// Runs everything; returns one report per file, in input order.
  package func run() -> [ScenarioReport] {
    let total = files.count * options.repeatCount
    results = [ScenarioReport?](repeating: nil, count: total)
    schedule = RunSchedule(files: files.count, repeatCount: options.repeatCount)
    if options.jobs <= 1 || total <= 1 {
      runInProcess(total)
    } else {
      runInWorkers(total)
    }
    return merge()
  }

  private func path(ofTask t: Int) -> String { files[t / options.repeatCount] }

  private var shouldStop: Bool { stopScheduling || stopSignal() != nil }

  private func record(_ t: Int, _ report: ScenarioReport, total: Int) {
    results[t] = report
    finished += 1
    schedule.finished(t)
    if options.failFast && (report.status == .fail || report.status == .error) { stopScheduling = true }
    onResult?(finished, t, report)
  }

  /// Runs the tasks not run yet, here. Each file is read and parsed once for all its runs
  /// (standard input can only be read once).
  private func runInProcess(_ total: Int) {
    let runner = ScenarioRunner(options: options.runner)
    runner.stopCheck = stopCheck
    var parsed: (path: String, script: Script)?
    while !shouldStop, let t = schedule.next() {
      let path = path(ofTask: t)
      onStart?(path)
      if let onTrace { runner.traceSink = { onTrace(t, $0) } }
      let script =
        parsed?.path == path
        ? parsed!.script : LoadedScenario.load(path, pathLimits: options.runner.pathLimits).script
      parsed = (path, script)
      record(t, runner.run(script, path: path), total: total)
    }
  }

  private final class Worker {
    var process: Subprocess
    var task: Int?
    var started: Int64 = 0
    var decoder = WorkerProtocol.Decoder()
    init(_ p: Subprocess) { process = p }
  }

  private func spawn() -> Worker? {
    Subprocess(path: options.workerExecutable, arguments: ["run", "--worker"] + options.workerArguments).map(
      Worker.init)
  }

  private func runInWorkers(_ total: Int) {
    var workers: [Worker?] = []
    let count = min(options.jobs, total)
    let watchdog = options.runner.scenarioTimeout.nanoseconds + 30_000_000_000
    var stopDeadline: Int64?

    func assign(_ w: Worker) {
      guard !shouldStop, let t = schedule.next() else { return }
      w.task = t
      w.started = Host.monotonicNow()
      onStart?(path(ofTask: t))
      if !w.process.send("\(t)\t\(WorkerProtocol.escape(path(ofTask: t)))") {
        crash(w, "could not send the scenario to a worker")
      }
    }

    func crash(_ w: Worker, _ why: String) {
      guard let t = w.task else { return }
      var r = ScenarioReport(path: path(ofTask: t), status: .error, backend: options.runner.backend.rawValue)
      r.failure = FailureInfo(kind: "crash", message: why, line: 0, column: 0)
      r.detail = "\(r.path): error: \(why)\n"
      r.duration = TimeSpan(nanoseconds: Host.monotonicNow() - w.started)
      w.task = nil
      record(t, r, total: total)
    }

    func replace(_ i: Int) {
      workers[i] = nil
      if !shouldStop && schedule.hasWaiting, let fresh = spawn() {
        workers[i] = fresh
        assign(fresh)
      }
    }

    for _ in 0..<count {
      guard let w = spawn() else { break }
      workers.append(w)
      assign(w)
    }
    if workers.isEmpty {
      // Could not start workers: run here instead.
      runInProcess(total)
      return
    }
    while workers.contains(where: { $0?.task != nil }) {
      // A stop: ask every busy worker to end its scenario, once; past the grace, kill.
      if let signal = stopSignal(), stopDeadline == nil {
        stopDeadline = Host.monotonicNow() + Self.stopGrace
        for w in workers { if let w, w.task != nil { w.process.terminate() } }
        _ = signal
      }
      if let d = stopDeadline, Host.monotonicNow() > d {
        for (i, wo) in workers.enumerated() {
          guard let w = wo, w.task != nil else { continue }
          w.process.kill()
          _ = w.process.finish()
          crash(
            w,
            "killed: it did not stop within \(TimeSpan(nanoseconds: Self.stopGrace).description) of being asked to"
          )
          workers[i] = nil
        }
        break
      }
      let ready = Subprocess.waitReadable(workers.map { $0?.process }, timeoutMilliseconds: 200)
      for i in ready {
        guard let w = workers[i] else { continue }
        guard let lines = w.process.readLines() else {
          // The worker is gone: whatever it was running is an error; replace the worker.
          let status = w.process.finish()
          crash(w, "the worker process ended while running this scenario (wait status \(status))")
          replace(i)
          continue
        }
        for line in lines {
          switch w.decoder.feed(line) {
          case .trace(let t, let text)? where t == w.task: onTrace?(t, text)
          case .report(let t, let report)? where t == w.task:
            w.task = nil
            record(t, report, total: total)
            assign(w)
          default: break
          }
        }
      }
      // Watchdog: a worker past the whole-scenario limit (plus grace) is killed.
      let now = Host.monotonicNow()
      for (i, wo) in workers.enumerated() {
        guard let w = wo, w.task != nil, now - w.started > watchdog else { continue }
        w.process.kill()
        _ = w.process.finish()
        crash(
          w,
          "killed after \(TimeSpan(nanoseconds: watchdog).description) of real time: the scenario ran past its limit (\(options.runner.scenarioTimeout.description)) and did not stop"
        )
        replace(i)
      }
    }
    for w in workers { if let w { _ = w.process.finish() } }
    // Workers that could not be started or replaced leave tasks behind: run them here.
    if !shouldStop && schedule.hasWaiting { runInProcess(total) }
  }

  /// One report per file: repeated runs that disagree make the scenario flaky (a failure).
  private func merge() -> [ScenarioReport] {
    var out: [ScenarioReport] = []
    let stopped = stopSignal().map { "not run (stopped by \(StopSignal.name($0)))" }
    for (f, path) in files.enumerated() {
      let runs = (0..<options.repeatCount).compactMap { results[f * options.repeatCount + $0] }
      guard var first = runs.first else {
        var r = ScenarioReport(path: path, status: .skip, backend: options.runner.backend.rawValue)
        r.skipReason = stopped ?? "not run (--fail-fast stopped the run)"
        out.append(r)
        continue
      }
      let statuses = runs.map(\.status)
      if Set(statuses).count > 1 {
        let failing = runs.first { $0.status != .pass && $0.status != .skip } ?? first
        var r = failing
        r.status = .fail
        let passes = statuses.filter { $0 == .pass }.count
        let outcomes = runs.map { $0.failure.map { "\($0.message)" } ?? $0.status.rawValue }
        r.failure = FailureInfo(
          kind: "flaky", message: "flaky: passed \(passes) of \(runs.count) runs",
          line: failing.failure?.line ?? 0,
          column: failing.failure?.column ?? 0, expected: "the same result every run",
          actual: outcomes.joined(separator: " | "),
          meaning: nil)
        r.detail =
          "\(path): flaky: passed \(passes) of \(runs.count) runs; outcomes: \(outcomes.joined(separator: " | "))\n"
          + failing.detail
        r.runs = statuses
        r.duration = TimeSpan(nanoseconds: runs.reduce(0) { $0 + $1.duration.nanoseconds })
        out.append(r)
      } else {
        if runs.count > 1 {
          first.runs = statuses
          first.duration = TimeSpan(nanoseconds: runs.reduce(0) { $0 + $1.duration.nanoseconds })
        }
        out.append(first)
      }
    }
    return out
  }
}

/// Which run goes next: the lowest-numbered file that has runs left and none running, so each
/// file's runs go one after another, never two at once. Ready files wait in a min-heap.
struct RunSchedule {
  private let repeatCount: Int
  private var nextRun: [Int]
  private var ready: [Int]
  private var unstarted: Int

  init(files: Int, repeatCount: Int) {
    self.repeatCount = repeatCount
    nextRun = [Int](repeating: 0, count: files)
    ready = Array(0..<files)  // sorted: already a heap
    unstarted = files * repeatCount
  }

  /// Whether some run has not started yet.
  var hasWaiting: Bool { unstarted > 0 }

  /// The next task to start, if any can start now.
  mutating func next() -> Int? {
    guard let f = pop() else { return nil }
    nextRun[f] += 1
    unstarted -= 1
    return f * repeatCount + nextRun[f] - 1
  }

  /// A run ended: its file's next run may start.
  mutating func finished(_ task: Int) {
    let f = task / repeatCount
    if nextRun[f] < repeatCount { push(f) }
  }

  private mutating func push(_ f: Int) {
    ready.append(f)
    var i = ready.count - 1
    while i > 0 && ready[(i - 1) / 2] > ready[i] {
      ready.swapAt(i, (i - 1) / 2)
      i = (i - 1) / 2
    }
  }

  private mutating func pop() -> Int? {
    guard let top = ready.first else { return nil }
    let last = ready.removeLast()
    if !ready.isEmpty {
      ready[0] = last
      var i = 0
      while true {
        let l = 2 * i + 1
        let r = l + 1
        var m = i
        if l < ready.count && ready[l] < ready[m] { m = l }
        if r < ready.count && ready[r] < ready[m] { m = r }
        if m == i { break }
        ready.swapAt(i, m)
        i = m
      }
    }
    return top
  }
}

/// `--shard K/N`: the scenarios at positions K-1, K-1+N, ... of the sorted list.
package func selectShard(_ files: [String], index k: Int, of n: Int) -> [String] {
  files.enumerated().filter { $0.offset % n == k - 1 }.map(\.element)
}

/// `--filter PATTERN`: does the scenario at `path` (as reports show it), found as `relative`
/// under a directory given on the command line, match? A pattern with `*` or `?` is a glob that
/// must match the whole of either path (`*` matches any run of characters, `/` included, as in
/// `find -path` and git's pathspecs); any other pattern is a substring of either. So with
/// `conn run scripts/scenarios`, `tcp/e*` selects tcp/econnrefused.conn (relative), and
/// `*/udp/*` and `udp` select the udp directory.
package func matchesFilter(_ path: String, relative: String? = nil, _ pattern: String) -> Bool {
  let names = relative.map { $0 == path ? [path] : [$0, path] } ?? [path]
  if !pattern.contains("*") && !pattern.contains("?") { return names.contains { $0.contains(pattern) } }
  let p = Array(pattern.utf8)
  return names.contains { glob(p, Array($0.utf8)) }
}

/// The path of `file` relative to the directory on the command line it was found in (the first
/// of `given` that holds it), or the path as given for a file named directly ("./" dropped).
package func relativeScenarioPath(_ file: String, given: [String]) -> String {
  for g in given where !g.isEmpty && g != "-" {
    let dir = g.hasSuffix("/") ? g : g + "/"
    if file.hasPrefix(dir) && file.count > dir.count { return String(file.dropFirst(dir.count)) }
  }
  return file.hasPrefix("./") ? String(file.dropFirst(2)) : file
}

private func glob(_ p: [UInt8], _ s: [UInt8]) -> Bool {
  // Iterative glob with backtracking to the last star: linear in practice, never exponential.
  var pi = 0
  var si = 0
  var star = -1
  var mark = 0
  while si < s.count {
    if pi < p.count && (p[pi] == UInt8(ascii: "?") || p[pi] == s[si]) {
      pi += 1
      si += 1
    } else if pi < p.count && p[pi] == UInt8(ascii: "*") {
      star = pi
      mark = si
      pi += 1
    } else if star >= 0 {
      pi = star + 1
      mark += 1
      si = mark
    } else {
      return false
    }
  }
  while pi < p.count && p[pi] == UInt8(ascii: "*") { pi += 1 }
  return pi == p.count
}
