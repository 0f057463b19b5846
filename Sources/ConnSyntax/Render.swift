// Turns diagnostics into text: `file:line:col: error: message`, the source line, a caret under
// the range, and the hint. Colour is the caller's decision (a terminal without NO_COLOR).

package struct DiagnosticRenderer: Sendable {
  package var color: Bool
  package init(color: Bool) { self.color = color }

  func paint(_ s: String, _ code: String) -> String { ansiPaint(s, code, color) }

  package func render(_ d: Diagnostic, in source: SourceFile) -> String {
    let (line, col) = source.location(of: d.range.start)
    let sev: String
    switch d.severity {
    case .error: sev = paint("error:", "1;31")
    case .warning: sev = paint("warning:", "1;35")
    case .note: sev = paint("note:", "1;36")
    }
    var out = paint("\(source.name):\(line):\(col):", "1") + " \(sev) \(paint(d.message, "1"))\n"
    out += excerpt(source, d.range)
    if let h = d.hint { out += "  " + paint("hint:", "1;36") + " \(h)\n" }
    return out
  }

  /// The source line and a caret (`^~~~`) under the range; long lines are windowed around it.
  package func excerpt(_ source: SourceFile, _ range: SourceRange) -> String {
    let lineRange = source.lineRange(containing: range.start)
    let start = Int(range.start)
    var lo = lineRange.lowerBound
    var hi = lineRange.upperBound
    // Window very long lines so a 100 MB line prints a few columns, not the whole line.
    if hi - lo > 160 {
      lo = max(lo, start - 60)
      hi = min(hi, max(start + 100, lo + 160))
    }
    let bytes = Array(source.bytes[lo..<hi])
    var shown = ""
    var caretCol = 0
    var caretLen = 1
    // Printable text: tabs become spaces, control and invalid bytes become '?', so the caret lines up.
    var i = 0
    var col = 0
    while i < bytes.count {
      let b = bytes[i]
      var width = 1
      var piece = "?"
      if b == 0x09 {
        piece = " "
      } else if b >= 0x20 && b < 0x7F {
        piece = String(UnicodeScalar(b))
      } else if b >= 0x80 {
        var e = i + 1
        while e < bytes.count && bytes[e] & 0xC0 == 0x80 && e - i < 4 { e += 1 }
        if let s = String(validating: bytes[i..<e], as: UTF8.self) {
          piece = s
          width = e - i
        }
      }
      if lo + i == start { caretCol = col }
      shown += piece
      col += 1
      i += width
    }
    if start >= lo + bytes.count { caretCol = col }
    let end = min(Int(range.end), hi)
    if end > start {
      caretLen = max(1, min(end - start, 160 - caretCol))
    }
    let prefix = lo > lineRange.lowerBound ? "..." : ""
    let suffix = hi < lineRange.upperBound ? "..." : ""
    let pad = String(repeating: " ", count: caretCol + prefix.count)
    return "  \(prefix)\(shown)\(suffix)\n  \(pad)"
      + paint("^" + String(repeating: "~", count: caretLen - 1), "1;32") + "\n"
  }
}

/// `s` in an ANSI style (`1;31` bold red...) when `on`, else as it is. The one place colour
/// codes are written: callers decide `on` (a terminal, no NO_COLOR).
package func ansiPaint(_ s: String, _ code: String, _ on: Bool) -> String {
  on ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s
}
