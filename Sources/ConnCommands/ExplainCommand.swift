import ConnHost
import ArgumentParser
import ConnRuntime
import ConnSyntax
import ConnSystem

/// `conn explain ERRNO`: what an errno means for connect(2), and a scenario that provokes it.
package struct ExplainCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Explain what an errno means for connect(2), with a scenario that provokes it.",
    discussion: """
      Give an errno name (ECONNREFUSED, EWOULDBLOCK...) or number. Without an argument, lists \
      every errno connect(2) can return.

      Exit codes: 0 explained, 2 unknown errno.
      """)

  @Argument(help: "An errno name or number.", completion: .list(Errno.allCases.map(\.name).sorted()))
  package var errno: String?

  package init() {}

  package func execute(_ console: Console) throws {
    guard let arg = errno else {
      for info in ErrnoCatalog.connectErrnos {
        console.out("\(pad(info.errno.name, 16))\(info.summary)\n")
      }
      return
    }
    let e: Errno? =
      Int32(arg).flatMap { n in Errno.allCases.first { platformErrnoNumber($0) == n } }
      ?? Errno(name: arg.uppercased())
    guard let e else {
      let suggestion = closestName(to: arg, in: Errno.allCases.map(\.name))
      console.err(
        "error: unknown errno '\(arg)'" + (suggestion.map { "; did you mean \($0)?" } ?? "") + "\n")
      throw ExitCode(2)
    }
    console.out(explanation(e))
  }
}

/// The text of `conn explain ERRNO`.
package func explanation(_ e: Errno) -> String {
  let info = ErrnoCatalog.info(e)
  var out = "\(e.name) (\(platformErrnoNumber(e)) on this system): \(info.summary)\n"
  if let m = info.meaning {
    out += "\nFrom connect(2):\n" + wrap(m, indent: "  ") + "\n"
  } else {
    out += "\nconnect(2) does not return this errno on Linux.\n"
  }
  if let note = info.linuxNote { out += "\nOn Linux:\n" + wrap(note, indent: "  ") + "\n" }
  let evidence = ErrnoCatalog.evidence(e)
  if !evidence.isEmpty {
    out += "\nShown on this kernel by the corpus scenarios (scripts/scenarios/):\n"
    for path in evidence { out += "  \(path)\n" }
  }
  if info.inReference { out += "\n(Listed in the connect(2) reference.)\n" }
  if let ex = info.example {
    out += "\nA scenario that provokes it:\n\n"
    for line in ex.split(separator: "\n", omittingEmptySubsequences: false) { out += "    \(line)\n" }
  }
  return out
}

func pad(_ s: String, _ n: Int) -> String {
  s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count)
}

/// Wraps prose at 78 columns.
func wrap(_ text: String, indent: String) -> String {
  var lines: [String] = []
  var line = indent
  for word in text.split(separator: " ") {
    if line.count + word.count + 1 > 78 && line.count > indent.count {
      lines.append(line)
      line = indent
    }
    line += (line.count > indent.count ? " " : "") + word
  }
  if line.count > indent.count { lines.append(line) }
  return lines.joined(separator: "\n")
}
