import ArgumentParser
import ConnHost

// Where a command's output goes. The executable gives every command the tool's own standard
// streams; tests give it strings to collect, and call the commands in-process.

package struct Console {
  package var out: (String) -> Void
  package var err: (String) -> Void
  /// Standard output is a terminal: live progress and colour.
  package var outputIsTerminal: Bool
  /// Colour on standard output and on standard error (a terminal, no NO_COLOR).
  package var color: Bool
  package var errorColor: Bool

  package init(
    out: @escaping (String) -> Void, err: @escaping (String) -> Void, outputIsTerminal: Bool = false,
    color: Bool = false, errorColor: Bool = false
  ) {
    self.out = out
    self.err = err
    self.outputIsTerminal = outputIsTerminal
    self.color = color
    self.errorColor = errorColor
  }

  /// The tool's own standard output and error.
  package static var standard: Console {
    Console(
      out: { Host.printOut($0) }, err: { Host.printErr($0) }, outputIsTerminal: Host.outputIsTerminal,
      color: Host.wantsColor(), errorColor: Host.wantsColor(onError: true))
  }
}

/// A subcommand that writes through a `Console` (all of conn's do).
package protocol ConsoleCommand: ParsableCommand {
  func execute(_ console: Console) throws
}

extension ConsoleCommand {
  package func run() throws { try execute(.standard) }
}
