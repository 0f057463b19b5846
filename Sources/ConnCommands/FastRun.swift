import ConnSyntax

// `conn run` as people and CI type it, read without ArgumentParser: its start-up (protocol
// conformance scans, type lookups by mangled name) cost two thirds of the instructions of a
// one-statement run. Only a well-formed command line takes this path, and it means exactly what
// ArgumentParser would make of it; anything else (help, a completion request, an unknown
// option, a value that does not read) returns nil, and ArgumentParser parses it and says what
// is wrong. CommandLineTests check that both paths agree.

enum FastRun {
  /// The request `args` (what follows `run`) makes, or nil to leave it to ArgumentParser.
  static func parse(_ args: [String]) -> RunRequest? {
    var r = RunRequest()
    var i = 0
    var positionalOnly = false
    func value() -> String? {
      i += 1
      return i < args.count ? args[i] : nil
    }
    while i < args.count {
      let a = args[i]
      if positionalOnly || !a.hasPrefix("-") || a == "-" {
        r.paths.append(a)
        i += 1
        continue
      }
      // --name=value
      var name = a
      var inline: String?
      if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
        name = String(a[..<eq])
        inline = String(a[a.index(after: eq)...])
      }
      func optionValue() -> String? { inline ?? value() }
      switch name {
      case "--": positionalOnly = true
      case "-v", "--verbose": r.verbose = true
      case "--isolate": r.isolate = true
      case "--fail-fast": r.failFast = true
      case "--strict-skips": r.strictSkips = true
      case "--worker": r.worker = true
      case "--color": r.color = true
      case "--timeout":
        guard let v = optionValue(), let t = Parser.duration(v) else { return nil }
        r.timeout = t
      case "--scenario-timeout":
        guard let v = optionValue(), let t = Parser.duration(v) else { return nil }
        r.scenarioTimeout = t
      case "--allow-net":
        guard let v = optionValue() else { return nil }
        r.allowNet.append(v)
      case "-j", "--jobs":
        guard let v = optionValue(), let n = Int(v) else { return nil }
        r.jobs = n
      case "--backend":
        guard let v = optionValue(), let b = BackendChoice(rawValue: v) else { return nil }
        r.backend = b
      case "--format":
        guard let v = optionValue(), let f = ReportFormat(rawValue: v) else { return nil }
        r.format = f
      case "-o", "--output":
        guard let v = optionValue() else { return nil }
        r.output = v
      case "--filter":
        guard let v = optionValue() else { return nil }
        r.filter = v
      case "--shard":
        guard let v = optionValue() else { return nil }
        r.shard = v
      case "--repeat":
        guard let v = optionValue(), let n = Int(v) else { return nil }
        r.repeatCount = n
      case "--parent":
        guard let v = optionValue(), let n = Int32(v) else { return nil }
        r.parent = n
      default:
        return nil  // help, a combined short flag, an unknown option: ArgumentParser's
      }
      if inline != nil
        && ![
          "--timeout", "--scenario-timeout", "--allow-net", "--jobs", "--backend", "--format",
          "--output", "--filter", "--shard", "--repeat", "--parent",
        ].contains(name)
      {
        return nil
      }
      i += 1
    }
    guard (try? r.validate()) != nil else { return nil }
    return r
  }
}
