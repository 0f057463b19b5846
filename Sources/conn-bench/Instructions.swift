// Section 7 of `conn-bench suite`: instructions counted by valgrind, which do not depend on the
// load, so they are the figures to compare across machines and builds. Per iteration is
// (count at 2N - count at N) / N. Beside the counts: where they go (Callgrind.swift), what a
// missed speed target would need at the pace sections 3 and 5 measured, and the simulated loop's
// instruction-cache misses (cachegrind).

import ConnHost

extension Suite {
  /// Runs `argv` under a valgrind tool and reads one event's total from the tool's output file
  /// (its `events:` line names the columns of its `summary:` or `totals:` line); also the file.
  func valgrindTotal(
    _ vg: String, tool: String, options: [String] = [], _ argv: [String], event: String
  ) throws(BenchError) -> (total: Double, text: String) {
    let out = o.work + "/\(tool).out"
    _ = try Measure.run([vg, "--tool=" + tool, "--\(tool)-out-file=" + out] + options + argv, log: log())
    let text = (try? Host.readFile(out)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    let lines = text.split(separator: "\n")
    let events = lines.first { $0.hasPrefix("events:") }?.split(separator: " ").dropFirst().map(String.init)
    let totals = (lines.first { $0.hasPrefix("summary:") } ?? lines.first { $0.hasPrefix("totals:") })?
      .split(separator: " ").dropFirst().map(String.init)
    guard let events, let totals, let i = events.firstIndex(of: event), i < totals.count,
      let v = Double(totals[i])
    else {
      throw .failed("\(tool) wrote no \(event) total for \(argv.joined(separator: " "))")
    }
    return (v, text)
  }

  /// The scenario written at N and at 2N iterations, each measured: (at N, at 2N).
  func atTwoSizes<T>(_ scenario: (Int) -> String, _ measure: (String) throws(BenchError) -> T)
    throws(BenchError) -> (T, T)
  {
    let n = o.countIterations
    let a = o.work + "/count-a.conn", b = o.work + "/count-b.conn"
    try write(a, scenario(n))
    try write(b, scenario(2 * n))
    return (try measure(a), try measure(b))
  }

  func instructions() throws(BenchError) {
    say("7. Instructions (valgrind --tool=callgrind; the same whatever the load)")
    guard let vg = o.valgrind else {
      say("   skipped: \(o.smoke ? "not in a smoke run" : "valgrind not found")")
      record("instructions", "per_iteration", [], note: "skipped")
      say()
      return
    }
    let n = Double(o.countIterations)
    func count(_ argv: [String], toggle: String? = nil) throws(BenchError) -> (Double, CostProfile) {
      let options = toggle.map { ["--toggle-collect=" + $0] } ?? []
      let (total, text) = try valgrindTotal(vg, tool: "callgrind", options: options, argv, event: "Ir")
      return (total, CostProfile(callgrindOutput: text))
    }
    func perIteration(_ argv: (String) -> [String], _ scenario: (Int) -> String) throws(BenchError) -> (
      Double, CostProfile
    ) {
      let ((small, smallParts), (big, bigParts)) = try atTwoSizes(scenario) { f throws(BenchError) in
        try count(argv(f))
      }
      return ((big - small) / n, bigParts.perUnit(minus: smallParts, over: n))
    }
    // Instruction-cache misses (cachegrind's model: a 32 KB, 8-way L1): code that does not fit
    // runs slower than its instruction count says.
    func missesPerIteration(_ argv: (String) -> [String], _ scenario: (Int) -> String) throws(BenchError)
      -> Double
    {
      let (small, big) = try atTwoSizes(scenario) { f throws(BenchError) in
        try valgrindTotal(vg, tool: "cachegrind", options: ["--cache-sim=yes"], argv(f), event: "I1mr").total
      }
      return (big - small) / n
    }
    let refused = Suite.loopKinds[0].scenario
    let one = o.work + "/one.conn"
    try write(one, "sock s = stream inet\n")
    var figures: [(String, Double)] = []
    var rows: [(String, String, Double)] = []
    var programs: [(String, String)] = [("conn", o.countConn ?? o.conn)]
    if let b = o.countBaseline ?? o.baseline { programs.append(("baseline", b)) }
    let floorPer =
      (try count([o.floor, "refused", "\(2 * o.countIterations)"]).0
        - count([o.floor, "refused", "\(o.countIterations)"]).0) / n
    rows.append(("C", "refused connect loop, per iteration", floorPer))
    figures.append(("c_refused_per_iteration", floorPer))
    var kernelParts = CostProfile(parts: [:]), simParts = CostProfile(parts: [:])
    var simMisses: [String: Double] = [:]
    for (k, bin) in programs {
      let simArgv = { (f: String) in [bin, "run", "-j", "1", "--backend", "sim", f] }
      let (kernel, kParts) = try perIteration({ [bin, "run", "-j", "1", $0] }, refused)
      let (sim, sParts) = try perIteration(simArgv, Suite.simScenario)
      let misses = try missesPerIteration(simArgv, Suite.simScenario)
      simMisses[k] = misses
      if k == "conn" { (kernelParts, simParts) = (kParts, sParts) }
      let start = try count([bin, "run", one]).0
      rows += [
        (k, "refused connect loop, per iteration", kernel),
        (k, "  of which conn's own, per statement (4)", (kernel - floorPer) / 4),
        (k, "simulated loop, per iteration", sim),
        (k, "  its instruction-cache misses (cachegrind)", misses),
        (k, "start-up, one-statement scenario", start),
      ]
      figures += [
        ("\(k)_refused_per_iteration", kernel), ("\(k)_own_per_statement", (kernel - floorPer) / 4),
        ("\(k)_sim_per_iteration", sim), ("\(k)_sim_icache_misses_per_iteration", misses),
        ("\(k)_startup", start),
      ]
    }
    // The parse, counted inside Parser.parse only (not the generating of the text): a 2 MB
    // text less a 1 MB one, per byte.
    let parseFunction = "$s10ConnSyntax6ParserO5parseyAA6ScriptVAA10SourceFileCFZ"
    let benchBinary = o.countBench ?? Subprocess.currentExecutable
    let (parseSmall, parseSmallParts) = try count(
      [benchBinary, "parse", "--mb", "1", "--once"], toggle: parseFunction)
    let (parseBig, parseBigParts) = try count(
      [benchBinary, "parse", "--mb", "2", "--once"], toggle: parseFunction)
    let parsePerByte = (parseBig - parseSmall) / 1e6
    let parseParts = parseBigParts.perUnit(minus: parseSmallParts, over: 1e6)
    rows.append(("conn", "parse, per byte of the file", parsePerByte))
    figures.append(("conn_parse_per_byte", parsePerByte))
    for (k, what, v) in rows {
      say("   \(pad(k, 9))\(pad(what, 44))\(pad(fixed(v, v < 100 ? 1 : 0), 12, right: true))")
    }
    let own = figures.first { $0.0 == "conn_own_per_statement" }?.1 ?? .nan
    let v = Verdict(Samples([own]), .atMost(150), { fixed($0, 0) })
    say("   conn's own instructions per statement of the kernel loop: target \(v.text)")
    // Where they go, and what each missed target would need at this machine's pace.
    say("   by part (each function's own instructions, summed by where it belongs):")
    say("      kernel loop, per iteration: \(kernelParts.describe())")
    say("      simulated loop, per iteration: \(simParts.describe())")
    say("      parse, per byte: \(parseParts.describe(decimals: 1))")
    if parseSmall == 0 || parseParts.total <= 0 {
      say("      (the parse count is empty: \(parseFunction) is not a symbol of \(benchBinary) any more)")
    }
    if let mbps = measured("parse", "throughput", "mb_per_s"), parsePerByte > 0 {
      let pace = mbps * 1e6 * parsePerByte
      say(
        "      at the \(fixed(pace / 1e9, 1)) G instructions/s the parse ran at (section 3), 500 MB/s needs <= \(fixed(pace / 500e6, 1)) per byte; it takes \(fixed(parsePerByte, 1))"
      )
      figures += [("parse_pace_per_s", pace), ("parse_needed_per_byte", pace / 500e6)]
    }
    let simPer = figures.first { $0.0 == "conn_sim_per_iteration" }?.1 ?? .nan
    if let rate = measured("sim", "connects", "connects_per_s"), simPer > 0 {
      let pace = rate * simPer
      say(
        "      at the \(fixed(pace / 1e9, 1)) G instructions/s the simulated loop ran at (section 5), 5 M connects/s needs <= \(fixed(pace / 5e6, 0)) per iteration; it takes \(fixed(simPer, 0))"
      )
      figures += [("sim_pace_per_s", pace), ("sim_needed_per_iteration", pace / 5e6)]
    }
    if let mine = simMisses["conn"], let theirs = simMisses["baseline"] {
      let simBase = figures.first { $0.0 == "baseline_sim_per_iteration" }?.1 ?? .nan
      say(
        "      simulated loop against the baseline: \(fixed(simPer, 0)) instructions and \(fixed(mine, 1)) instruction-cache misses per iteration, against \(fixed(simBase, 0)) and \(fixed(theirs, 1))"
      )
    }
    figures +=
      kernelParts.figures("kernel_part") + simParts.figures("sim_part") + parseParts.figures("parse_part")
    record(
      "instructions", "per_iteration", figures, target: "<= 150 instructions of conn per statement",
      verdict: v)
    say()
  }

  /// A median an earlier section recorded (nil when it did not run).
  private func measured(_ section: String, _ name: String, _ figure: String) -> Double? {
    entries.first { $0.section == section && $0.name == name }?.figures.first { $0.0 == figure }?.1
  }
}
