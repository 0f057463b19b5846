// The lexer walks UTF-8 bytes, never Characters. A token is a kind and a byte range; its value
// (a number, an address) is decoded by the parser from those bytes. Everything that is not
// punctuation, a string or a bracketed address is read as one "word" (a run of letters, digits
// and . : / % _) and classified by what it contains, in the same pass that finds its end.

/// Byte classes, one table lookup per byte.
private enum ByteClass {
  static let letter: UInt8 = 1
  static let digit: UInt8 = 2
  static let wordPunct: UInt8 = 4  // . : / % inside words
  static let underscore: UInt8 = 8
  /// Allocated once and never freed: the lexer reads it through a raw pointer on every byte.
  nonisolated(unsafe) static let table: UnsafePointer<UInt8> = {
    let t = UnsafeMutablePointer<UInt8>.allocate(capacity: 256)
    t.initialize(repeating: 0, count: 256)
    for c in UInt8(ascii: "a")...UInt8(ascii: "z") { t[Int(c)] = letter }
    for c in UInt8(ascii: "A")...UInt8(ascii: "Z") { t[Int(c)] = letter }
    for c in UInt8(ascii: "0")...UInt8(ascii: "9") { t[Int(c)] = digit }
    for c in [UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "%")] {
      t[Int(c)] = wordPunct
    }
    t[Int(UInt8(ascii: "_"))] = underscore
    return UnsafePointer(t)
  }()
}

package struct Lexer {
  /// Longest token the lexer accepts; longer ones are diagnosed (but still skipped in linear time).
  package static let maxTokenLength = 4096

  let buf: UnsafeBufferPointer<UInt8>
  package private(set) var pos: Int = 0
  package var diagnostics: [Diagnostic] = []
  /// Stops collecting after this many, so binary garbage cannot make millions of diagnostics.
  package var diagnosticLimit = 200
  private let classes: UnsafePointer<UInt8>

  /// `buffer` must outlive the lexer (call inside `withUnsafeBufferPointer`).
  package init(_ buffer: UnsafeBufferPointer<UInt8>) {
    buf = buffer
    classes = ByteClass.table
  }

  /// Moves on to `p` (the parser read the bytes before it itself).
  mutating func seek(_ p: Int) { pos = min(max(p, pos), buf.count) }

  mutating func report(_ d: Diagnostic) {
    if diagnostics.count < diagnosticLimit { diagnostics.append(d) }
  }

  /// The token after the current one, without moving (a copy lexes it).
  func peek() -> Token {
    var copy = self
    return copy.next()
  }

  package mutating func next() -> Token {
    let n = buf.count
    // Skip blanks and comments (on local copies: the loops run over most of the file).
    if let base = buf.baseAddress {
      var p = pos
      while p < n {
        let c = base[p]
        if c == 0x20 || c == 0x09 || c == 0x0D || c == 0x0C || c == 0x0B {
          p += 1
        } else if c == 0x23 {  // '#'
          while p < n && base[p] != 0x0A { p += 1 }
        } else {
          break
        }
      }
      pos = p
    }
    let start = pos
    if pos >= n { return Token(kind: .eof, start: UInt32(n), end: UInt32(n)) }
    let c = buf[pos]
    switch c {
    case 0x0A:
      pos += 1
      return tok(.newline, start)
    case 0x3B:
      pos += 1
      return tok(.semicolon, start)
    case 0x3D:
      pos += 1
      return tok(.equals, start)
    case 0x7B:
      pos += 1
      return tok(.leftBrace, start)
    case 0x7D:
      pos += 1
      return tok(.rightBrace, start)
    case 0x22:
      return lexString(start)
    case 0x40:
      return lexAbstract(start)
    case 0x5B:
      return lexBracketed(start)
    case 0x2D where pos + 1 < n && buf[pos + 1] >= 0x30 && buf[pos + 1] <= 0x39:
      // A negative integer (`fd -1`): '-' and digits, and nothing else of a word after them.
      pos += 1
      while pos < n && buf[pos] >= 0x30 && buf[pos] <= 0x39 { pos += 1 }
      if pos < n && classes[Int(buf[pos])] != 0 {
        while pos < n && classes[Int(buf[pos])] != 0 { pos += 1 }
        return badWord(start)
      }
      return tok(.integer, start)
    default:
      if classes[Int(c)] != 0 { return lexWord(start) }
      return lexInvalid(start)
    }
  }

  @inline(__always) private func tok(_ k: TokenKind, _ s: Int) -> Token {
    Token(kind: k, start: UInt32(truncatingIfNeeded: s), end: UInt32(truncatingIfNeeded: pos))
  }

  /// A run of word bytes, classified in the same pass.
  @inline(__always) private mutating func lexWord(_ start: Int) -> Token {
    let n = buf.count
    var seen: UInt8 = 0
    var dots = 0, colons = 0, slashes = 0, percents = 0
    // Most words are names and numbers: letters, digits and '_' only, in a tight loop. The
    // punctuation of addresses, prefixes and fractions is counted in the second loop.
    let plain = ByteClass.letter | ByteClass.digit | ByteClass.underscore
    do {
      let base = buf.baseAddress!
      let table = classes
      var p = pos
      while p < n {
        let cls = table[Int(base[p])]
        if cls & plain == 0 { break }
        seen |= cls
        p += 1
      }
      pos = p
    }
    while pos < n {
      let b = buf[pos]
      let cls = classes[Int(b)]
      if cls == 0 { break }
      if cls == ByteClass.wordPunct {
        switch b {
        case 0x2E: dots += 1
        case 0x3A: colons += 1
        case 0x2F: slashes += 1
        default: percents += 1
        }
      }
      seen |= cls
      pos += 1
    }
    let len = pos - start
    if len > Lexer.maxTokenLength { return badWord(start, tooLong: true) }
    let first = classes[Int(buf[start])]
    // Plain identifier: starts with a letter or underscore, letters/digits/underscores only.
    if seen & ByteClass.wordPunct == 0 {
      if first != ByteClass.digit { return tok(.identifier, start) }
      if seen == ByteClass.digit { return tok(.integer, start) }
      if isDuration(start, pos) { return tok(.duration, start) }
      return badWord(start)
    }
    if slashes == 1 && percents == 0 { return tok(.prefix, start) }
    // A sysctl key: letters first, dots between names, nothing else of an address.
    if first != ByteClass.digit && dots > 0 && colons == 0 && slashes == 0 && percents == 0
      && buf[start] != 0x2E && buf[pos - 1] != 0x2E
    {
      return tok(.dottedName, start)
    }
    if first == ByteClass.digit && colons == 0 && slashes == 0 && percents == 0 && dots == 1
      && isDuration(start, pos)
    {
      return tok(.duration, start)
    }
    if first == ByteClass.digit && colons <= 1 && slashes == 0 && percents == 0 && dots >= 1
      && (seen & ByteClass.letter == 0 && seen & ByteClass.underscore == 0 || namedPort(start, pos))
    {
      return tok(.ipv4, start)
    }
    if colons >= 2 && slashes == 0 { return badWord(start, bareIPv6: true) }
    if colons == 1 && slashes == 0 && percents == 0 && first == ByteClass.letter {
      return badWord(start, hostName: true)
    }
    return badWord(start)
  }

  /// `127.0.0.1:l`: digits and dots, one colon, then a name (a socket whose port is meant).
  private func namedPort(_ start: Int, _ end: Int) -> Bool {
    var colon = start
    while colon < end && buf[colon] != 0x3A {
      if classes[Int(buf[colon])] & (ByteClass.letter | ByteClass.underscore) != 0 { return false }
      colon += 1
    }
    guard colon + 1 < end, classes[Int(buf[colon + 1])] & (ByteClass.letter | ByteClass.underscore) != 0
    else {
      return false
    }
    for i in (colon + 1)..<end where buf[i] == 0x2E { return false }
    return true
  }

  /// The diagnostics of `lexWord`, kept out of its way.
  @inline(never)
  private mutating func badWord(
    _ start: Int, tooLong: Bool = false, bareIPv6: Bool = false, hostName: Bool = false
  ) -> Token {
    // NAME:PORT (localhost:80, example.com:443): a host name where an address goes.
    let word = text(start, pos)
    let colon = word.firstIndex(of: ":")
    let port = colon.map { word[word.index(after: $0)...] }
    if hostName, let colon, let port, !port.isEmpty, port.allSatisfy(\.isASCII), port.allSatisfy(\.isNumber) {
      report(.hostName(String(word[..<colon]), port: String(port), at: SourceRange(start, pos)))
    } else if tooLong {
      report(.tokenTooLong(at: SourceRange(start, pos)))
    } else if bareIPv6 {
      report(.bareIPv6(text(start, pos), at: SourceRange(start, pos)))
    } else {
      report(.malformedWord(text(start, pos), at: SourceRange(start, pos)))
    }
    return tok(.invalid, start)
  }

  /// digits [. digits] unit, unit one of ns us ms s m.
  private func isDuration(_ s: Int, _ e: Int) -> Bool {
    var i = s
    while i < e && classes[Int(buf[i])] == ByteClass.digit { i += 1 }
    if i < e && buf[i] == 0x2E {
      i += 1
      let f = i
      while i < e && classes[Int(buf[i])] == ByteClass.digit { i += 1 }
      if i == f { return false }
    }
    let unitLen = e - i
    if unitLen == 1 { return buf[i] == 0x73 || buf[i] == 0x6D }  // s m
    if unitLen == 2 {
      return buf[i + 1] == 0x73 && (buf[i] == 0x6E || buf[i] == 0x75 || buf[i] == 0x6D)  // ns us ms
    }
    return false
  }

  /// "..." with escapes \\ \" \n \t \0 \xHH. Ends at the closing quote; a newline or the end of
  /// input first is an error.
  private mutating func lexString(_ start: Int) -> Token {
    let n = buf.count
    pos += 1
    var bad = false
    while pos < n {
      let b = buf[pos]
      if b == 0x22 {
        pos += 1
        if pos - start > Lexer.maxTokenLength {
          report(.tokenTooLong(at: SourceRange(start, pos)))
          return tok(.invalid, start)
        }
        return tok(bad ? .invalid : .string, start)
      }
      if b == 0x0A { break }
      if b == 0x5C {
        let escStart = pos
        pos += 1
        if pos >= n || buf[pos] == 0x0A { break }
        switch buf[pos] {
        case 0x5C, 0x22, 0x6E, 0x74, 0x30: pos += 1
        case 0x78:
          if pos + 2 < n, let hi = hexValue(buf[pos + 1]), hexValue(buf[pos + 2]) != nil {
            if hi >= 8 {
              // Paths are text: a lone byte above 0x7F is not valid UTF-8 and would not reach
              // the kernel as written. Say so rather than change it.
              report(.nonASCIIEscape(text(pos + 1, pos + 3), at: SourceRange(escStart, pos + 3)))
              bad = true
            }
            pos += 3
          } else {
            report(.invalidEscape("x", at: SourceRange(escStart, min(pos + 1, n))))
            bad = true
            pos += 1
          }
        default:
          let e = utf8End(pos)
          report(.invalidEscape(text(pos, e), at: SourceRange(escStart, e)))
          bad = true
          pos = e
        }
        continue
      }
      pos += 1
    }
    report(.unterminatedString(at: SourceRange(start, pos)))
    return tok(.invalid, start)
  }

  /// @name: the name runs to a blank, ';', '#', a brace or the end of the line.
  private mutating func lexAbstract(_ start: Int) -> Token {
    let n = buf.count
    pos += 1
    while pos < n {
      let b = buf[pos]
      if b <= 0x20 || b == 0x3B || b == 0x23 || b == 0x7B || b == 0x7D || b == 0x22 { break }
      pos += 1
    }
    if pos - start == 1 {
      report(.emptyAbstractName(at: SourceRange(start, pos)))
      return tok(.invalid, start)
    }
    if pos - start > Lexer.maxTokenLength {
      report(.tokenTooLong(at: SourceRange(start, pos)))
      return tok(.invalid, start)
    }
    return tok(.abstractName, start)
  }

  /// [v6addr(%scope)?] with an optional :port after it.
  private mutating func lexBracketed(_ start: Int) -> Token {
    let n = buf.count
    pos += 1
    while pos < n {
      let b = buf[pos]
      if b == 0x5D { break }
      if b == 0x0A || b == 0x3B || b == 0x20 || b == 0x09 || b == 0x23 || pos - start > 64 { break }
      pos += 1
    }
    if pos >= n || buf[pos] != 0x5D {
      report(.unterminatedBracket(at: SourceRange(start, pos)))
      return tok(.invalid, start)
    }
    pos += 1
    if pos < n && buf[pos] == 0x3A {
      pos += 1
      while pos < n && classes[Int(buf[pos])] != 0 { pos += 1 }
    }
    return tok(.ipv6, start)
  }

  /// Anything else: report once for the whole run of unexpected bytes.
  private mutating func lexInvalid(_ start: Int) -> Token {
    let n = buf.count
    let b = buf[start]
    if b >= 0x80 {
      // Decode one scalar if valid, to name it; otherwise report invalid UTF-8.
      let e = utf8End(start)
      if e > start + 1 || b < 0x80 {
        let what = "character '\(text(start, e))'"
        pos = e
        skipInvalidRun()
        report(.invalidCharacter(what, at: SourceRange(start, e)))
      } else {
        pos = start + 1
        skipInvalidRun()
        report(.invalidUTF8(at: SourceRange(start, pos)))
      }
      return tok(.invalid, start)
    }
    pos = start + 1
    let what: String
    if b < 0x20 || b == 0x7F {
      what = b == 0 ? "NUL byte" : "control byte 0x\(String(b, radix: 16))"
    } else {
      what = "character '\(Character(Unicode.Scalar(b)))'"
    }
    skipInvalidRun()
    report(.invalidCharacter(what, at: SourceRange(start, start + 1)))
    _ = n
    return tok(.invalid, start)
  }

  /// Skips further bytes that cannot start a token, up to the end of the line: one diagnostic
  /// per run, not per byte.
  private mutating func skipInvalidRun() {
    let n = buf.count
    while pos < n {
      let b = buf[pos]
      if b == 0x0A || b == 0x3B || b == 0x20 || b == 0x09 || b == 0x7B || b == 0x7D || classes[Int(b)] != 0
        || b == 0x22
        || b == 0x23
      {
        break
      }
      pos += 1
    }
  }

  /// The end of the UTF-8 sequence starting at `i`, or i+1 if it is not a valid sequence.
  func utf8End(_ i: Int) -> Int {
    let n = buf.count
    let b = buf[i]
    let len: Int
    if b < 0x80 {
      return i + 1
    } else if b & 0xE0 == 0xC0 && b >= 0xC2 {
      len = 2
    } else if b & 0xF0 == 0xE0 {
      len = 3
    } else if b & 0xF8 == 0xF0 && b <= 0xF4 {
      len = 4
    } else {
      return i + 1
    }
    if i + len > n { return i + 1 }
    for k in 1..<len where buf[i + k] & 0xC0 != 0x80 { return i + 1 }
    return i + len
  }

  func text(_ s: Int, _ e: Int) -> String {
    let end = min(e, s + 80)
    return String(decoding: UnsafeBufferPointer(rebasing: buf[s..<end]), as: UTF8.self)
      + (e > end ? "..." : "")
  }

  /// Tokenizes a whole buffer (tests and tools; the parser pulls tokens one at a time).
  package static func tokenize(_ bytes: [UInt8]) -> (tokens: [Token], diagnostics: [Diagnostic]) {
    bytes.withUnsafeBufferPointer { b in
      var lx = Lexer(b)
      var out: [Token] = []
      while true {
        let t = lx.next()
        out.append(t)
        if t.kind == .eof { break }
      }
      return (out, lx.diagnostics)
    }
  }
}
