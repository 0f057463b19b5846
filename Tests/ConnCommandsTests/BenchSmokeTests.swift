import Foundation
import Testing

// The benchmark command (scripts/bench.sh, README "Benchmarks") at its smallest size, on the
// binaries this test run built: it checks that the command works and prints every figure, not
// what the figures are. Benchmarks themselves never run in `swift test`.

extension KernelTests {
  @Suite struct BenchSmokeTests {
    static var canRun: Bool {
      FileManager.default.isExecutableFile(atPath: "/bin/bash")
        && ["/usr/bin/cc", "/usr/local/bin/cc", "/bin/cc"].contains {
          FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    @Test(.enabled(if: canRun, "needs bash and a C compiler (cc)"))
    func smokeRunPrintsEveryFigure() throws {
      let bin = URL(fileURLWithPath: connBinary).deletingLastPathComponent().path
      try #require(
        FileManager.default.isExecutableFile(atPath: bin + "/conn-bench"),
        "conn-bench is not built beside \(connBinary)")
      let out = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: out) }

      let p = Process()
      p.executableURL = URL(fileURLWithPath: "/bin/bash")
      p.arguments = [packageRoot + "/scripts/bench.sh", "--smoke", "--bin", bin, "--out", out]
      p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
      var environment = ProcessInfo.processInfo.environment
      environment["NO_COLOR"] = "1"
      p.environment = environment
      _ = FileManager.default.createFile(atPath: out + "/stdout", contents: nil)
      let log = try FileHandle(forWritingTo: URL(fileURLWithPath: out + "/stdout"))
      p.standardOutput = log
      p.standardError = log
      p.standardInput = FileHandle.nullDevice
      try p.run()
      let deadline = Date().addingTimeInterval(120)
      while p.isRunning && Date() < deadline { usleep(20_000) }
      if p.isRunning {
        p.terminate()
        Issue.record("scripts/bench.sh --smoke ran past 120 s")
      }
      p.waitUntilExit()
      try? log.close()
      let text = String(
        decoding: FileManager.default.contents(atPath: out + "/stdout") ?? Data(), as: UTF8.self)
      #expect(p.terminationStatus == 0, "bench.sh --smoke exited with \(p.terminationStatus):\n\(text)")

      // Every measurement, with its figures, spreads and targets, and the load around them.
      for heading in [
        "1. Interpreter overhead", "2. Start-up", "3. Parse", "4. Batch", "5. Simulated backend",
        "6. Isolation", "7. Instructions", "Targets", "load average before", "load average after",
      ] {
        #expect(text.contains(heading), "no '\(heading)' section:\n\(text)")
      }
      for row in ["refused connect", "nonblocking connect + accept", "UDP connect", "quartiles", "range"] {
        #expect(text.contains(row), "no '\(row)' row:\n\(text)")
      }
      for figure in ["conn/C", "conn run one.conn", "MB/s", "connects/s", "per scenario", "peak RSS"] {
        #expect(text.contains(figure), "no '\(figure)' figure:\n\(text)")
      }

      // The same figures as JSON.
      let json = try #require(
        FileManager.default.contents(atPath: out + "/bench.json"), "no bench.json in \(out)")
      let document = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
      let results = try #require(document["results"] as? [[String: Any]])
      let sections = Set(results.compactMap { $0["section"] as? String })
      #expect(
        sections == ["loops", "startup", "parse", "batch", "sim", "isolation", "instructions"],
        "sections: \(sections)")
      let loops = results.filter { $0["section"] as? String == "loops" }
      #expect(loops.count == 3)
      for loop in loops {
        let figures = try #require(loop["figures"] as? [String: Any])
        for key in ["conn_over_c", "conn_over_c_q1", "conn_over_c_q3", "c_whole_s", "conn_whole_s"] {
          #expect(figures[key] is Double, "no \(key) in \(loop)")
        }
        #expect(loop["verdict"] is String, "\(loop)")
      }
    }
  }
}
