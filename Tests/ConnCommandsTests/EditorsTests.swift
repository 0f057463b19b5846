import Foundation
import Testing

/// The editor support in editors/ (TextMate grammar, Vim syntax), checked against the corpus by
/// scripts/check-editors.sh: every scenario highlights without an error token.
@Suite struct EditorsTests {
  /// An executable found on PATH, as the script will find it.
  static func onPath(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)")
    {
      return "\(dir)/\(name)"
    }
    return nil
  }

  static let python3Available: Bool = {
    guard let python = onPath("python3") else { return false }
    // A pyenv shim exists even when no python3 is installed behind it: ask it to run.
    return (try? run([python, "-c", "pass"]).status) == 0
  }()

  /// Runs a program with the package root as working directory; output goes to files.
  static func run(_ args: [String]) throws -> ProcessResult {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
    _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
    let p = Process()
    p.executableURL = URL(fileURLWithPath: args[0])
    p.arguments = Array(args.dropFirst())
    p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try? out.close()
    try? err.close()
    return ProcessResult(
      status: p.terminationStatus,
      stdout: String(decoding: FileManager.default.contents(atPath: dir + "/out") ?? Data(), as: UTF8.self),
      stderr: String(decoding: FileManager.default.contents(atPath: dir + "/err") ?? Data(), as: UTF8.self))
  }

  @Test(.enabled(if: python3Available, "python3 is not installed: the grammar check needs it"))
  func everyCorpusFileHighlightsWithoutErrorTokens() throws {
    let r = try Self.run(["/bin/bash", packageRoot + "/scripts/check-editors.sh"])
    #expect(r.status == 0, "check-editors.sh failed:\n\(r.stdout)\(r.stderr)")
    #expect(r.stdout.contains("0 error tokens"), "\(r.stdout)")
  }

  @Test(.enabled(if: python3Available, "python3 is not installed: the grammar check needs it"))
  func aBrokenLineFailsTheCheck() throws {
    let dir = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    write("sock s = stream inet\nexpect EINPROGRESS, ECONNREFUSED\n", to: dir + "/broken.conn")
    let r = try Self.run(["/bin/bash", packageRoot + "/scripts/check-editors.sh", dir + "/broken.conn"])
    #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
    #expect(r.stderr.contains("broken.conn:2:19: invalid token ','"), "\(r.stderr)")
  }
}
