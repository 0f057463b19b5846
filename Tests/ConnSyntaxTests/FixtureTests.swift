// Every Fixtures/invalid/NAME.conn has a sibling NAME.expected listing its diagnostics, one per
// line as `ID LINE:COL`, in source order. Fixtures/valid/*.conn must parse with no diagnostics.

import Foundation
import Testing

@testable import ConnSyntax

private func fixtureURLs(_ folder: String) throws -> [URL] {
  let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
  let dir = root.appendingPathComponent(folder)
  return try FileManager.default.contentsOfDirectory(at: dir, includingPropertiesForKeys: nil)
    .filter { $0.pathExtension == "conn" }
    .sorted { $0.lastPathComponent < $1.lastPathComponent }
}

/// `ID LINE:COL` lines, sorted by position then id (blank lines and `#` comments ignored).
private func normalized(_ lines: [String]) -> [String] {
  func key(_ s: String) -> (Int, Int, String) {
    let parts = s.split(separator: " ")
    let pos = parts.count > 1 ? parts[1].split(separator: ":").compactMap { Int($0) } : []
    return (pos.first ?? 0, pos.count > 1 ? pos[1] : 0, String(parts.first ?? ""))
  }
  return lines.map { $0.trimmingCharacters(in: .whitespaces) }
    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
    .sorted { key($0) < key($1) }
}

@Suite struct FixtureTests {
  @Test func invalidFixtures() throws {
    let urls = try fixtureURLs("invalid")
    #expect(urls.count >= 20)
    var seenIDs = Set<String>()
    for url in urls {
      let name = url.lastPathComponent
      let bytes = try [UInt8](Data(contentsOf: url))
      let script = Parser.parse(SourceFile(name: name, bytes: bytes))
      let expectedURL = url.deletingPathExtension().appendingPathExtension("expected")
      guard let expectedText = try? String(contentsOf: expectedURL, encoding: .utf8) else {
        Issue.record("\(name) has no .expected file")
        continue
      }
      let expected = normalized(expectedText.components(separatedBy: "\n"))
      let actual = normalized(summary(script))
      #expect(!expected.isEmpty, "\(name): an invalid fixture must expect at least one diagnostic")
      #expect(actual == expected, "\(name)")
      for d in script.diagnostics {
        #expect(
          Int(d.range.end) <= bytes.count && d.range.start <= d.range.end, "\(name): \(d.id) range \(d.range)"
        )
        // Rendering never fails and names the file.
        #expect(DiagnosticRenderer(color: false).render(d, in: script.source).hasPrefix(name + ":"))
      }
      seenIDs.formUnion(script.diagnostics.map(\.id))
    }
    // The fixtures exercise the main families of diagnostics.
    let wanted: Set<String> = [
      "lex.invalid-character", "lex.invalid-utf8", "lex.unterminated-string", "lex.invalid-escape",
      "lex.malformed",
      "lex.unterminated-bracket", "lex.bare-ipv6", "lex.empty-abstract", "parse.expected",
      "parse.unknown-statement",
      "parse.unclosed-block", "parse.stray-brace", "parse.too-deep", "parse.invalid-value",
      "check.out-of-range",
      "check.malformed-address", "check.undeclared-socket", "check.unknown-errno", "check.unknown-option",
      "check.expect-without-statement", "check.expectation-mismatch", "check.duplicate-expectation",
      "header.unknown-need",
    ]
    #expect(
      wanted.subtracting(seenIDs).isEmpty, "not covered by fixtures: \(wanted.subtracting(seenIDs).sorted())")
  }

  @Test func everyExpectedFileHasAScript() throws {
    let root = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
    let dir = root.appendingPathComponent("invalid")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path)
    for f in files where f.hasSuffix(".expected") {
      let conn = String(f.dropLast(".expected".count)) + ".conn"
      #expect(files.contains(conn), "\(f) has no script")
    }
  }

  @Test func validFixtures() throws {
    let urls = try fixtureURLs("valid")
    #expect(urls.count >= 3)
    for url in urls {
      let bytes = try [UInt8](Data(contentsOf: url))
      let script = Parser.parse(SourceFile(name: url.lastPathComponent, bytes: bytes))
      #expect(summary(script) == [], "\(url.lastPathComponent)")
      #expect(!script.statements.isEmpty, "\(url.lastPathComponent)")
    }
  }
}
