import ConnHost
import ArgumentParser
import ConnRuntime
import ConnSyntax
import ConnSystem

/// `conn repl` (and `conn` alone on a terminal): run statements as they are typed.
package struct ReplCommand: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "repl",
    abstract: "Type statements and see the kernel's answers at once.",
    // ArgumentParser would list every option on one line of 100 columns.
    usage: "conn repl [<options>]",
    discussion: """
      Each statement runs when it is entered and its outcome is printed: '= 3', '= 0', '= -1 \
      EINPROGRESS (Operation now in progress)', poll events, addresses. Several statements may \
      share a line, separated by ';'; an open 'repeat N {' continues on the next lines. Type \
      :help for the statements and the commands (:sockets, :save FILE, :load FILE, :reset, \
      :backend, :quit).

      On a terminal, lines are edited with GNU readline: Tab completes, Up recalls earlier \
      lines, Ctrl-C clears the line or interrupts a call that blocks, Ctrl-D leaves. The \
      history is kept in $CONN_HISTORY (empty: none), else $XDG_STATE_HOME/conn/history, else \
      ~/.conn_history, at most 1000 lines.

      When standard input is not a terminal, statements are read from it without prompts:
        printf 'sock s = stream inet\\nlocal s\\n' | conn repl

      Exit codes: 0; with input that is not a terminal, 1 when a line had an error or an \
      expect failed; 2 bad usage.
      """)

  @Option(
    help: ArgumentHelp(
      "Time limit of every blocking call, with its unit (e.g. 500ms, 10s; default: 10s).",
      valueName: "duration"),
    transform: durationArgument)
  package var timeout: TimeSpan = .seconds(10)

  @Option(
    name: .customLong("allow-net"),
    help: ArgumentHelp(
      "Also allow destinations in this prefix on the host network (repeatable; 'all' allows every one, with a warning). Loopback is always allowed.",
      valueName: "prefix"))
  package var allowNet: [String] = []

  /// What `--allow-net` says, checked.
  var allowedNetworks: AllowedNetworks { (try? AllowedNetworks(allowNet)) ?? AllowedNetworks() }

  @Flag(
    help:
      "Run the session in a network namespace of its own: only loopback, no route out, every destination safe (Linux, root)."
  )
  package var isolate = false

  @Option(
    help: "The backend to start on (see :backend).", completion: .list(Repl.backendChoices.map(\.rawValue)))
  package var backend: String = BackendChoice.system.rawValue

  package init() {}

  package func validate() throws {
    if timeout.nanoseconds <= 0 { throw ValidationError("--timeout must be more than 0") }
    if !Repl.backendChoices.contains(where: { $0.rawValue == backend }) {
      throw ValidationError(
        "unknown backend '\(backend)' (available: \(Repl.backendChoices.map(\.rawValue).joined(separator: ", ")))"
      )
    }
    if isolate, let why = Isolation.unavailableReason { throw ValidationError("--isolate: \(why)") }
    _ = try AllowedNetworks(allowNet)
  }

  package func run() throws {
    Host.installInterruptKey()
    var options = ReplOptions()
    options.backend = Repl.backendChoices.first { $0.rawValue == backend } ?? .system
    options.timeout = timeout
    options.allowNet = allowedNetworks.effective
    if allowedNetworks.everything { Host.printErr(AllowedNetworks.warning) }
    options.color = Host.wantsColor()
    if isolate {
      // Statements run on this thread: it moves into the new namespace, the host stays as it is.
      do throws(IsolationError) {
        options.isolatedNamespace = try Isolation.enter(rules: [])
      } catch {
        Host.printErr("error: --isolate: \(error.message)\n")
        throw ExitCode(2)
      }
    }
    // readline only for a person at a terminal; otherwise the input is a script.
    let interactive = Host.inputIsTerminal && Host.outputIsTerminal
    let reader: LineReading
    if interactive {
      let warn: (String) -> Void = { Host.printErr($0) }
      reader = ReadlineLineReader(historyPath: ReadlineLineReader.defaultHistoryPath(warn: warn), warn: warn)
    } else {
      reader = PlainLineReader()
    }
    let repl = Repl(reader: reader, options: options, output: { Host.printOut($0) })
    repl.run()
    if !interactive && repl.hadErrors { throw ExitCode(1) }
  }
}
