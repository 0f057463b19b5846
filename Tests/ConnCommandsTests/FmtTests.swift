import ConnHost
import ConnSyntax
import Foundation
import Testing

/// `conn fmt` (ScenarioFormatter): the corpus formats, twice is once, the statements and the
/// comments survive, and the command's modes and exit codes.
@Suite struct FmtTests {
  static func source(_ path: String) throws -> SourceFile {
    SourceFile(name: path, bytes: try Host.readFile(packageRoot + "/" + path))
  }

  static func format(_ source: SourceFile) -> String? {
    if case .success(let text) = ScenarioFormatter.format(source) { return text }
    return nil
  }

  /// The comments of a text, in order, without trailing blanks (found between the lexer's
  /// tokens, so a '#' inside a string is not one).
  static func comments(_ bytes: [UInt8]) -> [String] {
    var out: [String] = []
    var previousEnd = 0
    for t in Lexer.tokenize(bytes).tokens {
      let gap = bytes[previousEnd..<Int(t.start)]
      if let hash = gap.firstIndex(of: UInt8(ascii: "#")) {
        out.append(
          String(decoding: bytes[hash..<Int(t.start)], as: UTF8.self).trimmingCharacters(in: .whitespaces))
      }
      previousEnd = Int(t.end)
    }
    return out
  }

  @Test(arguments: corpusFiles)
  func corpusFileFormatsIdempotentlyWithTheSameStatementsAndComments(_ path: String) throws {
    let original = try Self.source(path)
    let script = Parser.parse(original)
    let once = try #require(Self.format(original), "\(path) did not format")
    let formatted = SourceFile(name: path, text: once)
    let twice = try #require(Self.format(formatted), "\(path): its formatted text did not format")
    #expect(once == twice, "\(path): formatting is not idempotent")
    let again = Parser.parse(formatted)
    #expect(!again.hasErrors)
    #expect(ScenarioFormatter.signature(again) == ScenarioFormatter.signature(script))
    #expect(ScenarioFormatter.signature(again).count > 0)
    #expect(Self.comments(Array(once.utf8)) == Self.comments(original.bytes), "\(path): comments changed")
    #expect(once.hasSuffix("\n") && !once.hasSuffix("\n\n"))
  }

  /// The corpus is kept in the canonical layout (`conn fmt --write scripts/scenarios` fixes it).
  @Test func corpusIsFormatted() {
    let r = runInProcess(["fmt", "--check", packageRoot + "/scripts/scenarios"])
    #expect(r.status == 0, "not in conn fmt's layout (run conn fmt --write scripts/scenarios):\n\(r.stdout)")
  }

  @Test func loneSemicolonsAndCarriageReturnsLeaveNoTrace() throws {
    let text = try #require(
      Self.format(SourceFile(name: "x.conn", text: "sock s = stream inet;\r\n;;\r\nclose s ;\r\n")))
    #expect(text == "sock s = stream inet\nclose s\n")
  }

  /// The corpus file with its layout spoiled: blanks doubled and turned to tabs, indentation
  /// dropped, and every other pair of plain lines joined with `;` (lines with a comment or a
  /// string are left alone). Formatting it must give back the corpus file.
  static func spoiled(_ text: String) -> String {
    var out: [String] = []
    var joinNext = false
    var previousPlain = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let plain = !line.contains("#") && !line.contains("\"") && !line.allSatisfy { $0 == " " }
      var l = line.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: " ", with: " \t ")
      if !plain { l = String(line) }
      if plain && previousPlain && joinNext, let last = out.popLast() {
        let glue = last.hasSuffix("{") || l.hasPrefix("}") ? " " : " ; "
        out.append(last + glue + l)
        joinNext = false
      } else {
        out.append(l + (plain ? "  " : ""))
        joinNext = plain
      }
      previousPlain = plain
    }
    return out.joined(separator: "\n")
  }

  @Test(arguments: corpusFiles)
  func spoiledCorpusFileFormatsBack(_ path: String) throws {
    let original = try Self.source(path)
    let text = String(decoding: original.bytes, as: UTF8.self)
    let spoiled = Self.spoiled(text)
    #expect(spoiled != text)
    let formatted = try #require(
      Self.format(SourceFile(name: path, text: spoiled)), "\(path) spoiled: \(spoiled)")
    #expect(formatted == text, "\(path): spoiled and formatted:\n\(formatted)")
  }

  static let messy = """


    # needs: linux  \t
    sock l=stream inet;bind l 127.0.0.1:0   # bound
    listen l\t backlog 4
    repeat 2 { sock c = stream inet; connect c l


      expect ok }
    repeat 2 {   # outer
     repeat 3 {
    # inside
    sock x = dgram inet ; close x
    }

    }
    firewall self output tcp dport 9 reject with icmp   host-unreachable
    sock f = fd   -1 # "#" in a comment
    send f "a # b;{}"


    """

  static let tidy = """
    # needs: linux
    sock l = stream inet
    bind l 127.0.0.1:0               # bound
    listen l backlog 4
    repeat 2 {
      sock c = stream inet
      connect c l

      expect ok
    }
    repeat 2 {                       # outer
      repeat 3 {
        # inside
        sock x = dgram inet
        close x
      }
    }
    firewall self output tcp dport 9 reject with icmp host-unreachable
    sock f = fd -1                   # "#" in a comment
    send f "a # b;{}"

    """

  @Test func messyLayoutBecomesCanonical() throws {
    let text = try #require(Self.format(SourceFile(name: "messy.conn", text: Self.messy)))
    #expect(text == Self.tidy)
    #expect(Self.format(SourceFile(name: "tidy.conn", text: text)) == text)
  }

  @Test func checkWriteAndPrint() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write(Self.messy, to: dir + "/messy.conn")
    write(Self.tidy, to: dir + "/tidy.conn")

    let printed = runInProcess(["fmt", dir + "/messy.conn"])
    #expect(printed.status == 0)
    #expect(printed.stdout == Self.tidy)

    let checked = runInProcess(["fmt", "--check", dir])
    #expect(checked.status == 1)
    #expect(checked.stdout == dir + "/messy.conn\n", "only the unformatted file is listed")
    #expect(runInProcess(["fmt", "--check", dir + "/tidy.conn"]).status == 0)

    let wrote = runInProcess(["fmt", "--write", dir])
    #expect(wrote.status == 0)
    #expect(try String(contentsOfFile: dir + "/messy.conn", encoding: .utf8) == Self.tidy)
    #expect(runInProcess(["fmt", "--check", dir]).status == 0)

    #expect(runInProcess(["fmt", "--check", "--write", dir]).status == 2)
  }

  @Test func fileWithErrorsIsRefusedWithItsPosition() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let bad = "sock s = stream inet\nexpect EINPROGRESS, ECONNREFUSED\n"
    write(bad, to: dir + "/bad.conn")
    for mode in [[], ["--check"], ["--write"]] {
      let r = runInProcess(["fmt"] + mode + [dir + "/bad.conn"])
      #expect(r.status == 1)
      #expect(r.stdout.isEmpty)
      #expect(r.stderr.contains(dir + "/bad.conn:2:19: error:"), "\(r.stderr)")
      #expect(r.stderr.contains("not formatted"))
    }
    #expect(try String(contentsOfFile: dir + "/bad.conn", encoding: .utf8) == bad, "--write left it alone")
  }
}
