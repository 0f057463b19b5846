// The header of a scenario: `# needs: root linux isolate ipv6 nft` lines among the comments before
// the first statement say what the scenario needs; the runner skips it, with the reason, where
// a need is not met.

enum Header {
  /// `# needs: root linux isolate ipv6` lines among the comments before the first statement.
  static func parse(_ source: SourceFile) -> (Requirements, [Diagnostic]) {
    var req = Requirements()
    var diags: [Diagnostic] = []
    let b = source.bytes
    var i = 0
    while i < b.count {
      var e = i
      while e < b.count && b[e] != 0x0A { e += 1 }
      var s = i
      while s < e && (b[s] == 0x20 || b[s] == 0x09 || b[s] == 0x0D) { s += 1 }
      if s < e && b[s] != 0x23 { break }  // first statement: header over
      if s < e {
        // Work on bytes so that ranges stay byte offsets even with invalid UTF-8; drop a CR (CRLF).
        let end = b[e - 1] == 0x0D ? e - 1 : e
        var k = s + 1
        while k < end && b[k] == 0x20 { k += 1 }
        if end - k >= 6 && b[k..<(k + 6)].elementsEqual("needs:".utf8) {
          for word in b[(k + 6)..<end].split(
            omittingEmptySubsequences: true, whereSeparator: { $0 == 0x20 || $0 == 0x09 })
          {
            let w = Substring(String(decoding: word, as: UTF8.self)).trimmingCharacters(in: ",")
            if w.isEmpty { continue }
            switch w {
            case "root": req.root = true
            case "linux": req.linux = true
            case "isolate": req.isolate = true
            case "ipv6": req.ipv6 = true
            case "nft": req.nft = true
            case "bpf": req.bpf = true
            case "landlock": req.landlock = true
            default:
              diags.append(.unknownNeed(w, at: SourceRange(word.startIndex, word.endIndex)))
            }
          }
        }
      }
      i = e + 1
    }
    return (req, diags)
  }
}

extension Substring {
  fileprivate func trimmingCharacters(in set: String) -> String {
    String(self.drop { set.contains($0) }.reversed().drop { set.contains($0) }.reversed())
  }
}
