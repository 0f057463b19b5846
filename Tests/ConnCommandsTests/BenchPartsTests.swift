import Foundation
import Testing

// The benchmark's "by part" figures (README "Benchmarks", section 7) read callgrind's output
// file. This runs callgrind on a short simulated loop and checks the reader against callgrind's
// own total: every instruction is some function's own, so the parts must add up to it exactly.

@Suite struct BenchPartsTests {
  static let valgrind = ["/usr/bin/valgrind", "/usr/local/bin/valgrind"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }
  static let strip = ["/usr/bin/strip", "/bin/strip"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  /// Runs a program to its end or for at most `seconds`; its exit status. Its output goes to
  /// `output` when given.
  func run(_ argv: [String], seconds: Double, output: String? = nil) throws -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: argv[0])
    p.arguments = Array(argv.dropFirst())
    p.standardOutput = FileHandle.nullDevice
    if let output {
      _ = FileManager.default.createFile(atPath: output, contents: nil)
      p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
    }
    p.standardError = FileHandle.nullDevice
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let deadline = Date().addingTimeInterval(seconds)
    while p.isRunning && Date() < deadline { usleep(20_000) }
    if p.isRunning {
      p.terminate()
      Issue.record("\(argv.joined(separator: " ")) ran past \(seconds) s")
    }
    p.waitUntilExit()
    return p.terminationStatus
  }

  @Test(.enabled(if: valgrind != nil && strip != nil, "needs valgrind and strip"))
  func partsAddUpToCallgrindsTotal() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let bin = URL(fileURLWithPath: connBinary).deletingLastPathComponent().path
    try #require(FileManager.default.isExecutableFile(atPath: bin + "/conn-bench"))
    // valgrind 3.19 cannot read the DWARF 5 Swift writes: count a copy without it, as bench.sh does.
    #expect(try run([Self.strip!, "--strip-debug", "-o", dir + "/conn", connBinary], seconds: 60) == 0)
    write(
      "repeat 300 { sock s = stream inet; connect s 127.0.0.1:9; expect ECONNREFUSED; close s }\n",
      to: dir + "/loop.conn")
    // Once as the benchmark runs callgrind, once with a position column more (--dump-instr).
    for extra in [[], ["--dump-instr=yes"]] {
      let out = dir + "/callgrind.out"
      let status = try run(
        [Self.valgrind!, "--tool=callgrind", "--callgrind-out-file=" + out] + extra + [
          dir + "/conn", "run", "--backend", "sim", dir + "/loop.conn",
        ], seconds: 120)
      #expect(status == 0)
      #expect(try run([bin + "/conn-bench", "parts", out], seconds: 60, output: dir + "/parts") == 0)
      let text = String(
        decoding: FileManager.default.contents(atPath: dir + "/parts") ?? Data(), as: UTF8.self)
      var figures: [String: Int] = [:]
      for line in text.split(separator: "\n") {
        let f = line.split(separator: "\t")
        if f.count == 2, let v = Int(f[1]) { figures[String(f[0])] = v }
      }
      let summary = try #require(figures["summary"], "no summary in:\n\(text)")
      #expect(summary > 1_000_000, "\(text)")
      #expect(
        figures["counted"] == summary, "the parts do not add up to callgrind's total \(extra):\n\(text)")
      // A simulated run spends in the simulation, the interpreter and the parser.
      for part in ["simulation", "interpreter", "syntax", "standardLibrary", "lexer"] {
        #expect((figures[part] ?? 0) > 0, "nothing counted in \(part) \(extra):\n\(text)")
      }
    }
  }
}
