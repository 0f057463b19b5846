import ConnHost
import ArgumentParser
import ConnRuntime
import ConnSyntax
import ConnSystem

/// `conn run`: run scenario files and report each, for people and for CI.
package struct RunCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run scenario files and check every answer.",
    discussion: """
      Directories are searched recursively for *.conn files, in sorted order. Scenarios run in \
      parallel worker processes (--jobs); a scenario that fails, hangs or leaks cannot change \
      another's result. A scenario whose header needs what this machine lacks ('# needs: \
      root', ...) is skipped with the reason, and so is a file with no statements.

      Formats: human (default; a live progress line on a terminal), tap (TAP 13, which every \
      TAP harness reads, Debian 12's prove included; tap13 is another name for it), tap14 (the \
      same with a version 14 header), junit (JUnit XML), json. With --output, the report goes \
      to the file and the human summary still goes to the terminal.

      Exit codes:
        0  every scenario passed (skips allowed, unless --strict-skips)
        1  at least one scenario failed, was flaky, or has errors
        2  bad usage, or no scenario found
      """)

  @Argument(help: "Scenario files or directories.", completion: .file(extensions: ["conn"]))
  package var paths: [String] = []

  @Flag(
    name: .shortAndLong,
    help: "Trace each call as strace would (with --format json, into each scenario's report as steps).")
  package var verbose = false

  @Option(
    help: ArgumentHelp(
      "Time limit of every blocking call, with its unit (e.g. 500ms, 10s; default: 10s).",
      valueName: "duration"),
    transform: durationArgument)
  package var timeout: TimeSpan = .seconds(10)

  @Option(
    name: .customLong("scenario-timeout"),
    help: ArgumentHelp("Time limit of a whole scenario (default: 5m).", valueName: "duration"),
    transform: durationArgument)
  package var scenarioTimeout: TimeSpan = .seconds(300)

  @Option(
    name: .customLong("allow-net"),
    help: ArgumentHelp(
      "Also allow destinations in this prefix on the host network (repeatable; 'all' allows every one, with a warning). Loopback is always allowed.",
      valueName: "prefix"))
  package var allowNet: [String] = []

  // Unconditional: `--jobs -1` is a value out of range, not a missing value.
  @Option(
    name: [.customShort("j"), .long], parsing: .unconditional,
    help: ArgumentHelp("Parallel jobs, 1 to 256 (default: the number of cores).", valueName: "n"))
  package var jobs: Int?

  @Option(help: "Where calls go: system (the kernel), sim (the simulation), both (compared).")
  package var backend: BackendChoice = .system

  @Option(help: "Output format: human, tap (TAP 13), tap14, junit, json.")
  package var format: ReportFormat = .human

  @Option(
    name: .shortAndLong, help: "Write the report to this file; the human summary still goes to the terminal.",
    completion: .file())
  package var output: String?

  @Option(
    help: ArgumentHelp(
      "Only scenarios whose path matches: a glob (* any characters, / included; ? one) on the whole path relative to the directory given (tcp/e* selects tcp/econnrefused.conn in scripts/scenarios) or as shown; without * or ?, any part of it.",
      valueName: "pattern"))
  package var filter: String?

  @Option(help: "Run only shard K of N (e.g. 2/4): a deterministic split for CI matrices.")
  package var shard: String?

  @Flag(
    help:
      "Run each scenario in a network namespace of its own, with its 'net' statements made real (Linux, root)."
  )
  package var isolate = false

  @Flag(name: .customLong("fail-fast"), help: "Stop starting scenarios after the first failure.")
  package var failFast = false

  @Option(
    name: .customLong("repeat"), parsing: .unconditional,
    help: ArgumentHelp("Run each scenario N times and report flaky ones.", valueName: "n"))
  package var repeatCount: Int = 1

  @Flag(
    name: .customLong("strict-skips"),
    help: "Count skipped scenarios (a file with no statements among them) as failures.")
  package var strictSkips = false

  @Flag(help: .hidden)
  package var worker = false

  /// A worker's parent: the worker stops when it is gone.
  @Option(name: .customLong("parent"), help: .hidden)
  package var parent: Int32?

  @Flag(help: .hidden)
  package var color = false

  package init() {}

  /// The options as plain values, for the code that runs them (shared with the fast path).
  var request: RunRequest {
    RunRequest(
      paths: paths, verbose: verbose, timeout: timeout, scenarioTimeout: scenarioTimeout, allowNet: allowNet,
      jobs: jobs, backend: backend, format: format, output: output, filter: filter, shard: shard,
      isolate: isolate, failFast: failFast, repeatCount: repeatCount, strictSkips: strictSkips,
      worker: worker,
      parent: parent, color: color)
  }

  package func validate() throws { try request.validate() }

  package func execute(_ console: Console) throws { try request.execute(console) }
}

extension ReportFormat: ExpressibleByArgument {}
extension BackendChoice: ExpressibleByArgument {}
