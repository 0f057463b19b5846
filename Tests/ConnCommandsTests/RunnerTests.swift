import ConnCommands
import ConnSystem
import Foundation
import Testing

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// A directory of scenarios for runner tests: names to texts.
func scenarioDirectory(_ files: [String: String]) -> String {
  let dir = temporaryDirectory()
  for (name, text) in files {
    let path = dir + "/" + name
    try? FileManager.default.createDirectory(
      atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    write(text, to: path)
  }
  return dir
}

let passing =
  "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nconnect s l\nexpect ECONNREFUSED\n"
let failing =
  "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nconnect s l\nexpect EINPROGRESS\n"
let rootOnly = "# needs: root\nsock s = stream inet\n"
let isolated =
  "net route 10.9.0.0/16 unreachable\nsock s = stream inet\nconnect s 10.9.0.1:80\nexpect EHOSTUNREACH\n"
let broken = "sock s = stream inet\nconnect s 127.0.0.1:99999\n"

extension KernelTests {
  @Suite(.serialized) struct RunnerTests {
    @Test func tapIsValidForProve() throws {
      let dir = scenarioDirectory([
        "a.conn": passing, "b.conn": failing, "c.conn": isolated, "d.conn": broken,
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--format", "tap", dir])
      #expect(r.status == 1)
      // The default TAP is what the harnesses people have read: Debian 12's prove
      // (Test::Harness 3.44) knows TAP up to version 13 and rejects a version 14 line.
      #expect(r.stdout.hasPrefix("TAP version 13\n1..4\n"))
      #expect(r.stdout.contains("ok 1 - \(dir)/a.conn\n"))
      #expect(
        r.stdout.contains(
          "not ok 2 - \(dir)/b.conn\n  ---\n  message: \"expected EINPROGRESS, got ECONNREFUSED\""))
      #expect(r.stdout.contains("    line: 5\n    column: 8\n"))
      #expect(r.stdout.contains("ok 3 - \(dir)/c.conn # SKIP needs --isolate"))
      #expect(r.stdout.contains("not ok 4 - \(dir)/d.conn"))
      // tap14 is the same document with a version 14 line; tap13 stays a name for tap.
      func stable(_ s: String) -> [Substring] {
        s.split(separator: "\n").filter { !$0.contains("duration_ms:") }
      }
      let r14 = try runConn(["run", "--format", "tap14", dir])
      #expect(r14.stdout.hasPrefix("TAP version 14\n1..4\n"))
      #expect(
        stable(r14.stdout)
          == stable(r.stdout.replacingOccurrences(of: "TAP version 13\n", with: "TAP version 14\n")))
      let r13 = try runConn(["run", "--format", "tap13", dir])
      #expect(stable(r13.stdout) == stable(r.stdout))
      // prove (Perl's TAP harness) must read the default form without parse errors.
      guard FileManager.default.isExecutableFile(atPath: "/usr/bin/prove") else { return }
      let tapFile = dir + "/report.tap"
      write(r.stdout, to: tapFile)
      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/usr/bin/prove")
      p.arguments = ["--exec", "cat", tapFile]
      let text = try runCapturingOutput(p)
      #expect(!text.contains("Parse errors"), "\(text)")
      #expect(text.contains("Failed 2/4 subtests"), "\(text)")
    }

    @Test func junitCountsAndCases() throws {
      let dir = scenarioDirectory([
        "x/a.conn": passing, "x/b.conn": failing, "c.conn": isolated, "d.conn": broken,
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--format", "junit", dir])
      #expect(r.status == 1)
      #if canImport(FoundationXML)
        let doc = try XMLDocument(xmlString: r.stdout)
        let suite = try #require(try doc.nodes(forXPath: "/testsuites/testsuite").first as? XMLElement)
        #expect(suite.attribute(forName: "tests")?.stringValue == "4")
        #expect(suite.attribute(forName: "failures")?.stringValue == "1")
        #expect(suite.attribute(forName: "errors")?.stringValue == "1")
        #expect(suite.attribute(forName: "skipped")?.stringValue == "1")
        let cases = try doc.nodes(forXPath: "//testcase")
        #expect(cases.count == 4)
        let failure = try #require(
          try doc.nodes(forXPath: "//testcase[@name='b.conn']/failure").first as? XMLElement)
        #expect(
          failure.attribute(forName: "message")?.stringValue
            == "\(dir)/x/b.conn:5:8: expected EINPROGRESS, got ECONNREFUSED")
        let skipped = try #require(
          try doc.nodes(forXPath: "//testcase[@name='c.conn']/skipped").first as? XMLElement)
        #expect(skipped.attribute(forName: "message")?.stringValue?.hasPrefix("needs --isolate") == true)
        let classname = try #require(
          try doc.nodes(forXPath: "//testcase[@name='a.conn']").first as? XMLElement)
        #expect(classname.attribute(forName: "classname")?.stringValue?.hasSuffix(".x") == true)
      #endif
    }

    @Test func jsonDocumentAndOutputFileWithHumanSummary() throws {
      let dir = scenarioDirectory(["a.conn": passing, "b.conn": failing])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let report = dir + "/report.json"
      let r = try runConn(["run", "--format", "json", "--output", report, dir])
      #expect(r.status == 1)
      #expect(r.stdout.contains("1 passed, 1 failed, 0 skipped"), "human summary still on the terminal")
      let data = try #require(FileManager.default.contents(atPath: report))
      let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
      let summary = try #require(json["summary"] as? [String: Any])
      #expect(summary["passed"] as? Int == 1)
      #expect(summary["failed"] as? Int == 1)
      let scenarios = try #require(json["scenarios"] as? [[String: Any]])
      #expect(scenarios.count == 2)
      let failed = try #require(scenarios.first { $0["status"] as? String == "fail" })
      let failure = try #require(failed["failure"] as? [String: Any])
      #expect(failure["line"] as? Int == 5)
      #expect(failure["column"] as? Int == 8)
      #expect(failure["expected"] as? String == "EINPROGRESS")
      #expect((failure["actual"] as? String)?.contains("ECONNREFUSED") == true)
      #expect(failed["duration_seconds"] is Double || failed["duration_seconds"] is Int)
    }

    @Test func shardsCoverEveryScenarioExactlyOnce() throws {
      var files: [String: String] = [:]
      for i in 0..<7 { files["s\(i).conn"] = passing }
      let dir = scenarioDirectory(files)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      var seen: [String] = []
      for k in 1...3 {
        let r = try runConn(["run", "--shard", "\(k)/3", "--format", "json", dir])
        #expect(r.status == 0)
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        seen += (json?["scenarios"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
      }
      #expect(seen.sorted() == (0..<7).map { "\(dir)/s\($0).conn" }.sorted())
      #expect(try runConn(["run", "--shard", "4/3", dir]).status == 2)
      #expect(try runConn(["run", "--shard", "x", dir]).status == 2)
    }

    /// `--filter` matches the path relative to the directory given, as `find -path` and git's
    /// pathspecs do, and still the path as shown.
    @Test func filterMatchesPathsRelativeToTheDirectoryGiven() throws {
      let dir = scenarioDirectory([
        "tcp/econnrefused.conn": passing, "tcp/eintr.conn": passing, "tcp/refused.conn": passing,
        "udp/econnrefused.conn": passing,
      ])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      func selected(_ args: [String]) -> [String] {
        let r = runInProcess(["run", "-j", "1", "--backend", "sim"] + args)
        return r.stdout.split(separator: "\n").filter { $0.hasPrefix("PASS  ") }.map {
          String($0.dropFirst(6 + dir.count + 1).prefix { $0 != " " })
        }
      }
      #expect(selected(["--filter", "tcp/e*", dir]) == ["tcp/econnrefused.conn", "tcp/eintr.conn"])
      #expect(selected(["--filter", "tcp/e*", dir + "/"]) == ["tcp/econnrefused.conn", "tcp/eintr.conn"])
      #expect(
        selected(["--filter", "e*.conn", dir + "/tcp"]) == ["tcp/econnrefused.conn", "tcp/eintr.conn"])
      #expect(
        selected(["--filter", "*/econnrefused.conn", dir]) == [
          "tcp/econnrefused.conn", "udp/econnrefused.conn",
        ])
      #expect(selected(["--filter", "udp", dir]) == ["udp/econnrefused.conn"])
      // A glob matches the whole path: 'e*' is not 'tcp/e...'.
      #expect(runInProcess(["run", "-j", "1", "--backend", "sim", "--filter", "e*", dir]).status == 2)
    }

    @Test func filterMatchesGlobOrSubstring() {
      #expect(matchesFilter("scripts/scenarios/udp/reconnect.conn", "udp"))
      #expect(matchesFilter("scripts/scenarios/udp/reconnect.conn", "*/udp/*.conn"))
      #expect(!matchesFilter("scripts/scenarios/tcp/refused.conn", "*/udp/*"))
      #expect(matchesFilter("a/b.conn", "a/?.conn"))
      #expect(matchesFilter("scripts/scenarios/tcp/eintr.conn", relative: "tcp/eintr.conn", "tcp/e*"))
      #expect(!matchesFilter("scripts/scenarios/tcp/eintr.conn", relative: "tcp/eintr.conn", "e*"))
      #expect(
        relativeScenarioPath("scripts/scenarios/tcp/eintr.conn", given: ["scripts/scenarios"])
          == "tcp/eintr.conn")
      #expect(relativeScenarioPath("./tcp/eintr.conn", given: ["."]) == "tcp/eintr.conn")
      #expect(relativeScenarioPath("tcp/eintr.conn", given: ["tcp/eintr.conn"]) == "tcp/eintr.conn")
      #expect(selectShard(["a", "b", "c", "d"], index: 2, of: 2) == ["b", "d"])
    }

    @Test func failFastStopsAfterTheFirstFailure() throws {
      let dir = scenarioDirectory(["1.conn": failing, "2.conn": passing, "3.conn": passing])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--fail-fast", "-j", "1", dir])
      #expect(r.status == 1)
      #expect(r.stdout.contains("SKIP  \(dir)/2.conn (not run (--fail-fast stopped the run))"))
      #expect(r.stdout.contains("0 passed, 1 failed, 2 skipped"))
    }

    @Test func repeatReportsFlakyScenarios() throws {
      // A classic flaky test: the server side closes first, so its fixed port stays in
      // TIME_WAIT, and the next run's bind of that port (without SO_REUSEADDR) fails.
      let port = 20000 + Int.random(in: 0..<9000)
      let flakyText = """
        sock l = stream inet
        bind l 127.0.0.1:\(port)
        listen l
        sock c = stream inet
        connect c l
        accept l as a
        close a
        close c
        """
      let dir = scenarioDirectory(["flaky.conn": flakyText, "steady.conn": passing])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--repeat", "3", "-j", "1", "--format", "json", dir])
      #expect(r.status == 1)
      let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
      let scenarios = try #require(json["scenarios"] as? [[String: Any]])
      let flaky = try #require(scenarios.first { ($0["path"] as? String)?.hasSuffix("flaky.conn") == true })
      #expect(flaky["status"] as? String == "fail")
      #expect(flaky["runs"] as? [String] == ["pass", "fail", "fail"])
      let failure = try #require(flaky["failure"] as? [String: Any])
      #expect((failure["message"] as? String) == "flaky: passed 1 of 3 runs")
      #expect((failure["actual"] as? String)?.contains("EADDRINUSE") == true)
      let steady = try #require(scenarios.first { ($0["path"] as? String)?.hasSuffix("steady.conn") == true })
      #expect(steady["status"] as? String == "pass")
    }

    @Test func strictSkipsTurnSkipsIntoFailure() throws {
      let dir = scenarioDirectory(["a.conn": passing, "c.conn": isolated])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      #expect(try runConn(["run", dir]).status == 0)
      #expect(try runConn(["run", "--strict-skips", dir]).status == 1)
    }

    /// Each job's interrupt lands on its own blocked call: several EINTR scenarios at once.
    @Test func interruptsStayWithTheirScenarioAcrossJobs() throws {
      let eintr = """
        sock l = stream inet
        bind l 127.0.0.1:0
        listen l backlog 0
        sock a = stream inet
        connect a l
        sock s = stream inet
        set s TCP_SYNCNT 1
        connect s l interrupt 100ms
        expect EINTR within 2s
        sock t = stream inet
        set t TCP_SYNCNT 1
        connect t l interrupt 250ms
        expect EINTR within 2s

        """
      var files: [String: String] = [:]
      for i in 0..<6 { files["e\(i).conn"] = eintr }
      let dir = scenarioDirectory(files)
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "-j", "3", dir])
      #expect(r.status == 0, "\(r.stdout)")
      #expect(r.stdout.contains("6 passed, 0 failed, 0 skipped"))
    }

    /// A call past --timeout fails as "timed out", never with an errno the kernel did not say.
    @Test func timeLimitIsAFailureNotAnErrno() throws {
      let hang = """
        sock l = stream inet
        bind l 127.0.0.1:0
        listen l backlog 0
        sock a = stream inet
        connect a l
        sock s = stream inet
        connect s l
        expect ETIMEDOUT

        """
      let dir = scenarioDirectory(["hang.conn": hang])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--timeout", "300ms", dir])
      #expect(r.status == 1)
      #expect(r.stdout.contains("hang.conn:7:1: FAIL: timed out after 300ms"), "\(r.stdout)")
    }
  }
}
