import Testing

@testable import ConnSyntax

@Suite struct RenderTests {
  @Test func plainRendering() {
    let file = SourceFile(
      name: "demo.conn", text: "sock s = stream inet\nconnect s 127.0.0.1:80\nexpect ECONREFUSED\n")
    let script = Parser.parse(file)
    #expect(script.diagnostics.count == 1)
    guard let d = script.diagnostics.first else { return }
    let text = DiagnosticRenderer(color: false).render(d, in: file)
    let expected = """
      demo.conn:3:8: error: unknown errno name 'ECONREFUSED'
        expect ECONREFUSED
               ^~~~~~~~~~~
        hint: did you mean 'ECONNREFUSED'?

      """
    #expect(text == expected)
  }

  @Test func renderingWithoutHintAndWithTabs() {
    let file = SourceFile(name: "t.conn", text: "sock s = stream inet\n\tconnect s 999.1.1.1:80\n")
    let script = Parser.parse(file)
    guard let d = script.diagnostics.first else {
      Issue.record("no diagnostic")
      return
    }
    let text = DiagnosticRenderer(color: false).render(d, in: file)
    let expected = """
      t.conn:2:12: error: '999.1.1.1' is not an IPv4 address (four numbers 0-255)
         connect s 999.1.1.1:80
                   ^~~~~~~~~

      """
    #expect(text == expected)
  }

  @Test func renderingAtEndOfFile() {
    let file = SourceFile(name: "e.conn", text: "repeat 2 {\n  sleep 1s")
    let script = Parser.parse(file)
    guard let d = script.diagnostics.first else {
      Issue.record("no diagnostic")
      return
    }
    let text = DiagnosticRenderer(color: false).render(d, in: file)
    #expect(
      text == """
        e.conn:2:11: error: '}' expected (to close 'repeat' at line 1)
            sleep 1s
                    ^

        """)
  }

  @Test func colorWrapsPiecesInEscapes() {
    let file = SourceFile(name: "c.conn", text: "bogus\n")
    let d = Parser.parse(file).diagnostics[0]
    let text = DiagnosticRenderer(color: true).render(d, in: file)
    #expect(text.contains("\u{1B}[1;31merror:\u{1B}[0m"))
    #expect(text.hasPrefix("\u{1B}[1mc.conn:1:1:\u{1B}[0m"))
  }

  @Test func longLinesAreWindowed() {
    let line = String(repeating: "sleep 1s; ", count: 100_000) + "bogus"
    let file = SourceFile(name: "long.conn", text: line)
    let script = Parser.parse(file)
    #expect(summary(script) == ["parse.unknown-statement 1:1000001"])
    guard let d = script.diagnostics.first else { return }
    let text = DiagnosticRenderer(color: false).render(d, in: file)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    #expect(lines.count == 4)
    #expect(lines[1].hasPrefix("  ...") && lines[1].hasSuffix("bogus"))
    #expect(lines[1].utf8.count < 200)
    // The caret sits under 'bogus'.
    let caret = lines[2].firstIndex(of: "^").map { lines[2].distance(from: lines[2].startIndex, to: $0) }
    let word = lines[1].range(of: "bogus").map {
      lines[1].distance(from: lines[1].startIndex, to: $0.lowerBound)
    }
    #expect(caret != nil && caret == word)
  }
}
