import Foundation
import Testing

@testable import ConnCommands

extension KernelTests {
  /// `-v --format json`: every call of a scenario is in its report, parsed, with its time.
  @Suite struct JSONTraceTests {
    @Test func verboseJSONReportsCarryEachStep() throws {
      let dir = temporaryDirectory()
      defer { try? FileManager.default.removeItem(atPath: dir) }
      write(
        "sock l = stream inet\nbind l 127.0.0.1:0\nsock s = stream inet\nconnect s l\nexpect ECONNREFUSED\n",
        to: dir + "/a.conn")
      for backend in ["system", "both"] {
        let r = try runConn(["run", "-v", "--format", "json", "--backend", backend, dir + "/a.conn"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let scenario = (doc?["scenarios"] as? [[String: Any]])?.first
        let steps = scenario?["steps"] as? [[String: Any]] ?? []
        let calls = steps.map { $0["call"] as? String ?? "?" }
        let connect = steps.first { $0["call"] as? String == "connect" }
        #expect(connect?["result"] as? String == "-1 ECONNREFUSED (Connection refused)", "\(steps)")
        #expect((connect?["arguments"] as? String)?.hasPrefix("4, {inet 127.0.0.1:") == true, "\(steps)")
        #expect(steps.allSatisfy { ($0["seconds"] as? Double ?? -1) >= 0 })
        if backend == "both" {
          #expect(Set(steps.compactMap { $0["backend"] as? String }) == ["system", "sim"], "\(steps)")
        } else {
          #expect(calls.prefix(4) == ["socket", "bind", "socket", "getsockname"], "\(calls)")
          #expect(steps.last?["note"] as? String == "cleanup")
        }
      }
      // Without -v, no steps.
      let quiet = try runConn(["run", "--format", "json", dir + "/a.conn"])
      #expect(!quiet.stdout.contains("\"steps\""))
    }
  }
}
