import ConnHost
import ConnCommands
import ConnRuntime
import ConnSyntax
import ConnSystem
import Foundation
import Testing

/// The text with every run of spaces made one space (column alignment aside).
func squash(_ s: String) -> String {
  var out = ""
  var lastSpace = false
  for c in s {
    if c == " " {
      if !lastSpace { out.append(c) }
      lastSpace = true
    } else {
      out.append(c)
      lastSpace = false
    }
  }
  return out
}

/// Collects what the REPL prints.
final class ReplOutput {
  var text = ""
}

/// Runs a REPL session over scripted lines on the kernel backend; returns what it printed.
@discardableResult
func replSession(
  _ lines: [String], interactive: Bool = false, reader given: ScriptedLineReader? = nil
) -> (output: String, reader: ScriptedLineReader, repl: Repl) {
  let reader = given ?? ScriptedLineReader(lines, interactive: interactive)
  let out = ReplOutput()
  var options = ReplOptions()
  options.timeout = .seconds(5)
  let repl = Repl(reader: reader, options: options, output: { out.text += $0 })
  repl.run()
  return (out.text, reader, repl)
}

extension KernelTests {
  @Suite(.serialized) struct ReplTests {
    // MARK: - Outcomes

    @Test func eachStatementPrintsItsOutcome() {
      let (out, _, repl) = replSession([
        "sock l = stream inet",
        "bind l 127.0.0.1:0",
        "local l",
        "sock c = stream inet nonblock",
        "connect c l",
        "poll c writable timeout 1s",
        "get c SO_ERROR",
      ])
      let lines = out.split(separator: "\n").map(String.init)
      #expect(lines.count == 7, "\(out)")
      #expect(lines[0].hasPrefix("= ") && Int(lines[0].dropFirst(2)) != nil, "a descriptor: \(lines[0])")
      #expect(lines[1] == "= 0")
      #expect(lines[2].hasPrefix("= 127.0.0.1:") && lines[2] != "= 127.0.0.1:0")
      #expect(lines[4] == "= -1 EINPROGRESS (Operation now in progress)")
      #expect(lines[5].hasPrefix("= writable"))
      #expect(lines[6] == "= -1 ECONNREFUSED (Connection refused)")
      #expect(!repl.hadErrors, "an errno is an answer, not an error")
      #expect(!out.contains("\u{1B}["), "no colour unless asked")
    }

    @Test func severalStatementsOnALineRunInOrder() {
      let (out, _, _) = replSession(["sock s = dgram inet; bind s 127.0.0.1:0; local s;; peer s"])
      let lines = out.split(separator: "\n").map(String.init)
      #expect(lines.count == 4, "\(out)")
      #expect(
        lines.allSatisfy {
          $0.firstRange(of: "  = ")?.lowerBound == lines[0].firstRange(of: "  = ")?.lowerBound
        }, "aligned")
      #expect(lines[0].hasPrefix("sock s = dgram inet  = "))
      #expect(squash(lines[1]) == "bind s 127.0.0.1:0 = 0")
      #expect(squash(lines[2]).hasPrefix("local s = 127.0.0.1:"))
      #expect(squash(lines[3]) == "peer s = -1 ENOTCONN (Transport endpoint is not connected)")
    }

    @Test func aFailedExpectShowsACaretAndTheSessionGoesOn() {
      let (out, _, repl) = replSession([
        "sock s = stream inet; bind s 127.0.0.1:0",
        "sock c = stream inet",
        "connect c s",
        "expect EINPROGRESS",
        "expect ECONNREFUSED",
        "local s",
      ])
      #expect(
        out.contains(
          "FAIL: expected EINPROGRESS, got ECONNREFUSED\n  expect EINPROGRESS\n         ^~~~~~~~~~~\n"),
        "\(out)")
      #expect(out.contains("  actual:   -1 ECONNREFUSED (Connection refused)"))
      #expect(out.contains("meaning: ECONNREFUSED from connect(2)"))
      #expect(out.contains("\npass\n"), "a second expect may try again")
      #expect(out.split(separator: "\n").last?.hasPrefix("= 127.0.0.1:") == true, "the session went on")
      #expect(repl.hadErrors)
    }

    @Test func aFailedExpectStopsTheRestOfItsLine() {
      let (out, _, _) = replSession(["sock s = stream inet; expect 999; local s", "local s"])
      #expect(out.contains("FAIL: expected 999"))
      #expect(out.contains("(the rest (1 statement) was not run)"))
      #expect(out.hasSuffix("= 0.0.0.0:0\n"))
    }

    @Test func syntaxErrorsPointIntoTheTypedLine() {
      let (out, _, repl) = replSession([
        "sock s = stream inet", "conect s 127.0.0.1:80", "connect s 127.0.0.1:99999", "local s",
      ])
      #expect(
        out.contains(
          "error: unknown statement 'conect'\n  conect s 127.0.0.1:80\n  ^~~~~~\n  hint: did you mean 'connect'?"
        ), "\(out)")
      #expect(out.contains("port 99999 is out of range"))
      #expect(out.contains("                      ^"), "the caret is under the port")
      #expect(out.hasSuffix("= 0.0.0.0:0\n"))
      #expect(repl.hadErrors)
    }

    @Test func namesFromEarlierLinesAreKnownAndUnknownOnesAreReported() {
      let (out, _, _) = replSession(["sock client = stream inet", "local clinet", "local client"])
      #expect(out.contains("socket 'clinet' is not declared"))
      #expect(out.contains("did you mean 'client'?"))
      #expect(out.hasSuffix("= 0.0.0.0:0\n"))
    }

    @Test func aRepeatPrintsEachStatementWithCounts() {
      let (out, _, _) = replSession([
        "sock l = dgram inet; bind l 127.0.0.1:0", "repeat 3 { sock u = dgram inet; connect u l; close u }",
      ])
      #expect(out.contains("  connect u l          = 0 (x3)"), "\(out)")
      #expect(out.contains("  close u              = 0 (x3)"))
    }

    @Test func netStatementsAreRefusedWithAReason() {
      let (out, _, repl) = replSession(["net route 10.0.0.0/8 unreachable", "sock s = stream inet"])
      #expect(out.contains("'net' statements set up the network before a scenario starts"))
      #expect(out.contains("conn run"))
      #expect(out.split(separator: "\n").last?.hasPrefix("= ") == true, "the session went on")
      #expect(repl.hadErrors)
    }

    // MARK: - Continuation

    @Test func anOpenRepeatAsksForMoreLines() {
      let (out, reader, _) = replSession(
        ["sock l = dgram inet", "repeat 2 {", "  sock u = dgram inet", "  close u", "}", "local l"],
        interactive: true)
      #expect(
        reader.prompts == ["conn> ", "conn> ", "...> ", "...> ", "...> ", "conn> ", "conn> "],
        "\(reader.prompts)")
      #expect(out.contains("  close u              = 0 (x2)"), "\(out)")
      #expect(reader.history.contains("repeat 2 { sock u = dgram inet; close u }"), "\(reader.history)")
    }

    @Test func aBadLineInsideABlockIsDroppedAndTheBlockStaysOpen() {
      let (out, reader, _) = replSession(
        ["repeat 2 {", "sleep 1ms", "slep 1ms", "sleep 2ms", "}"], interactive: true)
      #expect(out.contains("unknown statement 'slep'"), "\(out)")
      #expect(out.contains("that line was not added; the block is still open"))
      #expect(out.contains("  sleep 1ms  = 0 (x2)"))
      #expect(out.contains("  sleep 2ms  = 0 (x2)"))
      #expect(reader.prompts.filter { $0 == Repl.continuationPrompt }.count == 4)
    }

    @Test func ctrlCDropsAnOpenBlockAndTheEndReportsOne() {
      let reader = ScriptedLineReader(
        events: [
          .text("repeat 2 {"), .text("sleep 1ms"), .interrupted, .text("sleep 1ms"), .text("repeat 1 {"),
        ],
        interactive: true)
      let (out, _, _) = replSession([], reader: reader)
      #expect(out.contains("(the open block was dropped)"))
      #expect(out.contains("= 0\n"), "the line after Ctrl-C runs on its own")
      #expect(out.contains("'}' expected (to close 'repeat' at line 1)"))
      #expect(out.contains("(the open block was not run)"))
    }

    // MARK: - Commands

    @Test func socketsListsNameDescriptorKindStateAndAddresses() {
      let (out, _, _) = replSession([
        "sock l = stream inet; bind l 127.0.0.1:0; listen l",
        "sock c = stream inet; connect c l; accept l as a",
        "sock u = dgram inet; sock gone = dgram inet; close gone",
        "sock f = file \"/dev/null\"; sock bad = fd 999",
        ":sockets",
      ])
      let table = out.components(separatedBy: "NAME").last ?? ""
      let rows = table.split(separator: "\n").map {
        $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      }
      #expect(rows.first == ["FD", "KIND", "STATE", "LOCAL", "PEER"], "\(out)")
      func row(_ name: String) -> [String] { rows.first { $0.first == name } ?? [] }
      #expect(Array(row("l").dropFirst(2).prefix(3)) == ["stream", "inet", "listening"])
      #expect(Array(row("c").dropFirst(2).prefix(3)) == ["stream", "inet", "connected"])
      #expect(row("c").last?.hasPrefix("127.0.0.1:") == true)
      #expect(
        Array(row("a").dropFirst(2).prefix(3)) == ["stream", "inet", "connected"],
        "accepted: kind from SO_TYPE/SO_DOMAIN")
      #expect(Array(row("u").dropFirst(2).prefix(4)) == ["dgram", "inet", "unbound", "0.0.0.0:0"])
      #expect(row("gone").contains("closed"))
      #expect(row("f").joined(separator: " ").contains("file open (not a socket)"))
      #expect(row("bad").joined(separator: " ").hasPrefix("bad 999 fd not open"))
    }

    /// A connect in progress (its SYN dropped: the listener's accept queue is full) is shown as
    /// such, not as a socket that is only bound, on the kernel and on the simulation.
    @Test(arguments: ["system", "sim"]) func socketsTellsAPendingConnectFromABoundSocket(backend: String) {
      let (out, _, _) = replSession([
        ":backend \(backend)",
        "sock l = stream inet; bind l 127.0.0.1:0; listen l backlog 0",
        "sock a = stream inet; connect a l",
        "sock s = stream inet nonblock; connect s l",
        "sock b = stream inet; bind b 127.0.0.1:0",
        ":sockets",
      ])
      #expect(out.contains("= -1 EINPROGRESS"), "\(out)")
      let table = out.components(separatedBy: "NAME").last ?? ""
      let rows = table.split(separator: "\n").map {
        $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
      }
      func row(_ name: String) -> [String] { rows.first { $0.first == name } ?? [] }
      #expect(Array(row("s").dropFirst(2).prefix(3)) == ["stream", "inet", "connecting"], "\(out)")
      #expect(row("s").dropFirst(5).first?.hasPrefix("127.0.0.1:") == true, "its local address")
      #expect(row("s").last == "-", "no peer yet")
      #expect(Array(row("b").dropFirst(2).prefix(3)) == ["stream", "inet", "bound"], "\(out)")
      #expect(Array(row("a").dropFirst(2).prefix(3)) == ["stream", "inet", "connected"], "\(out)")
    }

    @Test func saveWritesAScenarioThatReplaysGreen() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let path = dir + "/session.conn"
      let (out, _, _) = replSession([
        "sock l = stream inet; bind l 127.0.0.1:0; listen l",
        "sock s = stream inet; bind s 127.0.0.1:0",
        "sock c = stream inet nonblock",
        "connect c s",
        "expect ECONNREFUSED",  // fails: the typed expect is not saved, the observed outcome is
        "poll c writable timeout 1s",
        "get c SO_ERROR",
        "sock d = stream inet",
        "connect d l",
        "expect ok within 1s",  // passes: kept as typed
        "peer d",
        "local d",
        "accept l as a",
        "peer a",
        "sock u = stream unix; bind u \"x.sock\"; local u",
        "repeat 2 { sock v = dgram inet; connect v s; close v }",
        "get l SO_ACCEPTCONN",
        ":save \(path)",
      ])
      #expect(out.contains("(saved 20 statements to \(path)"), "\(out)")
      let saved = String(decoding: try Host.readFile(path), as: UTF8.self)
      #expect(saved.contains("connect c s\nexpect EINPROGRESS\n"), "\(saved)")
      #expect(!saved.contains("expect ECONNREFUSED\npoll"))
      #expect(saved.contains("get c SO_ERROR\nexpect ECONNREFUSED\n"))
      #expect(saved.contains("connect d l\nexpect ok within 1s\n"))
      #expect(saved.contains("peer d\nexpect l\n"), "an ephemeral port is written as the socket bound to it")
      #expect(saved.contains("local d\nexpect d\n") || saved.contains("local d\n# observed"))
      #expect(saved.contains("accept l as a\nexpect ok\n"), "descriptor numbers are written as ok")
      #expect(saved.contains("local u\nexpect \"x.sock\"\n"))
      #expect(
        saved.contains(
          "repeat 2 {\n  sock v = dgram inet\n  expect ok\n  connect v s\n  expect ok\n  close v\n  expect ok\n}\n"
        ))
      #expect(saved.contains("get l SO_ACCEPTCONN\nexpect 1\n"))
      #expect(Parser.parse(SourceFile(name: path, bytes: Array(saved.utf8))).diagnostics.isEmpty)

      let report = ScenarioRunner(options: RunnerOptions()).run(path: path)
      #expect(report.status == .pass, "\(report.detail)\n\(saved)")
      let cli = try runConn(["run", path])
      #expect(cli.status == 0, "\(cli.stdout)\(cli.stderr)")
    }

    @Test func saveRecordsACtrlCAsAnInterruptOption() {
      #expect(Repl.interruptOption(.sleep(.seconds(1), CallOptions()), .seconds(1)) == nil)
      var parsed = Parser.parse(SourceFile(name: "x", text: "sock s = stream inet; connect s 127.0.0.1:1"))
      let connect = parsed.statements[1].kind
      #expect(Repl.interruptOption(connect, TimeSpan(nanoseconds: 1_503_400_000)) == " interrupt 1.503s")
      parsed = Parser.parse(
        SourceFile(name: "x", text: "sock s = stream inet; connect s 127.0.0.1:1 interrupt 1s"))
      #expect(Repl.interruptOption(parsed.statements[1].kind, .seconds(1)) == nil, "already has one")
    }

    @Test func loadRunsAFileIntoTheSession() {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("# a listener\nsock l = stream inet\nbind l 127.0.0.1:0\nlisten l\n", to: dir + "/setup.conn")
      write("sock x = stream inet\nconect x l\n", to: dir + "/broken.conn")
      let (out, _, _) = replSession([
        ":load \(dir)/setup.conn",
        "sock c = stream inet; connect c l",
        ":load \(dir)/broken.conn",
        ":load \(dir)/missing.conn",
        ":load",
        "peer c",
        "expect l",
      ])
      #expect(squash(out).contains("bind l 127.0.0.1:0 = 0"), "\(out)")
      #expect(out.contains("(loaded \(dir)/setup.conn)"))
      #expect(squash(out).contains("connect c l = 0"))
      #expect(out.contains("\(dir)/broken.conn:2:1: error: unknown statement 'conect'"))
      #expect(out.contains("error: \(dir)/broken.conn was not loaded"))
      #expect(out.contains("error: cannot load \(dir)/missing.conn: no such file or directory"))
      #expect(out.contains("error: usage: :load FILE"))
      #expect(out.hasSuffix("pass\n"))
    }

    @Test func badCommandsGetAMessageAndTheSessionContinues() {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let (out, _, _) = replSession([
        "sock s = stream inet",
        ":frobnicate",
        ":sokets",
        ":save \(dir)/no/such/dir/x.conn",
        ":save \(dir)",
        ":save",
        ":help nosuch",
        ":sockets now",
        ":backend warp",
        "local s",
      ])
      #expect(out.contains("error: unknown command ':frobnicate'; :help lists the commands"), "\(out)")
      #expect(out.contains("error: unknown command ':sokets' (did you mean ':sockets'?)"))
      #expect(
        out.contains(
          "error: cannot save to \(dir)/no/such/dir/x.conn: there is no directory \(dir)/no/such/dir"))
      #expect(out.contains("error: cannot save to \(dir): it is a directory"))
      #expect(out.contains("error: usage: :save FILE"))
      #expect(out.contains("error: no help for 'nosuch'"))
      #expect(out.contains("error: :sockets takes no argument"))
      #expect(out.contains("error: unknown backend 'warp' (available: "))
      #expect(out.hasSuffix("= 0.0.0.0:0\n"))
      #expect(FileManager.default.fileExists(atPath: dir + "/no") == false)
    }

    @Test func resetClosesEverythingAndForgetsNames() {
      let before = Host.openDescriptorCount()
      let (out, _, _) = replSession([
        "sock a = stream inet; sock b = dgram inet", ":reset", "local a", "sock a = stream inet",
      ])
      #expect(out.contains("(the session starts afresh (2 descriptors closed))"), "\(out)")
      #expect(out.contains("socket 'a' is not declared"))
      #expect(Host.openDescriptorCount() == before, "the session closed what it opened")
    }

    @Test func backendListsTheChoicesAndSwitches() {
      var lines = [":backend"]
      let others = Repl.backendChoices.filter { $0 != .system }
      for b in others {
        lines += [":backend \(b.rawValue)", "sock s = stream inet", "local s", ":backend system"]
      }
      let (out, _, _) = replSession(lines)
      #expect(
        out.contains(
          "backend: system (available: \(Repl.backendChoices.map(\.rawValue).joined(separator: ", ")))"),
        "\(out)")
      #expect(!out.contains("both"), "comparing two backends is for whole runs")
      for b in others { #expect(out.contains("(now on the \(b.rawValue) backend")) }
    }

    @Test func helpComesFromTheStatementTable() {
      let (out, _, _) = replSession([":help", ":help connect", ":help :save"])
      for s in ReplHelp.statements {
        #expect(out.contains("  \(s.keyword)  "), "overview lacks \(s.keyword)")
      }
      for c in ReplHelp.commands { #expect(out.contains(c.usage)) }
      #expect(
        out.contains("  connect NAME TARGET [nonblock] [interrupt DUR] [len N] [background]\n\n  connect(2).")
      )
      #expect(out.contains("  :save FILE\n\n  write the session"))
    }

    /// The help table and docs/LANGUAGE.md cannot drift: every syntax line is in the reference,
    /// every statement has help, and the reference lists every command.
    @Test func helpSyntaxLinesAreTheReferences() throws {
      let doc = String(decoding: try Host.readFile(packageRoot + "/docs/LANGUAGE.md"), as: UTF8.self)
      let docLines = Set(doc.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
      for s in ReplHelp.statements {
        for line in s.syntax {
          #expect(docLines.contains(line), "docs/LANGUAGE.md has no syntax line '\(line)'")
        }
      }
      let keywords = [
        "sock", "bind", "listen", "connect", "accept", "socketpair", "dup", "set", "get", "poll", "peer",
        "local", "shutdown",
        "send", "sendto", "write", "recv", "recvfrom", "read", "close",
        "sleep", "expect", "net", "host", "link", "route", "addr", "firewall", "sysctl", "user",
        "drop", "landlock", "wait", "signal", "mkdir", "mkfile", "chmod", "chown", "symlink", "rm", "repeat",
      ]
      #expect(ReplHelp.statements.map(\.keyword) == keywords)
      let interactive = doc.components(separatedBy: "Interactive use\n\n").dropFirst().first ?? ""
      #expect(!interactive.isEmpty, "docs/LANGUAGE.md has an 'Interactive use' section")
      for c in ReplHelp.commands {
        #expect(interactive.contains("`\(c.usage)`"), "LANGUAGE.md lacks \(c.usage)")
      }
    }

    // MARK: - Bad input

    @Test func aMegabyteLineGetsAMessageAndNothingIsLost() {
      let junk = String(repeating: "x", count: 1_000_000)
      let valid = String(repeating: "sleep 0ns; ", count: 90_000)  // about 1 MB of statements
      let huge = String(repeating: "y", count: 2_000_000)
      let (out, _, _) = replSession(["sock s = stream inet", junk, huge, valid, "local s"])
      #expect(out.contains("token is longer than 4096 bytes"), "\(out.prefix(2000))")
      #expect(out.contains("error: the line is too long (2000000 bytes; at most 1048576): nothing was run"))
      #expect(out.hasSuffix("= 0.0.0.0:0\n"))
      #expect(out.count < 20_000_000)
    }

    @Test func binaryBytesOnStandardInputAreReportedAndTheSessionContinues() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      var bytes: [UInt8] = Array("sock s = stream inet\n".utf8)
      var g = SystemRandomNumberGenerator()
      for _ in 0..<4096 { bytes.append(UInt8.random(in: 0...255, using: &g)) }
      // NUL, invalid UTF-8, an escape sequence.
      bytes += [0x00, 0xFF, 0xFE, 0x0A, 0x1B, 0x5B, 0x32, 0x4A, 0x0A]
      bytes += Array("\nlocal s\n".utf8)
      _ = FileManager.default.createFile(atPath: dir + "/in", contents: Data(bytes))
      let handle = try #require(FileHandle(forReadingAtPath: dir + "/in"))
      defer { try? handle.close() }
      let out = ReplOutput()
      let repl = Repl(
        reader: PlainLineReader(fd: handle.fileDescriptor), options: ReplOptions(), output: { out.text += $0 }
      )
      repl.run()
      #expect(out.text.contains("error:"))
      #expect(out.text.hasSuffix("= 0.0.0.0:0\n"), "\(out.text.suffix(300))")
      #expect(!out.text.contains("\u{1B}[2J"), "escape sequences are not echoed raw")
    }

    @Test func plainReaderSplitsLinesAndBoundsLongOnes() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let text = "a\r\nb\n" + String(repeating: "z", count: 300) + "\nlast"
      _ = FileManager.default.createFile(atPath: dir + "/in", contents: text.data(using: .utf8))
      let handle = try #require(FileHandle(forReadingAtPath: dir + "/in"))
      defer { try? handle.close() }
      let reader = PlainLineReader(fd: handle.fileDescriptor, maxLineLength: 100)
      #expect(reader.readLine(prompt: "") == .text("a\r"))
      #expect(reader.readLine(prompt: "") == .text("b"))
      #expect(reader.readLine(prompt: "") == .tooLong(300))
      #expect(reader.readLine(prompt: "") == .text("last"))
      #expect(reader.readLine(prompt: "") == .end)
    }

    @Test func pipedInputRunsWithoutPrompts() throws {
      let r = try runConn(["repl"], stdin: "sock s = stream inet\nlocal s\n")
      #expect(r.status == 0, "\(r.stderr)")
      #expect(r.stdout.hasSuffix("= 0.0.0.0:0\n"), "\(r.stdout)")
      #expect(!r.stdout.contains("conn>"), "no prompts when not a terminal")
      #expect(r.stdout.split(separator: "\n").count == 2)
      let bad = try runConn(["repl"], stdin: "sock s = stream inet\nexpect 12345\nlocal s\n")
      #expect(bad.status == 1, "a failed expect makes a piped session exit 1")
      #expect(bad.stdout.hasSuffix("= 0.0.0.0:0\n"))
      let usage = try runConn(["repl", "--backend", "nope"])
      #expect(usage.status == 2)
    }

    // MARK: - Completion

    @Test func completionFollowsTheGrammar() {
      let c = ReplCompleter(socketNames: ["client", "l"], backendNames: ["system", "sim"])
      #expect(
        c.candidates(linePrefix: "expect ", word: "ECONN") == ["ECONNABORTED", "ECONNREFUSED", "ECONNRESET"])
      #expect(c.candidates(linePrefix: "", word: "ECONN") == ["ECONNABORTED", "ECONNREFUSED", "ECONNRESET"])
      #expect(c.candidates(linePrefix: "", word: "co") == ["connect"])
      #expect(
        c.candidates(linePrefix: "sock s = stream inet; ", word: "")
          == ReplHelp.statements.map(\.keyword).sorted())
      #expect(c.candidates(linePrefix: "connect ", word: "") == ["client", "l"])
      #expect(
        c.candidates(linePrefix: "connect client ", word: "")
          == ["badptr", "client", "family", "l", "netlink", "null", "unspec"])
      #expect(
        c.candidates(linePrefix: "connect client ", word: "127.0.0.1:") == [
          "127.0.0.1:client", "127.0.0.1:l",
        ])
      #expect(
        c.candidates(linePrefix: "bind client ", word: "[::ffff:127.0.0.1]:c") == [
          "[::ffff:127.0.0.1]:client"
        ])
      #expect(c.candidates(linePrefix: "connect client ", word: "[::1") == [], "inside an IPv6 address")
      #expect(
        c.candidates(linePrefix: "connect client l ", word: "") == [
          "background", "interrupt", "len", "nonblock",
        ])
      #expect(
        c.candidates(linePrefix: "sock x = ", word: "") == [
          "dgram", "fd", "file", "raw", "seqpacket", "stream",
        ])
      #expect(c.candidates(linePrefix: "sock x = stream ", word: "in") == ["inet", "inet6"])
      #expect(c.candidates(linePrefix: "set client ", word: "SO_RE") == ["SO_REUSEADDR", "SO_REUSEPORT"])
      #expect(c.candidates(linePrefix: "set client ", word: "SO_E") == [], "SO_ERROR cannot be set")
      #expect(c.candidates(linePrefix: "get client ", word: "SO_E") == ["SO_ERROR"])
      #expect(c.candidates(linePrefix: "poll client ", word: "w") == ["writable"])
      #expect(c.candidates(linePrefix: "", word: "so") == ["sock", "socketpair"])
      #expect(c.candidates(linePrefix: "socketpair a b ", word: "") == ["="])
      #expect(c.candidates(linePrefix: "socketpair a b = ", word: "s") == ["seqpacket", "stream"])
      #expect(c.candidates(linePrefix: "socketpair a b = stream ", word: "u") == ["unix"])
      #expect(c.candidates(linePrefix: "socketpair a b = stream unix ", word: "") == ["nonblock"])
      #expect(c.candidates(linePrefix: "dup ", word: "") == ["client", "l"])
      #expect(c.candidates(linePrefix: "dup client ", word: "") == ["as"])
      #expect(c.candidates(linePrefix: "dup client as d ", word: "") == ["fd"])
      #expect(c.candidates(linePrefix: "set client ", word: "FD") == ["FD_CLOEXEC"])
      #expect(c.candidates(linePrefix: "set client O_NONBLOCK ", word: "") == ["off", "on"])
      #expect(c.candidates(linePrefix: "get client ", word: "O_") == ["O_NONBLOCK"])
      #expect(c.candidates(linePrefix: "expect ", word: "cl") == ["client"])
      #expect(c.candidates(linePrefix: "", word: ":s") == [":save", ":sockets"])
      #expect(c.candidates(linePrefix: ":help ", word: "con") == ["connect"])
      #expect(c.candidates(linePrefix: ":backend ", word: "s") == ["sim", "system"])
      #expect(c.candidates(linePrefix: ":load ", word: "scr") == nil, "file names")
      #expect(c.candidates(linePrefix: ":save ", word: "") == nil, "file names")
    }

    @Test func completionKnowsTheTopology() {
      var c = ReplCompleter(socketNames: ["l"], backendNames: ["system"])
      c.hostNames = ["self", "srv", "r"]
      #expect(c.candidates(linePrefix: "", word: "fi") == ["firewall"])
      #expect(c.candidates(linePrefix: "link ", word: "") == ["r", "self", "srv"])
      #expect(c.candidates(linePrefix: "link self srv ", word: "") == ["down", "up"])
      #expect(c.candidates(linePrefix: "sock s = stream inet on ", word: "s") == ["self", "srv"])
      #expect(
        c.candidates(linePrefix: "route self default ", word: "") == [
          "blackhole", "prohibit", "unreachable", "via",
        ])
      #expect(
        c.candidates(linePrefix: "firewall srv ", word: "") == ["connect", "forward", "input", "output"])
      #expect(
        c.candidates(linePrefix: "firewall srv input tcp dport 80 reject with ", word: "icmp") == [
          "icmp", "icmpv6", "icmpx",
        ])
      #expect(
        c.candidates(linePrefix: "firewall srv input reject with icmpv6 ", word: "")
          == ["addr-unreachable", "admin-prohibited", "no-route", "port-unreachable"])
      #expect(c.candidates(linePrefix: "firewall self connect reject with ", word: "EAC") == ["EACCES"])
      #expect(c.candidates(linePrefix: "expect ok ", word: "af") == ["after"])
      #expect(c.candidates(linePrefix: "bind l ", word: "") == ["l", "unspec"])
    }

    @Test func completionSeesTheSessionsSockets() {
      let reader = ScriptedLineReader(
        ["sock listener = stream inet", "sock lx = dgram inet"], interactive: false)
      replSession([], reader: reader)
      let names = reader.completer?.socketNames ?? []
      #expect(names == ["listener", "lx"])
    }

    // MARK: - A real terminal

    @Test(.enabled(if: Tmux.available, "tmux is not installed"))
    func terminalOutcomeCompletionContinuationAndCtrlC() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let t = try Tmux(command: [connBinary, "repl"], env: ["CONN_HISTORY": dir + "/history"])
      defer { t.kill() }
      try t.waitFor("conn> ")
      #expect(t.screen.contains("conn \(connVersion)") && t.screen.contains(":help"), "banner: \(t.screen)")

      t.send(text: "sock s = stream inet")
      t.send(keys: "Enter")
      try t.waitFor("= ")
      #expect(t.screen.contains("conn> sock s = stream inet\n= "), "\(t.screen)")

      // Completion: a unique errno completes; several are listed on a second Tab.
      t.send(text: "expect ECONNREF")
      t.send(keys: "Tab")
      try t.waitFor("expect ECONNREFUSED")
      t.send(keys: "C-u")
      t.send(text: "expect ECONN")
      t.send(keys: "Tab", "Tab")
      try t.waitFor("ECONNRESET")
      #expect(t.screen.contains("ECONNABORTED") && t.screen.contains("ECONNREFUSED"), "\(t.screen)")
      t.send(keys: "C-u")

      // Continuation prompt until the block closes.
      t.send(text: "repeat 2 {")
      t.send(keys: "Enter")
      try t.waitFor("...> ")
      t.send(text: "sleep 1ms")
      t.send(keys: "Enter")
      t.send(text: "}")
      t.send(keys: "Enter")
      try t.waitFor("sleep 1ms  = 0 (x2)")

      // Ctrl-C clears the line being typed.
      t.send(text: "sock zz = str")
      t.send(keys: "C-c")
      try t.waitFor("^C")
      t.send(text: "local s")
      t.send(keys: "Enter")
      try t.waitFor("= 0.0.0.0:0")
      #expect(!t.screen.contains("strlocal"), "\(t.screen)")

      // Ctrl-C stops a long repeat of calls that never block, and the session goes on.
      t.send(text: "repeat 100000000 { sock u = dgram inet; close u }")
      t.send(keys: "Enter")
      Thread.sleep(forTimeInterval: 0.3)
      t.send(keys: "C-c")
      try t.waitFor("stopped: interrupted (Ctrl-C)")
      try t.waitFor("conn> ", after: "interrupted (Ctrl-C)")
      t.send(text: "local s")
      t.send(keys: "Enter")
      try t.waitFor("= 0.0.0.0:0", after: "interrupted (Ctrl-C)")

      t.send(text: ":quit")
      t.send(keys: "Enter")
      try t.waitForExit()
    }

    @Test(.enabled(if: Tmux.available, "tmux is not installed")) func terminalHistoryRecallAcrossSessions()
      throws
    {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let env = ["CONN_HISTORY": dir + "/history"]
      do {
        let t = try Tmux(command: [connBinary, "repl"], env: env)
        defer { t.kill() }
        try t.waitFor("conn> ")
        t.send(text: "sock remembered = dgram inet")
        t.send(keys: "Enter")
        try t.waitFor("= ")
        t.send(keys: "C-d")
        try t.waitForExit()
      }
      let history = String(decoding: (try? Host.readFile(dir + "/history")) ?? [], as: UTF8.self)
      #expect(history.contains("sock remembered = dgram inet"), "history file: \(history)")
      let t = try Tmux(command: [connBinary, "repl"], env: env)
      defer { t.kill() }
      try t.waitFor("conn> ")
      t.send(keys: "Up")
      try t.waitFor("conn> sock remembered = dgram inet")
      t.send(keys: "Enter")
      try t.waitFor("= ")
      t.send(keys: "C-d")
      try t.waitForExit()
    }

    @Test(.enabled(if: Tmux.available, "tmux is not installed"))
    func terminalHistoryThatCannotBeWrittenWarnsOnce() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let t = try Tmux(command: [connBinary, "repl"], env: ["CONN_HISTORY": dir + "/missing/dir/history"])
      defer { t.kill() }
      try t.waitFor("conn> ")
      #expect(t.screen.contains("warning: the history will not be saved"), "\(t.screen)")
      t.send(text: "sock s = stream inet")
      t.send(keys: "Enter")
      try t.waitFor("= ")
      #expect(t.screen.components(separatedBy: "warning:").count == 2, "one warning only")
      t.send(keys: "C-d")
      try t.waitForExit()
      #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
    }

    @Test(.enabled(if: Tmux.available, "tmux is not installed"))
    func terminalCtrlCInterruptsABlockingConnectAndSaveReplays() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let t = try Tmux(command: [connBinary, "repl"], env: ["CONN_HISTORY": ""])
      defer { t.kill() }
      try t.waitFor("conn> ")
      // A full accept queue: the third connect's SYN is dropped and the call blocks.
      t.send(
        text:
          "sock l = stream inet; bind l 127.0.0.1:0; listen l backlog 0; sock a = stream inet; connect a l")
      t.send(keys: "Enter")
      try t.waitFor("connect a l           = 0")
      t.send(text: "sock s = stream inet; connect s l")
      t.send(keys: "Enter")
      try t.waitFor("sock s = stream inet  = ")
      Thread.sleep(forTimeInterval: 0.5)
      #expect(!t.screen.contains("EINTR"), "the connect blocks")
      t.send(keys: "C-c")
      try t.waitFor("= -1 EINTR (Interrupted system call)")
      try t.waitFor("conn> ", after: "EINTR")
      t.send(text: "connect s l nonblock")
      t.send(keys: "Enter")
      try t.waitFor("= -1 EALREADY")
      t.send(text: ":save \(dir)/interrupted.conn")
      t.send(keys: "Enter")
      try t.waitFor("(saved ")
      t.send(text: ":quit")
      t.send(keys: "Enter")
      try t.waitForExit()

      let saved = String(decoding: try Host.readFile(dir + "/interrupted.conn"), as: UTF8.self)
      #expect(saved.contains("connect s l interrupt "), "\(saved)")
      #expect(saved.contains("expect EINTR\nconnect s l nonblock\nexpect EALREADY\n"), "\(saved)")
      let r = try runConn(["run", dir + "/interrupted.conn"])
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)\n\(saved)")
    }

    /// Ctrl-C while typing: "^C" after the line as typed (the cursor anywhere in it), and a clean
    /// prompt on the next row; in a block too.
    @Test(.enabled(if: Tmux.available, "tmux is not installed")) func terminalCtrlCRedrawsACleanPrompt()
      throws
    {
      let t = try Tmux(command: [connBinary, "repl"], env: ["CONN_HISTORY": ""])
      defer { t.kill() }
      try t.waitFor("conn> ")
      t.send(text: "sock zz = str")
      t.send(keys: "C-c")
      try t.waitFor("conn> sock zz = str^C\nconn> ")
      t.send(text: "sock mid = stream")
      t.send(keys: "Left", "Left", "Left", "C-c")
      try t.waitFor("conn> sock mid = stream^C\nconn> ")
      t.send(keys: "C-c")
      try t.waitFor("conn> ^C\nconn> ", after: "stream^C")
      t.send(text: "repeat 2 {")
      t.send(keys: "Enter")
      try t.waitFor("...> ")
      t.send(text: "sleep 1")
      t.send(keys: "C-c")
      try t.waitFor("...> sleep 1^C\n(the open block was dropped)\nconn> ")
      #expect(!t.screen.contains("^Cnn>") && !t.screen.contains("^C.>"), "\(t.screen)")
      t.send(text: "sock s = stream inet")
      t.send(keys: "Enter")
      try t.waitFor("= ", after: "dropped")
      t.send(keys: "C-d")
      try t.waitForExit()
    }

    @Test(.enabled(if: Tmux.available, "tmux is not installed")) func connAloneOnATerminalStartsTheRepl()
      throws
    {
      let t = try Tmux(command: [connBinary], env: ["CONN_HISTORY": ""])
      defer { t.kill() }
      try t.waitFor("conn> ")
      t.send(keys: "C-d")
      try t.waitForExit()
    }
  }
}

// MARK: - tmux driver

/// One `conn` under a private tmux server (its own socket), read with capture-pane.
final class Tmux {
  static let available: Bool = {
    for dir in ["/usr/bin", "/usr/local/bin", "/bin", "/opt/homebrew/bin"]
    where FileManager.default.isExecutableFile(atPath: dir + "/tmux") {
      return true
    }
    return false
  }()

  static var path: String {
    ["/usr/bin", "/usr/local/bin", "/bin", "/opt/homebrew/bin"].map { $0 + "/tmux" }
      .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "tmux"
  }

  let socket = "conn-test-" + UUID().uuidString
  private(set) var killed = false

  struct Failure: Error, CustomStringConvertible {
    var description: String
  }

  init(command: [String], env: [String: String]) throws {
    var full = ["env", "NO_COLOR=1", "TERM=screen"]
    for (k, v) in env.sorted(by: { $0.key < $1.key }) { full.append("\(k)=\(v)") }
    full += command
    let shellCommand = full.map(Self.quote).joined(separator: " ")
    let r = tmux([
      "-f", "/dev/null", "new-session", "-d", "-s", "main", "-x", "160", "-y", "50", shellCommand,
    ])
    if r.status != 0 { throw Failure(description: "tmux new-session failed: \(r.output)") }
  }

  static func quote(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

  /// Runs one tmux command (bounded: 10 s) and returns its status and output.
  ///
  /// Not through Foundation's Process: `new-session` starts the tmux server, which inherits
  /// the descriptors of the client, and Process waits for a descriptor of its own to close
  /// (so it would wait for the server). Here the client gets /dev/null, a file for its output
  /// and nothing else, and is waited for with waitpid.
  @discardableResult
  func tmux(_ args: [String]) -> (status: Int32, output: String) {
    let file = NSTemporaryDirectory() + "conn-tmux-" + UUID().uuidString
    defer { unlink(file) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    // closefrom(3): nothing else of this process reaches tmux (nor the server it starts).
    let open =
      (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
    for fd in open where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    let argv = ([Self.path, "-L", socket] + args).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var pid: pid_t = 0
    guard posix_spawn(&pid, Self.path, &actions, &attributes, argv, environ) == 0 else {
      return (-1, "cannot start tmux")
    }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(10)
    while waitpid(pid, &status, WNOHANG) == 0 {
      if Date() > deadline {
        Foundation.kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
        return (-1, "tmux \(args.first ?? "") did not finish within 10s")
      }
      usleep(5_000)
    }
    let data = FileManager.default.contents(atPath: file) ?? Data()
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : -1, String(decoding: data, as: UTF8.self))
  }

  /// Literal text, typed as is.
  func send(text: String) { tmux(["send-keys", "-t", "main", "-l", text]) }
  /// Named keys: Enter, Tab, Up, C-c, C-d...
  func send(keys: String...) { tmux(["send-keys", "-t", "main"] + keys) }

  var screen: String {
    let r = tmux(["capture-pane", "-p", "-J", "-t", "main", "-S", "-200"])
    return r.status == 0 ? r.output : ""
  }

  /// Waits (at most `timeout` seconds) until the screen shows `text`, after `after` if given.
  func waitFor(_ text: String, after: String? = nil, timeout: TimeInterval = 15) throws {
    let deadline = Date().addingTimeInterval(timeout)
    var last = ""
    while Date() < deadline {
      last = screen
      var haystack = Substring(last)
      if let a = after, let r = last.range(of: a, options: .backwards) { haystack = last[r.upperBound...] }
      if haystack.contains(text) { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw Failure(description: "the screen never showed '\(text)' within \(timeout)s:\n\(last)")
  }

  /// Waits until the program has ended (its pane, and so the session, is gone).
  func waitForExit(timeout: TimeInterval = 15) throws {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
      if tmux(["has-session", "-t", "main"]).status != 0 { return }
      Thread.sleep(forTimeInterval: 0.05)
    }
    throw Failure(description: "conn did not exit within \(timeout)s:\n\(screen)")
  }

  func kill() {
    if killed { return }
    killed = true
    tmux(["kill-server"])
  }
}

extension KernelTests {
  @Suite(.enabled(if: Isolation.unavailableReason == nil, "needs root on Linux to create network namespaces"))
  struct ReplIsolationTests {
    /// `conn repl --isolate`: the session's own namespace, where a destination beyond loopback
    /// is allowed and finds no route; without it, conn refuses before the call.
    @Test func isolatedSessionReachesOnlyItsNamespace() throws {
      let input = "sock s = stream inet\nconnect s 192.0.2.1:80\n"
      let isolated = try runConn(["repl", "--isolate"], stdin: input)
      #expect(isolated.stdout.contains("= -1 ENETUNREACH (Network is unreachable)"), "\(isolated.stdout)")
      let host = try runConn(["repl"], stdin: input, withoutNetwork: true)
      #expect(host.stdout.contains("refused to connect to 192.0.2.1:80"), "\(host.stdout)")
      #expect(host.status == 1)
    }
  }
}
