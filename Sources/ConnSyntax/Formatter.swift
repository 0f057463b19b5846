// `conn fmt`: a scenario in one canonical layout. It works on the lexer's tokens (the parser has
// already accepted the file), so the words are kept exactly as written and only the space
// between them changes:
//
// - one space between the words of a statement, one statement per line (`a; b` is split);
// - the body of `repeat N {` indented by two spaces per level, `}` on a line of its own;
// - comments kept where they are: a comment line at the indentation of the statements around
//   it, a trailing comment at column 34 (after at least two spaces), as the corpus writes them;
// - trailing blanks removed, runs of blank lines made one, none at the start or end of the
//   file or of a block, and one final newline.
//
// The layout depends only on the tokens, the comments and where the blank lines are, so
// formatting twice gives the same text. After formatting, the result is parsed again and must
// give the same statements (`ScenarioFormatter.signature`); if not, the formatter refuses rather than
// change what the scenario means.

package enum ScenarioFormatter {
  /// The column (0-based) where trailing comments start when the code leaves room.
  package static let commentColumn = 33
  /// Spaces per `repeat` level.
  package static let indentWidth = 2

  package enum Failure: Error, Sendable {
    /// The file has errors; nothing is formatted. The script holds the diagnostics.
    case invalid(Script)
    /// The formatted text would parse to other statements (a bug in the formatter).
    case changedMeaning(String)
  }

  /// The formatted text of a source file, or why it cannot be formatted.
  package static func format(_ source: SourceFile) -> Result<String, Failure> {
    let script = Parser.parse(source)
    if script.hasErrors { return .failure(.invalid(script)) }
    let text = layout(source.bytes)
    let again = Parser.parse(SourceFile(name: source.name, text: text))
    if again.hasErrors || signature(again) != signature(script) {
      return .failure(.changedMeaning(text))
    }
    return .success(text)
  }

  /// One output line: code (without indentation) and a trailing comment, or a comment line, or
  /// a blank line (both empty).
  private struct Line {
    var depth: Int
    var code: String
    var comment: String?
    /// The source line it came from (to attach a trailing comment to the last statement of a
    /// line that `;` or `{` split).
    var sourceLine: Int
    var isBlank: Bool { code.isEmpty && comment == nil }
    var opensBlock: Bool { code.hasSuffix("{") }
  }

  /// Lays the tokens out; `bytes` must be a file the parser accepts.
  package static func layout(_ bytes: [UInt8]) -> String {
    let tokens = Lexer.tokenize(bytes).tokens
    func text(_ s: Int, _ e: Int) -> String { String(decoding: bytes[s..<e], as: UTF8.self) }

    var lines: [Line] = []
    var words: [String] = []
    var depth = 0
    var sourceLine = 1
    var previousEnd = 0
    var previousWasWord = false
    var previousKind = TokenKind.eof
    /// Whether the current source line held anything but blanks (a lone `;` counts: the line
    /// is dropped, not made a blank line).
    var lineHadTokens = false

    func emit(_ line: Line) {
      if line.isBlank {
        // No blank line at the start, after another, or right after a block opens.
        guard let last = lines.last, !last.isBlank, !last.opensBlock else { return }
      } else if line.code == "}", lines.last?.isBlank == true {
        lines.removeLast()
      }
      lines.append(line)
    }
    func flush(comment: String? = nil) {
      if !words.isEmpty {
        emit(Line(depth: depth, code: words.joined(separator: " "), comment: comment, sourceLine: sourceLine))
        words = []
      } else if let comment {
        if let last = lines.last, last.sourceLine == sourceLine, !last.isBlank, last.comment == nil {
          lines[lines.count - 1].comment = comment
        } else {
          emit(Line(depth: depth, code: "", comment: comment, sourceLine: sourceLine))
        }
      }
    }
    /// The comment in the blanks before `end`, without trailing blanks.
    func comment(before end: Int) -> String? {
      guard let hash = bytes[previousEnd..<end].firstIndex(of: UInt8(ascii: "#")) else { return nil }
      var e = end
      while e > hash, [0x20, 0x09, 0x0D, 0x0B, 0x0C].contains(bytes[e - 1]) { e -= 1 }
      return text(hash, e)
    }

    for token in tokens {
      let start = Int(token.start)
      let end = Int(token.end)
      switch token.kind {
      case .newline, .eof:
        let c = comment(before: start)
        let hadContent = lineHadTokens || !words.isEmpty || c != nil
        flush(comment: c)
        if !hadContent && token.kind == .newline {
          emit(Line(depth: depth, code: "", comment: nil, sourceLine: sourceLine))
        }
        sourceLine += 1
        lineHadTokens = false
        previousWasWord = false
        previousKind = token.kind
        previousEnd = end
        continue
      case .semicolon:
        flush()
        previousWasWord = false
      case .leftBrace:
        words.append("{")
        flush()
        depth += 1
        previousWasWord = false
      case .rightBrace:
        flush()
        depth = max(0, depth - 1)
        words = ["}"]
        previousWasWord = false
      default:
        let word = text(start, end)
        // A hyphenated word (`host-unreachable`) is lexed as pieces around an invalid '-':
        // pieces that touch are one word.
        if previousWasWord && start == previousEnd && (token.kind == .invalid || previousKind == .invalid) {
          words[words.count - 1] += word
        } else {
          if words == ["}"] { flush() }
          words.append(word)
        }
        previousWasWord = true
      }
      lineHadTokens = true
      previousKind = token.kind
      previousEnd = end
    }
    while lines.last?.isBlank == true { lines.removeLast() }

    var out = ""
    for line in lines {
      let indent = String(repeating: " ", count: line.depth * indentWidth)
      if line.isBlank {
        out += "\n"
      } else if line.code.isEmpty {
        out += indent + line.comment! + "\n"
      } else if let c = line.comment {
        let width = indent.utf8.count + line.code.utf8.count
        out += indent + line.code + String(repeating: " ", count: max(2, commentColumn - width)) + c + "\n"
      } else {
        out += indent + line.code + "\n"
      }
    }
    return out
  }

  /// What a script says, without where it says it: each statement's kind with its byte ranges
  /// left out, and the words of its source text. Two layouts of one scenario have the same
  /// signature.
  package static func signature(_ script: Script) -> [String] {
    let bytes = script.source.bytes
    let tokens = Lexer.tokenize(bytes).tokens
    var out: [String] = []
    func words(_ r: SourceRange) -> String {
      var lo = 0
      var hi = tokens.count
      while lo < hi {
        let mid = (lo + hi) / 2
        if tokens[mid].start < r.start { lo = mid + 1 } else { hi = mid }
      }
      var parts: [String] = []
      var i = lo
      while i < tokens.count && tokens[i].end <= r.end {
        let t = tokens[i]
        if t.kind != .newline && t.kind != .eof {
          parts.append(String(decoding: bytes[Int(t.start)..<Int(t.end)], as: UTF8.self))
        }
        i += 1
      }
      return parts.joined(separator: " ")
    }
    func walk(_ statements: [Statement], _ level: Int) {
      for s in statements {
        if case .repeat(let count, let body) = s.kind {
          out.append("\(level) repeat \(count)")
          walk(body, level + 1)
        } else {
          out.append("\(level) \(withoutRanges(String(describing: s.kind))) | \(words(s.range))")
        }
      }
    }
    walk(script.statements, 0)
    return out
  }

  /// `SourceRange(start: 3, end: 9)` replaced by `_`.
  private static func withoutRanges(_ s: String) -> String {
    let marker = Array("SourceRange(start: ".utf8)
    let b = Array(s.utf8)
    var out: [UInt8] = []
    var i = 0
    while i < b.count {
      if b[i] == marker[0], i + marker.count <= b.count, Array(b[i..<i + marker.count]) == marker {
        var j = i + marker.count
        while j < b.count && b[j] != UInt8(ascii: ")") { j += 1 }
        out.append(UInt8(ascii: "_"))
        i = j + 1
      } else {
        out.append(b[i])
        i += 1
      }
    }
    return String(decoding: out, as: UTF8.self)
  }
}
