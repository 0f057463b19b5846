import ConnCommands
import ConnHost
import ConnRuntime
import ConnSyntax
import Foundation
import Testing

/// What a scenario can never do to the machine or the runner (issue 12, docs/SECURITY.md).
/// These spawn conn: the standard streams, signals and workers belong to a process of its own.
extension KernelTests {
  @Suite(.serialized) struct SafetyTests {
    func scenarios(_ files: [String: String]) -> String {
      let dir = temporaryDirectory()
      for (name, text) in files { write(text, to: dir + "/" + name) }
      return dir
    }

    /// New private directories that stay: one another process is making or removing this very
    /// moment is unlocked for an instant, a left-behind one for good.
    static func leftBehind(since before: Set<String>) -> Set<String> {
      var left = privateDirectories().subtracting(before)
      for _ in 0..<20 where !left.isEmpty {
        usleep(50_000)
        left = left.intersection(privateDirectories())
      }
      return left
    }

    /// The private directories in /tmp that this test process's own conn processes hold, or
    /// that nobody holds (left behind). Another live process's (a fuzzer or a run beside the
    /// tests) hold their flock, which /proc/locks shows with its process.
    static func privateDirectories() -> Set<String> {
      let names = ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter {
        $0.hasPrefix("conn-") && $0.count == 11
      }
      var holders: [UInt64: Int32] = [:]
      let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
      for line in locks.split(separator: "\n") {
        let f = line.split(separator: " ", omittingEmptySubsequences: true)
        guard f.count > 5, f[1] == "FLOCK", let pid = Int32(f[4]),
          let inode = f[5].split(separator: ":").last.flatMap({ UInt64($0) })
        else { continue }
        holders[inode] = pid
      }
      func ours(_ pid: Int32) -> Bool {
        var p = pid
        for _ in 0..<64 {
          if p == getpid() { return true }
          guard p > 1, let stat = try? String(contentsOfFile: "/proc/\(p)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
          else { return false }
          let rest = stat[stat.index(after: close)...].split(separator: " ")
          guard rest.count > 1, let parent = Int32(rest[1]) else { return false }
          p = parent
        }
        return false
      }
      return Set(
        names.filter { name in
          var st = stat()
          guard stat("/tmp/" + name, &st) == 0, let pid = holders[UInt64(st.st_ino)] else { return true }
          return ours(pid)
        })
    }

    // MARK: Descriptors that are not the scenario's

    @Test func aScenarioCannotLeaveTheCallersInputNonblocking() throws {
      let dir = scenarios(["nb.conn": "sock t = fd 0\nset t nonblock\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("", to: dir + "/input")
      let input = try #require(FileHandle(forReadingAtPath: dir + "/input"))
      defer { try? input.close() }
      let r = try runConn(["run", "-j", "1", dir + "/nb.conn"], stdinHandle: input)
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
      #expect(
        fcntl(input.fileDescriptor, F_GETFL) & O_NONBLOCK == 0, "the caller's input was left nonblocking")
    }

    @Test func closingStandardOutputLosesNoOutput() throws {
      let dir = scenarios([
        "a.conn": "sock o = fd 1\nclose o\nsock e = fd 2\nclose e\n",
        "b.conn": "sock s = stream inet\n",
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "-j", "1", dir])
      #expect(r.status == 0)
      #expect(r.stdout.contains("PASS  \(dir)/a.conn"))
      #expect(r.stdout.contains("PASS  \(dir)/b.conn"))
      #expect(r.stdout.contains("2 passed, 0 failed, 0 skipped"))
    }

    @Test func theToolsOwnDescriptorsAreRefusedByName() throws {
      let dir = scenarios(["own.conn": "sock t = fd \(StandardStreams.protectedFloor)\nclose t\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "-j", "1", dir + "/own.conn"])
      #expect(r.status == 1)
      #expect(
        r.stdout.contains("descriptor \(StandardStreams.protectedFloor) is conn's own (standard input)"),
        "\(r.stdout)")
    }

    @Test func aScenarioTouchingTheStandardStreamsCannotBreakTheWorkers() throws {
      var files: [String: String] = [:]
      for i in 0..<6 { files["ok\(i).conn"] = "sock s = stream inet\nbind s 127.0.0.1:0\n" }
      files["stdin.conn"] = "sock t = fd 0\nset t nonblock\nclose t\n"
      files["stdout.conn"] = "sock o = fd 1\nclose o\nsock s = stream inet\n"
      let dir = scenarios(files)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "-j", "2", dir])
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
      #expect(r.stdout.contains("8 passed, 0 failed, 0 skipped"), "\(r.stdout)")
    }

    // MARK: Limits

    @Test func nothingEscapesTheScenarioLimitOnEitherBackend() throws {
      let dir = scenarios([
        "nest.conn": "repeat 100000000 { repeat 100000000 { } }\n",
        "loop.conn": "repeat 100000000 { sock s = stream inet; close s }\n",
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      for backend in ["system", "sim"] {
        let start = Date()
        let r = runInProcess(["run", "-j", "1", "--scenario-timeout", "1s", "--backend", backend, dir])
        #expect(r.status == 1)
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(r.stdout.contains("scenario timed out after 1s of real time"), "\(backend): \(r.stdout)")
      }
    }

    @Test func openingAFIFOWithNoWriterIsBoundedByTheCallLimit() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      #expect(mkfifo(dir + "/fifo", 0o600) == 0)
      write("sock f = file \"\(dir)/fifo\"\n", to: dir + "/fifo.conn")
      let start = Date()
      let r = runInProcess(["run", "--timeout", "300ms", dir + "/fifo.conn"])
      #expect(r.status == 1)
      #expect(r.stdout.contains("timed out after 300ms"))
      #expect(Date().timeIntervalSince(start) < 5)
    }

    @Test func repeatsOfOneScenarioRunOneAfterAnother() throws {
      // A fixed port held for a while: two runs at once would collide (EADDRINUSE).
      let port = 20000 + Int.random(in: 0..<9000)
      let dir = scenarios([
        "fixed.conn": "sock l = stream inet\nbind l 127.0.0.1:\(port)\nlisten l\nsleep 150ms\n"
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "-j", "2", "--repeat", "4", dir])
      #expect(r.status == 0, "\(r.stdout)")
      #expect(r.stdout.contains("(") && r.stdout.contains("4 runs"))
    }

    // MARK: Signals, workers, private directories

    /// Starts conn in the background on scenarios that sleep, returns its process.
    func startSleeping(_ dir: String, jobs: Int) throws -> (Process, String) {
      let p = Process()
      p.executableURL = URL(fileURLWithPath: connBinary)
      p.arguments = [
        "run", "-j", "\(jobs)", "--timeout", "30s", "--output", dir + "/report.json", "--format", "json", dir,
      ]
      let out = dir + "/stdout"
      _ = FileManager.default.createFile(atPath: out, contents: nil)
      p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: out))
      p.standardError = FileHandle.nullDevice
      try p.run()
      return (p, out)
    }

    func sleepers() -> String {
      var files: [String: String] = [:]
      for i in 0..<4 { files["s\(i).conn"] = "sock u = dgram unix\nbind u \"x\(i).sock\"\nsleep 20s\n" }
      return scenarios(files)
    }

    func waitForPrivateDirectories(beyond before: Set<String>, count: Int) {
      let deadline = Date().addingTimeInterval(10)
      while Self.privateDirectories().subtracting(before).count < count && Date() < deadline {
        usleep(20_000)
      }
    }

    @Test(arguments: [1, 2])
    func aSignalEndsTheRunCleanlyWithAPartialReport(jobs: Int) throws {
      let dir = sleepers()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let before = Self.privateDirectories()
      let (p, out) = try startSleeping(dir, jobs: jobs)
      waitForPrivateDirectories(beyond: before, count: jobs)
      #expect(Self.privateDirectories().subtracting(before).count >= jobs, "the scenarios did not start")
      kill(p.processIdentifier, SIGTERM)
      p.waitUntilExit()
      #expect(p.terminationStatus == 143)
      #expect(Self.leftBehind(since: before).isEmpty, "private directories left behind")
      let report = try String(contentsOfFile: dir + "/report.json", encoding: .utf8)
      #expect(report.contains("stopped by a signal"))
      #expect(report.contains("not run (stopped by SIGTERM)"))
      let human = try String(contentsOfFile: out, encoding: .utf8)
      #expect(human.contains("skipped"))
    }

    @Test func workersDieWithTheirParent() throws {
      let dir = sleepers()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let before = Self.privateDirectories()
      let (p, _) = try startSleeping(dir, jobs: 2)
      waitForPrivateDirectories(beyond: before, count: 2)
      let parent = p.processIdentifier
      kill(parent, SIGKILL)
      p.waitUntilExit()
      // Each worker gets SIGTERM, ends its scenario (removing its directory) and exits.
      let deadline = Date().addingTimeInterval(5)
      while workers(of: parent) > 0 && Date() < deadline { usleep(20_000) }
      #expect(workers(of: parent) == 0, "workers outlived their parent")
      #expect(Self.leftBehind(since: before).isEmpty)
    }

    /// Processes whose command line says they are workers of `parent`.
    func workers(of parent: Int32) -> Int {
      let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
      return entries.filter { name in
        guard Int(name) != nil, let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline")
        else { return false }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return args.contains("--worker") && args.contains("\(parent)")
      }.count
    }

    @Test func theNextRunRemovesWhatAKilledRunLeft() throws {
      var template = Array("/tmp/conn-XXXXXX".utf8CString)
      let stale = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
      _ = FileManager.default.createFile(atPath: stale + "/x.sock", contents: nil)
      let dir = scenarios(["a.conn": "sock s = stream inet\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = runInProcess(["run", dir])
      #expect(r.status == 0)
      #expect(!FileManager.default.fileExists(atPath: stale))
      let again = runInProcess(["clean"])
      #expect(again.stdout == "nothing to remove\n" || !again.stdout.contains(stale))
    }

    // MARK: Memory

    /// Peak memory of `conn run -v` over a loop of `n` iterations (GNU time's %M), nil where
    /// /usr/bin/time is missing.
    func peakKilobytes(backend: String, iterations n: Int) throws -> Int? {
      guard FileManager.default.isExecutableFile(atPath: "/usr/bin/time") else { return nil }
      let dir = scenarios([
        "loop.conn":
          "sock p = stream inet\nbind p 127.0.0.1:0\nrepeat \(n) { sock s = stream inet; connect s p; expect ECONNREFUSED; close s }\n"
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/time")
      p.arguments = [
        "-f", "%M", "-o", dir + "/peak", connBinary, "run", "-v", "-j", "1", "--backend", backend,
        dir + "/loop.conn",
      ]
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      p.waitUntilExit()
      #expect(p.terminationStatus == 0)
      return Int(
        try String(contentsOfFile: dir + "/peak", encoding: .utf8).trimmingCharacters(
          in: .whitespacesAndNewlines))
    }

    /// The trace streams out: memory stays flat however long a traced run goes (issue 12, item 8).
    @Test(arguments: [("sim", 20_000), ("system", 5_000), ("both", 5_000)])
    func aTracedRunsMemoryStaysFlat(backend: String, iterations: Int) throws {
      guard let small = try peakKilobytes(backend: backend, iterations: iterations),
        let large = try peakKilobytes(backend: backend, iterations: iterations * 10)
      else { return }
      #expect(
        Double(large) <= Double(small) * 1.25 + 2048,
        "\(backend): \(small) KB, then \(large) KB at 10x the iterations")
    }

    // MARK: Files

    @Test func absolutePathSocketsAreRemovedSoRepeatsAreNotFlaky() throws {
      let sock = "/tmp/conn-abs-\(UUID().uuidString.prefix(8)).sock"
      defer { unlink(sock) }
      let dir = scenarios(["abs.conn": "sock u = dgram unix\nbind u \"\(sock)\"\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = runInProcess(["run", "--repeat", "3", "-j", "1", dir])
      #expect(r.status == 0, "\(r.stdout)")
      #expect(!FileManager.default.fileExists(atPath: sock))
    }

    @Test(arguments: ["system", "sim"])
    func fileStatementsFollowNoLinkAndLeaveNothingBehind(backend: String) throws {
      let before = Self.privateDirectories()
      let dir = scenarios([
        "through-link.conn": "mkdir \"d\"\nsymlink \"d\" \"ld\"\nmkfile \"ld/x\"\n",
        "chmod-link.conn": "mkfile \"f\"\nsymlink \"f\" \"lf\"\nchmod \"lf\" 0777\n",
        "closed-modes.conn":
          "mkdir \"a\" mode 0000\nmkdir \"b\"\nmkfile \"b/f\" mode 0000\nchmod \"b\" 0000\n",
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = runInProcess(["run", "--backend", backend, "-j", "1", dir])
      #expect(r.status == 1, "\(r.stdout)")
      #expect(
        r.stdout.contains("through-link.conn:3:1: FAIL: \"ld/x\" leads through a symbolic link"),
        "\(r.stdout)")
      #expect(
        r.stdout.contains("chmod-link.conn:3:1: FAIL: \"lf\" leads through a symbolic link"), "\(r.stdout)")
      #expect(r.stdout.contains("PASS  \(dir)/closed-modes.conn"), "\(r.stdout)")
      // Directories of mode 0000 did not keep the private directory from going.
      #expect(Self.leftBehind(since: before).isEmpty)
    }

    @Test func aBinaryFileIsOneErrorAndDevicesAreRefused() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      var bytes: [UInt8] = Array("sock s = stream inet\n".utf8)
      for i in 0..<4096 { bytes.append(UInt8(i % 256)) }
      _ = FileManager.default.createFile(atPath: dir + "/bin.conn", contents: Data(bytes))
      let r = runInProcess(["check", dir + "/bin.conn"])
      #expect(r.status == 1)
      #expect(r.stderr.components(separatedBy: "error:").count == 2, "\(r.stderr)")
      #expect(r.stderr.contains("not a text file"))
      let start = Date()
      let z = runInProcess(["check", "/dev/zero"])
      #expect(z.status == 1)
      #expect(z.stderr.contains("is a character device"))
      #expect(Date().timeIntervalSince(start) < 2)
    }

    // MARK: --allow-net

    @Test func allowNetTakesExactPrefixesAndEverythingOnlyByName() {
      let bad = [
        ("0.0.0.0/0", "write --allow-net all"), ("::/0", "write --allow-net all"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8?"), ("10.0.0.0/08", "leading zero"),
      ]
      for (value, message) in bad {
        let r = runInProcess(["run", "--allow-net", value, "x.conn"])
        #expect(r.status == 2, "\(value)")
        #expect(r.stderr.contains(message), "\(value): \(r.stderr)")
      }
      let dir = scenarios(["a.conn": "sock s = stream inet\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let all = runInProcess(["run", "--allow-net", "all", dir])
      #expect(all.status == 0)
      #expect(all.stderr.contains("warning: --allow-net all"))
    }
  }
}
