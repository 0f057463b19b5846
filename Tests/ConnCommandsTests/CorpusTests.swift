import ConnHost
import Foundation
import ConnCommands
import ConnRuntime
import ConnSyntax
import ConnSystem
import Testing

/// Tests that open real sockets in this process run one at a time, so descriptor counts and
/// timing-sensitive scenarios are not disturbed by each other.
@Suite(.serialized) struct KernelTests {}

extension KernelTests {
  @Suite struct CorpusTests {
    @Test func corpusIsLargeEnough() {
      #expect(
        corpusFiles.count >= 40, "the corpus should hold at least 40 scenarios, has \(corpusFiles.count)")
    }

    /// Every corpus scenario on the kernel backend, as `conn run scripts/scenarios` runs it.
    @Test(arguments: corpusFiles)
    func scenarioPassesOnTheKernel(_ path: String) {
      var options = RunnerOptions()
      options.timeout = .seconds(10)
      let runner = ScenarioRunner(options: options)
      let report = runner.run(path: packageRoot + "/" + path)
      switch report.status {
      case .pass: break
      case .skip: #expect(report.skipReason != nil)
      case .fail, .error: Issue.record("\(path): \(report.status)\n\(report.detail)")
      }
    }

    /// Each errno the issue lists has at least one scenario whose expectations name it.
    @Test func everyListedErrnoHasAScenario() throws {
      let required: [Errno] = [
        .ECONNREFUSED, .EINPROGRESS, .EALREADY, .ETIMEDOUT, .EINTR, .EISCONN, .EBADF, .ENOTSOCK, .EFAULT,
        .EINVAL,
        .EAFNOSUPPORT, .EAGAIN, .ENOENT, .EPROTOTYPE, .EACCES, .EPERM, .EADDRNOTAVAIL, .ECONNABORTED,
      ]
      var named = Set<Errno>()
      for path in corpusFiles {
        let script = LoadedScenarioForTests.parse(packageRoot + "/" + path)
        func walk(_ s: [Statement]) {
          for st in s {
            if case .expect(let e) = st.kind { named.formUnion(e.errnos.members) }
            if case .repeat(_, let body) = st.kind { walk(body) }
          }
        }
        walk(script.statements)
      }
      for e in required { #expect(named.contains(e), "no corpus scenario expects \(e.name)") }
    }
  }

}

enum LoadedScenarioForTests {
  static func parse(_ path: String) -> Script {
    let bytes = (try? Host.readFile(path)) ?? []
    return Parser.parse(SourceFile(name: path, bytes: bytes))
  }
}

extension KernelTests {
  /// The simulation against the corpus, and against the kernel statement by statement.
  @Suite struct AgreementTests {
    static var isolationAvailable: Bool { Isolation.unavailableReason == nil }

    @Test(arguments: corpusFiles)
    func scenarioPassesOnTheSimulation(_ path: String) {
      var options = RunnerOptions()
      options.backend = .sim
      let report = ScenarioRunner(options: options).run(path: packageRoot + "/" + path)
      #expect(report.status == .pass, "\(path): \(report.status)\n\(report.detail)")
    }

    /// `--backend both` (with `--isolate` where namespaces can be made): every corpus scenario
    /// that can run on the kernel agrees with the simulation.
    @Test(arguments: corpusFiles)
    func kernelAndSimulationAgree(_ path: String) {
      var options = RunnerOptions()
      options.backend = .both
      options.isolate = Self.isolationAvailable
      let report = ScenarioRunner(options: options).run(path: packageRoot + "/" + path)
      switch report.status {
      case .pass: break
      case .skip: #expect(!Self.isolationAvailable, "\(path) skipped: \(report.skipReason ?? "")")
      default: Issue.record("\(path): \(report.status)\n\(report.detail)")
      }
    }

    /// The same scenario under the simulation gives the same report every time.
    @Test func simulationIsDeterministic() {
      var options = RunnerOptions()
      options.backend = .sim
      options.verbose = true
      let runner = ScenarioRunner(options: options)
      var trace: [String] = []
      runner.traceSink = { trace.append($0) }
      for path in corpusFiles {
        let a = runner.run(path: packageRoot + "/" + path)
        let first = trace
        trace = []
        let b = runner.run(path: packageRoot + "/" + path)
        #expect(!first.isEmpty, "\(path): no trace")
        #expect(
          a.status == b.status && a.duration == b.duration && first == trace && a.detail == b.detail,
          "\(path)")
        trace = []
      }
    }

    /// Every example in docs/LANGUAGE.md and the README runs, and the kernel and the simulation
    /// agree on it.
    @Test func languageExamplesRunAndAgree() {
      var options = RunnerOptions()
      options.backend = .both
      options.isolate = Self.isolationAvailable
      let runner = ScenarioRunner(options: options)
      let examples =
        DocsTests.languageExamples.map { ("docs/LANGUAGE.md", $0.line, $0.text) }
        + DocsTests.readmeExamples.map { ("README.md", $0.line, $0.text) }
      for (file, line, text) in examples {
        let script = Parser.parse(SourceFile(name: "\(file):\(line)", text: text))
        let report = runner.run(script, path: "\(file):\(line)")
        switch report.status {
        case .pass: break
        case .skip:
          #expect(
            !Self.isolationAvailable || report.skipReason?.contains("ipv6") == true
              || report.skipReason?.contains("Landlock") == true,
            "\(line): \(report.skipReason ?? "")")
        default: Issue.record("\(file) example at line \(line): \(report.status)\n\(report.detail)")
        }
      }
    }

    /// Every `conn explain` example provokes its errno on the kernel and agrees with the simulation.
    @Test func explainExamplesRunAndAgree() {
      var options = RunnerOptions()
      options.backend = Self.isolationAvailable ? .both : .sim
      options.isolate = Self.isolationAvailable
      let runner = ScenarioRunner(options: options)
      for info in ErrnoCatalog.entries {
        guard let text = info.example else { continue }
        let script = Parser.parse(SourceFile(name: "explain \(info.errno.name)", text: text))
        let report = runner.run(script, path: "explain \(info.errno.name)")
        #expect(
          report.status == .pass,
          "\(info.errno.name): \(report.status) \(report.skipReason ?? "")\n\(report.detail)")
      }
    }

    /// Every errno whose catalog entry says what Linux answers names the corpus scenarios that
    /// show it (the corpus tests run each on the kernel and the simulation).
    @Test func catalogClaimsAreBackedByCorpusScenarios() {
      for info in ErrnoCatalog.entries where info.linuxNote != nil {
        let evidence = ErrnoCatalog.evidence(info.errno)
        #expect(!evidence.isEmpty, "\(info.errno.name): its Linux note names no scenario")
        for path in evidence {
          #expect(
            FileManager.default.fileExists(atPath: packageRoot + "/scripts/scenarios/" + path),
            "\(info.errno.name): \(path) does not exist")
          let text =
            (try? String(contentsOfFile: packageRoot + "/scripts/scenarios/" + path, encoding: .utf8)) ?? ""
          // The scenario shows the errno it backs, or one of the answers the note names
          // instead (EACCES where the reference says EPERM, ETIMEDOUT for a dropped SYN, ...).
          let named = Errno.allCases.filter { info.linuxNote!.contains($0.name) }.map(\.name)
          let shows = ([info.errno.name] + named).contains { text.contains($0) }
          #expect(shows, "\(info.errno.name): \(path) shows none of the answers the note speaks of")
        }
      }
    }

    @Test func differencesAreShownSideBySide() throws {
      // A scenario the two backends answer differently on purpose: the simulation does not
      // know the host's files, so opening one it does not model fails there.
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nget s SO_SNDBUF\n",
        to: dir + "/d.conn")
      let r = try runConn(["run", "--backend", "both", dir + "/d.conn"])
      #expect(r.status == 1)
      #expect(r.stdout.contains("d.conn:4:1: DIFFER: the backends disagree on this statement"), "\(r.stdout)")
      // The kernel's answer (its default buffer size) and where it gave it.
      #expect(r.stdout.contains("(at line 4)\n  sim:    FAIL"), "\(r.stdout)")
      #expect(r.stdout.contains("  sim:    FAIL: not modelled by the simulated backend"))
    }

    @Test func descriptorNumbersOfDupAreComparedAsDescriptors() throws {
      // Once a Unix path is used, the kernel backend holds a descriptor on the private
      // directory, which the simulation does not: the next numbers differ, and any will do.
      // A number the scenario chose (dup ... fd N) is compared as written.
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock u = stream unix\nconnect u \"x.sock\"\nexpect ENOENT\nsock s = stream inet\ndup s as d\n"
          + "dup s as e fd 300\nexpect 300\n",
        to: dir + "/d.conn")
      let r = try runConn(["run", "--backend", "both", dir + "/d.conn"])
      #expect(r.status == 0, "\(r.stdout)")
    }
  }

  @Suite(.enabled(if: Isolation.unavailableReason == nil, "needs root on Linux to create network namespaces"))
  struct IsolationTests {
    /// Everything the host's network consists of, as text.
    static func hostNetwork() -> String {
      var out = ""
      for args in [
        ["-o", "link"], ["-o", "addr"], ["route"], ["-6", "route"], ["rule"], ["netns", "list"],
      ] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try? p.run()
        out += String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
      }
      out += (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
      return out
    }

    @Test func isolatedCorpusAgreesAndLeavesTheHostUntouched() throws {
      let before = Self.hostNetwork()
      let r = try runConn(
        ["run", "--isolate", "--backend", "both", "scripts/scenarios/isolated"], timeout: 120)
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
      #expect(r.stdout.contains(" 0 failed, 0 skipped"))
      #expect(
        Self.hostNetwork() == before, "the host's links, addresses, routes, rules or port range changed")
    }

    /// Safety: a destination beyond loopback is refused on the host (see CommandLineTests) and
    /// with --isolate reaches only the private namespace, where nothing routes it anywhere.
    @Test func nonLoopbackDestinationStaysInsideTheNamespace() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("sock s = stream inet\nconnect s 192.0.2.1:80\nexpect ENETUNREACH\n", to: dir + "/out.conn")
      let r = try runConn(["run", "--isolate", dir + "/out.conn"])
      #expect(r.status == 0, "\(r.stdout)")
    }

    @Test func aNetStatementTheKernelRejectsFailsAtItsLine() throws {
      let before = Self.hostNetwork()
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "net route 10.8.0.0/16 unreachable\nnet route 10.8.0.0/16 prohibit\nsock s = stream inet\n",
        to: dir + "/dup.conn")
      let r = try runConn(["run", "--isolate", dir + "/dup.conn"])
      #expect(r.status == 1)
      #expect(r.stdout.contains("dup.conn:2:1: error: ip route add prohibit 10.8.0.0/16:"), "\(r.stdout)")
      #expect(r.stdout.contains("File exists"), "\(r.stdout)")
      #expect(Self.hostNetwork() == before)
    }

    /// Hosts, links, firewall rules and connect hooks live in namespaces and cgroups of the
    /// run's own: a run stopped by SIGTERM in the middle of a blocking connect leaves none of
    /// them behind, and the host's network as it was.
    @Test func aStoppedTopologyRunLeavesNothingBehind() throws {
      let before = Self.hostNetwork()
      let cgroupsBefore = Self.connCgroups()
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        """
        host srv
        link self srv 10.9.0.0/24
        firewall srv input tcp dport 80 drop
        sock c = stream inet
        firewall self connect reject with EACCES
        connect c 10.9.0.2:80
        """, to: dir + "/hang.conn")
      let p = Process()
      p.executableURL = URL(fileURLWithPath: connBinary)
      p.arguments = ["run", "--isolate", "--timeout", "60s", dir + "/hang.conn"]
      p.standardOutput = FileHandle.nullDevice
      p.standardError = FileHandle.nullDevice
      try p.run()
      // The connect hook's cgroup shows that the topology is up.
      let deadline = Date().addingTimeInterval(10)
      while Self.connCgroups().subtracting(cgroupsBefore).isEmpty && Date() < deadline { usleep(20_000) }
      #expect(!Self.connCgroups().subtracting(cgroupsBefore).isEmpty, "the scenario did not get going")
      usleep(200_000)
      kill(p.processIdentifier, SIGTERM)
      p.waitUntilExit()
      #expect(p.terminationStatus == 143)
      #expect(Self.connCgroups().subtracting(cgroupsBefore).isEmpty, "a cgroup was left behind")
      #expect(Self.hostNetwork() == before, "the host's network changed")
    }

    /// The cgroups conn makes for connect hooks.
    static func connCgroups() -> Set<String> {
      let root = "/sys/fs/cgroup/unified"
      let names = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
      return Set(names.filter { $0.hasPrefix("conn-") })
    }

    @Test func aTopologyStatementTheKernelRefusesFailsAtItsLine() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write("host srv\nsysctl srv net.core.busy_poll 1\nsock s = stream inet\n", to: dir + "/sysctl.conn")
      let r = try runConn(["run", "--isolate", dir + "/sysctl.conn"])
      #expect(r.status == 1)
      #expect(
        r.stdout.contains(
          "sysctl.conn:2:1: FAIL: net.core.busy_poll is not a setting of a host's own network namespace"),
        "\(r.stdout)")
      let sim = try runConn(["run", "--backend", "sim", dir + "/sysctl.conn"])
      #expect(sim.status == 1)
      #expect(
        sim.stdout.contains("not modelled by the simulated backend: sysctl net.core.busy_poll"),
        "\(sim.stdout)")
    }

    @Test func netStatementsWithoutIsolateAreSkippedWithTheReason() throws {
      let r = try runConn(["run", "scripts/scenarios/isolated/no-route.conn"])
      #expect(r.status == 0)
      #expect(r.stdout.contains("SKIP  scripts/scenarios/isolated/no-route.conn (needs --isolate"))
    }
  }
}
