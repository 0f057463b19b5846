import ConnHost
import ConnRuntime
import ConnSyntax

// How the REPL prints: outcomes, notes and errors, diagnostics and failures with the line and a
// caret, the counted outcomes of a `repeat`. No control character a user pasted reaches the
// terminal.

extension Repl {
  func paint(_ s: String, _ code: String) -> String { ansiPaint(s, code, options.color) }

  func paintOutcome(_ o: Outcome) -> String {
    o.isError ? paint(o.description, "1;31") : paint(o.description, "32")
  }

  func error(_ message: String) {
    write(paint("error:", "1;31") + " " + printable(message) + "\n")
    hadErrors = true
  }

  func note(_ message: String) {
    write(paint("(" + printable(message) + ")", "2") + "\n")
  }

  /// Text with C0 and C1 control characters (but newlines) shown as '?'.
  func printable(_ s: String) -> String {
    var out = String.UnicodeScalarView()
    for u in s.unicodeScalars {
      let v = u.value
      out.append((v < 0x20 && v != 0x0A) || (v >= 0x7F && v < 0xA0) ? "?" : u)
    }
    return String(out)
  }

  func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : s + String(repeating: " ", count: width - s.count)
  }

  /// A statement as shown beside its outcome: one line, not too long.
  func displayText(_ s: String) -> String {
    let flat = s.map { $0 == "\n" || $0 == "\t" ? " " : $0 }
    return flat.count > 60 ? String(flat.prefix(57)) + "..." : String(flat)
  }

  /// Where a problem is: nothing for a single typed line (the excerpt shows it), the line
  /// number in a typed block, file:line:col in a loaded file.
  func location(_ source: SourceFile, _ offset: UInt32) -> String {
    let (line, col) = source.location(of: offset)
    if source.name != "<repl>" { return "\(source.name):\(line):\(col): " }
    return source.bytes.contains(0x0A) ? "line \(line): " : ""
  }

  /// The line and a caret under the range. Whatever the line holds, no control character
  /// reaches the terminal: pasted bytes cannot move the cursor or change colours.
  func excerpt(_ source: SourceFile, _ range: SourceRange) -> String {
    let plain = printable(DiagnosticRenderer(color: false).excerpt(source, range))
    guard options.color else { return plain }
    var lines = plain.split(separator: "\n", omittingEmptySubsequences: false)
    if lines.count >= 2 { lines[lines.count - 2] = Substring(paint(String(lines[lines.count - 2]), "1;32")) }
    return lines.joined(separator: "\n")
  }

  func printDiagnostics(_ diagnostics: [Diagnostic], _ source: SourceFile) {
    for var d in diagnostics.prefix(Self.maxDiagnosticsShown) {
      // The parser saw one line; the session knows the names declared on earlier ones.
      if d.id == "check.undeclared-socket",
        let near = closestName(to: source.text(d.range), in: declared, maxDistance: 2)
      {
        d.hint = "did you mean '\(near)'?"
      }
      let label: String
      switch d.severity {
      case .error: label = paint("error:", "1;31")
      case .warning: label = paint("warning:", "1;35")
      case .note: label = paint("note:", "1;36")
      }
      var out =
        paint(location(source, d.range.start), "1") + label + " " + paint(printable(d.message), "1") + "\n"
      out += excerpt(source, d.range)
      if let h = d.hint { out += "  " + paint("hint:", "1;36") + " \(printable(h))\n" }
      write(out)
    }
    if diagnostics.count > Self.maxDiagnosticsShown {
      note("\(diagnostics.count - Self.maxDiagnosticsShown) more problems not shown")
    }
  }

  func printProblem(_ message: String, _ source: SourceFile, _ range: SourceRange, hint: String? = nil) {
    printDiagnostics([.replUnsupported(message, at: range, hint: hint)], source)
  }

  func renderFailure(_ f: Failure) -> String {
    let label =
      f.kind == .expectation || f.kind == .tooSlow || f.kind == .tooFast
      ? paint("FAIL:", "1;31") : paint("stopped:", "1;31")
    var out =
      paint(location(f.source, f.range.start), "1") + label + " " + paint(printable(f.message), "1") + "\n"
    out += excerpt(f.source, f.range)
    if let e = f.expected { out += "  expected: \(printable(e))\n" }
    if let a = f.actual { out += "  actual:   \(a)\n" }
    if let x = f.explanation { out += "  " + paint("meaning:", "1;36") + " \(x)\n" }
    return out
  }

  func printAggregate(_ aggregate: RepeatAggregate) {
    if aggregate.entries.isEmpty {
      note("no statement ran")
      return
    }
    let width = min(40, aggregate.entries.map { displayText($0.text).count }.max() ?? 0)
    var out = ""
    for e in aggregate.entries {
      var parts: [String] = []
      for (desc, isError, count) in e.counts {
        let shown = isError ? paint(desc, "1;31") : paint(desc, "32")
        parts.append(count > 1 ? "\(shown) (x\(count))" : shown)
      }
      if e.others > 0 { parts.append("\(e.others) more") }
      out +=
        "  " + pad(displayText(e.text), width) + "  " + paint("= ", "2") + parts.joined(separator: " | ")
        + "\n"
    }
    write(out)
  }
}
