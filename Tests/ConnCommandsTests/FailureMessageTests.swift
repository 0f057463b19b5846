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
