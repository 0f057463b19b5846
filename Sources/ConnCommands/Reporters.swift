import ConnRuntime
import ConnSyntax

// Output formats of `conn run`. Each takes the final reports (input order) and the total wall
// time, and returns the whole document as text.

package enum ReportFormat: String, CaseIterable, Sendable {
  /// `tap` is TAP 13, the version every harness in use reads (Test::Harness before 3.48, such
  /// as Debian 12's `prove`, rejects a "TAP version 14" line). `tap13` is another name for it;
  /// `tap14` is the same document with a version 14 line. Nothing in the document needs 14
  /// (no subtests): a YAML block after a failure and `# SKIP` are TAP 13.
  case human, tap, tap13, tap14, junit, json
}

package struct RunSummary: Sendable {
  package var passed = 0
  package var failed = 0
  package var errors = 0
  /// Of the errors, those that did not parse or check (the rest ended abnormally: a worker that
  /// died, a scenario killed past its limit).
  package var syntaxErrors = 0
  package var skipped = 0
  package var total: Int { passed + failed + errors + skipped }
  package var duration = TimeSpan.zero
  package var jobs = 1
  /// Every scenario ran on the simulation: durations are virtual, and the summary says so
  /// instead of wall time, so that sim output is the same on every run.
  package var virtual = false

  package init(_ reports: [ScenarioReport], duration: TimeSpan, jobs: Int) {
    for r in reports {
      switch r.status {
      case .pass: passed += 1
      case .fail: failed += 1
      case .error:
        errors += 1
        if r.failure?.kind == "syntax" || r.failure == nil { syntaxErrors += 1 }
      case .skip: skipped += 1
      }
    }
    self.duration = duration
    self.jobs = jobs
    // Virtual only when every scenario that ran was timed by the simulation's clock (a scenario
    // killed in real time, or one that did not parse, was not).
    let timed = reports.filter { $0.status != .skip }
    virtual = !timed.isEmpty && timed.allSatisfy(\.virtualTime)
    if virtual { self.duration = TimeSpan(nanoseconds: reports.reduce(0) { $0 + $1.duration.nanoseconds }) }
  }
}

enum Reporters {
  static func render(_ format: ReportFormat, _ reports: [ScenarioReport], _ summary: RunSummary, color: Bool)
    -> String
  {
    switch format {
    case .human: return human(reports, summary, color: color)
    case .tap, .tap13: return tap(reports)
    case .tap14: return tap(reports, version: 14)
    case .junit: return junit(reports, summary)
    case .json: return json(reports, summary)
    }
  }

  // MARK: Human

  static func statusLine(_ r: ScenarioReport, color: Bool) -> String {
    let tag: String
    switch r.status {
    case .pass: tag = ansiPaint("PASS ", "32", color)
    case .fail: tag = ansiPaint("FAIL ", "1;31", color)
    case .error: tag = ansiPaint("ERROR", "1;31", color)
    case .skip: tag = ansiPaint("SKIP ", "33", color)
    }
    var line = "\(tag) \(r.path)"
    if r.status == .skip {
      line += " (\(r.skipReason ?? "skipped"))"
    } else {
      line += " (\(r.duration.humanDescription)\(r.runs.count > 1 ? ", \(r.runs.count) runs" : ""))"
    }
    return line
  }

  /// The failures with their excerpts, then the counts. The counts line has the form CI
  /// log readers know: "N passed, N failed, N skipped".
  static func humanTail(_ reports: [ScenarioReport], _ s: RunSummary, color: Bool) -> String {
    var out = ""
    let bad = reports.filter { $0.status == .fail || $0.status == .error }
    if !bad.isEmpty {
      out += "\n" + ansiPaint("Failures:", "1", color) + "\n\n"
      for r in bad { out += r.detail + "\n" }
    }
    out += "\(s.passed) passed, \(s.failed + s.errors) failed, \(s.skipped) skipped\n"
    if s.virtual {
      out +=
        "(\(s.total) scenario\(s.total == 1 ? "" : "s") in \(s.duration.humanDescription) of virtual time"
    } else {
      out +=
        "(\(s.total) scenario\(s.total == 1 ? "" : "s") in \(s.duration.humanDescription) with \(s.jobs) job\(s.jobs == 1 ? "" : "s")"
    }
    var notes: [String] = []
    if s.syntaxErrors > 0 { notes.append("\(s.syntaxErrors) of the failed did not parse or check") }
    if s.errors > s.syntaxErrors {
      notes.append("\(s.errors - s.syntaxErrors) ended abnormally (a worker died or was killed)")
    }
    out += notes.isEmpty ? ")\n" : "; " + notes.joined(separator: "; ") + ")\n"
    return out
  }

  static func human(_ reports: [ScenarioReport], _ s: RunSummary, color: Bool) -> String {
    reports.map { statusLine($0, color: color) + "\n" }.joined() + humanTail(reports, s, color: color)
  }

  // MARK: TAP (13, or 14 by its version line)

  /// YAML double-quoted strings take JSON's escapes.
  static func yamlString(_ s: String) -> String { jsonString(s) }

  static func tapDescription(_ s: String) -> String {
    // '#' starts a directive in TAP; escape it in the description.
    s.replacingAll("\\", "\\\\").replacingAll("#", "\\#").replacingAll("\n", " ")
  }

  static func tap(_ reports: [ScenarioReport], version: Int = 13) -> String {
    var out = "TAP version \(version)\n1..\(reports.count)\n"
    for (i, r) in reports.enumerated() {
      let n = i + 1
      let name = tapDescription(r.path)
      switch r.status {
      case .pass:
        out += "ok \(n) - \(name)\n"
      case .skip:
        out += "ok \(n) - \(name) # SKIP \(tapDescription(r.skipReason ?? "skipped"))\n"
      case .fail, .error:
        out += "not ok \(n) - \(name)\n"
        out += "  ---\n"
        let f = r.failure
        out += "  message: \(yamlString(f?.message ?? r.status.rawValue))\n"
        out += "  severity: \(r.status == .error ? "error" : "fail")\n"
        out += "  kind: \(yamlString(f?.kind ?? r.status.rawValue))\n"
        out +=
          "  at:\n    file: \(yamlString(r.path))\n    line: \(f?.line ?? 0)\n    column: \(f?.column ?? 0)\n"
        if let e = f?.expected { out += "  expected: \(yamlString(e))\n" }
        if let a = f?.actual { out += "  actual: \(yamlString(a))\n" }
        if let m = f?.meaning { out += "  meaning: \(yamlString(m))\n" }
        out += "  duration_ms: \(format3(r.duration.seconds * 1000))\n"
        out += "  ...\n"
      }
    }
    return out
  }

  // MARK: JUnit XML

  static func xml(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&apos;"
      case "\n", "\t", "\r": out.unicodeScalars.append(c)
      default:
        // XML 1.0 forbids most control characters even as references.
        if c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF {
          out += "?"
        } else {
          out.unicodeScalars.append(c)
        }
      }
    }
    return out
  }

  static func seconds(_ t: TimeSpan) -> String { format3(t.seconds) }

  static func junit(_ reports: [ScenarioReport], _ s: RunSummary) -> String {
    var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    let attrs =
      "tests=\"\(s.total)\" failures=\"\(s.failed)\" errors=\"\(s.errors)\" skipped=\"\(s.skipped)\" time=\"\(seconds(s.duration))\""
    out += "<testsuites name=\"conn\" \(attrs)>\n"
    out += "  <testsuite name=\"conn\" \(attrs)>\n"
    for r in reports {
      // classname: the directory, dotted, as Jenkins groups packages; name: the file.
      let slash = r.path.lastIndex(of: "/")
      let dir = slash.map { String(r.path[..<$0]) } ?? "."
      let file = slash.map { String(r.path[r.path.index(after: $0)...]) } ?? r.path
      let classname = dir.replacingAll("/", ".")
      out +=
        "    <testcase classname=\"\(xml(classname))\" name=\"\(xml(file))\" file=\"\(xml(r.path))\" time=\"\(seconds(r.duration))\""
      switch r.status {
      case .pass:
        out += "/>\n"
      case .skip:
        out += ">\n      <skipped message=\"\(xml(r.skipReason ?? "skipped"))\"/>\n    </testcase>\n"
      case .fail, .error:
        let f = r.failure
        let tag = r.status == .fail ? "failure" : "error"
        let loc = "\(r.path):\(f?.line ?? 0):\(f?.column ?? 0)"
        out +=
          ">\n      <\(tag) message=\"\(xml(loc + ": " + (f?.message ?? tag)))\" type=\"\(xml(f?.kind ?? tag))\">"
        out += xml(r.detail.isEmpty ? loc : r.detail)
        out += "</\(tag)>\n    </testcase>\n"
      }
    }
    out += "  </testsuite>\n</testsuites>\n"
    return out
  }

  // MARK: JSON

  /// Seconds with microseconds, as JSON writes a number.
  static func jsonSeconds(_ s: Double) -> String {
    let us = Int64((s * 1_000_000).rounded())
    let frac = String(us % 1_000_000)
    return "\(us / 1_000_000).\(String(repeating: "0", count: 6 - frac.count))\(frac)"
  }

  static func json(_ reports: [ScenarioReport], _ s: RunSummary) -> String {
    func opt(_ v: String?) -> String { v.map(jsonString) ?? "null" }
    var out = "{\n  \"tool\": \"conn\",\n  \"version\": \(jsonString(connVersion)),\n"
    out +=
      "  \"summary\": {\"total\": \(s.total), \"passed\": \(s.passed), \"failed\": \(s.failed), \"errors\": \(s.errors), \"skipped\": \(s.skipped), \"duration_seconds\": \(seconds(s.duration)), \"jobs\": \(s.jobs)},\n"
    out += "  \"scenarios\": ["
    for (i, r) in reports.enumerated() {
      out += i == 0 ? "\n" : ",\n"
      out +=
        "    {\"path\": \(jsonString(r.path)), \"status\": \"\(r.status.rawValue)\", \"backend\": \(jsonString(r.backend)), \"duration_seconds\": \(seconds(r.duration))"
      if let why = r.skipReason { out += ", \"skip_reason\": \(jsonString(why))" }
      if !r.runs.isEmpty {
        out += ", \"runs\": [\(r.runs.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))]"
      }
      if let f = r.failure {
        out +=
          ", \"failure\": {\"kind\": \(jsonString(f.kind)), \"message\": \(jsonString(f.message)), \"file\": \(jsonString(r.path)), \"line\": \(f.line), \"column\": \(f.column), \"expected\": \(opt(f.expected)), \"actual\": \(opt(f.actual)), \"meaning\": \(opt(f.meaning))}"
      }
      if !r.steps.isEmpty {
        out += ", \"steps\": ["
        for (k, step) in r.steps.enumerated() {
          out += k == 0 ? "\n" : ",\n"
          out += "      {\"seconds\": \(jsonSeconds(step.seconds))"
          if let p = step.parts {
            out +=
              ", \"backend\": \(opt(p.backend)), \"call\": \(jsonString(p.call)), \"arguments\": \(jsonString(p.arguments)), \"result\": \(jsonString(p.result)), \"note\": \(opt(p.note))"
          }
          out += ", \"line\": \(jsonString(step.line))}"
        }
        out += "\n    ]"
      }
      out += "}"
    }
    out += reports.isEmpty ? "]\n}\n" : "\n  ]\n}\n"
    return out
  }
}

extension String {
  func replacingAll(_ a: String, _ b: String) -> String {
    guard contains(a) else { return self }
    return split(separator: a, omittingEmptySubsequences: false).joined(separator: b)
  }
}
