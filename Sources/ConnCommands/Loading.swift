import ArgumentParser
import ConnHost
import ConnRuntime
import ConnSyntax

// Reading scenario files: a file that cannot be read becomes a script with one diagnostic, so
// that every problem is reported the same way; a file that is not text (it holds NUL bytes, as
// a binary does) gets one "not a text file" error instead of a hundred about control bytes.

/// A scenario file read and parsed, or the reason it could not be read.
struct LoadedScenario {
  var path: String
  var script: Script

  /// Reads and parses a file, with the path limits of the backend(s) it will run on.
  /// `name` is the name it is reported under (default: the path, `<stdin>` for `-`).
  static func load(_ path: String, pathLimits: PathLimits = .kernel, name: String? = nil) -> LoadedScenario {
    let name = name ?? (path == "-" ? "<stdin>" : path)
    do throws(HostError) {
      let bytes = try Host.readFile(path)
      if let nul = bytes.prefix(65536).firstIndex(of: 0) {
        let source = SourceFile(name: name, bytes: bytes)
        return LoadedScenario(path: path, script: unreadable(source, .notText(at: SourceRange(nul, nul + 1))))
      }
      let context = ParseContext(pathLimits: pathLimits)
      return LoadedScenario(
        path: path, script: Parser.parse(SourceFile(name: name, bytes: bytes), context: context))
    } catch {
      let source = SourceFile(name: name, bytes: [])
      return LoadedScenario(path: path, script: unreadable(source, .unreadableFile(error.description)))
    }
  }

  private static func unreadable(_ source: SourceFile, _ d: Diagnostic) -> Script {
    Script(source: source, statements: [], socketNames: [], requirements: Requirements(), diagnostics: [d])
  }
}

extension Diagnostic {
  /// The file could not be read at all; the message names it.
  static func unreadableFile(_ message: String) -> Diagnostic {
    Diagnostic(id: "file.unreadable", message, at: .none)
  }
  static func notText(at r: SourceRange) -> Diagnostic {
    Diagnostic(
      id: "file.not-text", "not a text file (it holds a NUL byte)", at: r,
      hint: "a scenario is UTF-8 text; was a binary file given by mistake?")
  }
  static func isolationFailed(_ message: String, at r: SourceRange) -> Diagnostic {
    Diagnostic(id: "run.isolation", message, at: r)
  }
  static func replUnsupported(_ message: String, at r: SourceRange, hint: String?) -> Diagnostic {
    Diagnostic(id: "repl.unsupported", message, at: r, hint: hint)
  }
}

/// Expands the command line's paths: files as given, directories into their `*.conn` files.
/// For `check` and `fmt`: says each missing path once; with nothing to work on, exit code 2.
/// Returns how many paths were missing (each counts as a failure).
func reportMissing(_ missing: [String], files: [String], paths: [String], console: Console) throws -> Int {
  for m in missing { console.err("error: \(m): no such file or directory\n") }
  // Nothing to do is code 2; a path that does not exist says so itself.
  if files.isEmpty {
    if missing.isEmpty { console.err("error: no .conn files found in \(paths.joined(separator: " "))\n") }
    throw ExitCode(2)
  }
  return missing.count
}

func expandPaths(_ paths: [String]) -> (files: [String], missing: [String]) {
  var files: [String] = []
  var missing: [String] = []
  var seen = Set<String>()
  // A file named twice (directly and through its directory) runs once, at its first place.
  func add(_ f: String) { if seen.insert(f).inserted { files.append(f) } }
  for p in paths {
    if p == "-" {
      add(p)
      continue
    }
    switch Host.kind(of: p) {
    case .directory: Host.scenarioFiles(under: p).forEach(add)
    case .missing: missing.append(p)
    default: add(p)
    }
  }
  return (files, missing)
}

func renderDiagnostics(_ script: Script, color: Bool) -> String {
  let r = DiagnosticRenderer(color: color)
  var out = ""
  for d in script.diagnostics {
    if d.id == "file.unreadable" {
      out += ansiPaint("error:", "1;31", color) + " " + d.message + "\n"
    } else {
      out += r.render(d, in: script.source)
    }
  }
  return out
}
