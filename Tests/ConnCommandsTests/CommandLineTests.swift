import ConnHost
import ConnSyntax
import ConnCommands
import ConnSystem
import Foundation
import Testing

// Inside KernelTests (serialized) so its subprocesses never run while the descriptor-leak test
// is counting sockets.
extension KernelTests {
  @Suite(.serialized) struct CommandLineTests {
    @Test func helpListsEverySubcommand() throws {
      let r = runInProcess(["--help"])
      #expect(r.status == 0)
      for sub in ["run", "check", "explain"] { #expect(r.stdout.contains("  \(sub)"), "--help lacks \(sub)") }
      #expect(r.stdout.contains("Exit codes"))
    }

    /// Help is wrapped by ArgumentParser to the terminal's width (80 columns in a pipe): each
    /// paragraph of a discussion must be one line in the source text, or it comes out ragged
    /// ("in sorted order.\nScenarios run in\nparallel ..."), and no line may be wider.
    @Test(arguments: [80, 60])
    func helpIsFilledToTheWidth(columns: Int) throws {
      for sub in [nil, "run", "check", "fmt", "explain", "repl", "clean"] {
        let text = ConnMain.helpText(sub, columns: columns)
        #expect(!text.isEmpty)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for l in lines {
          #expect(l.count <= columns, "conn \(sub ?? "") --help: \(l.count) columns: \(l)")
        }
        // Within a paragraph (lines that are not indented), a line ends early only where the
        // next word would not fit.
        for (a, b) in zip(lines, lines.dropFirst())
        where !a.isEmpty && !b.isEmpty && !a.hasPrefix(" ") && !b.hasPrefix(" ") {
          let next = b.prefix { $0 != " " }
          // ArgumentParser leaves the last column free.
          #expect(
            a.count + 1 + next.count >= columns,
            "conn \(sub ?? "") --help at \(columns) columns breaks early: '\(a)' / '\(b)'")
        }
      }
    }

    @Test func versionPrints() throws {
      let r = runInProcess(["--version"])
      #expect(r.status == 0)
      #expect(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == connVersion)
    }

    @Test func checkAcceptsAValidFile() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS\n", to: dir + "/ok.conn")
      let r = runInProcess(["check", dir + "/ok.conn"])
      #expect(r.status == 0)
      #expect(r.stderr.isEmpty)
    }

    @Test func checkRejectsWithLocationCaretAndHint() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("sock s = stream inet\nconnect s 127.0.0.1:80\nexpect ECONREFUSED\n", to: dir + "/bad.conn")
      let r = runInProcess(["check", dir + "/bad.conn"])
      #expect(r.status == 1)
      #expect(r.stderr.contains("bad.conn:3:8: error: unknown errno name 'ECONREFUSED'"))
      #expect(r.stderr.contains("         ^~~~~~~~~~~"))
      #expect(r.stderr.contains("did you mean 'ECONNREFUSED'?"))
      #expect(!r.stderr.contains("\u{1B}["), "no colour when not a terminal / NO_COLOR")
    }

    @Test func checkOnMissingFileAndDirectory() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      // Nothing to check is code 2 (the README's table), with one error for one problem.
      let missing = runInProcess(["check", dir + "/nope.conn"])
      #expect(missing.status == 2)
      #expect(missing.stderr == "error: \(dir)/nope.conn: no such file or directory\n")
      // A missing path beside a file that is checked is an error of the run (code 1).
      write("sock s = stream inet\n", to: dir + "/ok.conn")
      let mixed = runInProcess(["check", dir + "/ok.conn", dir + "/nope.conn"])
      #expect(mixed.status == 1)
      #expect(mixed.stderr == "error: \(dir)/nope.conn: no such file or directory\n")
      try FileManager.default.removeItem(atPath: dir + "/ok.conn")
      let empty = runInProcess(["check", dir])
      #expect(empty.status == 2)
      #expect(empty.stderr.contains("no .conn files"))
      let usage = runInProcess(["check"])
      #expect(usage.status == 2)
    }

    @Test func checkReadsStandardInputAndSurvivesGarbage() throws {
      let r = try runConn(["check", "-"], stdin: "\u{0}\u{1}sock }}} [::1 \"unterminated\n")
      #expect(r.status == 1)
      #expect(r.stderr.contains("<stdin>") || r.stderr.contains("-:1:"))
    }

    @Test func runReportsPassAndSummaryAndExitsZero() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nconnect s l\nexpect ECONNREFUSED\n",
        to: dir + "/a.conn")
      let r = runInProcess(["run", dir])
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
      #expect(r.stdout.contains("PASS  \(dir)/a.conn ("))
      #expect(r.stdout.contains("1 passed, 0 failed, 0 skipped"))
    }

    @Test func runShowsFailureWithCaretAndExitsOne() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nconnect s l\nexpect EINPROGRESS\n",
        to: dir + "/f.conn")
      let r = runInProcess(["run", dir + "/f.conn"])
      #expect(r.status == 1)
      #expect(r.stdout.contains("FAIL  \(dir)/f.conn ("))
      #expect(r.stdout.contains("f.conn:5:8: FAIL: expected EINPROGRESS, got ECONNREFUSED"))
      #expect(r.stdout.contains("       ^~~~~~~~~~~"))
      #expect(r.stdout.contains("meaning: ECONNREFUSED from connect(2)"))
    }

    @Test func runVerboseTracesLikeStrace() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS\n", to: dir + "/v.conn")
      let r = runInProcess(["run", "-v", dir + "/v.conn"])
      #expect(r.status == 0)
      #expect(
        r.stdout.contains("connect(3, {inet 127.0.0.1:80}, 16) = -1 EINPROGRESS (Operation now in progress)")
          || r.stdout.contains("{inet 127.0.0.1:80}, 16) = -1 EINPROGRESS (Operation now in progress)"))
    }

    @Test func runOnAMissingFileSaysSoOnceAndExitsTwo() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = runInProcess(["run", dir + "/missing.conn"])
      #expect(r.status == 2)
      #expect(r.stderr == "error: \(dir)/missing.conn: no such file or directory\n")
      #expect(r.stdout.isEmpty)
    }

    /// ArgumentParser validates before it looks for unknown options: an unknown option must be
    /// named, not reported as "give at least one scenario file".
    @Test func unknownOptionIsNamed() throws {
      for sub in ["run", "check"] {
        let r = runInProcess([sub, "-x"])
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("Error: Unknown option '-x'\n"), "\(sub): \(r.stderr)")
      }
      let none = runInProcess(["run"])
      #expect(none.status == 2)
      #expect(
        none.stderr
          == "Error: give at least one scenario file or directory\nUsage: conn run [<options>] [<paths> ...]\n  See 'conn run --help' for more information.\n"
      )
      #expect(
        runInProcess(["check"]).stderr.hasPrefix("Error: give at least one file or directory to check\n"))
    }

    /// Option values that do not read say what to write (issue 17, item 8).
    @Test func optionValueMistakesSayWhatToWrite() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("sock s = stream inet\n", to: dir + "/a.conn")
      func firstLine(_ args: [String]) -> (Int32, String) {
        let r = runInProcess(["run"] + args + [dir + "/a.conn"])
        return (r.status, String(r.stderr.prefix { $0 != "\n" }))
      }
      #expect(
        firstLine(["--timeout", "5"])
          == (
            2,
            "Error: The value '5' is invalid for '--timeout <duration>': a duration needs a unit, such as 5s (units: ns, us, ms, s, m)"
          ))
      #expect(
        firstLine(["--allow-net", "10.0.0.0"])
          == (
            2,
            "Error: --allow-net 10.0.0.0: '10.0.0.0' has no prefix length: write 10.0.0.0/32 for this address alone, or 10.0.0.0/8 for its network"
          ))
      #expect(
        firstLine(["--allow-net", "fd00::1"])
          == (
            2,
            "Error: --allow-net fd00::1: 'fd00::1' has no prefix length: write fd00::1/128 for this address alone, or a network such as fd00::/64"
          ))
      #expect(firstLine(["--jobs", "-1"]) == (2, "Error: --jobs must be between 1 and 256 (got -1)"))
      #expect(firstLine(["-j", "0"]) == (2, "Error: --jobs must be between 1 and 256 (got 0)"))
      // Good values still run.
      #expect(
        runInProcess(["run", "--timeout", "5s", "-j", "1", "--allow-net", "10.0.0.0/8", dir + "/a.conn"])
          .status == 0)
    }

    @Test func runWithNothingToRunExitsTwo() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      #expect(runInProcess(["run", dir]).status == 2)
      #expect(runInProcess(["run"]).status == 2)
      #expect(runInProcess(["run", "--timeout", "soon", dir]).status == 2)
    }

    /// Safety: a destination outside loopback is refused before the syscall, with its address named.
    @Test func nonLoopbackDestinationIsRefusedBeforeTheSyscall() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock s = stream inet\nconnect s 192.0.2.1:80 nonblock\nexpect EINPROGRESS\n", to: dir + "/out.conn")
      let r = try runConn(["run", "-v", dir + "/out.conn"], withoutNetwork: true)
      #expect(r.status == 1)
      #expect(r.stdout.contains("refused to connect to 192.0.2.1:80"))
      #expect(r.stdout.contains("--allow-net"))
      // The trace shows the socket call but no connect: nothing reached the kernel.
      #expect(r.stdout.contains("socket(AF_INET"))
      #expect(!r.stdout.contains("connect(3"))
    }

    @Test func explainPrintsMeaningAndScenario() throws {
      let r = runInProcess(["explain", "ECONNREFUSED"])
      #expect(r.status == 0)
      #expect(r.stdout.contains("ECONNREFUSED (111 on this system): Connection refused"))
      #expect(r.stdout.contains("From connect(2):"))
      #expect(r.stdout.contains("A scenario that provokes it:"))
      let bad = runInProcess(["explain", "ECONREFUSED"])
      #expect(bad.status == 2)
      #expect(bad.stderr.contains("did you mean ECONNREFUSED?"))
    }
  }

}

extension KernelTests {
  @Suite struct CleanSlateTests {
    /// 10,000 scenarios in one process: the open descriptor count stays flat, whether scenarios
    /// pass, fail half-way, or leave sockets open.
    @Test func tenThousandScenariosLeakNoDescriptors() {
      let runner = ScenarioRunner(options: RunnerOptions())
      let scripts = [
        "sock l = stream inet\nbind l 127.0.0.1:0\nlisten l\nsock s = stream inet\nconnect s l\naccept l as c\n",
        "sock u = dgram unix\nbind u \"x.sock\"\nsock v = dgram unix\nconnect v \"x.sock\"\n",
        "sock s = stream inet\nsock t = stream inet\nconnect s 127.0.0.1:1\nexpect EINPROGRESS\n",  // fails
        "sock f = file \"/dev/null\"\nsock a = dgram inet\nconnect a 127.0.0.1:9\nclose a\n",
      ].map { Parser.parse(SourceFile(name: "leak.conn", text: $0)) }
      // Sockets and /dev/null are what these scenarios open; other tests in this process open
      // pipes and files concurrently, so those are not counted.
      func count() -> Int {
        Host.openDescriptorTargets().filter { $0.hasPrefix("socket:") || $0 == "/dev/null" }.count
      }
      // Private directories for relative Unix paths: each scenario removes its own. Other conn
      // processes (a fuzzer, another run) make and remove theirs meanwhile: what counts is
      // that none made during this loop is left at its end.
      func privateDirectories() -> Set<String> {
        Set(
          ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter {
            $0.hasPrefix("conn-") && $0.count == 11
          })
      }
      let before = count()
      let directoriesBefore = privateDirectories()
      var failures = 0
      for i in 0..<10_000 {
        let r = runner.run(scripts[i % scripts.count], path: "leak.conn")
        if r.status == .fail { failures += 1 }
      }
      // A leak stays; what other tests of this process open and close meanwhile comes and
      // goes: look again for a while before calling a higher count a leak.
      var after = count()
      for _ in 0..<20 where after > before {
        usleep(100_000)
        after = count()
      }
      #expect(failures == 2_500)
      #expect(after <= before, "descriptors before \(before), after \(after)")
      // Left behind: made during the loop and still there 200 ms later (another process's
      // scenario lives a few milliseconds).
      let newer = privateDirectories().subtracting(directoriesBefore)
      usleep(200_000)
      // Another live conn process holds the lock on its own directories; one this process
      // still has open, or that nobody holds, was left by this loop.
      let openHere = Set(Host.openDescriptorTargets())
      let left = newer.intersection(privateDirectories()).filter { name in
        let path = "/tmp/" + name
        if openHere.contains(path) { return true }
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return flock(fd, LOCK_EX | LOCK_NB) == 0
      }
      #expect(left.isEmpty, "scenario directories left in /tmp: \(left)")
    }
  }
}
