import ConnRuntime
import ConnSyntax
import Foundation
import Testing

/// Runs `executable` with `arguments` in `directory`; its status and standard output and error.
private func run(_ executable: String, _ arguments: [String], in directory: String) throws -> ProcessResult {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: executable)
  p.arguments = arguments
  p.currentDirectoryURL = URL(fileURLWithPath: directory)
  let out = Pipe()
  let err = Pipe()
  p.standardOutput = out
  p.standardError = err
  try p.run()
  let o = out.fileHandleForReading.readDataToEndOfFile()
  let e = err.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  return ProcessResult(
    status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
    stderr: String(decoding: e, as: UTF8.self))
}

private func installed(_ candidates: [String]) -> String? {
  candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// The subcommands `conn --help` lists.
private func listedSubcommands() throws -> [String] {
  let help = try runConn(["--help"]).stdout
  guard let start = help.range(of: "SUBCOMMANDS:\n") else { return [] }
  let section = help[start.upperBound...].split(separator: "\n", omittingEmptySubsequences: false)
  return section.prefix { !$0.isEmpty }.compactMap { line in
    guard line.hasPrefix("  "), !line.hasPrefix("   ") else { return nil }
    return line.split(separator: " ").first.map(String.init)
  }
}

/// Shell completion and the manual page (issue 17, item 6).
@Suite struct CompletionManualTests {
  /// What bash completes for each command line (the last word being completed), with the
  /// script `conn --generate-completion-script bash` prints loaded, in a directory holding
  /// `b.conn`, `c.txt` and `scen/a.conn`.
  func bashCompletions(_ lines: [[String]]) throws -> [String] {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let script = try runConn(["--generate-completion-script", "bash"])
    #expect(script.status == 0)
    write(script.stdout, to: dir + "/conn.bash")
    try FileManager.default.createDirectory(atPath: dir + "/scen", withIntermediateDirectories: true)
    for f in ["b.conn", "c.txt", "scen/a.conn"] { write("", to: dir + "/" + f) }
    var program = """
      source ./conn.bash
      t() {
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        COMPREPLY=()
        _conn conn "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf '%s\\n' "$(printf '%s\\n' "${COMPREPLY[@]}" | LC_ALL=C sort | tr '\\n' ' ')"
      }

      """
    for words in lines { program += "t " + words.map { "'\($0)'" }.joined(separator: " ") + "\n" }
    write(program, to: dir + "/test.bash")
    let r = try run("/bin/bash", ["--norc", "--noprofile", "test.bash"], in: dir)
    #expect(r.status == 0, "\(r.stderr)")
    return r.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map {
      String($0.dropLast())  // the trailing space
    }
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/bin/bash"), "needs bash"))
  func bashCompletesPathsErrnosAndValues() throws {
    let got = try bashCompletions([
      ["conn", "run", ""],
      ["conn", "run", "sc"],
      ["conn", "run", "scen/"],
      ["conn", "check", "b"],
      ["conn", "explain", "ECONN"],
      ["conn", "run", "--backend", ""],
      ["conn", "run", "--format", "tap"],
      ["conn", "repl", "--backend", ""],
      ["conn", "fuzz", "--out", ""],
      ["conn", ""],
    ])
    #expect(
      got == [
        // .conn files and directories, not other files
        "b.conn scen", "scen", "scen/a.conn", "b.conn",
        "ECONNABORTED ECONNREFUSED ECONNRESET",
        "both sim system", "tap tap13 tap14", "sim system",
        "scen",
        // the subcommands --help lists (not the hidden `manual`), and help
        ((try listedSubcommands()) + ["help", "--help", "--version", "-h"]).sorted().joined(separator: " "),
      ])
  }

  /// The script holds every errno name (conn explain) whatever the shell.
  @Test func everyCompletionScriptListsTheErrnoNames() throws {
    for shell in ["bash", "zsh", "fish"] {
      let script = try runConn(["--generate-completion-script", shell]).stdout
      for e in Errno.allCases { #expect(script.contains(e.name), "\(shell): \(e.name)") }
      #expect(script.contains("conn"), "\(shell)")
    }
  }

  @Test func manualPageNamesEverySubcommand() throws {
    let page = try runConn(["manual"])
    #expect(page.status == 0)
    #expect(page.stdout.hasPrefix(".TH CONN 1 "))
    let names = try listedSubcommands()
    #expect(Set(["run", "check", "explain", "repl", "fuzz", "clean"]).isSubset(of: names), "\(names)")
    for name in names {
      #expect(page.stdout.contains(".SS \"conn \(name)\"\n"), "\(name)")
      // Each command's options, as its --help shows them.
      let help = try runConn([name, "--help"]).stdout
      let usage = try #require(help.split(separator: "\n").first { $0.hasPrefix("USAGE:") })
      #expect(page.stdout.contains(usage.replacingOccurrences(of: "-", with: "\\-")), "\(name)")
    }
    // The hidden command is not in the page, nor in `conn --help`.
    #expect(!page.stdout.contains("conn manual\"") && !names.contains("manual"))
  }

  @Test(
    .enabled(
      if: installed(["/usr/bin/groff", "/usr/bin/man"]) != nil, "needs groff or man to render the page"))
  func manualPageRendersCleanly() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write(try runConn(["manual"]).stdout, to: dir + "/conn.1")
    let r =
      FileManager.default.isExecutableFile(atPath: "/usr/bin/groff")
      ? try run("/usr/bin/groff", ["-man", "-Tutf8", "-ww", "-z", "conn.1"], in: dir)
      : try run("/usr/bin/man", ["-l", "conn.1"], in: dir)
    #expect(r.status == 0)
    #expect(r.stderr.isEmpty, "\(r.stderr)")
    let text = try run("/usr/bin/env", ["MANWIDTH=80", "man", "-l", "-P", "cat", "conn.1"], in: dir)
    if text.status == 0 {
      let plain = text.stdout.replacingOccurrences(of: ".\u{8}", with: "", options: .regularExpression)
      #expect(plain.contains("conn run"))
      #expect(
        plain.contains("generate") && plain.contains("completion") && plain.contains("SHELL COMPLETION"))
    }
  }
}
