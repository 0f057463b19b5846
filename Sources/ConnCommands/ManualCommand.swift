import ArgumentParser

/// `conn manual`: the manual page conn.1, in roff, made from the same text as `--help` (each
/// command's abstract and discussion, its usage and options as ArgumentParser prints them), so
/// the two cannot drift apart. Hidden: the install step runs it (`conn manual > conn.1`).
package struct ManualCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "manual",
    abstract: "Print the manual page conn.1 (roff) on standard output.",
    discussion: """
      Install it where man looks: conn manual > ~/.local/share/man/man1/conn.1

      Exit codes: 0.
      """,
    shouldDisplay: false)

  package init() {}

  package func execute(_ console: Console) throws {
    console.out(Self.page())
  }

  /// The subcommands the page describes: those `conn --help` lists.
  static var documented: [any ParsableCommand.Type] {
    ConnMain.configuration.subcommands.filter { $0.configuration.shouldDisplay }
  }

  /// The whole page.
  package static func page() -> String {
    let root = ConnMain.configuration
    var out = """
      .TH CONN 1 "" "conn \(connVersion)" "User Commands"
      .SH NAME
      conn \\- \(escape(root.abstract))
      .SH SYNOPSIS
      .B conn
      .I command
      .RI [ options ]
      .RI [ arguments ]
      .br
      .B conn
      .br
      .B conn \\-\\-generate\\-completion\\-script
      .IR bash | zsh | fish

      """
    out += ".SH DESCRIPTION\n" + paragraphs(root.discussion)
    out += """
      .PP
      With no arguments on a terminal, \\fBconn\\fR starts the REPL (\\fBconn repl\\fR).

      """
    out += ".SH COMMANDS\n"
    for command in documented {
      let c = command.configuration
      let name = c.commandName ?? ""
      out += ".SS \"conn \(name)\"\n" + paragraphs(c.abstract) + paragraphs(c.discussion)
      // Usage, arguments and options as `conn NAME --help` shows them, without its overview.
      var help = ConnMain.helpMessage(for: command, columns: 78).split(
        separator: "\n", omittingEmptySubsequences: false)
      if let usage = help.firstIndex(where: { $0.hasPrefix("USAGE:") }) { help = Array(help[usage...]) }
      while help.last?.isEmpty == true { help.removeLast() }
      out += ".PP\n.nf\n.RS 2\n" + verbatim(help.joined(separator: "\n")) + ".RE\n.fi\n"
    }
    out += """
      .SH SHELL COMPLETION
      \\fBconn \\-\\-generate\\-completion\\-script bash\\fR (or \\fBzsh\\fR, \\fBfish\\fR) prints a \
      completion script: scenario paths complete as \\fI.conn\\fR files and directories, the \
      errno of \\fBconn explain\\fR as errno names, \\fB\\-\\-backend\\fR and \\fB\\-\\-format\\fR \
      as their values. For bash:
      .PP
      .nf
      .RS 2
      conn \\-\\-generate\\-completion\\-script bash > ~/.local/share/bash\\-completion/completions/conn
      .RE
      .fi
      .SH EXIT STATUS
      0 success; 1 a scenario failed or a file has errors; 2 bad usage or nothing to run.
      .SH ENVIRONMENT
      .TP
      .B CONN_HISTORY
      The REPL's history file (empty: none); else \\fI$XDG_STATE_HOME/conn/history\\fR, else \
      \\fI~/.conn_history\\fR.
      .TP
      .B NO_COLOR
      No colors in reports.
      .SH SEE ALSO
      The language reference, \\fIdocs/LANGUAGE.md\\fR, and \\fIREADME.md\\fR in conn's sources.

      """
    return out
  }

  /// Text for roff: backslashes and hyphens escaped, no line starting with a control character.
  static func escape(_ s: String) -> String {
    var out = ""
    for ch in s {
      switch ch {
      case "\\": out += "\\e"
      case "-": out += "\\-"
      default: out.append(ch)
      }
    }
    return out
  }

  static func line(_ s: String) -> String {
    let e = escape(s)
    return e.hasPrefix(".") || e.hasPrefix("'") ? "\\&" + e : e
  }

  /// Help text as roff paragraphs: blank lines separate paragraphs; indented lines (examples,
  /// tables) are kept as they are.
  static func paragraphs(_ text: String) -> String {
    var out = ""
    var inParagraph = false
    var inVerbatim = false
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let l = String(raw)
      if l.trimmingSpaces.isEmpty {
        if inVerbatim {
          out += ".RE\n.fi\n"
          inVerbatim = false
        }
        inParagraph = false
        continue
      }
      if l.hasPrefix(" ") {
        if !inVerbatim {
          out += ".PP\n.nf\n.RS 2\n"
          inVerbatim = true
          inParagraph = false
        }
        out += line(l.trimmingSpaces) + "\n"
        continue
      }
      if inVerbatim {
        out += ".RE\n.fi\n"
        inVerbatim = false
      }
      if !inParagraph {
        out += ".PP\n"
        inParagraph = true
      }
      out += line(l) + "\n"
    }
    if inVerbatim { out += ".RE\n.fi\n" }
    return out
  }

  /// Preformatted text, line for line.
  static func verbatim(_ text: String) -> String {
    var out = ""
    for l in text.split(separator: "\n", omittingEmptySubsequences: false) {
      out += l.isEmpty ? ".sp\n" : line(String(l)) + "\n"
    }
    return out
  }
}
