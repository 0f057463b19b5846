// `conn-bench suite`: every measurement of issue 8, side by side in one run, as a table and as
// JSON. One file, past 600 lines, because it is one table: each section measures and prints its
// row with the same rounds, spreads and verdicts (Measure.swift and Stats.swift hold the
// machinery; section 7, valgrind's counts, is Instructions.swift with Callgrind.swift). scripts/bench.sh builds the binaries and the C floor and calls this; see the README's
// "Benchmarks" section. Only loopback and Unix sockets are used, and every loop is bounded.

import ConnSyntax
import ConnHost

struct SuiteOptions {
  var conn = ""
  /// An older conn to measure side by side (scripts/bench.sh --baseline-rev builds one).
  var baseline: String?
  var floor = ""
  var python: String?
  var pythonScript = ""
  var work = ""
  var json: String?
  var runs = 7
  var iterations = 100_000
  var startupRuns = 21
  var parseMB = 20
  var batchFiles = 1000
  var simIterations = 1_000_000
  var simSmallIterations = 100_000
  var isolationScenarios = 100
  /// Iterations of the instruction-count loops (callgrind runs them at this and twice this).
  var countIterations = 20_000
  var valgrind: String?
  /// The binaries callgrind counts: copies without debug information (valgrind 3.19 cannot
  /// read the DWARF 5 that Swift writes); the measured binaries when not given.
  var countConn: String?
  var countBaseline: String?
  /// conn-bench itself without debug information, for counting the parse.
  var countBench: String?
  var smoke = false
  var only: Set<String>?

  mutating func makeSmoke() {
    smoke = true
    runs = 2
    iterations = 300
    startupRuns = 3
    parseMB = 1
    batchFiles = 20
    simIterations = 20_000
    simSmallIterations = 2_000
    isolationScenarios = 3
    valgrind = nil
  }
}

/// One measured figure set, for the table and the JSON file.
struct Entry {
  var section: String
  var name: String
  var figures: [(String, Double)] = []
  var target: String?
  /// true: met; false: missed; nil: the spread is larger than the margin (or no target).
  var met: Bool?
  var verdict: String?
  var note: String?
}

final class Suite {
  let o: SuiteOptions
  var entries: [Entry] = []
  var lines: [String] = []
  var logCounter = 0

  init(_ o: SuiteOptions) { self.o = o }

  /// Lines of the section being measured (sections are measured in one order and printed in
  /// another, see `run`); nil while printing directly.
  var pending: [String]?

  func say(_ s: String = "") {
    if pending != nil {
      pending!.append(s)
      return
    }
    lines.append(s)
    Host.printOut(s + "\n")
  }

  func log() -> String {
    logCounter += 1
    return o.work + "/log-\(logCounter % 8).txt"
  }

  func write(_ path: String, _ text: String) throws(BenchError) {
    do throws(HostError) {
      try Host.writeFile(path, text)
    } catch {
      throw .failed("cannot write \(path): \(error.description)")
    }
  }

  func wants(_ section: String) -> Bool { o.only.map { $0.contains(section) } ?? true }

  // MARK: - Run everything

  func run() throws(BenchError) {
    let loadBefore = loadAverage()
    say("conn benchmarks\(o.smoke ? " (smoke run: minimal sizes, figures meaningless)" : "")")
    say("  machine: \(machine())")
    say("  load average before: \(loadBefore)")
    say(
      "  every figure: the median of \(o.runs) runs unless said, with its quartiles and range; programs compared"
    )
    say("  are measured in the same rounds (A B A B ..., the order alternating), and ratios are per round")
    say(
      "  a target is met when the median and both quartiles meet it, MISSED when they all miss it, else the"
    )
    say("  spread is larger than the margin and the verdict is 'cannot tell'")
    if let b = o.baseline { say("  baseline: \(b)") }
    say()
    // Measured CPU-bound first: the socket loops leave the kernel tens of thousands of
    // connections to retire (TIME_WAIT) on both cores, which would slow what comes after them.
    // Printed in the issue's order.
    let sections: [(String, () throws(BenchError) -> Void)] = [
      ("parse", parse), ("sim", sim), ("instructions", instructions), ("startup", startup), ("batch", batch),
      ("isolation", isolation), ("loops", loops),
    ]
    var output: [String: [String]] = [:]
    var found: [String: [Entry]] = [:]
    for (key, measure) in sections where wants(key) {
      Host.printErr("measuring \(key) ...\n")
      pending = []
      let before = entries.count
      try measure()
      output[key] = pending
      found[key] = Array(entries[before...])
      pending = nil
    }
    entries = []
    for key in ["loops", "startup", "parse", "batch", "sim", "isolation", "instructions"] {
      for line in output[key] ?? [] { say(line) }
      entries += found[key] ?? []
    }
    summary()
    say()
    say("  load average after: \(loadAverage())")
    if let j = o.json { try write(j, json()) }
  }

  func machine() -> String {
    let release = Host.kernelRelease()
    var model = "unknown CPU"
    if let b = try? Host.readFile("/proc/cpuinfo") {
      let text = String(decoding: b, as: UTF8.self)
      if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
        let colon = line.firstIndex(of: ":")
      {
        model = String(line[line.index(after: colon)...].drop { $0 == " " })
      }
    }
    return "Linux \(release), \(model), \(Host.processorCount()) cores"
  }

  /// The 1, 5 and 15 minute load averages, as /proc/loadavg gives them.
  func loadAverage() -> String {
    guard let b = try? Host.readFile("/proc/loadavg") else { return "unknown" }
    let parts = String(decoding: b, as: UTF8.self).split(separator: " ")
    return parts.count >= 3 ? "\(parts[0]) \(parts[1]) \(parts[2]) (1, 5, 15 min)" : "unknown"
  }

  /// Runs each program once per round, the order reversed every other round, and returns
  /// every program's wall times (and peak RSS) by key, round by round.
  func rounds(_ n: Int, _ programs: [(String, [String])]) throws(BenchError) -> (
    wall: [String: [Double]], rss: [String: [Double]]
  ) {
    var wall: [String: [Double]] = [:]
    var rss: [String: [Double]] = [:]
    for r in 0..<n {
      let order = r % 2 == 0 ? programs : programs.reversed()
      for (k, argv) in order {
        let s = try Measure.run(argv, log: log())
        wall[k, default: []].append(s.wall)
        rss[k, default: []].append(Double(s.peakRSS))
      }
    }
    return (wall, rss)
  }

  /// Round-by-round ratios of two programs measured in the same rounds.
  func paired(_ a: [Double]?, _ b: [Double]?) -> Samples {
    guard let a, let b else { return Samples([]) }
    return Samples(zip(a, b).map { $0 / $1 })
  }

  func record(
    _ section: String, _ name: String, _ figures: [(String, Double)], target: String? = nil,
    verdict: Verdict? = nil, note: String? = nil
  ) {
    entries.append(
      Entry(
        section: section, name: name, figures: figures, target: target, met: verdict?.met,
        verdict: verdict?.text, note: note))
  }

  // MARK: - 1. Interpreter overhead against the syscall floor

  struct Loop: Sendable {
    var key: String
    var title: String
    var scenario: @Sendable (Int) -> String
  }

  static let loopKinds: [Loop] = [
    Loop(
      key: "refused", title: "refused connect",
      scenario: { n in
        "sock p = stream inet\nbind p 127.0.0.1:0\nrepeat \(n) { sock s = stream inet; connect s p; expect ECONNREFUSED; close s }\n"
      }),
    Loop(
      key: "accept", title: "nonblocking connect + accept",
      scenario: { n in
        "sock l = stream inet\nbind l 127.0.0.1:0\nlisten l\nrepeat \(n) { sock c = stream inet nonblock; connect c l; expect EINPROGRESS; accept l as a; close a; close c }\n"
      }),
    Loop(
      key: "udp", title: "UDP connect",
      scenario: { n in
        "sock p = dgram inet\nbind p 127.0.0.1:0\nrepeat \(n) { sock u = dgram inet; connect u p; close u }\n"
      }),
  ]

  static let loopGoal = 1.05

  func loops() throws(BenchError) {
    let n = o.iterations
    say("1. Interpreter overhead against the syscall floor: conn run -j 1 (kernel backend), \(n) iterations")
    say("   C: the same syscalls in C (cc -O2); python3: the same loop (scripts/bench/floor.py)")
    say("   whole process, wall time; conn/C is the median of the rounds' ratios")
    for loop in Suite.loopKinds {
      let file = o.work + "/\(loop.key).conn"
      try write(file, loop.scenario(n))
      var programs: [(String, [String])] = [
        ("c", [o.floor, loop.key, "\(n)"]),
        ("conn", [o.conn, "run", "-j", "1", file]),
      ]
      if let b = o.baseline { programs.append(("baseline", [b, "run", "-j", "1", file])) }
      if let py = o.python { programs.append(("python", [py, o.pythonScript, loop.key, "\(n)"])) }
      let (wall, _) = try rounds(o.runs, programs)
      let connOverC = paired(wall["conn"], wall["c"])
      let verdict = Verdict(connOverC, .atMost(Suite.loopGoal), ratio)
      say("   \(loop.title)")
      say("      C        \(Samples(wall["c"] ?? []).describe(human))")
      say("      conn     \(Samples(wall["conn"] ?? []).describe(human))")
      var figures: [(String, Double)] = [("iterations", Double(n))]
      figures += Samples(wall["c"] ?? []).figures("c_whole_s")
      figures += Samples(wall["conn"] ?? []).figures("conn_whole_s")
      figures += connOverC.figures("conn_over_c")
      if o.baseline != nil {
        let baseOverC = paired(wall["baseline"], wall["c"])
        let connOverBase = paired(wall["conn"], wall["baseline"])
        say("      baseline \(Samples(wall["baseline"] ?? []).describe(human))")
        say("      baseline/C \(baseOverC.describe(ratio))")
        say("      conn/baseline \(connOverBase.describe(ratio))")
        figures += baseOverC.figures("baseline_over_c") + connOverBase.figures("conn_over_baseline")
      }
      if o.python != nil {
        let pyOverC = paired(wall["python"], wall["c"])
        say(
          "      python3  \(Samples(wall["python"] ?? []).describe(human))   python3/C \(pyOverC.describe(ratio))"
        )
        figures += pyOverC.figures("python_over_c")
      }
      say("      conn/C   \(connOverC.describe(ratio))   target: \(verdict.text)")
      record(
        "loops", loop.key, figures, target: "conn/C <= \(ratio(Suite.loopGoal)) whole process",
        verdict: verdict)
    }
    if o.python == nil { say("   (python3 not found: no python3 rows)") }
    say()
  }

  // MARK: - 2. Start-up

  func startup() throws(BenchError) {
    let one = o.work + "/one.conn"
    try write(one, "sock s = stream inet\n")
    let pyCode = "import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()"
    var programs: [(String, String, [String])] = [
      ("conn", "conn run one.conn", [o.conn, "run", one]),
      ("c", "C floor (socket, exit)", [o.floor, "startup"]),
      ("swift", "a Swift program that exits (conn-bench hello)", [Subprocess.currentExecutable, "hello"]),
    ]
    if let b = o.baseline { programs.append(("baseline", "baseline conn run one.conn", [b, "run", one])) }
    if let py = o.python {
      programs.append(("python", "python3 -c 'import socket; socket.socket(...)'", [py, "-c", pyCode]))
    }
    // Warm the page cache first; then the rounds.
    for (_, _, argv) in programs { _ = try Measure.run(argv, log: log()) }
    let (wall, rss) = try rounds(o.startupRuns, programs.map { ($0.0, $0.2) })
    say("2. Start-up: a one-statement scenario (sock s = stream inet), \(o.startupRuns) rounds")
    let connWall = Samples(wall["conn"] ?? [])
    let connRSS = Samples(rss["conn"] ?? [])
    let wallVerdict = Verdict(connWall, .atMost(0.003), human)
    let rssVerdict = Verdict(connRSS, .atMost(15e6), megabytes)
    var figures: [(String, Double)] = []
    for (k, title, _) in programs {
      let w = Samples(wall[k] ?? [])
      let m = Samples(rss[k] ?? [])
      say("   \(title)")
      say("      wall      \(w.describe(human))")
      say("      peak RSS  \(megabytes(m.median))")
      if k != "conn" { say("      \(k)/conn \(paired(wall[k], wall["conn"]).describe(ratio))") }
      figures += w.figures("\(k)_wall_s") + [("\(k)_peak_rss_bytes", m.median)]
    }
    say("   target: wall \(wallVerdict.text); peak RSS \(rssVerdict.text)")
    record(
      "startup", "one_statement", figures, target: "conn <= 3 ms and <= 15 MB",
      verdict: Verdict(all: [wallVerdict, rssVerdict]))
    say()
  }

  // MARK: - 3. Parse

  func parse() throws(BenchError) {
    let runs = max(o.runs, o.smoke ? 1 : 5)
    let s = try Measure.capture(
      [Subprocess.currentExecutable, "parse", "--mb", "\(o.parseMB)", "--runs", "\(runs)"], log: log())
    guard let line = s.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }) else {
      throw .failed("conn-bench parse printed no figures:\n\(s.output)")
    }
    let rates = Samples(jsonList(String(line), "rates"))
    let bytes = jsonField(String(line), "bytes")
    let statements = jsonField(String(line), "statements")
    // Memory: a process that parses the file once, as `conn check` or `conn run` does (the
    // throughput process parses it again and again, and its peak also holds what the allocator
    // kept from earlier runs).
    var peaks: [Double] = []
    for _ in 0..<(o.smoke ? 1 : 3) {
      peaks.append(
        Double(
          try Measure.run(
            [Subprocess.currentExecutable, "parse", "--mb", "\(o.parseMB)", "--once"], log: log()
          ).peakRSS) / bytes)
    }
    let memory = Samples(peaks)
    let rateVerdict = Verdict(rates, .atLeast(500), { fixed($0, 0) + " MB/s" })
    let memoryVerdict = Verdict(memory, .atMost(3), ratio)
    say(
      "3. Parse: lex + parse + check of a generated \(o.parseMB) MB scenario (conn-bench parse), \(runs) runs after a warm-up"
    )
    say("   \(fixed(statements, 0)) top-level statements")
    say("   throughput  \(rates.describe { fixed($0, 0) + " MB/s" })   target: \(rateVerdict.text)")
    say(
      "   peak RSS    \(memory.describe(ratio)) the file, in a process that parses it once (file included)   target: \(memoryVerdict.text)"
    )
    record(
      "parse", "throughput", [("bytes", bytes)] + rates.figures("mb_per_s"), target: ">= 500 MB/s",
      verdict: rateVerdict)
    record(
      "parse", "memory", memory.figures("peak_over_file"), target: "peak RSS <= 3x the file",
      verdict: memoryVerdict)
    say()
  }

  // MARK: - 4. Batch

  /// Small scenarios like a corpus: a handful of statements each, a mix of kinds.
  static func smallScenario(_ i: Int) -> String {
    switch i % 4 {
    case 0:
      return
        "# scenario \(i): a listener and a client\nsock l = stream inet\nbind l 127.0.0.1:0\nlisten l\nsock c = stream inet\nconnect c l\naccept l as a\npeer c\nexpect l\nclose a\nclose c\n"
    case 1:
      return
        "# scenario \(i): refused, blocking and not\nsock p = stream inet\nbind p 127.0.0.1:0\nsock s = stream inet\nconnect s p\nexpect ECONNREFUSED\nsock t = stream inet nonblock\nconnect t p\nexpect EINPROGRESS or ECONNREFUSED\n"
    case 2:
      return
        "# scenario \(i): UDP connect and dissolve\nsock p = dgram inet\nbind p 127.0.0.1:0\nsock u = dgram inet\nconnect u p\npeer u\nexpect p\nconnect u unspec\npeer u\nexpect ENOTCONN\n"
    default:
      return
        "# scenario \(i): Unix stream socket\nsock l = stream unix\nbind l \"srv.sock\"\nlisten l\nsock c = stream unix\nconnect c \"srv.sock\"\nsock d = stream unix\nconnect d \"none.sock\"\nexpect ENOENT\n"
    }
  }

  func batch() throws(BenchError) {
    let dir = o.work + "/batch"
    _ = Host.makeDirectories(dir)
    for i in 0..<o.batchFiles {
      var name = String(i)
      while name.count < 4 { name = "0" + name }
      try write(dir + "/s\(name).conn", Suite.smallScenario(i))
    }
    var programs: [(String, [String])] = [
      ("kernel", [o.conn, "run", dir]), ("sim", [o.conn, "run", "--backend", "sim", dir]),
    ]
    if let b = o.baseline {
      programs += [
        ("baseline_kernel", [b, "run", dir]), ("baseline_sim", [b, "run", "--backend", "sim", dir]),
      ]
    }
    let (wall, _) = try rounds(o.runs, programs)
    let n = Double(o.batchFiles)
    say(
      "4. Batch: \(o.batchFiles) small scenario files, conn run DIR (default jobs: \(Host.processorCount()))")
    for (key, title, goal) in [("kernel", "kernel backend", 2.0), ("sim", "--backend sim", 0.5)] {
      let w = Samples(wall[key] ?? [])
      let v = Verdict(w, .atMost(goal), human)
      say("   \(title)")
      say(
        "      whole batch  \(w.describe(human)), \(human(seconds: w.median / n)) per scenario   target: \(v.text)"
      )
      var figures: [(String, Double)] = [("files", n)] + w.figures("wall_s")
      if o.baseline != nil {
        let b = Samples(wall["baseline_" + key] ?? [])
        let r = paired(wall[key], wall["baseline_" + key])
        say("      baseline     \(b.describe(human))")
        say("      conn/baseline \(r.describe(ratio))")
        figures += b.figures("baseline_wall_s") + r.figures("conn_over_baseline")
      }
      record("batch", key, figures, target: "< \(human(seconds: goal))", verdict: v)
    }
    say()
  }

  // MARK: - 5. Simulated backend

  static func simScenario(_ n: Int) -> String {
    "sock p = stream inet\nbind p 127.0.0.1:0\nrepeat \(n) { sock s = stream inet; connect s p; expect ECONNREFUSED; close s }\n"
  }

  func sim() throws(BenchError) {
    let big = o.work + "/sim-big.conn", small = o.work + "/sim-small.conn", zero = o.work + "/sim-0.conn"
    try write(big, Suite.simScenario(o.simIterations))
    try write(small, Suite.simScenario(o.simSmallIterations))
    try write(zero, Suite.simScenario(0))
    func argv(_ conn: String, _ file: String) -> [String] {
      [conn, "run", "-j", "1", "--backend", "sim", file]
    }
    var programs: [(String, [String])] = [
      ("big", argv(o.conn, big)), ("small", argv(o.conn, small)), ("zero", argv(o.conn, zero)),
    ]
    if let b = o.baseline { programs += [("baseline_big", argv(b, big)), ("baseline_zero", argv(b, zero))] }
    let (wall, rss) = try rounds(o.runs, programs)
    // Connects per second, round by round: the iterations over the run's time less the same
    // program's start-up in that round.
    func rates(_ full: String, _ empty: String) -> Samples {
      Samples(zip(wall[full] ?? [], wall[empty] ?? []).map { Double(o.simIterations) / ($0 - $1) })
    }
    let rate = rates("big", "zero")
    let growth = Samples(zip(rss["big"] ?? [], rss["small"] ?? []).map { $0 / $1 })
    let rateVerdict = Verdict(rate, .atLeast(5e6), { fixed($0 / 1e6, 2) + " M/s" })
    let growthVerdict = Verdict(growth, .atMost(1.10), ratio)
    say("5. Simulated backend: socket, connect (refused), expect, close; conn run -j 1 --backend sim")
    say("   \(o.simIterations) iterations, whole process \(Samples(wall["big"] ?? []).describe(human))")
    say("   connects/s  \(rate.describe { fixed($0 / 1e6, 2) + " M" })   target: \(rateVerdict.text)")
    var figures: [(String, Double)] =
      [("iterations", Double(o.simIterations))] + rate.figures("connects_per_s")
    if o.baseline != nil {
      let b = rates("baseline_big", "baseline_zero")
      let r = paired(wall["big"], wall["baseline_big"])
      say(
        "   baseline    \(b.describe { fixed($0 / 1e6, 2) + " M" })   conn/baseline whole process \(r.describe(ratio))"
      )
      figures += b.figures("baseline_connects_per_s") + r.figures("conn_over_baseline")
    }
    record("sim", "connects", figures, target: ">= 5 million connects/s", verdict: rateVerdict)
    say(
      "   peak RSS    \(megabytes(Samples(rss["small"] ?? []).median)) at \(o.simSmallIterations) iterations, \(megabytes(Samples(rss["big"] ?? []).median)) at \(o.simIterations): growth \(growth.describe(ratio))   target: \(growthVerdict.text)"
    )
    record(
      "sim", "memory", growth.figures("growth"), target: "flat: peak RSS at 10x the iterations <= 1.10x",
      verdict: growthVerdict)
    say()
  }

  // MARK: - 6. Isolation

  func isolation() throws(BenchError) {
    say(
      "6. Isolation: conn run -j 1 --isolate on \(o.isolationScenarios) trivial scenarios, against the same without --isolate"
    )
    if !Host.isRoot {
      say("   skipped: needs root (network namespaces need CAP_SYS_ADMIN)")
      record("isolation", "per_scenario", [], note: "skipped: not root")
      say()
      return
    }
    let dir = o.work + "/isolate"
    _ = Host.makeDirectories(dir)
    for i in 0..<o.isolationScenarios {
      try write(dir + "/t\(i).conn", "sock s = stream inet\nbind s 127.0.0.1:0\nlisten s\n")
    }
    let probe = try Measure.capture(
      [o.conn, "run", "-j", "1", "--isolate", dir + "/t0.conn"], log: log(), check: false)
    if probe.status != 0 {
      let why = probe.output.split(separator: "\n").first.map(String.init) ?? "status \(probe.status)"
      say("   skipped: \(why)")
      record("isolation", "per_scenario", [], note: "skipped: \(why)")
      say()
      return
    }
    // The same scenarios with a second host on a link, the listener there.
    let twoHosts = o.work + "/isolate-two"
    _ = Host.makeDirectories(twoHosts)
    for i in 0..<o.isolationScenarios {
      try write(
        twoHosts + "/t\(i).conn",
        "host srv\nlink self srv 10.9.0.0/24\nsock s = stream inet on srv\nbind s 10.9.0.2:0\nlisten s\n")
    }
    let (wall, _) = try rounds(
      o.runs,
      [
        ("isolated", [o.conn, "run", "-j", "1", "--isolate", dir]),
        ("plain", [o.conn, "run", "-j", "1", dir]),
        ("two", [o.conn, "run", "-j", "1", "--isolate", twoHosts]),
      ])
    let n = Double(o.isolationScenarios)
    let per = Samples(zip(wall["isolated"] ?? [], wall["plain"] ?? []).map { ($0 - $1) / n })
    let v = Verdict(per, .atMost(0.020), human)
    say("   isolated \(Samples(wall["isolated"] ?? []).describe(human))")
    say("   plain    \(Samples(wall["plain"] ?? []).describe(human))")
    say("   more per scenario \(per.describe(human))   target: \(v.text)")
    record(
      "isolation", "per_scenario", [("scenarios", n)] + per.figures("per_scenario_s"),
      target: "< 20 ms per scenario", verdict: v)
    let second = Samples(zip(wall["two"] ?? [], wall["isolated"] ?? []).map { ($0 - $1) / n })
    let v2 = Verdict(second, .atMost(0.015), human)
    say("   two hosts on a link (host, link, a listener on the second host), against one:")
    say("      two hosts \(Samples(wall["two"] ?? []).describe(human))")
    say("      more per scenario \(second.describe(human))   target: \(v2.text)")
    record(
      "isolation", "second_host", [("scenarios", n)] + second.figures("per_scenario_s"),
      target: "< 15 ms more per scenario", verdict: v2)
    say()
  }

  // MARK: - Summary and JSON

  func summary() {
    say("Targets")
    for e in entries {
      guard let t = e.target else {
        if let n = e.note { say("   \(pad(e.section + "/" + e.name, 30))\(n)") }
        continue
      }
      let word = e.met == true ? "met" : e.met == false ? "MISSED" : "cannot tell"
      say("   \(pad(e.section + "/" + e.name, 30))\(pad(t, 48))\(word)")
    }
  }

  func json() -> String {
    var out =
      "{\n  \"machine\": \(jsonString(machine())),\n  \"runs\": \(o.runs),\n  \"smoke\": \(o.smoke),\n  \"results\": [\n"
    for (i, e) in entries.enumerated() {
      var fields = ["\"section\": \(jsonString(e.section))", "\"name\": \(jsonString(e.name))"]
      let figures = e.figures.map { "\(jsonString($0.0)): \(jsonNumber($0.1))" }.joined(separator: ", ")
      fields.append("\"figures\": {\(figures)}")
      if let t = e.target { fields.append("\"target\": \(jsonString(t))") }
      if e.target != nil { fields.append("\"met\": \(e.met.map { "\($0)" } ?? "null")") }
      if let v = e.verdict { fields.append("\"verdict\": \(jsonString(v))") }
      if let n = e.note { fields.append("\"note\": \(jsonString(n))") }
      out += "    {" + fields.joined(separator: ", ") + "}" + (i + 1 < entries.count ? "," : "") + "\n"
    }
    out += "  ],\n  \"table\": \(jsonString(lines.joined(separator: "\n")))\n}\n"
    return out
  }
}

/// A number after `"name":` in a one-line JSON object.
func jsonField(_ line: String, _ name: String) -> Double {
  let key = Array("\"\(name)\":".utf8)
  let b = Array(line.utf8)
  guard b.count >= key.count,
    let at = (0...(b.count - key.count)).first(where: { b[$0..<($0 + key.count)].elementsEqual(key) })
  else {
    return .nan
  }
  let rest = b[(at + key.count)...].prefix { $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "}") }
  return Double(String(decoding: rest, as: UTF8.self)) ?? .nan
}

/// A list of numbers after `"name":[` in a one-line JSON object.
func jsonList(_ line: String, _ name: String) -> [Double] {
  let key = Array("\"\(name)\":[".utf8)
  let b = Array(line.utf8)
  guard b.count >= key.count,
    let at = (0...(b.count - key.count)).first(where: { b[$0..<($0 + key.count)].elementsEqual(key) })
  else {
    return []
  }
  let rest = b[(at + key.count)...].prefix { $0 != UInt8(ascii: "]") }
  return String(decoding: rest, as: UTF8.self).split(separator: ",").compactMap { Double($0) }
}

func benchSuite(_ args: [String]) {
  var o = SuiteOptions()
  var i = 0
  func value() -> String {
    i += 1
    guard i < args.count else {
      Host.printErr("conn-bench suite: \(args[i - 1]) needs a value\n")
      Host.exit(2)
    }
    return args[i]
  }
  var smoke = false
  var runs: Int?
  var iterations: Int?
  while i < args.count {
    switch args[i] {
    case "--conn": o.conn = value()
    case "--baseline": o.baseline = value()
    case "--floor": o.floor = value()
    case "--python": o.python = value()
    case "--python-script": o.pythonScript = value()
    case "--valgrind": o.valgrind = value()
    case "--count-conn": o.countConn = value()
    case "--count-baseline": o.countBaseline = value()
    case "--count-bench": o.countBench = value()
    case "--work": o.work = value()
    case "--json": o.json = value()
    case "--runs": runs = Int(value())
    case "--iterations": iterations = Int(value())
    case "--only": o.only = Set(value().split(separator: ",").map(String.init))
    case "--smoke": smoke = true
    default:
      Host.printErr("conn-bench suite: unknown option \(args[i])\n")
      Host.exit(2)
    }
    i += 1
  }
  if smoke { o.makeSmoke() }
  if let r = runs, r >= 1, r <= 100 { o.runs = r }
  if let n = iterations, n >= 1, n <= 10_000_000 { o.iterations = n }
  if o.python == "" || o.pythonScript.isEmpty { o.python = nil }
  if o.valgrind == "" { o.valgrind = nil }
  if o.baseline == "" { o.baseline = nil }
  if o.countConn == "" { o.countConn = nil }
  if o.countBaseline == "" { o.countBaseline = nil }
  if o.countBench == "" { o.countBench = nil }
  guard !o.conn.isEmpty, !o.floor.isEmpty, !o.work.isEmpty else {
    Host.printErr(
      "usage: conn-bench suite --conn PATH --floor PATH --work DIR [--baseline PATH] [--python PATH --python-script PATH] [--valgrind PATH] [--json PATH] [--runs K] [--iterations N] [--only LIST] [--smoke]\n"
    )
    Host.exit(2)
  }
  Measure.helper = o.floor
  do throws(BenchError) {
    try Suite(o).run()
  } catch {
    Host.printErr("conn-bench suite: \(error.description)\n")
    Host.exit(1)
  }
}
