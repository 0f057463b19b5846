import ConnHost
import Foundation
import Testing

@testable import ConnCommands

/// The REPL's own files and memory (issue 12, items 3 and 9).
@Suite struct ReplSafetyTests {
  @Test func saveWritesAsTheRealUserAfterUserNobody() throws {
    guard getuid() == 0 else { return }  // `user` needs root
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    // The directory is the tool's, mode 0700: nobody could not write there.
    chmod(dir, 0o700)
    let (output, _, _) = replSession([
      "sock s = stream inet", "user nobody", ":save \(dir)/s.conn", "user root",
    ])
    #expect(output.contains("saved"), "\(output)")
    let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/s.conn")
    #expect((attributes[.ownerAccountID] as? Int) == 0)
  }

  @Test func aLongSessionsRecordStaysBoundedAndSavesWhole() throws {
    var record = SessionRecord()
    record.memoryLimit = 10
    for i in 0..<1000 { record.statement("sock s\(i) = stream inet", expect: "expect ok", hasResult: true) }
    record.typedExpect("expect 3 or ok")
    #expect(record.entries.count <= 11)
    #expect(record.statementCount == 1000)
    let text = record.render(backend: "system")
    let lines = text.split(separator: "\n")
    #expect(lines.filter { $0.hasPrefix("sock s") }.count == 1000)
    #expect(lines.last == "expect 3 or ok")
    let i10 = try #require(lines.firstIndex(of: "sock s10 = stream inet"))
    #expect(lines[i10 - 2] == "sock s9 = stream inet")
    let dir = temporaryDirectory()
    let path = dir + "/session.conn"
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try record.write(to: path, backend: "system")
    #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
  }
}
