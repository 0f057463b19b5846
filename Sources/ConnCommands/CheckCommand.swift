import ConnHost
import ArgumentParser
import ConnSyntax
import ConnSystem

/// `conn check`: parse and check files without running anything.
package struct CheckCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Check scenario files for errors without running them.",
    discussion: """
      Reports every syntax error, undeclared socket, unknown errno or option, misplaced \
      'expect' and out-of-range value, with file, line and column, on standard error. \
      Directories are searched for *.conn files. '-' reads standard input.

      Exit codes: 0 every file is clean, 1 at least one file has errors (or a path does not \
      exist), 2 bad usage or no file found.
      """)

  @Argument(help: "Scenario files or directories.", completion: .file(extensions: ["conn"]))
  package var paths: [String] = []

  @Flag(name: .shortAndLong, help: "Print nothing for clean files (errors only).")
  package var quiet = false

  package init() {}

  package func execute(_ console: Console) throws {
    if paths.isEmpty { throw UsageError("give at least one file or directory to check", command: Self.self) }
    let (files, missing) = expandPaths(paths)
    let color = console.errorColor
    var failed = 0
    for m in missing {
      console.err("error: \(m): no such file or directory\n")
      failed += 1
    }
    // Nothing to check is code 2; a path that does not exist says so itself.
    if files.isEmpty {
      if missing.isEmpty { console.err("error: no .conn files found in \(paths.joined(separator: " "))\n") }
      throw ExitCode(2)
    }
    for f in files {
      let loaded = LoadedScenario.load(f)
      if loaded.script.diagnostics.isEmpty {
        if !quiet { console.out("\(f): ok\n") }
      } else {
        if loaded.script.hasErrors { failed += 1 }
        console.err(renderDiagnostics(loaded.script, color: color))
      }
    }
    if failed > 0 { throw ExitCode(1) }
  }
}
