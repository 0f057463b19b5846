import ConnRuntime
import ConnSyntax
import ConnSystem

/// A scenario file read and parsed, or the reason it could not be read.
struct LoadedScenario {
  var path: String
  var script: Script

  /// Reads and parses a file. A file that cannot be read becomes a script with one diagnostic,
  /// so that every problem is reported the same way.
  static func load(_ path: String) -> LoadedScenario {
    do throws(HostError) {
      let bytes = try Host.readFile(path)
      let name = path == "-" ? "<stdin>" : path
      return LoadedScenario(path: path, script: Parser.parse(SourceFile(name: name, bytes: bytes)))
    } catch {
      let source = SourceFile(name: path, bytes: [])
      let d = Diagnostic(id: "file.unreadable", error.description, at: .none)
      let script = Script(source: source, statements: [], socketNames: [], requirements: Requirements(), diagnostics: [d])
      return LoadedScenario(path: path, script: script)
    }
  }
}

/// Expands the command line's paths: files as given, directories into their `*.conn` files.
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
