import ArgumentParser
import ConnRuntime
import ConnSyntax
import ConnSystem

/// `conn run`: run scenario files and report each.
public struct RunCommand: ParsableCommand {
  public static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run scenario files against the kernel and check every answer.",
    discussion: """
      Directories are searched recursively for *.conn files, in sorted order.

      Exit codes: 0 every scenario passed (skips allowed), 1 at least one failed or has
      errors, 2 bad usage or no scenario found.
      """)

  @Argument(help: "Scenario files or directories.")
  public var paths: [String] = []

  @Flag(name: .shortAndLong, help: "Trace each call as strace would.")
  public var verbose = false

  @Option(help: "Time limit of every blocking call (e.g. 500ms, 10s).")
  public var timeout: TimeSpan = .seconds(10)

  @Option(name: .customLong("allow-net"), help: "Also allow destinations in this prefix (repeatable). Loopback is always allowed.")
  public var allowNet: [IPPrefix] = []

  public init() {}

  public func validate() throws {
    if paths.isEmpty { throw ValidationError("give at least one scenario file or directory") }
    if timeout.nanoseconds <= 0 { throw ValidationError("--timeout must be more than 0") }
  }

  public func run() throws {
    let (files, missing) = expandPaths(paths)
    for m in missing { Host.printErr("error: \(m): no such file or directory\n") }
    if files.isEmpty {
      Host.printErr("error: no scenario found in \(paths.joined(separator: " "))\n")
      throw ExitCode(2)
    }
    var options = RunnerOptions()
    options.timeout = timeout
    options.allowNet = allowNet
    options.verbose = verbose
    options.color = Host.wantsColor(1)
    let runner = ScenarioRunner(options: options)
    let started = Host.monotonicNow()
    var counts: [ScenarioStatus: Int] = [:]
    var failures: [ScenarioReport] = []
    for f in files {
      let r = runner.run(path: f)
      counts[r.status, default: 0] += 1
      let tag: String
      switch r.status {
      case .pass: tag = paint("PASS", "32", options.color)
      case .fail: tag = paint("FAIL", "1;31", options.color)
      case .error: tag = paint("ERROR", "1;31", options.color)
      case .skip: tag = paint("SKIP", "33", options.color)
      }
      var line = "\(tag) \(f)"
      if r.status == .skip { line += " (\(r.skipReason ?? ""))" } else { line += " (\(r.duration.humanDescription))" }
      Host.printOut(line + "\n")
      if verbose { for t in r.trace { Host.printOut("    \(t)\n") } }
      if r.status == .fail || r.status == .error { failures.append(r) }
    }
    if !failures.isEmpty {
      Host.printOut("\n")
      for r in failures { Host.printOut(r.detail + "\n") }
    }
    let total = TimeSpan(nanoseconds: Host.monotonicNow() - started)
    let failed = (counts[.fail] ?? 0) + (counts[.error] ?? 0) + missing.count
    Host.printOut("\(counts[.pass] ?? 0) passed, \(failed) failed, \(counts[.skip] ?? 0) skipped in \(total.humanDescription)\n")
    if failed > 0 { throw ExitCode(1) }
  }
}

func paint(_ s: String, _ code: String, _ on: Bool) -> String { on ? "\u{1B}[\(code)m\(s)\u{1B}[0m" : s }
