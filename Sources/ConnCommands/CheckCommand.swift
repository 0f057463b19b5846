import ConnHost
import ArgumentParser
import ConnSyntax
import ConnSystem

/// `conn check`: parse and check files without running anything.
package struct CheckCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Check scenario files for errors without running them.",
    usage: "conn check [<options>] <paths> ...",
    discussion: """
      Reports every syntax error, undeclared socket, unknown errno or option, misplaced \
      'expect' and out-of-range value, with file, line and column, on standard error. \
      Directories are searched for *.conn files. '-' reads standard input.

      --format json prints one JSON document on standard output instead, for editors and \
      other tools: {"tool", "version", "files": [{"file", "errors", "warnings"}], \
      "diagnostics": [{"file", "line", "column", "end_line", "end_column", "severity", "code", \
      "message", "hint"}]}. Lines and columns count from 1, columns in bytes; end_column is \
      just past the range. line and column are null for a file that could not be read, hint \
      is null when there is none. With '-', --stdin-name names the text (an editor's file).

      Exit codes: 0 every file is clean, 1 at least one file has errors (or a path does not \
      exist), 2 bad usage or no file found.
      """)

  @Argument(help: "Scenario files or directories.", completion: .file(extensions: ["conn"]))
  package var paths: [String] = []

  @Flag(name: .shortAndLong, help: "Print nothing for clean files (errors only).")
  package var quiet = false

  @Option(
    help: "Output format: text (for people, on standard error) or json (for editors, on standard output).")
  package var format: CheckFormat = .text

  @Option(help: ArgumentHelp("The file name to report for standard input ('-').", valueName: "name"))
  package var stdinName: String?

  package init() {}

  package func execute(_ console: Console) throws {
    if paths.isEmpty { throw UsageError("give at least one file or directory to check", command: Self.self) }
    if format == .json { return try executeJSON(console) }
    let (files, missing) = expandPaths(paths)
    let color = console.errorColor
    var failed = try reportMissing(missing, files: files, paths: paths, console: console)
    for f in files {
      let loaded = LoadedScenario.load(f, name: f == "-" ? stdinName : nil)
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

/// `conn check --format`.
package enum CheckFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
  case text, json
}

extension CheckCommand {
  /// `--format json`: every file's diagnostics in one document on standard output.
  func executeJSON(_ console: Console) throws {
    let (files, missing) = expandPaths(paths)
    var fileEntries: [String] = []
    var entries: [String] = []
    var failed = 0
    func opt(_ s: String?) -> String { s.map(jsonString) ?? "null" }
    for m in missing {
      fileEntries.append("{\"file\": \(jsonString(m)), \"errors\": 1, \"warnings\": 0}")
      entries.append(
        "{\"file\": \(jsonString(m)), \"line\": null, \"column\": null, \"end_line\": null, \"end_column\": null, "
          + "\"severity\": \"error\", \"code\": \"file.missing\", \"message\": \"no such file or directory\", \"hint\": null}"
      )
      failed += 1
    }
    for f in files {
      let loaded = LoadedScenario.load(f, name: f == "-" ? stdinName : nil)
      let source = loaded.script.source
      let diagnostics = loaded.script.diagnostics
      let errors = diagnostics.filter { $0.severity == .error }.count
      let warnings = diagnostics.filter { $0.severity == .warning }.count
      if errors > 0 { failed += 1 }
      fileEntries.append(
        "{\"file\": \(jsonString(source.name)), \"errors\": \(errors), \"warnings\": \(warnings)}")
      for d in diagnostics {
        var position = "\"line\": null, \"column\": null, \"end_line\": null, \"end_column\": null"
        if d.id != "file.unreadable" {
          let (line, column) = source.location(of: d.range.start)
          let (endLine, endColumn) = source.location(of: max(d.range.end, d.range.start))
          position =
            "\"line\": \(line), \"column\": \(column), \"end_line\": \(endLine), \"end_column\": \(endColumn)"
        }
        entries.append(
          "{\"file\": \(jsonString(source.name)), \(position), \"severity\": \"\(d.severity.rawValue)\", "
            + "\"code\": \(jsonString(d.id)), \"message\": \(jsonString(d.message)), \"hint\": \(opt(d.hint))}"
        )
      }
    }
    func list(_ items: [String]) -> String {
      items.isEmpty ? "[]" : "[\n    " + items.joined(separator: ",\n    ") + "\n  ]"
    }
    console.out(
      "{\n  \"tool\": \"conn\",\n  \"version\": \(jsonString(connVersion)),\n  \"files\": \(list(fileEntries)),\n"
        + "  \"diagnostics\": \(list(entries))\n}\n")
    if files.isEmpty {
      if missing.isEmpty { console.err("error: no .conn files found in \(paths.joined(separator: " "))\n") }
      throw ExitCode(2)
    }
    if failed > 0 { throw ExitCode(1) }
  }
}
