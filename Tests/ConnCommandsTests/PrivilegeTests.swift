import ConnCommands
import ConnHost
import ConnRuntime
import ConnSyntax
import ConnSystem
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// `drop` and `landlock` change only the thread that runs their scenario: the runner's thread
/// keeps its identity, its capabilities and its network rights, and cleans up.
extension KernelTests {
  @Suite(.serialized) struct PrivilegeTests {
    static let linuxRoot = Host.isLinux && Host.isRoot

    private func privateDirectories() -> Set<String> {
      Set(
        ((try? FileManager.default.contentsOfDirectory(atPath: "/tmp")) ?? []).filter {
          $0.hasPrefix("conn-")
        })
    }

    private func run(_ text: String, backend: BackendChoice = .system) -> ScenarioReport {
      var options = RunnerOptions()
      options.backend = backend
      let runner = ScenarioRunner(options: options)
      return runner.run(Parser.parse(SourceFile(name: "t.conn", text: text)), path: "t.conn")
    }

    @Test(.enabled(if: linuxRoot, "drop needs root on Linux"))
    func dropLeavesTheRunnerRoot() {
      let before = privateDirectories()
      let report = run(
        """
        sock l = stream unix
        bind l "s.sock"
        listen l
        drop nobody
        sock r = raw inet proto 1
        expect EPERM
        """)
      #expect(report.status == .pass, "\(report.detail)")
      // This thread is still root, with its capabilities: a raw socket is allowed.
      #expect(getuid() == 0 && geteuid() == 0 && getgid() == 0)
      let b = SystemBackend()
      defer { b.endScenario(closing: []) }
      guard case .number(let fd)? = try? b.socket(SocketKind(.raw, .inet, proto: 1), nonblocking: false)
      else {
        Issue.record("the runner's thread lost CAP_NET_RAW")
        return
      }
      _ = b.close(Descriptor(fd))
      // The private directory (with the socket file) is gone: removed from this thread.
      #expect(privateDirectories().subtracting(before).isEmpty)
    }

    @Test(
      .enabled(
        if: linuxRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
        "needs root on Linux and setpriv, to run conn as nobody"))
    func aDropThatCannotTakeStopsTheScenario() throws {
      // conn itself runs as nobody: setgroups is refused, and the scenario stops at `drop`
      // with the reason instead of going on half-dropped.
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
      try FileManager.default.copyItem(atPath: connBinary, toPath: dir + "/conn")
      write(
        "sock s = stream inet\ndrop nobody\nsock r = raw inet proto 1\nexpect EPERM\n", to: dir + "/d.conn")
      for (path, mode) in [(dir, 0o755), (dir + "/conn", 0o755), (dir + "/d.conn", 0o644)] {
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
      }
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
      p.arguments = [
        "--reuid", "65534", "--regid", "65534", "--clear-groups", dir + "/conn", "run", dir + "/d.conn",
      ]
      p.currentDirectoryURL = URL(fileURLWithPath: "/")
      p.environment = ["NO_COLOR": "1", "PATH": "/usr/bin:/bin"]
      let text = try runCapturingOutput(p)
      #expect(p.terminationStatus == 1, "\(text)")
      #expect(
        text.contains("d.conn:2:1: FAIL: cannot drop to user 65534: Operation not permitted"), "\(text)")
    }

    @Test func theKernelBackendRefusesOutsideAThreadOfItsOwn() {
      let b = SystemBackend()
      defer { b.endScenario(closing: []) }
      #expect(throws: BackendError.self) { try b.dropPrivileges(.nobody) }
      #expect(throws: BackendError.self) {
        try b.restrict(LandlockLayer(connect: [], bind: nil, abstract: false))
      }
      #expect(getuid() == geteuid())
    }

    @Test(
      .enabled(
        if: Host.isLinux && SystemBackend.landlockUnavailableReason == nil,
        "needs Landlock ABI 6 (Linux 6.12)"))
    func landlockLeavesTheRunnerFree() {
      let restricted = run(
        """
        sock l = stream inet
        bind l 127.0.0.1:0
        listen l
        landlock connect none
        sock s = stream inet
        connect s 127.0.0.1:l
        expect EACCES
        """)
      #expect(restricted.status == .pass, "\(restricted.detail)")
      // The same connect from the runner's thread, after: allowed.
      let free = run(
        """
        sock l = stream inet
        bind l 127.0.0.1:0
        listen l
        sock s = stream inet
        connect s 127.0.0.1:l
        expect ok
        """)
      #expect(free.status == .pass, "\(free.detail)")
    }

    @Test func theSimulationDropsAndRestrictsToo() {
      let report = run(
        """
        sock a = stream inet
        bind a 127.0.0.1:0
        listen a
        sock old = stream unix
        bind old @old
        listen old
        landlock connect a
        landlock abstract
        drop nobody
        sock s = stream inet
        connect s 127.0.0.1:a
        expect ok
        sock t = stream inet
        connect t 127.0.0.1:9
        expect EACCES
        sock u = stream unix
        connect u @old
        expect EPERM
        sock v = stream inet
        bind v 127.0.0.1:80
        expect EACCES
        sock p = raw packet
        expect EPERM
        """, backend: .sim)
      #expect(report.status == .pass, "\(report.detail)")
    }
  }
}

/// Calls in the background on each backend: the scenario goes on, `wait` collects, `signal`
/// interrupts, and one left running at the end is interrupted, not waited for.
extension KernelTests {
  @Suite(.serialized) struct BackgroundTests {
    private func run(_ text: String, backend: BackendChoice, timeout: TimeSpan = .seconds(10))
      -> ScenarioReport
    {
      var options = RunnerOptions()
      options.backend = backend
      options.timeout = timeout
      return ScenarioRunner(options: options).run(
        Parser.parse(SourceFile(name: "t.conn", text: text)), path: "t.conn")
    }

    @Test(arguments: [BackendChoice.system, .sim, .both])
    func acceptWaitsForALaterConnect(_ backend: BackendChoice) {
      let report = run(
        """
        sock l = stream inet
        bind l 127.0.0.1:0
        listen l
        accept l as c background
        sock s = stream inet
        connect s 127.0.0.1:l
        wait l
        expect ok
        peer c
        expect s
        recv c background
        send s "ping"
        wait c
        expect "ping"
        """, backend: backend)
      #expect(report.status == .pass, "\(report.detail)")
    }

    @Test(arguments: [BackendChoice.system, .sim])
    func aCallLeftInTheBackgroundIsInterruptedAtTheEnd(_ backend: BackendChoice) {
      // A session piece (the REPL's) may leave one; the runner's end of scenario must not wait
      // for its 10 s limit.
      var context = ParseContext()
      context.isSession = true
      let script = Parser.parse(
        SourceFile(
          name: "t", text: "sock l = stream inet\nbind l 127.0.0.1:0\nlisten l\naccept l as c background\n"),
        context: context)
      #expect(script.diagnostics.isEmpty)
      var options = RunnerOptions()
      options.backend = backend
      let start = ContinuousClock.now
      let report = ScenarioRunner(options: options).run(script, path: "t")
      #expect(report.status == .pass, "\(report.detail)")
      #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test(arguments: [BackendChoice.system, .sim])
    func aBackgroundCallKeepsItsLimit(_ backend: BackendChoice) {
      let report = run(
        "sock l = stream inet\nbind l 127.0.0.1:0\nlisten l\naccept l as c background\nwait l\nexpect ok\n",
        backend: backend, timeout: .milliseconds(200))
      #expect(report.status == .fail)
      #expect(report.failure?.message == "timed out after 200ms", "\(report.detail)")
    }
  }
}
