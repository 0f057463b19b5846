// `conn-bench suite`: every measurement of issue 8, side by side in one run, as a table and as
// JSON. scripts/bench.sh builds the binaries and the C floor and calls this; see the README's
// "Benchmarks" section. Only loopback and Unix sockets are used, and every loop is bounded.

import ConnSyntax
import ConnHost

struct SuiteOptions {
  var conn = ""
  var floor = ""
  var python: String?
  var pythonScript = ""
  var work = ""
  var json: String?
  var runs = 5
  var iterations = 100_000
  var startupRuns = 21
  var parseMB = 20
  var batchFiles = 1000
  var simIterations = 1_000_000
  var simSmallIterations = 100_000
  var isolationScenarios = 100
  var smoke = false
  var only: Set<String>?

  mutating func makeSmoke() {
    smoke = true
    runs = 1
    iterations = 300
    startupRuns = 3
    parseMB = 1
    batchFiles = 20
    simIterations = 20_000
    simSmallIterations = 2_000
    isolationScenarios = 3
  }
}

/// One measured figure set, for the table and the JSON file.
struct Entry {
  var section: String
  var name: String
  var figures: [(String, Double)] = []
  var target: String?
  var met: Bool?
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
    say("conn benchmarks\(o.smoke ? " (smoke run: minimal sizes, figures meaningless)" : "")")
    say("  machine: \(machine())")
    say("  medians of \(o.runs) run\(o.runs == 1 ? "" : "s") unless said; ratios from the same run")
    say()
    // Measured CPU-bound first: the socket loops leave the kernel tens of thousands of
    // connections to retire (TIME_WAIT) on both cores, which would slow what comes after them.
    // Printed in the issue's order.
    let sections: [(String, () throws(BenchError) -> Void)] = [
      ("parse", parse), ("sim", sim), ("startup", startup), ("batch", batch), ("isolation", isolation),
      ("loops", loops),
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
    for key in ["loops", "startup", "parse", "batch", "sim", "isolation"] {
      for line in output[key] ?? [] { say(line) }
      entries += found[key] ?? []
    }
    summary()
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

  func loops() throws(BenchError) {
    let n = o.iterations
    say("1. Interpreter overhead against the syscall floor: conn run -j 1 (kernel backend), \(n) iterations")
    say("   C floor: the same syscalls in C (cc -O2); C+calls: the C floor plus the one call conn adds,")
    say("   the timer that bounds a blocking call (timer_settime before it); python3: the same loop")
    say("   per iteration = (whole run - run with 0 iterations) / \(n)")
    let header =
      pad("   loop", 34) + pad("", 15) + pad("C floor", 11, right: true) + pad("C+calls", 11, right: true)
      + pad("conn", 11, right: true) + pad("python3", 11, right: true) + pad("conn/C", 9, right: true)
      + pad("conn/C+calls", 14, right: true) + pad("py/C", 8, right: true) + "   target"
    say(header)
    for loop in Suite.loopKinds {
      let file = o.work + "/\(loop.key).conn"
      let empty = o.work + "/\(loop.key)-0.conn"
      try write(file, loop.scenario(n))
      try write(empty, loop.scenario(0))
      var programs: [(String, [String], [String])] = [
        ("c", [o.floor, loop.key, "\(n)"], [o.floor, loop.key, "0"]),
        ("c_calls", [o.floor, loop.key, "\(n)", "same"], [o.floor, loop.key, "0", "same"]),
        ("conn", [o.conn, "run", "-j", "1", file], [o.conn, "run", "-j", "1", empty]),
      ]
      if let py = o.python {
        programs.append(
          ("python", [py, o.pythonScript, loop.key, "\(n)"], [py, o.pythonScript, loop.key, "0"]))
      }
      var whole: [String: [Double]] = [:]
      var start: [String: [Double]] = [:]
      for _ in 0..<o.runs {
        // Side by side: each run measures every program once, in the same order.
        for (k, full, zero) in programs {
          whole[k, default: []].append(try Measure.run(full, log: log()).wall)
          start[k, default: []].append(try Measure.run(zero, log: log()).wall)
        }
      }
      func w(_ k: String) -> Double { median(whole[k] ?? []) }
      func per(_ k: String) -> Double { (median(whole[k] ?? []) - median(start[k] ?? [])) / Double(n) }
      let perC = per("c"), perCalls = per("c_calls"), perConn = per("conn"), perPy = per("python")
      let r = perConn / perC
      let met = r <= 1.10
      say(
        pad("   " + loop.title, 34) + pad("per iteration", 15) + pad(human(seconds: perC), 11, right: true)
          + pad(human(seconds: perCalls), 11, right: true) + pad(human(seconds: perConn), 11, right: true)
          + pad(human(seconds: perPy), 11, right: true) + pad(ratio(r), 9, right: true)
          + pad(ratio(perConn / perCalls), 14, right: true) + pad(ratio(perPy / perC), 8, right: true)
          + "   conn/C <= 1.10x: \(met ? "met" : "MISSED")")
      let wr = w("conn") / w("c")
      say(
        pad("", 34) + pad("whole process", 15) + pad(human(seconds: w("c")), 11, right: true)
          + pad(human(seconds: w("c_calls")), 11, right: true)
          + pad(human(seconds: w("conn")), 11, right: true)
          + pad(human(seconds: w("python")), 11, right: true) + pad(ratio(wr), 9, right: true)
          + pad(ratio(w("conn") / w("c_calls")), 14, right: true)
          + pad(ratio(w("python") / w("c")), 8, right: true))
      entries.append(
        Entry(
          section: "loops", name: loop.key,
          figures: [
            ("iterations", Double(n)),
            ("c_per_iteration_s", perC), ("c_calls_per_iteration_s", perCalls),
            ("conn_per_iteration_s", perConn),
            ("python_per_iteration_s", perPy),
            ("conn_over_c", r), ("conn_over_c_calls", perConn / perCalls), ("python_over_c", perPy / perC),
            ("c_whole_s", w("c")), ("c_calls_whole_s", w("c_calls")), ("conn_whole_s", w("conn")),
            ("python_whole_s", w("python")),
            ("conn_over_c_whole", wr), ("python_over_c_whole", w("python") / w("c")),
            ("c_startup_s", median(start["c"] ?? [])), ("conn_startup_s", median(start["conn"] ?? [])),
            ("python_startup_s", median(start["python"] ?? [])),
          ], target: "conn/C <= 1.10 per iteration", met: met))
    }
    if o.python == nil { say("   (python3 not found: its columns are n/a)") }
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
    ]
    if let py = o.python {
      programs.insert(
        ("python", "python3 -c 'import socket; socket.socket(...)'", [py, "-c", pyCode]), at: 1)
    }
    var wall: [String: [Double]] = [:]
    var rss: [String: [Double]] = [:]
    // Warm the page cache first; then interleave.
    for (_, _, argv) in programs { _ = try Measure.run(argv, log: log()) }
    for _ in 0..<o.startupRuns {
      for (k, _, argv) in programs {
        let s = try Measure.run(argv, log: log())
        wall[k, default: []].append(s.wall)
        rss[k, default: []].append(Double(s.peakRSS))
      }
    }
    say("2. Start-up: a one-statement scenario (sock s = stream inet), median of \(o.startupRuns) runs")
    say(
      pad("   program", 52) + pad("wall", 10, right: true) + pad("peak RSS", 11, right: true)
        + pad("wall/conn", 11, right: true))
    let connWall = median(wall["conn"] ?? [])
    let connRSS = median(rss["conn"] ?? [])
    for (k, title, _) in programs {
      let wv = median(wall[k] ?? [])
      let rv = median(rss[k] ?? [])
      var line =
        pad("   " + title, 52) + pad(human(seconds: wv), 10, right: true)
        + pad(megabytes(rv), 11, right: true)
        + pad(ratio(wv / connWall), 11, right: true)
      if k == "conn" {
        line += "   target < 5 ms and < 20 MB: \(connWall < 0.005 && connRSS < 20e6 ? "met" : "MISSED")"
      }
      say(line)
    }
    let pyWall = median(wall["python"] ?? [])
    entries.append(
      Entry(
        section: "startup", name: "one_statement",
        figures: [
          ("conn_wall_s", connWall), ("conn_peak_rss_bytes", connRSS),
          ("python_wall_s", pyWall), ("python_peak_rss_bytes", median(rss["python"] ?? [])),
          ("c_wall_s", median(wall["c"] ?? [])), ("c_peak_rss_bytes", median(rss["c"] ?? [])),
          ("python_over_conn", pyWall / connWall),
        ], target: "conn < 5 ms median and < 20 MB", met: connWall < 0.005 && connRSS < 20e6))
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
    func field(_ name: String) -> Double {
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
    let mbps = field("mb_per_s")
    let bytes = field("bytes")
    let statements = field("statements")
    // Memory: a process that parses the file once, as `conn check` or `conn run` does (the
    // throughput process parses it again and again, and its peak also holds what the allocator
    // kept from earlier runs). Median of a few such processes.
    var peaks: [Double] = []
    for _ in 0..<(o.smoke ? 1 : 3) {
      peaks.append(
        Double(
          try Measure.run(
            [Subprocess.currentExecutable, "parse", "--mb", "\(o.parseMB)", "--once"], log: log()
          ).peakRSS))
    }
    let peak = median(peaks)
    let peakRatio = peak / bytes
    say(
      "3. Parse: lex + parse + check of a generated \(o.parseMB) MB scenario (conn-bench parse), median of \(runs) runs after a warm-up"
    )
    say(
      "   throughput      \(fixed(mbps, 0)) MB/s (\(fixed(statements, 0)) top-level statements)   target >= 300 MB/s: \(mbps >= 300 ? "met" : "MISSED")"
    )
    say(
      "   peak RSS        \(megabytes(peak)) = \(ratio(peakRatio)) the file (a process that parses it once, file included;"
    )
    say(
      "                   \(megabytes(Double(s.peakRSS))) in the one that parsed it \(runs + 1) times)   target <= 3x: \(peakRatio <= 3 ? "met" : "MISSED")"
    )
    entries.append(
      Entry(
        section: "parse", name: "throughput",
        figures: [("bytes", bytes), ("mb_per_s", mbps), ("median_s", field("median_seconds"))],
        target: ">= 300 MB/s", met: mbps >= 300))
    entries.append(
      Entry(
        section: "parse", name: "memory",
        figures: [
          ("peak_rss_bytes", peak), ("peak_over_file", peakRatio),
          ("repeated_runs_peak_rss_bytes", Double(s.peakRSS)),
        ],
        target: "peak RSS <= 3x the file", met: peakRatio <= 3))
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
    var kernel: [Double] = []
    var sim: [Double] = []
    for _ in 0..<o.runs {
      kernel.append(try Measure.run([o.conn, "run", dir], log: log()).wall)
      sim.append(try Measure.run([o.conn, "run", "--backend", "sim", dir], log: log()).wall)
    }
    let k = median(kernel), s = median(sim)
    let n = Double(o.batchFiles)
    say(
      "4. Batch: \(o.batchFiles) small scenario files, conn run DIR (default jobs: \(Host.processorCount()))")
    say(
      "   kernel backend  \(pad(human(seconds: k), 9, right: true))  (\(human(seconds: k / n)) per scenario)   target < 2 s: \(k < 2 ? "met" : "MISSED")"
    )
    say(
      "   --backend sim   \(pad(human(seconds: s), 9, right: true))  (\(human(seconds: s / n)) per scenario)   target < 0.5 s: \(s < 0.5 ? "met" : "MISSED")"
    )
    entries.append(
      Entry(
        section: "batch", name: "kernel", figures: [("files", n), ("wall_s", k), ("per_scenario_s", k / n)],
        target: "< 2 s", met: k < 2))
    entries.append(
      Entry(
        section: "batch", name: "sim", figures: [("files", n), ("wall_s", s), ("per_scenario_s", s / n)],
        target: "< 0.5 s", met: s < 0.5))
    say()
  }

  // MARK: - 5. Simulated backend

  func sim() throws(BenchError) {
    let scenario = { (n: Int) in
      "sock p = stream inet\nbind p 127.0.0.1:0\nrepeat \(n) { sock s = stream inet; connect s p; expect ECONNREFUSED; close s }\n"
    }
    let big = o.work + "/sim-big.conn", small = o.work + "/sim-small.conn", zero = o.work + "/sim-0.conn"
    try write(big, scenario(o.simIterations))
    try write(small, scenario(o.simSmallIterations))
    try write(zero, scenario(0))
    var tBig: [Double] = [], tZero: [Double] = [], rBig: [Double] = [], rSmall: [Double] = []
    for _ in 0..<o.runs {
      let b = try Measure.run([o.conn, "run", "-j", "1", "--backend", "sim", big], log: log())
      tBig.append(b.wall)
      rBig.append(Double(b.peakRSS))
      let s = try Measure.run([o.conn, "run", "-j", "1", "--backend", "sim", small], log: log())
      rSmall.append(Double(s.peakRSS))
      tZero.append(try Measure.run([o.conn, "run", "-j", "1", "--backend", "sim", zero], log: log()).wall)
    }
    let per = (median(tBig) - median(tZero)) / Double(o.simIterations)
    let rate = 1 / per
    let growth = median(rBig) / median(rSmall)
    say("5. Simulated backend: socket, connect (refused), expect, close; conn run -j 1 --backend sim")
    say(
      "   \(o.simIterations) iterations: \(human(seconds: median(tBig))) whole process, \(human(seconds: per)) per connect = \(fixed(rate / 1e6, 2)) million connects/s   target >= 2 million/s: \(rate >= 2e6 ? "met" : "MISSED")"
    )
    say(
      "   peak RSS: \(megabytes(median(rSmall))) at \(o.simSmallIterations) iterations, \(megabytes(median(rBig))) at \(o.simIterations) = \(ratio(growth))   target flat (<= 1.10x): \(growth <= 1.10 ? "met" : "MISSED")"
    )
    entries.append(
      Entry(
        section: "sim", name: "connects",
        figures: [
          ("iterations", Double(o.simIterations)), ("whole_s", median(tBig)), ("per_connect_s", per),
          ("connects_per_s", rate),
        ],
        target: ">= 2 million connects/s", met: rate >= 2e6))
    entries.append(
      Entry(
        section: "sim", name: "memory",
        figures: [
          ("small_iterations", Double(o.simSmallIterations)), ("small_peak_rss_bytes", median(rSmall)),
          ("big_peak_rss_bytes", median(rBig)), ("growth", growth),
        ],
        target: "flat: peak RSS at 10x the iterations <= 1.10x", met: growth <= 1.10))
    say()
  }

  // MARK: - 6. Isolation

  func isolation() throws(BenchError) {
    say(
      "6. Isolation: conn run -j 1 --isolate on \(o.isolationScenarios) trivial scenarios, against the same without --isolate"
    )
    if !Host.isRoot {
      say("   skipped: needs root (network namespaces need CAP_SYS_ADMIN)")
      entries.append(Entry(section: "isolation", name: "per_scenario", note: "skipped: not root"))
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
      entries.append(Entry(section: "isolation", name: "per_scenario", note: "skipped: \(why)"))
      say()
      return
    }
    var iso: [Double] = [], plain: [Double] = []
    for _ in 0..<o.runs {
      iso.append(try Measure.run([o.conn, "run", "-j", "1", "--isolate", dir], log: log()).wall)
      plain.append(try Measure.run([o.conn, "run", "-j", "1", dir], log: log()).wall)
    }
    let n = Double(o.isolationScenarios)
    let per = (median(iso) - median(plain)) / n
    say(
      "   isolated \(human(seconds: median(iso))), plain \(human(seconds: median(plain))): \(human(seconds: per)) more per scenario   target < 20 ms: \(per < 0.020 ? "met" : "MISSED")"
    )
    entries.append(
      Entry(
        section: "isolation", name: "per_scenario",
        figures: [
          ("scenarios", n), ("isolated_s", median(iso)), ("plain_s", median(plain)), ("per_scenario_s", per),
        ],
        target: "< 20 ms per scenario", met: per < 0.020))
    say()
  }

  // MARK: - Summary and JSON

  func summary() {
    say("Targets")
    for e in entries {
      guard let t = e.target else {
        if let n = e.note { say("   \(pad(e.section + "/" + e.name, 24))\(n)") }
        continue
      }
      say("   \(pad(e.section + "/" + e.name, 24))\(pad(t, 48))\(e.met == true ? "met" : "MISSED")")
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
      if let m = e.met { fields.append("\"met\": \(m)") }
      if let n = e.note { fields.append("\"note\": \(jsonString(n))") }
      out += "    {" + fields.joined(separator: ", ") + "}" + (i + 1 < entries.count ? "," : "") + "\n"
    }
    out += "  ],\n  \"table\": \(jsonString(lines.joined(separator: "\n")))\n}\n"
    return out
  }
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
    case "--floor": o.floor = value()
    case "--python": o.python = value()
    case "--python-script": o.pythonScript = value()
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
  guard !o.conn.isEmpty, !o.floor.isEmpty, !o.work.isEmpty else {
    Host.printErr(
      "usage: conn-bench suite --conn PATH --floor PATH --work DIR [--python PATH --python-script PATH] [--json PATH] [--runs K] [--iterations N] [--only LIST] [--smoke]\n"
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
