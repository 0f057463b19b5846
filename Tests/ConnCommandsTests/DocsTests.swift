import ConnHost
import ConnCommands
import ConnRuntime
import ConnSyntax
import ConnSystem
import Testing

@Suite struct DocsTests {
  /// Each ```conn block of docs/LANGUAGE.md, with the line it starts on.
  static let languageExamples = examples(in: "docs/LANGUAGE.md")
  /// Each ```conn block of the README.
  static let readmeExamples = examples(in: "README.md")

  static func examples(in file: String) -> [(line: Int, text: String)] {
    guard let bytes = try? Host.readFile(packageRoot + "/" + file) else { return [] }
    let lines = String(decoding: bytes, as: UTF8.self).split(
      separator: "\n", omittingEmptySubsequences: false)
    var out: [(Int, String)] = []
    var current: [Substring]?
    var start = 0
    for (i, line) in lines.enumerated() {
      if current == nil, line.trimmingPrefixSpaces() == "```conn" {
        current = []
        start = i + 1
      } else if current != nil, line.trimmingPrefixSpaces() == "```" {
        out.append((start, current!.joined(separator: "\n")))
        current = nil
      } else if current != nil {
        current!.append(line)
      }
    }
    return out
  }

  @Test func languageReferenceHasExamples() {
    #expect(Self.languageExamples.count >= 20)
    #expect(Self.readmeExamples.count >= 1)
  }

  @Test func everyLanguageExampleChecksClean() {
    for (line, text) in Self.languageExamples {
      let script = Parser.parse(SourceFile(name: "LANGUAGE.md:\(line)", text: text))
      let rendered = script.diagnostics.map { DiagnosticRenderer(color: false).render($0, in: script.source) }
        .joined()
      #expect(script.diagnostics.isEmpty, "docs/LANGUAGE.md example at line \(line):\n\(rendered)")
    }
  }

  @Test func designCardLineIsValidExactlyAsWritten() {
    let card = "sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS"
    #expect(Parser.parse(SourceFile(name: "card", text: card)).diagnostics.isEmpty)
    #expect(Self.languageExamples.contains { $0.text.contains(card) })
  }

  @Test func explainCoversEveryReferenceErrno() {
    for e: Errno in [
      .EACCES, .EPERM, .EADDRINUSE, .EAFNOSUPPORT, .EAGAIN, .EALREADY, .EBADF, .ECONNREFUSED, .EFAULT,
      .EINPROGRESS,
      .EINTR, .EISCONN, .ENETUNREACH, .ENOTSOCK, .ETIMEDOUT,
    ] {
      let text = explanation(e)
      #expect(text.hasPrefix("\(e.name) ("))
      #expect(text.contains("From connect(2):"), "\(e.name)")
    }
  }
}

extension Substring {
  func trimmingPrefixSpaces() -> Substring { drop { $0 == " " } }
}
