import ConnSystem
import Foundation
import Testing

@testable import ConnCommands

// Among the kernel tests, which run one suite at a time: the fuzzer's worker processes make
// private directories and namespaces that the safety tests, counting theirs, must not see.
extension KernelTests {
  @Suite struct FuzzTests {
    @Test func aSeedAlwaysGivesTheSameScenarios() {
      for index in 0..<50 {
        let a = FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(7, index))
        let b = FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(7, index))
        #expect(a == b)
      }
      let distinct = Set((0..<50).map { FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(7, $0)) })
      #expect(distinct.count > 45, "cases of one seed should differ from each other")
      #expect(FuzzGenerator.caseSeed(7, 0) != FuzzGenerator.caseSeed(8, 0))
    }

    /// The first generator's draws do not change (--extended has its own): the seeds of the
    /// runs the README reports still give the same scenarios.
    @Test func theFirstGeneratorsScenariosStayTheSame() {
      #expect(
        FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(2, 0)) == [
          "net addr 127.0.0.5/32", "sock s1 = stream unix", "sock s2 = stream inet",
          "connect s1 unspec nonblock",
          "poll s1 writable timeout 20ms", "sock s3 = dgram unix", "set s2 IP_BIND_ADDRESS_NO_PORT on",
          "bind s1 \"a.sock\"", "accept s3 as s4 nonblock", "peer s1", "set s2 SO_LINGER 0s", "bind s4 @fz",
          "shutdown s4 write", "peer s4", "sock s5 = dgram inet nonblock",
          "send s4 \"x\" MSG_DONTWAIT MSG_NOSIGNAL",
          "set s5 IP_BIND_ADDRESS_NO_PORT on",
        ])
      let extended = (0..<200).map {
        FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(2, $0), extended: true)
      }
      let later = [
        "null", "family ", "mkdir ", "mkfile ", "symlink ", "rm ", ":s", "landlock ", "drop nobody",
        " background",
        "wait ", "signal ",
      ]
      for form in later {
        #expect(extended.joined().contains { $0.contains(form) }, "--extended draws '\(form)'")
      }
    }

    /// Every generated scenario is one the checker accepts: a fuzzer that wastes its cases on
    /// malformed scenarios tests nothing.
    @Test(arguments: [false, true])
    func generatedScenariosAreWellFormed(extended: Bool) {
      let runner = ScenarioRunner(options: RunnerOptions())
      for index in 0..<2000 {
        let lines = FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(1, index), extended: extended)
        let script = runner.fuzzScript(lines)
        let errors = script.diagnostics.filter { $0.severity == .error }.map(\.message)
        #expect(errors.isEmpty, "case \(index): \(errors)\n\(lines.joined(separator: "\n"))")
        if !errors.isEmpty { return }
      }
    }

    /// Every generated destination is loopback, unspecified, a Unix name, a socket name, or in the
    /// prefixes that exist only inside the scenario's namespace.
    @Test(arguments: [false, true])
    func generatedAddressesStayOffTheHostNetwork(extended: Bool) {
      let allowed = [
        "127.", "0.0.0.0", "[::1]", "[::]", "[::ffff:127.0.0.1]", "10.9.", "[2001:db8::", "[fe80::",
        "[ff02::",
        "[::ffff:10.9.", "224.0.0.1", "255.255.255.255", "\"", "@",
      ]
      for index in 0..<2000 {
        for line in FuzzGenerator.scenario(seed: FuzzGenerator.caseSeed(3, index), extended: extended) {
          let words = line.split(separator: " ")
          guard let verb = words.first, ["connect", "bind"].contains(verb), words.count >= 3 else { continue }
          let target = String(words[2])
          // A name, unspec, null, or family N: no destination on any network.
          if target == "unspec" || target.first!.isLetter { continue }
          #expect(allowed.contains { target.hasPrefix($0) }, "case \(index): \(line)")
        }
      }
    }

    @Test func shrinkingKeepsOnlyWhatTheFailureNeeds() {
      let lines = [
        "sock a = stream inet", "noise 1", "bind a 127.0.0.1:5555 extra", "noise 2", "connect a b nonblock",
      ]
      var calls = 0
      let small = FuzzShrinker.shrink(lines, budget: 500) { candidate in
        calls += 1
        return candidate.contains("sock a = stream inet")
          && candidate.contains { $0.hasPrefix("connect a b") }
      }
      #expect(small == ["sock a = stream inet", "connect a b"])
      #expect(calls <= 500)
      // The budget bounds the work, whatever the predicate.
      var bounded = 0
      _ = FuzzShrinker.shrink(Array(repeating: "x y z w", count: 40), budget: 25) { _ in
        bounded += 1
        return false
      }
      #expect(bounded == 25)
    }

    @Test func signaturesGroupAnswersThatDifferOnlyInPortsAndNumbers() {
      let a = Disagreement(line: 3, keyword: "local", system: "127.0.0.1:40123", sim: "127.0.0.1:0")
      let b = Disagreement(line: 9, keyword: "local", system: "127.0.0.1:51002", sim: "127.0.0.1:0")
      #expect(a.signature == b.signature)
      let c = Disagreement(line: 3, keyword: "connect", system: "-1 EINVAL", sim: "0")
      #expect(a.signature != c.signature)
    }

    /// The whole tool, as root: a short run is reproducible and every saved file is a scenario
    /// that passes on the kernel (its expects are the kernel's answers).
    @Test(.enabled(if: Isolation.unavailableReason == nil, "needs network namespaces (root on Linux)"))
    func aRunSavesRegressionScenariosThatPassOnTheKernel() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let first = try runConn(["fuzz", "--seed", "11", "--count", "40", "--jobs", "1", "--out", dir + "/a"])
      let second = try runConn(["fuzz", "--seed", "11", "--count", "40", "--jobs", "1", "--out", dir + "/b"])
      #expect(first.stdout.contains("conn fuzz --seed 11: 40 scenarios"), "\(first.stdout)\(first.stderr)")
      func counts(_ s: String) -> Substring? { s.split(separator: "\n").first { $0.contains("agree ") } }
      #expect(counts(first.stdout) != nil && counts(first.stdout) == counts(second.stdout))
      let files = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/a")) ?? []
      #expect(first.status == (files.isEmpty ? 0 : 1))
      for f in files where f.hasSuffix(".conn") {
        let run = try runConn(["run", "--isolate", dir + "/a/" + f])
        #expect(run.status == 0, "\(f) should pass on the kernel: \(run.stdout)\(run.stderr)")
      }
      let shown = try runConn(["fuzz", "--seed", "11", "--show", "3"])
      #expect(shown.status == 0 && (shown.stdout.hasPrefix("sock ") || shown.stdout.hasPrefix("net ")))
    }

    /// A worker that crashes or hangs is replaced, and its case saved as generated, with what
    /// happened: the run goes on and ends with exit status 1.
    @Test(.enabled(if: Isolation.unavailableReason == nil, "needs network namespaces (root on Linux)"))
    func crashesAndHangsAreSavedAndTheRunGoesOn() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(
        ["fuzz", "--seed", "5", "--count", "6", "--jobs", "2", "--case-limit", "2s", "--out", dir],
        env: ["CONN_FUZZ_TEST_CRASH": "1", "CONN_FUZZ_TEST_HANG": "3"], timeout: 60)
      #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
      #expect(r.stdout.contains("conn fuzz --seed 5: 6 scenarios"), "\(r.stdout)")
      #expect(r.stdout.contains("crashes 1, hangs 1"), "\(r.stdout)")
      let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
      #expect(files.contains("crash-5-1.conn") && files.contains("hang-5-3.conn"), "\(files)")
      let crash = (try? String(contentsOfFile: dir + "/crash-5-1.conn", encoding: .utf8)) ?? ""
      let generated = try runConn(["fuzz", "--seed", "5", "--show", "1"]).stdout
      #expect(crash.contains("the worker process ended") && crash.hasSuffix(generated), "\(crash)")
    }
  }
}
