import Foundation
import Testing

/// The editor support in editors/ (TextMate grammar, Vim syntax), checked against the corpus by
/// scripts/check-editors.sh: every scenario highlights without an error token.
@Suite struct EditorsTests {
  /// An executable found on PATH, as the script will find it.
  static func onPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)")
    {
      return "\(dir)/\(name)"
    }
    return nil
  }

  static let python3Available: Bool = {
    guard let python = onPath("python3") else { return false }
    // A pyenv shim exists even when no python3 is installed behind it: ask it to run.
    return (try? run([python, "-c", "pass"]).status) == 0
  }()

  /// Runs a program with the package root as working directory; output goes to files.
  static func run(_ args: [String]) throws -> ProcessResult {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try? out.close()
    try? err.close()
    return ProcessResult(
      status: p.terminationStatus,
      stdout: String(decoding: FileManager.default.contents(atPath: dir + "/out") ?? Data(), as: UTF8.self),
      stderr: String(decoding: FileManager.default.contents(atPath: dir + "/err") ?? Data(), as: UTF8.self))
  }

  @Test(.enabled(if: python3Available, "python3 is not installed: the grammar check needs it"))
  func everyCorpusFileHighlightsWithoutErrorTokens() throws {
    let r = try Self.run(["/bin/bash", packageRoot + "/scripts/check-editors.sh"])
    #expect(r.status == 0, "check-editors.sh failed:\n\(r.stdout)\(r.stderr)")
    #expect(r.stdout.contains("0 error tokens"), "\(r.stdout)")
  }

  @Test(.enabled(if: python3Available, "python3 is not installed: the grammar check needs it"))
  func aBrokenLineFailsTheCheck() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write("sock s = stream inet\nexpect EINPROGRESS, ECONNREFUSED\n", to: dir + "/broken.conn")
    let r = try Self.run(["/bin/bash", packageRoot + "/scripts/check-editors.sh", dir + "/broken.conn"])
    #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
    #expect(r.stderr.contains("broken.conn:2:19: invalid token ','"), "\(r.stderr)")
  }

  static let vimAvailable = onPath("vim") != nil

  /// `conn check`'s text output for a file with two errors, as an editor reads it.
  static func checkOutput(in dir: String) -> String {
    write("sock s = stream inet\nexpect ECONREFUSED\nclose t\n", to: dir + "/bad.conn")
    return runInProcess(["check", dir + "/bad.conn"]).stderr
  }

  @Test(.enabled(if: vimAvailable, "vim is not installed"))
  func vimCompilerPutsConnCheckDiagnosticsInTheQuickfixList() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write(Self.checkOutput(in: dir), to: dir + "/check.txt")
    write(
      """
      set rtp^=\(packageRoot)/editors/vim
      compiler conn
      cgetfile \(dir)/check.txt
      let out = []
      for e in getqflist()
        call add(out, printf('%d:%d:%s:%s', e.lnum, e.col, e.type, substitute(e.text, '\\n', ' / ', 'g')))
      endfor
      call writefile(out, '\(dir)/qf.txt')
      qall!

      """, to: dir + "/qf.vim")
    let r = try Self.run(["/bin/sh", "-c", "vim -Es -u NONE -N -i NONE -S '\(dir)/qf.vim' </dev/null"])
    let qf = (try? String(contentsOfFile: dir + "/qf.txt", encoding: .utf8)) ?? ""
    let entries = qf.split(separator: "\n").map(String.init)
    #expect(entries.count == 2, "vim: \(r.stderr)\nquickfix: \(qf)")
    #expect(entries.first?.hasPrefix("2:8:E:unknown errno name 'ECONREFUSED'") == true, "\(qf)")
    #expect(entries.first?.contains("hint: did you mean 'ECONNREFUSED'?") == true, "\(qf)")
    #expect(entries.last?.hasPrefix("3:7:E:socket 't' is not declared") == true, "\(qf)")
  }

  @Test func vsCodeProblemMatcherReadsConnCheckOutput() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let output = Self.checkOutput(in: dir)
    let data = try #require(
      FileManager.default.contents(atPath: packageRoot + "/editors/vscode/package.json"))
    let package = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let contributes = try #require(package["contributes"] as? [String: Any])
    let matcher = try #require((contributes["problemMatchers"] as? [[String: Any]])?.first)
    let pattern = try #require(matcher["pattern"] as? [String: Any])
    let regex = try NSRegularExpression(pattern: try #require(pattern["regexp"] as? String))
    var found: [String] = []
    for line in output.split(separator: "\n").map(String.init) {
      let range = NSRange(line.startIndex..., in: line)
      guard let m = regex.firstMatch(in: line, range: range) else { continue }
      func group(_ key: String) -> String {
        guard let i = pattern[key] as? Int, let r = Range(m.range(at: i), in: line) else { return "?" }
        return String(line[r])
      }
      found.append(
        "\(group("file")):\(group("line")):\(group("column")):\(group("severity")):\(group("message"))")
    }
    #expect(
      found == [
        "\(dir)/bad.conn:2:8:error:unknown errno name 'ECONREFUSED'",
        "\(dir)/bad.conn:3:7:error:socket 't' is not declared",
      ], "\(output)")
  }
}
