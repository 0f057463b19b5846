import ArgumentParser
import ConnHost
import ConnSyntax

/// `conn fmt`: prints scenarios in the canonical layout, checks it, or rewrites files with it.
package struct FmtCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "fmt",
    abstract: "Print scenario files in one canonical layout.",
    usage: "conn fmt [--check | --write] <paths> ...",
    discussion: """
      The layout: one space between the words of a statement, one statement per line (a line \
      of statements separated by ';' is split), the body of 'repeat N {' indented by two \
      spaces, '}' on a line of its own, comments kept in place (trailing comments start at \
      column 34, or two spaces after longer code), trailing blanks removed, runs of blank lines \
      made one, and one final newline. Formatting a formatted file changes nothing.

      Without --check or --write, the formatted text of each file is printed on standard output. \
      A file with errors is not formatted: its errors are reported as 'conn check' reports \
      them (file:line:column) and the exit code is 1. Directories are searched for *.conn \
      files; '-' reads standard input.

      Exit codes: 0 done (with --check: every file is already formatted), 1 a file has errors \
      (with --check: or would change), 2 bad usage or no file found.
      """)

  @Argument(help: "Scenario files or directories.", completion: .file(extensions: ["conn"]))
  package var paths: [String] = []

  @Flag(
    help: "Change nothing: print the names of the files that are not formatted, and exit 1 if there are any.")
  package var check = false

  @Flag(help: "Rewrite the files that are not formatted, in place.")
  package var write = false

  package init() {}

  package func execute(_ console: Console) throws {
    if paths.isEmpty { throw UsageError("give at least one file or directory to format", command: Self.self) }
    if check && write { throw UsageError("--check and --write cannot be used together", command: Self.self) }
    let (files, missing) = expandPaths(paths)
    if write && files.contains("-") {
      throw UsageError("--write cannot rewrite standard input ('-')", command: Self.self)
    }
    var failed = try reportMissing(missing, files: files, paths: paths, console: console)
    var unformatted = 0
    for f in files {
      let loaded = LoadedScenario.load(f)
      let source = loaded.script.source
      if loaded.script.hasErrors {
        console.err(renderDiagnostics(loaded.script, color: console.errorColor))
        console.err("error: \(source.name): not formatted: the file has errors\n")
        failed += 1
        continue
      }
      switch ScenarioFormatter.format(source) {
      case .failure(.invalid(let script)):
        console.err(renderDiagnostics(script, color: console.errorColor))
        console.err("error: \(source.name): not formatted: the file has errors\n")
        failed += 1
      case .failure(.changedMeaning):
        console.err(
          "error: \(source.name): not formatted: the new layout would change the statements (a bug in conn fmt)\n"
        )
        failed += 1
      case .success(let text):
        let changed = Array(text.utf8) != source.bytes
        if check {
          if changed {
            console.out("\(source.name)\n")
            unformatted += 1
          }
        } else if write {
          if changed {
            do throws(HostError) {
              try Host.writeFile(f, text)
              console.err("formatted \(f)\n")
            } catch {
              console.err("error: \(error.description)\n")
              failed += 1
            }
          }
        } else {
          console.out(text)
        }
      }
    }
    if check && unformatted > 0 {
      console.err(
        "\(unformatted) of \(files.count) file\(files.count == 1 ? "" : "s") not formatted; run conn fmt --write\n"
      )
    }
    if failed > 0 || unformatted > 0 { throw ExitCode(1) }
  }
}
