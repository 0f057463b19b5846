import ConnHost
import ArgumentParser
import ConnRuntime
import ConnSyntax
import ConnSystem

/// The version `conn --version` prints.
package let connVersion = "0.1.0"

package struct ConnMain: ParsableCommand {
  package static let configuration = CommandConfiguration(
    commandName: "conn",
    abstract: "Run scenario scripts of socket operations and check every answer the kernel gives.",
    discussion: """
      A scenario is a small script of socket calls with the answers they must get:

        sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS

      Exit codes (all subcommands): 0 success, 1 a scenario failed or a file has errors, 2 bad \
      usage or nothing to run. The language reference is docs/LANGUAGE.md.

      Shell completion: conn --generate-completion-script bash (or zsh, fish). The manual \
      page: conn manual > ~/.local/share/man/man1/conn.1 (README.md, Install).
      """,
    version: connVersion,
    subcommands: [
      RunCommand.self, CheckCommand.self, FmtCommand.self, ExplainCommand.self, ReplCommand.self,
      FuzzCommand.self, CleanCommand.self, ManualCommand.self,
    ],
    defaultSubcommand: nil
  )

  package init() {}

  /// Entry point used by the executable: moves the tool's own streams out of the scenarios'
  /// reach, runs the command, exits with its code.
  package static func mainEntry(_ arguments: [String]? = nil) -> Never {
    Host.unblockSignals()
    Host.keepFreedMemory()
    let given = arguments ?? Array(CommandLine.arguments.dropFirst())
    // `conn` alone on a terminal starts the REPL.
    let args = given.isEmpty && Host.inputIsTerminal ? ["repl"] : given
    Host.exit(
      main(
        args, console: .standard,
        beforeRun: {
          StandardStreams.protect()
          StopSignal.install()
        }))
  }

  /// Parses and runs a command line; returns the exit code. Usage errors are code 2, as the
  /// help says (ArgumentParser's own is 64).
  package static func main(_ args: [String], console: Console, beforeRun: () -> Void = {}) -> Int32 {
    // `conn run ...` as people type it: read directly (see FastRun); anything else, and every
    // usage error, goes through ArgumentParser.
    if args.first == "run", let request = FastRun.parse(Array(args.dropFirst())) {
      beforeRun()
      do {
        try request.execute(console)
        return 0
      } catch let code as ExitCode {
        return code.rawValue
      } catch let usage as UsageError {
        console.err(usage.text + "\n")
        return 2
      } catch {
        console.err("error: \(error)\n")
        return 1
      }
    }
    do {
      var command = try parseAsRoot(args)
      beforeRun()
      if let c = command as? any ConsoleCommand {
        try c.execute(console)
      } else {
        try command.run()
      }
      return 0
    } catch let code as ExitCode {
      return code.rawValue
    } catch let usage as UsageError {
      console.err(usage.text + "\n")
      return 2
    } catch {
      let code = exitCode(for: error)
      let message = fullMessage(for: error)
      if code == .success {
        console.out(message + "\n")
        return 0
      }
      console.err(message + "\n")
      return code.rawValue == 64 || code.rawValue == 1 ? 2 : code.rawValue
    }
  }
}

/// A usage error found once the command line has parsed: "nothing to run". ArgumentParser calls
/// `validate()` before it looks for unknown options, so a check there would answer `conn run -x`
/// with "give at least one scenario file" instead of "Unknown option '-x'"; it is made here, and
/// printed as ArgumentParser prints its own (exit code 2).
struct UsageError: Error {
  let message: String
  let command: any ParsableCommand.Type
  init(_ message: String, command: any ParsableCommand.Type) {
    self.message = message
    self.command = command
  }
  var text: String {
    let name = command.configuration.commandName ?? ""
    return
      "Error: \(message)\nUsage: \(ConnMain.usageString(for: command))\n  See 'conn \(name) --help' for more information."
  }
}

/// A duration on the command line (`--timeout`), read by the language's rules. What is wrong
/// with a value that does not read goes into ArgumentParser's "The value ... is invalid" line.
func durationArgument(_ text: String) throws -> TimeSpan {
  if let t = Parser.duration(text) { return t }
  if !text.isEmpty && text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
    throw ValidationError("a duration needs a unit, such as \(text)s (units: ns, us, ms, s, m)")
  }
  throw ValidationError("write a duration such as 500ms, 10s or 2m")
}

extension TimeSpan: ExpressibleByArgument {
  public init?(argument: String) {
    guard let t = Parser.duration(argument) else { return nil }
    self = t
  }
  public var defaultValueDescription: String { description }
}

extension IPPrefix: ExpressibleByArgument {
  package init?(argument: String) {
    guard let p = Parser.prefix(argument) else { return nil }
    self = p
  }
}

extension ConnMain {
  /// What `conn --help` (nil) or `conn SUBCOMMAND --help` prints on a terminal `columns` wide; a
  /// pipe gets 80.
  package static func helpText(_ subcommand: String?, columns: Int) -> String {
    guard let name = subcommand else { return helpMessage(columns: columns) }
    let command = configuration.subcommands.first { $0.configuration.commandName == name }
    return command.map { helpMessage(for: $0, columns: columns) } ?? ""
  }
}
