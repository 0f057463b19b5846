import Foundation
import Testing

/// Runs `text` as a scenario file with `conn run` and these options; the output of both streams.
private func runScenario(_ text: String, _ options: [String] = []) throws -> (status: Int32, output: String) {
  let dir = scenarioDirectory(["s.conn": text])
  defer { try? FileManager.default.removeItem(atPath: dir) }
  let r = try runConn(["run"] + options + [dir + "/s.conn"])
  return (r.status, r.stdout + r.stderr)
}

extension KernelTests {
  /// What a failure says (issue 17, items 9 and 10), on the kernel and on the simulation.
  @Suite struct FailureMessageTests {
    static let backends = ["system", "sim"]

    /// `peer c; expect l` fails naming what `l` stood for: the address it was bound to.
    @Test(arguments: backends) func socketNamesInAnExpectShowTheirAddresses(backend: String) throws {
      let r = try runScenario(
        """
        sock l = stream inet
        bind l 0.0.0.0:0
        listen l
        sock c = stream inet
        connect c l
        peer c
        expect l or c
        """, ["--backend", backend])
      #expect(r.status == 1)
      let pattern = #/expected l \(0\.0\.0\.0:(\d+)\) or c \(127\.0\.0\.1:(\d+)\), got 127\.0\.0\.1:(\d+)/#
      let m = try #require(r.output.firstMatch(of: pattern), "\(r.output)")
      #expect(m.1 == m.3)
      #expect(r.output.contains("  expected: l (0.0.0.0:\(m.1)) or c (127.0.0.1:\(m.2))\n"))
    }

    /// A socket name whose address cannot be read says why, rather than failing another way.
    @Test func aClosedSocketInAnExpectSaysSo() throws {
      let r = try runScenario(
        """
        sock l = stream inet
        bind l 127.0.0.1:0
        sock c = stream inet
        bind c 127.0.0.1:0
        close l
        local c
        expect l
        """, ["--backend", "sim"])
      #expect(r.status == 1)
      #expect(r.output.contains("expected l (getsockname said EBADF), got"), "\(r.output)")
    }

    /// After `get s SO_ERROR` the failure says what getsockopt did: it returned 0 and wrote the errno.
    @Test(arguments: backends) func soErrorFailureShowsWhatGetsockoptDid(backend: String) throws {
      let r = try runScenario(
        """
        sock l = stream inet
        bind l 127.0.0.1:0
        sock s = stream inet nonblock
        connect s l
        expect EINPROGRESS
        poll s writable timeout 1s
        expect writable
        get s SO_ERROR
        expect ok
        """, ["--backend", backend])
      #expect(r.status == 1)
      #expect(r.output.contains("expected ok, got ECONNREFUSED"), "\(r.output)")
      #expect(
        r.output.contains(
          "  actual:   getsockopt returned 0, SO_ERROR = ECONNREFUSED (Connection refused)\n"),
        "\(r.output)")
      #expect(!r.output.contains("actual:   -1"))
    }

    /// `expect off`, `on` and durations after `get` of SO_LINGER and the timeouts.
    @Test(arguments: backends) func lingerAndTimeoutsReadAsOnOffAndDurations(backend: String) throws {
      let pass = try runScenario(
        """
        sock s = stream inet
        get s SO_LINGER
        expect off
        set s SO_LINGER 5s
        get s SO_LINGER
        expect on
        get s SO_LINGER
        expect 5s
        get s SO_LINGER
        expect 5
        set s SO_LINGER 0s
        get s SO_LINGER
        expect on
        set s SO_LINGER off
        get s SO_LINGER
        expect off or 3s
        get s SO_RCVTIMEO
        expect off
        set s SO_RCVTIMEO 1500ms
        get s SO_RCVTIMEO
        expect 1500ms or 7s
        get s SO_RCVTIMEO
        expect on
        get s SO_REUSEADDR
        expect off
        set s SO_REUSEADDR on
        get s SO_REUSEADDR
        expect on
        """, ["--backend", backend])
      #expect(pass.status == 0, "\(pass.output)")
      let fail = try runScenario(
        "sock s = stream inet\nget s SO_LINGER\nexpect on\n", ["--backend", backend])
      #expect(fail.status == 1)
      #expect(fail.output.contains("expected on, got off"), "\(fail.output)")
      #expect(fail.output.contains("  actual:   getsockopt returned 0, SO_LINGER = off (l_onoff=0)\n"))
    }

    /// The REPL's :save writes SO_LINGER off as `expect off` (a -1 would not parse), and the
    /// saved file replays.
    @Test func replSavesLingerOffAsOff() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let file = dir + "/saved.conn"
      let r = try runConn(
        ["repl", "--backend", "sim"], stdin: "sock s = stream inet\nget s SO_LINGER\n:save \(file)\n")
      #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
      let saved = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
      #expect(saved.contains("get s SO_LINGER\nexpect off\n"), "\(saved)")
      #expect(try runConn(["run", "--backend", "sim", file]).status == 0)
    }

    /// `on`, `off` and durations describe what `get` read: after anything else the checker says so.
    @Test func onOffAndDurationsOnlyAfterGet() throws {
      let dir = scenarioDirectory(["s.conn": "sock s = stream inet\nbind s 127.0.0.1:0\nexpect off\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["check", dir + "/s.conn"])
      #expect(r.status == 1)
      #expect((r.stdout + r.stderr).contains("only 'get' reads an option's state or duration"))
    }

    /// An empty scenario checks nothing: it is a skip ("no statements"), a failure under --strict-skips.
    @Test func anEmptyScenarioIsSkippedAndFailsUnderStrictSkips() throws {
      let dir = scenarioDirectory(["a.conn": "sock s = stream inet\n", "empty.conn": "# only a comment\n\n"])
      defer { try? FileManager.default.removeItem(atPath: dir) }
      let r = try runConn(["run", "--backend", "sim", dir])
      #expect(r.status == 0)
      #expect(r.stdout.contains("SKIP  \(dir)/empty.conn (no statements)"), "\(r.stdout)")
      #expect(r.stdout.contains("1 passed, 0 failed, 1 skipped"))
      let strict = try runConn(["run", "--backend", "sim", "--strict-skips", dir])
      #expect(strict.status == 1)
      let tap = try runConn(["run", "--backend", "sim", "--format", "tap", dir])
      #expect(tap.stdout.contains("empty.conn # SKIP no statements"))
    }
  }
}
