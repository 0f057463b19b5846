import Testing

@testable import ConnSyntax

/// Mistakes people make on their first scenarios (issue 17, item 8): each is reported once, at
/// the right line and column, with a message that says what to write instead.
@Suite struct HintTests {
  /// The one diagnostic of `text`, as the first line of its rendering ("file:line:col: error:
  /// message") and its hint.
  func only(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> (String, String?)? {
    let script = parse(text)
    #expect(script.diagnostics.count == 1, "\(summary(script))", sourceLocation: sourceLocation)
    guard let d = script.diagnostics.first else { return nil }
    let rendered = DiagnosticRenderer(color: false).render(d, in: script.source)
    return (String(rendered.prefix { $0 != "\n" }), d.hint)
  }

  @Test func commaBetweenAlternativesSaysOr() {
    let d = only("sock s = stream inet\nconnect s 127.0.0.1:1 nonblock\nexpect EINPROGRESS, ECONNREFUSED\n")
    #expect(d?.0 == "test.conn:3:19: error: alternatives after 'expect' are joined with 'or', not ','")
    #expect(d?.1 == "write: expect EINPROGRESS or ECONNREFUSED")
    let three = only(
      "sock s = stream inet\nconnect s 127.0.0.1:1\nexpect EINPROGRESS,EALREADY , ECONNREFUSED within 2s\n")
    #expect(three?.0 == "test.conn:3:19: error: alternatives after 'expect' are joined with 'or', not ','")
    #expect(three?.1 == "write: expect EINPROGRESS or EALREADY or ECONNREFUSED within 2s")
  }

  @Test func pollDurationWithoutTimeout() {
    let d = only("sock s = stream inet\npoll s writable 1s\n")
    #expect(d?.0 == "test.conn:2:17: error: a poll's time limit is written after 'timeout'")
    #expect(d?.1 == "write 'timeout 1s'")
    #expect(parse("sock s = stream inet\npoll s writable timeout 1s\n").diagnostics.isEmpty)
  }

  @Test func lowercaseErrnoIsNotAnUndeclaredSocket() {
    let d = only("sock s = stream inet\nconnect s 127.0.0.1:1\nexpect econnrefused\n")
    #expect(d?.0 == "test.conn:3:8: error: errno names are written in capitals: ECONNREFUSED")
    let mixed = only("sock s = stream inet\nconnect s 127.0.0.1:1 nonblock\nexpect EINPROGRESS or Ealready\n")
    #expect(mixed?.0 == "test.conn:3:23: error: errno names are written in capitals: EALREADY")
    // A socket that is declared under such a name is still that socket.
    #expect(
      parse("sock econnrefused = stream inet\nlocal econnrefused\nexpect econnrefused\n").diagnostics.isEmpty)
  }

  @Test func hostNamesAreNotResolved() {
    let d = only("sock s = stream inet\nconnect s localhost:80\n")
    #expect(
      d?.0
        == "test.conn:2:11: error: 'localhost' is a host name; conn does not resolve names (no DNS, no /etc/hosts)"
    )
    #expect(d?.1 == "write the address: 127.0.0.1:80 or [::1]:80")
    let dotted = only("sock s = dgram inet\nbind s 127.0.0.1:0\nconnect s example.com:443\n")
    #expect(dotted?.0.hasPrefix("test.conn:3:11: error: 'example.com' is a host name;") == true)
    let bare = only("sock s = stream inet\nconnect s localhost\n")
    #expect(bare?.0 == "test.conn:2:11: error: socket 'localhost' is not declared")
    #expect(bare?.1 == "conn does not resolve names: write 127.0.0.1:PORT or [::1]:PORT")
  }
}
