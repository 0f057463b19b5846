import ConnHost
import ConnRuntime
import ConnSim
import ConnSyntax
import ConnSystem

// `conn fuzz`, part 2: one generated scenario, run on the kernel (in a network namespace of its
// own) and on the simulation in step, as `--backend both` does, except that an errno no
// `expect` names does not stop the run: the fuzzer has no expectations, it compares. Then, for a
// disagreement: rerun to make sure the kernel agrees with itself, shrink, and render the
// shrunk scenario as a regression test whose expects are the kernel's answers.

/// Where the backends first answered differently.
struct Disagreement: Equatable, Sendable {
  /// The statement's line (1-based) in the scenario.
  var line: Int
  /// The statement's keyword (`connect`, `bind`, ...).
  var keyword: String
  var system: String
  var sim: String

  /// What groups disagreements: the statement and the two answers, with numbers that vary
  /// from run to run (ports, descriptors, times) made alike.
  var signature: String { "\(keyword): system \(Self.normalize(system)), sim \(Self.normalize(sim))" }

  static func normalize(_ s: String) -> String {
    var out = ""
    var digits = ""
    func flush() {
      out += digits.count >= 3 ? "N" : digits
      digits = ""
    }
    for c in s {
      if c.isASCII && c.isNumber {
        digits.append(c)
      } else {
        flush()
        out.append(c)
      }
    }
    flush()
    return out
  }
}

enum FuzzVerdict: Equatable, Sendable {
  case agree
  case differ(Disagreement)
  /// The scenario could not run (it does not parse, or no namespace could be made).
  case invalid(String)

  var disagreement: Disagreement? {
    if case .differ(let d) = self { return d }
    return nil
  }
}

/// What the kernel answered at each line, for the regression file.
typealias KernelAnswers = [Int: Outcome]

extension ScenarioRunner {
  /// Parses the lines as a scenario (in the fuzzer's name).
  func fuzzScript(_ lines: [String]) -> Script {
    let text = lines.joined(separator: "\n") + "\n"
    return Parser.parse(
      SourceFile(name: "fuzz.conn", bytes: Array(text.utf8)),
      context: ParseContext(pathLimits: options.pathLimits))
  }

  /// Runs the lines on both backends, isolated; returns the verdict and the kernel's answers.
  func fuzzRun(_ lines: [String]) -> (FuzzVerdict, KernelAnswers) {
    let script = fuzzScript(lines)
    if let d = script.diagnostics.first(where: { $0.severity == .error }) {
      let (line, col) = script.source.location(of: d.range.start)
      return (.invalid("\(line):\(col): \(d.message)"), [:])
    }
    do throws(IsolationError) {
      namespace = try Isolation.enter(rules: script.netRules)
    } catch {
      return (.invalid("isolation: \(error.message)"), [:])
    }
    guard script.changesThreadForGood else { return fuzzRunHere(script, lines) }
    var result: (FuzzVerdict, KernelAnswers) = (.invalid("no thread for the scenario"), [:])
    _ = runOnOwnThread { result = self.fuzzRunHere(script, lines) }
    return result
  }

  /// The comparison itself, on the calling thread (inside the scenario's namespace).
  private func fuzzRunHere(_ script: Script, _ lines: [String]) -> (FuzzVerdict, KernelAnswers) {
    let kernel = makeInterpreter(makeBackend(.system))
    let sim = makeInterpreter(makeBackend(.sim))
    defer {
      kernel.finish()
      sim.finish()
    }
    var answers = KernelAnswers()
    func line(_ r: SourceRange) -> Int { script.source.location(of: r.start).0 }
    func keyword(_ r: SourceRange) -> String {
      let text = lines.indices.contains(line(r) - 1) ? lines[line(r) - 1] : ""
      return String(text.prefix { $0 != " " })
    }
    func differ(_ r: SourceRange, _ a: String, _ b: String) -> (FuzzVerdict, KernelAnswers) {
      (.differ(Disagreement(line: line(r), keyword: keyword(r), system: a, sim: b)), answers)
    }
    let rules = script.netRules.map(\.0)
    for interpreter in [kernel, sim] {
      do throws(BackendError) {
        try interpreter.begin(netRules: rules)
      } catch {
        return (.invalid("begin: \(error.message)"), [:])
      }
    }
    if let f = kernel.load(script) ?? sim.load(script) { return (.invalid(f.message), [:]) }
    let (a, b) = Self.stepTogether(kernel, sim, literalPorts: Self.literalPorts(script)) { x in
      answers[line(x.statement.range)] = x.outcome
    }
    switch (a, b) {
    case (.ran(let x), .ran(let y)):
      answers[line(x.statement.range)] = x.outcome
      guard x.statement.range == y.statement.range else {
        return differ(x.statement.range, x.outcome.description, "(a different statement)")
      }
      return differ(x.statement.range, x.outcome.description, y.outcome.description)
    case (.finished, .finished):
      return (.agree, answers)
    case (.failed(let f), .failed(let g)) where f.range == g.range && f.message == g.message:
      return (.agree, answers)
    case (.failed(let f), .failed(let g)):
      return differ(
        f.range.start <= g.range.start ? f.range : g.range, "FAIL: " + f.message, "FAIL: " + g.message)
    case (.failed(let f), .ran(let y)):
      return differ(f.range, "FAIL: " + f.message, y.outcome.description)
    case (.ran(let x), .failed(let g)):
      answers[line(x.statement.range)] = x.outcome
      return differ(g.range, x.outcome.description, "FAIL: " + g.message)
    case (.failed(let f), .finished):
      return differ(f.range, "FAIL: " + f.message, "passes")
    case (.finished, .failed(let g)):
      return differ(g.range, "passes", "FAIL: " + g.message)
    case (.ran(let x), .finished):
      return differ(x.statement.range, x.outcome.description, "(not run)")
    case (.finished, .ran(let y)):
      return differ(y.statement.range, "(not run)", y.outcome.description)
    }
  }

  /// The smallest scenario that still disagrees with the same signature (FuzzShrinker).
  func fuzzShrink(_ lines: [String], signature: String, budget: Int = 300) -> [String] {
    let deadline = Host.monotonicNow() + 60_000_000_000
    return FuzzShrinker.shrink(lines, budget: budget) { candidate in
      Host.monotonicNow() < deadline && fuzzRun(candidate).0.disagreement?.signature == signature
    }
  }

  /// The scenario as a regression test: the kernel's answer is written as an `expect` after
  /// every statement whose answer is an errno (the errno rule), and after the statement where
  /// the backends disagree when the answer can be written. The test passes on the kernel and
  /// shows the disagreement under `--backend both` until the simulation is fixed.
  func fuzzRegression(
    _ lines: [String], _ d: Disagreement, answers: KernelAnswers, comment: [String]
  ) -> String {
    var out = comment.map { "# " + $0 }
    var needs = ["isolate"]
    if lines.contains(where: { $0.contains("inet6") }) { needs.append("ipv6") }
    out.append("# needs: " + needs.joined(separator: " "))
    for (i, text) in lines.enumerated() {
      out.append(text)
      guard let o = answers[i + 1] else { continue }
      let atDisagreement = i + 1 == d.line
      switch o {
      case .failure, .unknownErrno: out.append("expect \(o.expectationText)")
      case .ok, .events, .pollTimeout: if atDisagreement { out.append("expect \(o.expectationText)") }
      case .number(let n):
        // SO_LINGER off reads as -1, which `expect` writes as `off`.
        if atDisagreement && text.hasPrefix("get ") {
          out.append("expect " + (n < 0 && text.contains("SO_LINGER") ? "off" : "\(n)"))
        }
      default: break
      }
    }
    let withExpects = out.joined(separator: "\n") + "\n"
    // The expects must be acceptable to the checker; if one is not, the file keeps the comment.
    let check = Parser.parse(
      SourceFile(name: "fuzz.conn", bytes: Array(withExpects.utf8)),
      context: ParseContext(pathLimits: options.pathLimits)
    )
    if !check.hasErrors { return withExpects }
    return (comment.map { "# " + $0 } + ["# needs: " + needs.joined(separator: " ")] + lines).joined(
      separator: "\n")
      + "\n"
  }
}

/// Delta debugging over a scenario's lines, then its words, then its addresses: the result is
/// one from which no single line or word can be removed while `interesting` still holds (within
/// `budget` calls of it).
enum FuzzShrinker {
  static func shrink(_ lines: [String], budget: Int, interesting test: ([String]) -> Bool) -> [String] {
    var runs = 0
    func interesting(_ candidate: [String]) -> Bool {
      guard runs < budget else { return false }
      runs += 1
      return test(candidate)
    }
    var current = lines
    // Lines: chunks of halving size (ddmin's complements), then single lines until none goes.
    func removeLines() {
      var chunk = max(current.count / 2, 1)
      while runs < budget {
        var start = 0
        var removedAny = false
        while start < current.count && runs < budget {
          let end = min(start + chunk, current.count)
          let candidate = Array(current[..<start] + current[end...])
          if !candidate.isEmpty && interesting(candidate) {
            current = candidate
            removedAny = true
          } else {
            start = end
          }
        }
        if chunk > 1 {
          chunk /= 2
        } else if !removedAny {
          break
        }
      }
    }
    removeLines()
    // A call in the background goes only with the `signal` and `wait` that collect it (alone,
    // either half is malformed).
    var i = 0
    var removedGroup = false
    while i < current.count && runs < budget {
      let words = current[i].split(separator: " ")
      guard words.last == "background", words.count > 1 else {
        i += 1
        continue
      }
      let socket = words[1]
      var group = [i]
      for j in (i + 1)..<current.count {
        let w = current[j].split(separator: " ")
        guard w.count == 2, w[1] == socket else { continue }
        if w[0] == "signal" { group.append(j) }
        if w[0] == "wait" {
          group.append(j)
          break
        }
      }
      let candidate = current.indices.filter { !group.contains($0) }.map { current[$0] }
      if !candidate.isEmpty && interesting(candidate) {
        current = candidate
        removedGroup = true
      } else {
        i += 1
      }
    }
    if removedGroup { removeLines() }
    // Words: drop one word at a time (options such as `nonblock`, `backlog 0` ...), from the
    // end of each line; the first two words (keyword, socket) stay.
    for i in current.indices where runs < budget {
      var words = current[i].split(separator: " ").map(String.init)
      var j = words.count - 1
      while j >= 2 && runs < budget {
        var fewer = words
        fewer.remove(at: j)
        var candidate = current
        candidate[i] = fewer.joined(separator: " ")
        if interesting(candidate) {
          current = candidate
          words = fewer
        }
        j -= 1
      }
    }
    // Addresses: the simplest of their kind (a port 0 where any port will do).
    for i in current.indices where runs < budget {
      for (from, to) in [(":5556", ":5555"), ("127.0.0.2:", "127.0.0.1:")] where current[i].contains(from) {
        var candidate = current
        candidate[i] = current[i].replacing(from, with: to)
        if interesting(candidate) { current = candidate }
      }
    }
    return current
  }
}
