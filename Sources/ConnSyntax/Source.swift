// Source text is kept as UTF-8 bytes. Positions are byte offsets; line and column are computed
// only when a diagnostic is printed, by scanning for newlines once (LineTable).

/// A half-open byte range `[start, end)` in one source file.
package struct SourceRange: Hashable, Sendable {
  package var start: UInt32
  package var end: UInt32

  @inlinable package init(_ start: Int, _ end: Int) {
    self.start = UInt32(truncatingIfNeeded: start)
    self.end = UInt32(truncatingIfNeeded: end)
  }

  package static let none = SourceRange(0, 0)
  package var length: Int { Int(end) - Int(start) }
  package func union(_ other: SourceRange) -> SourceRange {
    SourceRange(Int(min(start, other.start)), Int(max(end, other.end)))
  }
}

/// One scenario's text and the name it is reported under (a path, `<stdin>`, `<repl>`).
package final class SourceFile: @unchecked Sendable {
  package let name: String
  package let bytes: [UInt8]
  private var lineStarts: [Int]?

  package init(name: String, bytes: [UInt8]) {
    self.name = name
    self.bytes = bytes
  }

  package convenience init(name: String, text: String) {
    self.init(name: name, bytes: Array(text.utf8))
  }

  /// The text of a range, decoded leniently (invalid UTF-8 becomes U+FFFD).
  package func text(_ range: SourceRange) -> String {
    let s = min(Int(range.start), bytes.count)
    let e = min(max(Int(range.end), s), bytes.count)
    return String(decoding: bytes[s..<e], as: UTF8.self)
  }

  /// 1-based line and column (column counts bytes, as compilers do) of a byte offset.
  package func location(of offset: UInt32) -> (line: Int, column: Int) {
    let starts = lineTable()
    let off = min(Int(offset), bytes.count)
    var lo = 0
    var hi = starts.count - 1
    while lo < hi {
      let mid = (lo + hi + 1) / 2
      if starts[mid] <= off { lo = mid } else { hi = mid - 1 }
    }
    return (lo + 1, off - starts[lo] + 1)
  }

  /// The byte range of the whole line holding `offset`, without its newline.
  package func lineRange(containing offset: UInt32) -> Range<Int> {
    let starts = lineTable()
    let (line, _) = location(of: offset)
    let start = starts[line - 1]
    var end = line < starts.count ? starts[line] - 1 : bytes.count
    if end > start, end - 1 < bytes.count, bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
    return start..<max(start, end)
  }

  private func lineTable() -> [Int] {
    if let t = lineStarts { return t }
    var t = [0]
    bytes.withUnsafeBufferPointer { buf in
      for i in 0..<buf.count where buf[i] == 0x0A { t.append(i + 1) }
    }
    lineStarts = t
    return t
  }
}
