import ConnHost
import ConnRuntime
import ConnSim
import ConnSyntax
import ConnSystem

// `--backend both`: the scenario runs on the kernel and on the simulation in step, one statement
// each at a time, and the run fails at the first statement whose outcomes differ, showing both.
// Nothing is kept but the two current steps, so a `repeat` of a million passes costs no memory.

extension ScenarioRunner {
  func runBoth(_ script: Script, report base: ScenarioReport) -> ScenarioReport {
    let report = base
    let kernel = makeInterpreter(makeBackend(.system), tracePrefix: "system: ")
    let sim = makeInterpreter(makeBackend(.sim), tracePrefix: "sim:    ")
    defer {
      kernel.finish()
      sim.finish()
      kernel.backend.trace = nil
      sim.backend.trace = nil
    }
    let rules = script.netRules.map(\.0)
    for interpreter in [kernel, sim] {
      do throws(BackendError) {
        try interpreter.begin(netRules: rules)
      } catch {
        let f = Failure(
          kind: .backend, message: error.message, range: script.netRules.first?.1 ?? .none,
          source: script.source)
        return failed(report, f)
      }
    }
    if let f = kernel.load(script) ?? sim.load(script) { return failed(report, f) }
    let (a, b) = Self.stepTogether(kernel, sim, literalPorts: Self.literalPorts(script))
    switch (a, b) {
    case (.ran(let x), .ran(let y)):
      if x.statement.range != y.statement.range {
        return differ(
          report, script, at: x.statement.range, system: Self.describe(a, script),
          sim: Self.describe(b, script))
      }
      return differ(
        report, script, at: x.statement.range, system: x.outcome.description, sim: y.outcome.description)
    case (.finished, .finished):
      return report
    case (.failed(let f), .failed(let g)) where f.message == g.message && f.range == g.range:
      return failed(report, f)
    case (.failed(let f), .failed(let g)):
      let at = f.range.start <= g.range.start ? f.range : g.range
      return differ(report, script, at: at, system: "FAIL: " + f.message, sim: "FAIL: " + g.message)
    case (.failed(let f), _):
      return differ(
        report, script, at: f.range, system: "FAIL: " + f.message, sim: Self.describe(b, script))
    case (_, .failed(let g)):
      return differ(
        report, script, at: g.range, system: Self.describe(a, script), sim: "FAIL: " + g.message)
    case (.ran(let x), .finished):
      return differ(report, script, at: x.statement.range, system: x.outcome.description, sim: "(not run)")
    case (.finished, .ran(let y)):
      return differ(report, script, at: y.statement.range, system: "(not run)", sim: y.outcome.description)
    }
  }

  /// Steps the kernel's and the simulation's interpreters together for as long as they run the
  /// same statement to outcomes that count as equal (`onSame` sees each of those); returns the
  /// first pair of events that is not such a pair. `--backend both` and `conn fuzz` share it.
  static func stepTogether(
    _ kernel: Interpreter, _ sim: Interpreter, literalPorts: Set<UInt16>, onSame: (Step) -> Void = { _ in }
  ) -> (StepEvent, StepEvent) {
    // Listeners with an accept in the background: the `wait` that collects it gives a descriptor.
    var backgroundAccepts = Set<Int32>()
    while true {
      let a = kernel.step()
      let b = sim.step()
      guard case .ran(let x) = a, case .ran(let y) = b, x.statement.range == y.statement.range else {
        return (a, b)
      }
      var same = equivalent(x.outcome, y.outcome, literalPorts: literalPorts)
      // Descriptor numbers depend on what else the process has open: any number will do.
      switch (x.statement.kind, x.outcome, y.outcome) {
      case (.sock, .number, .number), (.accept, .number, .number), (.dup(_, _, nil), .number, .number):
        same = true
      case (.wait(let r), .number, .number) where backgroundAccepts.contains(r.slot):
        same = true
      default: break
      }
      switch x.statement.kind {
      case .accept(let l, _, let o) where o.background: backgroundAccepts.insert(l.slot)
      case .wait(let r): backgroundAccepts.remove(r.slot)
      default: break
      }
      if !same { return (a, b) }
      onSame(x)
    }
  }

  /// What a backend did at a step, for a difference report.
  private static func describe(_ e: StepEvent, _ script: Script) -> String {
    switch e {
    case .ran(let s):
      let (line, _) = script.source.location(of: s.statement.range.start)
      return "\(s.outcome.description) (at line \(line))"
    case .finished: return "passes"
    case .failed(let f): return "FAIL: " + f.message
    }
  }

  private func failed(_ base: ScenarioReport, _ f: Failure) -> ScenarioReport {
    var report = base
    report.status = .fail
    report.failure = FailureInfo(f)
    report.detail = FailureRenderer(color: options.color).render(f)
    return report
  }

  private func differ(
    _ base: ScenarioReport, _ script: Script, at range: SourceRange, system: String, sim: String
  ) -> ScenarioReport {
    var report = base
    let (line, col) = script.source.location(of: range.start)
    let message = "the backends disagree: system says \(system), sim says \(sim)"
    report.status = .fail
    report.failure = FailureInfo(
      kind: "differ", message: message, line: line, column: col, expected: "system: " + system,
      actual: "sim: " + sim)
    let r = DiagnosticRenderer(color: options.color)
    let head =
      ansiPaint("\(script.source.name):\(line):\(col):", "1", options.color) + " "
      + ansiPaint("DIFFER:", "1;31", options.color)
    report.detail =
      "\(head) the backends disagree on this statement\n" + r.excerpt(script.source, range)
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
      case (.netlink(let p, let g), .netlink(let q, let h)):
        // Port ids the kernel picks (the process's id, then random ones).
        return g == h && p != 0 && q != 0
      default: return false
      }
    case (.data(let x), .data(let y)):
      // The same bytes; a sender is compared as an address.
      guard x.bytes == y.bytes && x.length == y.length else { return false }
      switch (x.from, y.from) {
      case (nil, nil): return true
      case (let f?, let g?): return equivalent(.address(f), .address(g), literalPorts: literalPorts)
      default: return false
      }
    default:
      return a == b
    }
  }
}
