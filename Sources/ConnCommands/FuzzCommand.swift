import ArgumentParser
import ConnHost
import ConnRuntime
import ConnSyntax
import ConnSystem

// `conn fuzz`, part 3: the driver. Worker processes (`conn fuzz --worker`) take case numbers,
// generate each case from the seed, run it, confirm and shrink a disagreement, and answer with
// one record; this process hands out cases, watches for workers that die or hang (their case is
// saved too: the scenario can be regenerated from the seed), writes one file per distinct
// disagreement, shows progress and prints the summary.
//
//   parent -> worker:  "<case>\n"
//   worker -> parent:  "<verdict>\t<case>\t<field>..." (escaped as in WorkerProtocol), where
//                      verdict is agree, differ, unstable or invalid.

package struct FuzzCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "fuzz",
    abstract: "Find where the simulation and the kernel disagree, with random scenarios.",
    discussion: """
      Generates random well-formed scenarios (sockets whose states change, connects to each \
      other by name, reconnects and AF_UNSPEC, options before a connect, nonblocking connects \
      and poll, a little data), runs each on the kernel, in a network namespace of its own, and \
      on the simulation, and compares them statement by statement as 'conn run --backend both' \
      does, except that an errno that no expect names does not stop the scenario.

      A disagreement is run twice more; if the kernel does not answer the same way each time \
      it is counted as 'kernel unstable', not as a simulation bug. Otherwise the scenario is \
      shrunk (lines, then words) to a smallest one that still disagrees the same way, and \
      written to the --out directory as a .conn file whose comment says what each backend \
      answered and whose expects are the kernel's answers: a regression test. One file per \
      distinct disagreement (the statement and the two answers); the summary counts the rest.

      A worker that dies or hangs is reported the same way, with its scenario saved.

      The cases of a run are numbered; case N of a seed is always the same scenario ('--show N' \
      prints it). Every address a scenario uses is loopback, unspecified, or exists only in \
      the scenario's namespace: nothing reaches the host network. Needs root (namespaces).

      Exit codes: 0 no disagreement, crash or hang; 1 some; 2 bad usage or no namespaces.
      """)

  @Option(help: "Seed of the run (default: from the clock, and printed).")
  var seed: UInt64?

  @Option(help: "How many scenarios to run (default 1000 unless --time is given).")
  var count: Int?

  @Option(help: "Stop starting scenarios after this long (e.g. 10m, 1h).")
  var time: TimeSpan?

  @Option(name: [.customShort("j"), .long], help: "Parallel workers (default: the number of cores).")
  var jobs: Int?

  @Option(help: "Directory for the shrunk scenarios (created if needed).", completion: .directory)
  var out: String = "fuzz-findings"

  @Option(help: "Time limit of every blocking call in a scenario.")
  var timeout: TimeSpan = .milliseconds(500)

  @Flag(name: .customLong("no-shrink"), help: "Save disagreements as generated, without shrinking them.")
  var noShrink = false

  @Option(help: ArgumentHelp("Print case N of --seed and exit.", valueName: "N"))
  var show: Int?

  /// How long one case (its runs, reruns and shrinking) may take before its worker is killed
  /// and the case saved as a hang.
  @Option(
    name: .customLong("case-limit"),
    help: "Kill a worker whose case (runs, reruns, shrinking) takes longer, and save the case as a hang.")
  var caseLimit: TimeSpan = .seconds(180)

  @Flag(
    help: ArgumentHelp(
      "Also draw the statements added after the generator was written (null and family addresses, ports from sockets, polls of several descriptors, file statements); the same seed then gives other scenarios."
    ))
  var extended = false

  @Flag(help: .hidden) var worker = false
  @Option(help: .hidden) var parent: Int32?

  package init() {}

  package func validate() throws {
    if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    if let show, show < 0 { throw ValidationError("--show takes a case number, 0 or more") }
    if show != nil && seed == nil { throw ValidationError("--show needs the --seed of the run") }
    if timeout.nanoseconds <= 0 || timeout > .seconds(10) {
      throw ValidationError("--timeout must be more than 0 and at most 10s")
    }
  }

  var runnerOptions: RunnerOptions {
    var o = RunnerOptions()
    o.backend = .both
    o.isolate = true
    o.timeout = timeout
    o.scenarioTimeout = .seconds(20)
    o.requireExpectations = false
    return o
  }

  package func execute(_ console: Console) throws {
    if let show, let seed {
      console.out(
        FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(seed, show), extended: extended).joined(
          separator: "\n") + "\n")
      return
    }
    if let why = Isolation.unavailableReason {
      console.err("error: conn fuzz runs every scenario in a network namespace of its own: \(why)\n")
      throw ExitCode(2)
    }
    if worker { return runWorker() }
    let seed = seed ?? UInt64(truncatingIfNeeded: Host.realtimeNanoseconds())
    if let why = Host.makeDirectories(out) {
      console.err("error: --out \(out): \(why)\n")
      throw ExitCode(2)
    }
    var session = FuzzSession(
      seed: seed, count: count ?? (time == nil ? 1000 : Int.max), time: time,
      jobs: jobs ?? Host.processorCount(), out: out, console: console, caseLimit: caseLimit.nanoseconds,
      extended: extended,
      workerArguments: [
        "fuzz", "--worker", "--timeout", timeout.description, "--parent", "\(Host.processID)",
      ]
        + (noShrink ? ["--no-shrink"] : []) + (extended ? ["--extended"] : []))
    session.run()
    if let signal = StopSignal.received {
      console.err("conn fuzz: stopped by \(StopSignal.name(signal))\n")
      throw ExitCode(StopSignal.exitStatus(signal))
    }
    if session.disagreements + session.crashes + session.hangs > 0 { throw ExitCode(1) }
  }

  /// Worker mode: one case number per line in, one record per case out.
  func runWorker() {
    if let parent, !StopSignal.dieWithParent(parent) { return }
    let runner = ScenarioRunner(options: runnerOptions)
    runner.stopCheck = StopSignal.check
    let reader = PlainLineReader(fd: StandardStreams.input)
    while StopSignal.received == nil, case .line(let bytes) = reader.readLine(prompt: "") {
      let fields = String(decoding: bytes, as: UTF8.self).split(separator: "\t")
      guard fields.count == 2, let index = Int(fields[0]), let seed = UInt64(fields[1]) else { continue }
      let record = Self.fuzzCase(runner, seed: seed, index: index, shrink: !noShrink, extended: extended)
      Host.printOut(record.map(WorkerProtocol.escape).joined(separator: "\t") + "\n")
    }
  }

  /// One case, start to finish: the record the worker sends.
  static func fuzzCase(
    _ runner: ScenarioRunner, seed: UInt64, index: Int, shrink: Bool, extended: Bool = false
  )
    -> [String]
  {
    // The tests' way to make a worker crash or hang on a given case, to check that the
    // fuzzer saves it.
    if Host.environment("CONN_FUZZ_TEST_CRASH") == "\(index)" { Host.abortForTesting() }
    if Host.environment("CONN_FUZZ_TEST_HANG") == "\(index)" { Host.sleepForever() }
    let lines = FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(seed, index), extended: extended)
    let (verdict, _) = runner.fuzzRun(lines)
    switch verdict {
    case .agree: return ["agree", "\(index)"]
    case .invalid(let why): return ["invalid", "\(index)", why]
    case .differ(let first):
      // The kernel must answer the same way again before the simulation is blamed.
      for _ in 0..<2 {
        let again = runner.fuzzRun(lines).0.disagreement
        if again?.signature != first.signature {
          let other = again.map { "system \($0.system), sim \($0.sim) at line \($0.line)" } ?? "agreement"
          return [
            "unstable", "\(index)", first.signature, "first \(first.system) vs \(first.sim), then \(other)",
          ]
        }
      }
      let small = shrink ? runner.fuzzShrink(lines, signature: first.signature) : lines
      // The shrunk scenario, run again for the kernel's answers (and to make sure it still
      // disagrees; if not, the generated one is saved).
      var (final, answers) = runner.fuzzRun(small)
      var kept = small
      if final.disagreement?.signature != first.signature {
        (final, answers) = runner.fuzzRun(lines)
        kept = lines
      }
      let d = final.disagreement ?? first
      let flag = extended ? " --extended" : ""
      let comment = [
        "Found by conn fuzz --seed \(seed)\(flag) (case \(index); conn fuzz --seed \(seed)\(flag) --show \(index) prints it as generated).",
        "The backends disagree at '\(kept.indices.contains(d.line - 1) ? kept[d.line - 1] : d.keyword)':",
        "  system: \(d.system)",
        "  sim:    \(d.sim)",
        "The expects are this kernel's answers (\(Host.kernelRelease())).",
      ]
      let text = runner.fuzzRegression(kept, d, answers: answers, comment: comment)
      return [
        "differ", "\(index)", d.signature, d.keyword, d.system, d.sim, text, "\(lines.count)",
        "\(kept.count)",
      ]
    }
  }
}

/// The parent's side of a run.
struct FuzzSession {
  let seed: UInt64
  let count: Int
  let time: TimeSpan?
  let jobs: Int
  let out: String
  let console: Console
  /// A case runs for at most this long (with its reruns and shrinking) before its worker is
  /// killed and the case counted as a hang.
  let caseLimit: Int64
  /// The generator draws the later statements too (--extended).
  let extended: Bool
  let workerArguments: [String]

  var finished = 0
  var agreed = 0
  var disagreements = 0
  var unstable = 0
  var invalid = 0
  var crashes = 0
  var hangs = 0
  /// Distinct disagreements, in the order found: signature, count, first case, file.
  var groups: [(signature: String, count: Int, index: Int, file: String)] = []
  var unstableSignatures: [String: Int] = [:]
  var invalidReasons: [String: Int] = [:]

  private final class Worker {
    let process: Subprocess
    var index: Int?
    var started: Int64 = 0
    init(_ p: Subprocess) { process = p }
  }

  mutating func run() {
    let start = Host.monotonicNow()
    let deadline = time.map { start + $0.nanoseconds }
    console.err("conn fuzz: seed \(seed), \(jobs) worker\(jobs == 1 ? "" : "s"), findings in \(out)/\n")
    var workers: [Worker?] = []
    func spawn() -> Worker? {
      Subprocess(path: Subprocess.currentExecutable, arguments: workerArguments).map(Worker.init)
    }
    var nextIndex = 0
    func mayStart() -> Bool {
      StopSignal.received == nil && nextIndex < count && (deadline.map { Host.monotonicNow() < $0 } ?? true)
    }
    func assign(_ w: Worker) {
      guard mayStart() else { return }
      w.index = nextIndex
      w.started = Host.monotonicNow()
      nextIndex += 1
      if !w.process.send("\(w.index!)\t\(seed)") { w.process.kill() }
    }
    for _ in 0..<jobs {
      guard let w = spawn() else { break }
      workers.append(w)
      assign(w)
    }
    if workers.isEmpty {
      console.err("error: could not start a worker process\n")
      return
    }
    var lastProgress = Host.monotonicNow()
    let live = Host.isTerminal(StandardStreams.error)
    var stopAsked = false
    while workers.contains(where: { $0?.index != nil }) {
      if StopSignal.received != nil && !stopAsked {
        stopAsked = true
        for w in workers { w?.process.terminate() }
      }
      let ready = Subprocess.waitReadable(workers.map { $0?.process }, timeoutMilliseconds: 250)
      for i in ready {
        guard let w = workers[i] else { continue }
        guard let lines = w.process.readLines() else {
          let status = w.process.finish()
          if let index = w.index, !stopAsked {
            lost(index, "crash", "the worker process ended while running it (wait status \(status))")
          }
          workers[i] = nil
          if mayStart(), let fresh = spawn() {
            workers[i] = fresh
            assign(fresh)
          }
          continue
        }
        for line in lines {
          let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(
            WorkerProtocol.unescape)
          guard fields.count >= 2, let index = Int(fields[1]), index == w.index else { continue }
          record(fields, index: index)
          w.index = nil
          assign(w)
        }
      }
      let now = Host.monotonicNow()
      for (i, wo) in workers.enumerated() {
        guard let w = wo, let index = w.index, now - w.started > caseLimit else { continue }
        w.process.kill()
        _ = w.process.finish()
        lost(index, "hang", "killed after \(TimeSpan(nanoseconds: caseLimit).description) of real time")
        workers[i] = nil
        if mayStart(), let fresh = spawn() {
          workers[i] = fresh
          assign(fresh)
        }
      }
      if now - lastProgress > (live ? 1_000_000_000 : 60_000_000_000) {
        lastProgress = now
        let line = progressLine(elapsed: now - start)
        console.err(live ? "\r\u{1B}[K" + line : line + "\n")
      }
    }
    for w in workers { if let w { _ = w.process.finish() } }
    if live { console.err("\r\u{1B}[K") }
    console.out(summary(elapsed: Host.monotonicNow() - start))
  }

  private func progressLine(elapsed: Int64) -> String {
    let rate = Double(finished) / max(Double(elapsed) / 1e9, 0.001)
    return
      "\(formatElapsed(elapsed)): \(finished) scenarios (\(formatRate(rate))/s), \(disagreements) disagreeing (\(groups.count) distinct), \(unstable) kernel-unstable, \(crashes + hangs) crashes or hangs"
  }

  /// Seconds with one decimal, or minutes and seconds.
  private func formatElapsed(_ ns: Int64) -> String {
    let tenths = ns / 100_000_000
    if tenths < 600 { return "\(tenths / 10).\(tenths % 10)s" }
    return "\(tenths / 600)m\(tenths / 10 % 60)s"
  }

  private func formatRate(_ r: Double) -> String {
    let tenths = Int((r * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }

  private mutating func record(_ fields: [String], index: Int) {
    finished += 1
    switch fields[0] {
    case "agree":
      agreed += 1
    case "invalid":
      invalid += 1
      // "LINE:COLUMN: message": grouped by the message.
      let why = fields.count > 2 ? fields[2] : "?"
      invalidReasons[String(why.split(separator: " ", maxSplits: 1).last ?? Substring(why)), default: 0] += 1
    case "unstable":
      unstable += 1
      unstableSignatures[fields.count > 2 ? fields[2] : "?", default: 0] += 1
    case "differ" where fields.count >= 7:
      disagreements += 1
      let signature = fields[2]
      if let g = groups.firstIndex(where: { $0.signature == signature }) {
        groups[g].count += 1
      } else {
        let name = "\(out)/\(String(format2(groups.count + 1)))-\(fields[3]).conn"
        save(name, fields[6])
        groups.append((signature, 1, index, name))
      }
    default:
      invalid += 1
      invalidReasons["malformed record from a worker", default: 0] += 1
    }
  }

  private func format2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

  /// A case whose worker died or hung: saved as generated.
  private mutating func lost(_ index: Int, _ kind: String, _ why: String) {
    finished += 1
    if kind == "crash" { crashes += 1 } else { hangs += 1 }
    let lines = FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(seed, index), extended: extended)
    let name = "\(out)/\(kind)-\(seed)-\(index).conn"
    let text =
      ([
        "# Found by conn fuzz --seed \(seed)\(extended ? " --extended" : "") (case \(index)): \(kind): \(why).",
        "# needs: isolate",
      ] + lines).joined(separator: "\n") + "\n"
    save(name, text)
    console.err("conn fuzz: case \(index): \(kind): \(why); saved as \(name)\n")
  }

  private func save(_ path: String, _ text: String) {
    do throws(HostError) {
      try Host.writeFile(path, text)
    } catch {
      console.err("conn fuzz: cannot write \(path): \(error.description)\n")
    }
  }

  func summary(elapsed: Int64) -> String {
    let seconds = Double(elapsed) / 1e9
    var s = "conn fuzz --seed \(seed): \(finished) scenarios in \(formatElapsed(elapsed))"
    s += " (\(jobs) worker\(jobs == 1 ? "" : "s"), \(formatRate(Double(finished) / max(seconds, 0.001)))/s)\n"
    let rate = finished == 0 ? 0 : Double(disagreements) * 100 / Double(finished)
    s += "  agree \(agreed), disagree \(disagreements) (\(groups.count) distinct, \(formatRate(rate))%)"
    s += ", kernel unstable \(unstable), invalid \(invalid), crashes \(crashes), hangs \(hangs)\n"
    if !groups.isEmpty {
      s += "distinct disagreements (count, statement and answers, shrunk scenario):\n"
      for g in groups.sorted(by: { $0.count > $1.count }) {
        s += "  \(g.count)x \(g.signature)\n      \(g.file) (case \(g.index))\n"
      }
    }
    if !unstableSignatures.isEmpty {
      s += "the kernel did not answer the same way twice (not counted as disagreements):\n"
      for (sig, n) in unstableSignatures.sorted(by: { $0.value > $1.value }) { s += "  \(n)x \(sig)\n" }
    }
    if !invalidReasons.isEmpty {
      s += "scenarios that could not run:\n"
      for (why, n) in invalidReasons.sorted(by: { $0.value > $1.value }) { s += "  \(n)x \(why)\n" }
    }
    return s
  }
}
