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

      Exit codes (all subcommands): 0 success, 1 a scenario failed or a file has errors,
      2 bad usage or nothing to run. The language reference is docs/LANGUAGE.md.
      """,
    version: connVersion,
    subcommands: [RunCommand.self, CheckCommand.self, ExplainCommand.self, ReplCommand.self],
    defaultSubcommand: nil
  )

  package init() {}

  /// Entry point used by the executable: maps ArgumentParser's usage errors to exit code 2.
  package static func mainEntry(_ arguments: [String]? = nil) -> Never {
    Host.unblockSignals()
    let given = arguments ?? Array(CommandLine.arguments.dropFirst())
    do {
      // `conn` alone on a terminal starts the REPL.
      var command = try parseAsRoot(given.isEmpty && Host.inputIsTerminal ? ["repl"] : given)
      // From here on, descriptors 0, 1 and 2 are the scenarios'; the tool writes to its own.
      StandardStreams.protect()
      try command.run()
      Host.exit(0)
    } catch let code as ExitCode {
      Host.exit(code.rawValue)
    } catch {
      let code = exitCode(for: error)
      let message = fullMessage(for: error)
      if code == .success {
        Host.printOut(message + "\n")
        Host.exit(0)
      }
      Host.printErr(message + "\n")
      // ArgumentParser reports validation errors with code 64 (EX_USAGE); conn documents 2.
      Host.exit(code.rawValue == 64 || code.rawValue == 1 ? 2 : code.rawValue)
    }
  }
}

extension TimeSpan: ExpressibleByArgument {
  package init?(argument: String) {
    guard let t = Parser.duration(argument) else { return nil }
    self = t
  }
  package var defaultValueDescription: String { description }
}

extension IPPrefix: ExpressibleByArgument {
  package init?(argument: String) {
    guard let p = Parser.prefix(argument) else { return nil }
    self = p
  }
}
