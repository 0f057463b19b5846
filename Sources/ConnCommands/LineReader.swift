@preconcurrency import CReadline
import ConnHost
import ConnSystem

// Where the REPL's lines come from. Three readers behind one protocol: GNU readline when a
// person sits at a terminal (editing, history, completion, Ctrl-C), plain reading of standard
// input otherwise (pipes and scripts: no prompts, no escape codes), and a scripted list of lines
// for tests. Lines are bytes: a stray byte on standard input reaches the lexer, which names it,
// instead of being silently replaced.

/// What a reader hands the REPL.
package enum InputEvent: Equatable, Sendable {
  case line([UInt8])
  /// Ctrl-C while a line was being typed: the line is dropped.
  case interrupted
  /// A line longer than the REPL accepts; its bytes were dropped (the count says how many).
  case tooLong(Int)
  /// Ctrl-D, or the end of the input.
  case end

  package static func text(_ s: String) -> InputEvent { .line(Array(s.utf8)) }
}

package protocol LineReading: AnyObject {
  /// A person at a terminal: the REPL prints its banner and prompts.
  var isInteractive: Bool { get }
  /// The next line, shown after `prompt` where prompts are shown.
  func readLine(prompt: String) -> InputEvent
  /// Records an entered line (or a whole block) in the history, where there is one.
  func remember(_ entry: String)
  /// Whether `remember` keeps anything (then the REPL prepares history entries).
  var keepsHistory: Bool { get }
  /// Supplies completions for the words being typed, where there is completion.
  var completer: ReplCompleter? { get set }
  /// The session is over: save what needs saving.
  func close()
}

/// The most lines the REPL reads as one (1 MiB); longer input is refused with a message.
package let replMaxLineLength = 1 << 20

// MARK: - Plain standard input

/// Reads lines from a descriptor without prompts, for pipes and files.
package final class PlainLineReader: LineReading {
  package let isInteractive = false
  package var completer: ReplCompleter?
  private let fd: Int32
  private let maxLineLength: Int
  private var buffer: [UInt8] = []
  /// Start of the unread part of `buffer`, and how far it has been searched for a newline.
  private var start = 0
  private var scanned = 0
  private var eof = false
  private var chunk = [UInt8](repeating: 0, count: 1 << 16)

  package init(fd: Int32 = StandardStreams.input, maxLineLength: Int = replMaxLineLength) {
    self.fd = fd
    self.maxLineLength = maxLineLength
  }

  package func readLine(prompt: String) -> InputEvent {
    var dropped = 0
    while true {
      if let nl = buffer[scanned...].firstIndex(of: 0x0A) {
        let length = nl - start
        let line = dropped > 0 || length > maxLineLength ? [] : Array(buffer[start..<nl])
        start = nl + 1
        scanned = start
        compact()
        return dropped > 0 || length > maxLineLength ? .tooLong(dropped + length) : .line(line)
      }
      scanned = buffer.count
      if buffer.count - start > maxLineLength {
        // Keep memory bounded: drop the overlong line's bytes as they come.
        dropped += buffer.count - start
        buffer.removeAll(keepingCapacity: true)
        start = 0
        scanned = 0
      }
      if eof {
        if start < buffer.count || dropped > 0 {
          let line = Array(buffer[start...])
          buffer.removeAll()
          start = 0
          scanned = 0
          return dropped > 0 || line.count > maxLineLength ? .tooLong(dropped + line.count) : .line(line)
        }
        return .end
      }
      switch Host.readSome(fd, into: &chunk) {
      case .bytes(let n): buffer.append(contentsOf: chunk[0..<n])
      case .end, .failed: eof = true
      case .interrupted:
        _ = Host.takeInterrupt()  // Ctrl-C on a pipe: nothing to clear
        if StopSignal.received != nil { return .end }  // SIGTERM, SIGHUP: the session ends
      }
    }
  }

  private func compact() {
    if start > 1 << 16 && start * 2 > buffer.count {
      buffer.removeFirst(start)
      scanned -= start
      start = 0
    }
  }

  package func remember(_ entry: String) {}
  package var keepsHistory: Bool { false }
  package func close() {}
}

// MARK: - Scripted (tests)

/// Hands out a fixed list of lines and records the prompts and history it was given.
package final class ScriptedLineReader: LineReading {
  package let isInteractive: Bool
  package var completer: ReplCompleter?
  package private(set) var events: [InputEvent]
  package private(set) var prompts: [String] = []
  package private(set) var history: [String] = []

  package init(_ lines: [String], interactive: Bool = false) {
    events = lines.map { .text($0) }
    isInteractive = interactive
  }

  package init(events: [InputEvent], interactive: Bool = false) {
    self.events = events
    isInteractive = interactive
  }

  package func readLine(prompt: String) -> InputEvent {
    prompts.append(prompt)
    return events.isEmpty ? .end : events.removeFirst()
  }

  package func remember(_ entry: String) { history.append(entry) }
  package var keepsHistory: Bool { true }
  package func close() {}
}

// MARK: - GNU readline

/// State the C callbacks reach: readline calls plain C functions that cannot capture context.
private enum ReadlineBridge {
  nonisolated(unsafe) static var line: [UInt8]?
  nonisolated(unsafe) static var done = false
  nonisolated(unsafe) static var completer: ReplCompleter?
  nonisolated(unsafe) static var candidates: [String] = []
  nonisolated(unsafe) static var next = 0
}

/// Line editing, history and completion with GNU readline, through its callback interface so
/// that Ctrl-C can clear the line being typed (readline() alone would keep it).
package final class ReadlineLineReader: LineReading {
  package let isInteractive = true
  package var completer: ReplCompleter? {
    get { ReadlineBridge.completer }
    set { ReadlineBridge.completer = newValue }
  }
  /// Entries kept in memory and in the history file.
  package static let historyLimit: Int32 = 1000
  private var historyPath: String?
  private let warn: (String) -> Void

  /// `historyPath` nil: no history file. A file that cannot be written is reported once with
  /// `warn`, and the session goes on without one.
  package init(historyPath: String?, warn: @escaping (String) -> Void) {
    self.warn = warn
    // The tool's own terminal streams, wherever StandardStreams put them.
    conn_rl_use_descriptors(StandardStreams.input, StandardStreams.output)
    rl_readline_name = UnsafePointer(conn_rl_strdup("conn"))
    rl_attempted_completion_function = { text, start, _ in
      guard let completer = ReadlineBridge.completer else { return nil }
      var prefix: [UInt8] = []
      if let buffer = rl_line_buffer {
        var i = 0
        while i < Int(start) && buffer[i] != 0 {
          prefix.append(UInt8(bitPattern: buffer[i]))
          i += 1
        }
      }
      let word = text.map { String(cString: $0) } ?? ""
      guard let found = completer.candidates(linePrefix: String(decoding: prefix, as: UTF8.self), word: word)
      else {
        rl_attempted_completion_over = 0  // readline completes file names
        return nil
      }
      rl_attempted_completion_over = 1
      ReadlineBridge.candidates = found
      return rl_completion_matches(text) { _, state in
        if state == 0 { ReadlineBridge.next = 0 }
        guard ReadlineBridge.next < ReadlineBridge.candidates.count else { return nil }
        let c = ReadlineBridge.candidates[ReadlineBridge.next]
        ReadlineBridge.next += 1
        return c.withCString { conn_rl_strdup($0) }
      }
    }
    stifle_history(Self.historyLimit)
    if let path = historyPath {
      if let why = Host.checkAppendable(path) {
        warn("warning: the history will not be saved (\(why))\n")
      } else {
        self.historyPath = path
        _ = read_history(path)
        _ = history_truncate_file(path, Self.historyLimit)
      }
    }
  }

  package func readLine(prompt: String) -> InputEvent {
    ReadlineBridge.line = nil
    ReadlineBridge.done = false
    using_history()
    rl_callback_handler_install(prompt) { raw in
      if let raw {
        var bytes: [UInt8] = []
        var p = raw
        while p.pointee != 0 {
          bytes.append(UInt8(bitPattern: p.pointee))
          p += 1
        }
        conn_rl_free(raw)
        ReadlineBridge.line = bytes
      }
      ReadlineBridge.done = true
      // Leaves the terminal as it was, so that the statement's output is ordinary text.
      rl_callback_handler_remove()
    }
    while true {
      switch Host.waitForInput(StandardStreams.input) {
      case .ready:
        rl_callback_read_char()
        if ReadlineBridge.done {
          guard let line = ReadlineBridge.line else {
            Host.printOut("\n")
            return .end
          }
          return line.count > replMaxLineLength ? .tooLong(line.count) : .line(line)
        }
      case .interrupted:
        // Ctrl-C: "^C" goes after the whole line (the cursor may be inside it), before
        // readline's handling of the signal leaves the terminal, which returns the cursor to the
        // start of the row (the end of bracketed paste mode is "\e[?2004l\r"): printed after
        // that, it overwrote the prompt ("^Cnn> sock half typed").
        let ctrlC = rl_pending_signal() == Host.interruptSignal || Host.interruptPending
        if ctrlC {
          rl_point = rl_end
          rl_redisplay()
          Host.printOut("^C")
        }
        // Let readline handle what it caught (a resize, Ctrl-C); its SIGINT handling passes the
        // signal on to ours, which records it.
        rl_check_signals()
        if Host.takeInterrupt() {
          rl_free_line_state()
          rl_callback_sigcleanup()
          rl_callback_handler_remove()
          // The next prompt starts on a row of its own.
          Host.printOut(ctrlC ? "\r\n" : "^C\r\n")
          return .interrupted
        }
      case .failed:
        rl_callback_handler_remove()
        return .end
      }
    }
  }

  package var keepsHistory: Bool { true }

  package func remember(_ entry: String) {
    let entry = entry.trimmingSpaces
    if entry.isEmpty { return }
    if history_length > 0, let last = history_get(history_base + history_length - 1),
      let text = last.pointee.line,
      String(cString: text) == entry
    {
      return
    }
    add_history(entry)
    if let path = historyPath, append_history(1, path) != 0 {
      warn("warning: the history will not be saved (\(path) cannot be written)\n")
      historyPath = nil
    }
  }

  package func close() {
    if let path = historyPath { _ = history_truncate_file(path, Self.historyLimit) }
  }

  /// Where the history lives: $CONN_HISTORY (empty: no history), else
  /// $XDG_STATE_HOME/conn/history, else ~/.conn_history.
  package static func defaultHistoryPath(warn: (String) -> Void) -> String? {
    if let p = Host.environment("CONN_HISTORY") { return p.isEmpty ? nil : p }
    if let state = Host.environment("XDG_STATE_HOME"), !state.isEmpty {
      let dir = state + "/conn"
      if let why = Host.makeDirectories(dir) {
        warn("warning: the history will not be saved (\(why))\n")
        return nil
      }
      return dir + "/history"
    }
    if let home = Host.homeDirectory { return home + "/.conn_history" }
    return nil
  }
}
