import ConnHost
import ConnRuntime
import ConnSyntax

// What `conn run` prints while it runs, for people: a live progress line on a terminal, one
// status line per scenario in input order, and with `-v` each scenario's trace above its status
// line. Trace lines are never gathered in memory: the scenario whose turn it is to be printed
// streams its lines straight out; one that finishes (or traces) before its turn has them spooled
// to a file in a private directory, printed and removed when its turn comes.

final class RunProgress {
  private let files: [String]
  private let repeatCount: Int
  private let color: Bool
  private let live: Bool
  private let console: Console
  private var printedUpTo = 0
  /// Reports that finished before their turn to be printed, by file (an array, not a
  /// dictionary: the first dictionary keyed by Int costs a one-statement run a scan of the
  /// binary's protocol conformances, 15% of its start-up).
  private var finished: [ScenarioReport?] = []
  private var completed = 0
  private let spool = TraceSpool()

  init(files: [String], repeatCount: Int, color: Bool, live: Bool, console: Console) {
    self.console = console
    self.files = files
    self.repeatCount = repeatCount
    self.color = color
    self.live = live
  }

  private var total: Int { files.count * repeatCount }
  private func file(ofTask t: Int) -> Int { t / repeatCount }

  /// Prints `s` below the live line (which is cleared first).
  private func emit(_ s: String) {
    if s.isEmpty { return }
    if live { console.out("\r\u{1B}[K") }
    console.out(s)
  }

  func started(_ path: String) {
    if live { console.out("\r\u{1B}[K[\(completed + 1)/\(total)] \(path)") }
  }

  func trace(task: Int, _ line: String) {
    // With --repeat, runs are merged into one line at the end: every trace waits for it.
    if repeatCount == 1 && file(ofTask: task) == printedUpTo {
      emit("    \(line)\n")
    } else {
      spool.append(task, "    \(line)\n")
    }
  }

  func finished(task: Int, done: Int, _ report: ScenarioReport) {
    completed = done
    spool.close(task)
    if repeatCount > 1 { return }
    if finished.isEmpty { finished = Array(repeating: nil, count: files.count) }
    finished[file(ofTask: task)] = report
    // Print finished scenarios in input order; the next one's spooled trace comes out then.
    while printedUpTo < files.count, let r = finished[printedUpTo] {
      finished[printedUpTo] = nil
      spool.drain(printedUpTo, to: emit)
      emit(Reporters.statusLine(r, color: color) + "\n")
      printedUpTo += 1
      if printedUpTo < files.count { spool.drain(printedUpTo, to: emit) }
    }
  }

  /// Whatever was not printed yet (all of it with --repeat), then the tail.
  func end(_ reports: [ScenarioReport], _ summary: RunSummary) {
    if live { console.out("\r\u{1B}[K") }
    var rest = ""
    for (i, r) in reports.enumerated().dropFirst(printedUpTo) {
      for k in 0..<repeatCount { spool.drain(i * repeatCount + k) { rest += $0 } }
      rest += Reporters.statusLine(r, color: color) + "\n"
    }
    console.out(rest + Reporters.humanTail(reports, summary, color: color))
    spool.removeAll()
  }
}

/// Trace lines of runs that are not being printed yet, one file each in a private directory.
final class TraceSpool {
  private var directory: PrivateDirectory?
  private var open: [Int: Int32] = [:]
  private var written: Set<Int> = []

  func append(_ task: Int, _ text: String) {
    guard let fd = descriptor(task) else { return }
    Host.writeAll(fd, text)
  }

  /// The run is over: its file is complete.
  func close(_ task: Int) {
    if let fd = open.removeValue(forKey: task) { Host.closeFile(fd) }
  }

  /// Hands what was spooled for `task` to `out`, and forgets it.
  func drain(_ task: Int, to out: (String) -> Void) {
    guard written.contains(task), let dir = directory else { return }
    close(task)
    let path = dir.path + "/\(task)"
    if let bytes = try? Host.readFile(path, limit: Int.max) { out(String(decoding: bytes, as: UTF8.self)) }
    Host.removeFile(path)
    written.remove(task)
  }

  func removeAll() {
    for task in open.keys { close(task) }
    directory?.remove()
    directory = nil
  }

  private func descriptor(_ task: Int) -> Int32? {
    if let fd = open[task] { return fd }
    if directory == nil, case .success(let d) = PrivateDirectory.make() { directory = d }
    guard let dir = directory, let fd = Host.openForAppend(dir.path + "/\(task)") else { return nil }
    open[task] = fd
    written.insert(task)
    return fd
  }
}
