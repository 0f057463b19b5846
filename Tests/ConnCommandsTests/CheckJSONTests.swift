import Foundation
import Testing

/// `conn check --format json`: the diagnostics an editor shows as you type.
@Suite struct CheckJSONTests {
  static func json(_ text: String) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
    return try #require(object as? [String: Any], "not a JSON object: \(text)")
  }

  @Test func diagnosticsWithPositionsCodesAndHints() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write("sock s = stream inet\nexpect EINPROGRESS, ECONNREFUSED\n", to: dir + "/bad.conn")
    write("sock s = stream inet\nclose s\n", to: dir + "/good.conn")
    let r = runInProcess(["check", "--format", "json", dir + "/bad.conn", dir + "/good.conn"])
    #expect(r.status == 1)
    #expect(r.stderr.isEmpty, "JSON mode writes nothing for people: \(r.stderr)")
    let doc = try Self.json(r.stdout)
    #expect(doc["tool"] as? String == "conn")
    let files = try #require(doc["files"] as? [[String: Any]])
    #expect(files.count == 2)
    #expect(files.first { $0["file"] as? String == dir + "/good.conn" }?["errors"] as? Int == 0)
    let diagnostics = try #require(doc["diagnostics"] as? [[String: Any]])
    #expect(diagnostics.count == 1)
    let d = try #require(diagnostics.first)
    #expect(d["file"] as? String == dir + "/bad.conn")
    #expect(d["line"] as? Int == 2)
    #expect(d["column"] as? Int == 19)
    #expect(d["end_line"] as? Int == 2)
    #expect(d["end_column"] as? Int == 20)
    #expect(d["severity"] as? String == "error")
    #expect(d["code"] as? String == "parse.comma-in-expect")
    #expect((d["message"] as? String)?.contains("'or'") == true)
    #expect((d["hint"] as? String)?.contains("expect EINPROGRESS or ECONNREFUSED") == true)
  }

  @Test func cleanFileIsAnEmptyListAndExitZero() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write("sock s = stream inet\n", to: dir + "/good.conn")
    let r = runInProcess(["check", "--format", "json", dir + "/good.conn"])
    #expect(r.status == 0)
    let doc = try Self.json(r.stdout)
    #expect((doc["diagnostics"] as? [Any])?.isEmpty == true)
  }

  @Test func standardInputUnderTheEditorsFileName() throws {
    let r = try runConn(
      ["check", "--format", "json", "--stdin-name", "scratch.conn", "-"],
      stdin: "sock s = stream inet\nconnect s localhost:80\n")
    #expect(r.status == 1)
    let doc = try Self.json(r.stdout)
    let d = try #require((doc["diagnostics"] as? [[String: Any]])?.first)
    #expect(d["file"] as? String == "scratch.conn")
    #expect(d["line"] as? Int == 2)
    #expect(d["column"] as? Int == 11)
    #expect(d["code"] as? String == "lex.host-name")
    #expect(d["hint"] is String)
  }

  @Test func missingFileHasNoPosition() throws {
    let r = runInProcess(["check", "--format", "json", "/nonexistent/x.conn"])
    #expect(r.status == 2)
    let doc = try Self.json(r.stdout)
    let d = try #require((doc["diagnostics"] as? [[String: Any]])?.first)
    #expect(d["code"] as? String == "file.missing")
    #expect(d["line"] is NSNull)
  }
}
