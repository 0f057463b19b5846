import ConnHost
import ConnRuntime
import ConnSyntax

// What `:save` writes: the session's statements in the order they ran, each followed by an
// `expect` that holds the outcome observed, so that `conn run FILE` replays the session and
// checks that the kernel still answers the same way. Outcomes that differ from run to run on
// one machine are written so that they still pass: a descriptor number as `ok`, an address
// with a port the kernel chose as the name of the socket bound to it (or, when no socket is,
// as a comment). A statement that a Ctrl-C interrupted gets an `interrupt` option of the time
// it took, so that the saved run is interrupted too.
//
// A session may run for millions of lines: past `memoryLimit` entries, the older ones are
// written out to a file in a private directory, and `:save` copies that file, so the record's
// memory stays bounded however long the session runs.

struct SessionRecord {
  struct Entry {
    /// The statement's text, or a block's lines, or comment lines.
    var lines: [String]
    /// The `expect` written from the observed outcome (or a comment when none can be).
    var generated: String?
    /// An `expect` the user typed that passed: kept as written, in place of `generated`.
    var typed: String?
    /// A statement whose result an `expect` may check.
    var hasResult: Bool
    /// Comments do not change which statement an `expect` checks.
    var isComment: Bool
  }

  /// The entries not yet written out (the latest ones).
  private(set) var entries: [Entry] = []
  var needsLinux = false
  var needsRoot = false
  /// The session made hosts, links or rules: the saved scenario runs with --isolate.
  var needsIsolate = false
  /// The session used `landlock`.
  var needsLandlock = false
  private(set) var statementCount = 0
  /// Entries kept in memory before the older ones go to the spool file.
  var memoryLimit = 4096
  private var spool: SpoolFile?

  mutating func statement(_ text: String, expect: String?, hasResult: Bool) {
    add(Entry(lines: [text], generated: expect, typed: nil, hasResult: hasResult, isComment: false))
  }

  mutating func block(_ lines: [String]) {
    add(Entry(lines: lines, generated: nil, typed: nil, hasResult: false, isComment: false))
  }

  mutating func comment(_ lines: [String]) {
    add(Entry(lines: lines.map { "# " + $0 }, generated: nil, typed: nil, hasResult: false, isComment: true))
  }

  private mutating func add(_ e: Entry) {
    if !e.isComment { statementCount += 1 }
    entries.append(e)
    if entries.count > memoryLimit { spill() }
  }

  /// Writes out every entry before the last statement (a typed `expect` may still change it).
  private mutating func spill() {
    guard let keep = entries.lastIndex(where: { !$0.isComment }), keep > 0 else { return }
    if spool == nil { spool = SpoolFile() }
    var text = ""
    for e in entries[..<keep] { Self.append(e, to: &text) }
    guard spool!.append(text) else { return }  // the file cannot be written: keep them here
    entries.removeSubrange(..<keep)
  }

  private static func append(_ e: Entry, to out: inout String) {
    for l in e.lines { out += l + "\n" }
    if let x = e.typed ?? e.generated { out += x + "\n" }
  }

  /// A typed `expect` that passed checks the last statement that ran.
  mutating func typedExpect(_ text: String) {
    guard let i = entries.lastIndex(where: { !$0.isComment }), entries[i].hasResult else { return }
    entries[i].typed = text
  }

  private func header(backend: String) -> String {
    var out = "# Saved by conn repl \(connVersion) (backend: \(backend)). Replay it with: conn run FILE\n"
    var needs: [String] = []
    if needsRoot { needs.append("root") }
    if needsLinux { needs.append("linux") }
    if needsIsolate { needs.append("isolate") }
    if needsLandlock { needs.append("landlock") }
    if !needs.isEmpty { out += "# needs: " + needs.joined(separator: " ") + "\n" }
    return out + "\n"
  }

  /// The entries still in memory, as text.
  private var tail: String {
    var out = ""
    for e in entries { Self.append(e, to: &out) }
    return out
  }

  /// The whole record as text (for tests and short sessions).
  func render(backend: String) -> String {
    header(backend: backend) + (spool?.contents() ?? "") + tail
  }

  /// Writes the record to `path`, streaming what was spooled.
  func write(to path: String, backend: String) throws(HostError) {
    try Host.writeFile(path, header(backend: backend))
    if let spool { try Host.appendFile(path, copying: spool.path) }
    try Host.appendFile(path, tail)
  }
}

/// A file in a private directory that text is appended to, removed with its directory.
final class SpoolFile {
  private let directory: PrivateDirectory?
  let path: String

  init() {
    if case .success(let d) = PrivateDirectory.make() {
      directory = d
      path = d.path + "/spool"
    } else {
      directory = nil
      path = "/nonexistent/conn-spool"
    }
  }

  func append(_ text: String) -> Bool {
    guard directory != nil, let fd = Host.openForAppend(path) else { return false }
    defer { Host.closeFile(fd) }
    return Host.writeAll(fd, text)
  }

  func contents() -> String {
    (try? Host.readFile(path, limit: Int.max)).map { String(decoding: $0, as: UTF8.self) } ?? ""
  }
}

/// How a saved file checks one observed outcome.
enum SavedExpectation: Hashable {
  /// An `expect` alternative: `ok`, `EINPROGRESS`, `writable`, `l`, `0.0.0.0:0`...
  case alternative(String)
  /// A success that cannot be written so that it holds next time (an ephemeral port that no
  /// socket of the session is bound to): shown as a comment, not checked.
  case unchecked(String)
  /// An errno conn has no name for: nothing can expect it.
  case unnameable(String)

  /// For one outcome of `statement`. `boundName` finds a socket whose local address is `a`.
  static func of(_ outcome: Outcome, after statement: StatementKind, boundName: (SocketAddress) -> String?)
    -> SavedExpectation
  {
    switch outcome {
    case .ok: return .alternative("ok")
    case .number:
      switch statement {
      // Descriptor numbers depend on what is open (a `dup ... fd N` says its own).
      case .sock, .accept, .dup(_, _, nil): return .alternative("ok")
      default: return .alternative(outcome.expectationText(after: statement))
      }
    case .failure(let e): return .alternative(e.name)
    case .unknownErrno: return .unnameable(outcome.description)
    case .events(let ev): return ev.isEmpty ? .unchecked(outcome.description) : .alternative(ev.description)
    case .pollTimeout: return .alternative("timeout")
    case .pollSet: return .unchecked(outcome.description)
    case .data(let d):
      return .alternative(d.length == d.bytes.count ? quoteBytes(d.bytes) : "\(d.length)")
    case .address(let a):
      // Port 0, paths, abstract names, unnamed and unspec read the same every time.
      guard let port = a.port, port != 0 else { return .alternative(a.description) }
      if let name = boundName(a) { return .alternative(name) }
      return .unchecked(a.description + " (a port the kernel chose)")
    }
  }

  /// The line written after the statement: an `expect`, a comment, or nothing.
  static func line(_ found: [SavedExpectation]) -> String? {
    if found.isEmpty { return nil }
    var alternatives: [String] = []
    var unchecked: [String] = []
    var unnameable: [String] = []
    for f in found {
      switch f {
      case .alternative(let a): if !alternatives.contains(a) { alternatives.append(a) }
      case .unchecked(let u): unchecked.append(u)
      case .unnameable(let u): unnameable.append(u)
      }
    }
    if !unnameable.isEmpty {
      return "# observed \(unnameable[0]): conn has no name for this errno, so it cannot be expected"
    }
    if !unchecked.isEmpty {
      // An expect would fail on these; without one, only an errno would stop the replay.
      if alternatives.allSatisfy({ $0 == "ok" }) || alternatives.isEmpty {
        return "# observed \(unchecked[0]): not checked"
      }
      return "# observed \((alternatives + unchecked).joined(separator: ", ")): too varied to check"
    }
    return "expect " + alternatives.joined(separator: " or ")
  }
}

extension SocketAddress {
  var isAbstract: Bool {
    if case .abstract = self { return true }
    return false
  }
}

/// The outcomes of the statements inside a `repeat`, counted, for printing and for `:save`.
struct RepeatAggregate {
  struct Entry {
    var text: String
    /// Distinct outcomes in the order they first came: description, is an errno, count.
    var counts: [(String, Bool, Int)] = []
    /// Steps whose outcome was not among the first few distinct ones.
    var others = 0
    var seen: Set<String> = []
    var saved: [SavedExpectation] = []
  }
  static let distinctShown = 4

  private(set) var entries: [Entry] = []
  private var index: [UInt32: Int] = [:]

  mutating func add(_ step: Step, text: () -> String, saved: () -> SavedExpectation) {
    let key = step.statement.range.start
    let i: Int
    if let k = index[key] {
      i = k
    } else {
      i = entries.count
      index[key] = i
      entries.append(Entry(text: text()))
    }
    let desc = step.outcome.description
    if let c = entries[i].counts.firstIndex(where: { $0.0 == desc }) {
      entries[i].counts[c].2 += 1
      return
    }
    if entries[i].counts.count < Self.distinctShown {
      entries[i].counts.append((desc, step.outcome.isError, 1))
    } else {
      entries[i].others += 1
    }
    // Work out how `:save` checks this outcome once per distinct outcome.
    if entries[i].seen.insert(desc).inserted {
      let s = saved()
      if !entries[i].saved.contains(s) { entries[i].saved.append(s) }
    }
  }

  func saved(_ start: UInt32) -> [SavedExpectation]? {
    index[start].map { entries[$0].saved }
  }
}
