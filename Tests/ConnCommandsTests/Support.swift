import ConnHost
import ConnCommands
import ConnSystem
import Foundation
import Testing

/// The package root, from this file's path.
let packageRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { url.deleteLastPathComponent() }
  return url.path
}()

/// The `conn` executable built beside the test bundle.
let connBinary: String = {
  let candidates = [
    URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("conn")
      .path,
    packageRoot + "/.build/debug/conn",
  ]
  return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[1]
}()

struct ProcessResult {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs `conn` with arguments and optional standard input; bounded by a time limit.
///
/// `withoutNetwork`: for tests that name a destination beyond loopback and expect conn to refuse
/// it, the process runs in a fresh network namespace (`unshare -n`) where one exists, so that
/// even a broken refusal could not send a packet to the host's network.
func runConn(
  _ args: [String], stdin: String? = nil, stdinHandle: FileHandle? = nil, env: [String: String] = [:],
  timeout: TimeInterval = 60, withoutNetwork: Bool = false
) throws -> ProcessResult {
  let p = Process()
  let unshare = "/usr/bin/unshare"
  if withoutNetwork && Isolation.unavailableReason == nil
    && FileManager.default.isExecutableFile(atPath: unshare)
  {
    p.executableURL = URL(fileURLWithPath: unshare)
    p.arguments = ["-n", "--", connBinary] + args
  } else {
    p.executableURL = URL(fileURLWithPath: connBinary)
    p.arguments = args
  }
  p.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
  var environment = ProcessInfo.processInfo.environment
  environment["NO_COLOR"] = "1"
  for (k, v) in env { environment[k] = v }
  p.environment = environment
  // Output goes to files, so a large output can never block the child on a full pipe.
  let dir = temporaryDirectory()
  defer { try? FileManager.default.removeItem(atPath: dir) }
  _ = FileManager.default.createFile(atPath: dir + "/out", contents: nil)
  _ = FileManager.default.createFile(atPath: dir + "/err", contents: nil)
  let out = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/out"))
  let err = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/err"))
  let input = Pipe()
  p.standardOutput = out
  p.standardError = err
  p.standardInput = stdinHandle ?? input
  try p.run()
  if let s = stdin { input.fileHandleForWriting.write(s.data(using: .utf8)!) }
  try? input.fileHandleForWriting.close()
  let deadline = Date().addingTimeInterval(timeout)
  while p.isRunning && Date() < deadline { usleep(5_000) }
  if p.isRunning {
    p.terminate()
    Issue.record("conn \(args) ran past \(timeout)s")
  }
  p.waitUntilExit()
  try? out.close()
  try? err.close()
  let outData = FileManager.default.contents(atPath: dir + "/out") ?? Data()
  let errData = FileManager.default.contents(atPath: dir + "/err") ?? Data()
  return ProcessResult(
    status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a conn command line in this process, through `ConnMain.main`, with its output collected
/// (the commands are a library; only what needs a process of its own spawns the binary). A run
/// must stay in this process: one scenario file, or `-j 1`.
func runInProcess(_ args: [String]) -> ProcessResult {
  final class Collected: @unchecked Sendable {
    var out = ""
    var err = ""
  }
  let c = Collected()
  let console = Console(out: { c.out += $0 }, err: { c.err += $0 })
  let status = ConnMain.main(args, console: console)
  return ProcessResult(status: status, stdout: c.out, stderr: c.err)
}

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() -> String {
  let path = NSTemporaryDirectory() + "conn-test-" + UUID().uuidString
  try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  return path
}

func write(_ text: String, to path: String) {
  _ = FileManager.default.createFile(atPath: path, contents: text.data(using: .utf8))
}

/// Every scenario of the corpus, relative to the package root.
let corpusFiles: [String] = Host.scenarioFiles(under: packageRoot + "/scripts/scenarios").map {
  String($0.dropFirst(packageRoot.count + 1))
}

/// Runs a prepared process to its end; its standard output and error, together.
func runCapturingOutput(_ p: Process) throws -> String {
  let out = Pipe()
  p.standardOutput = out
  p.standardError = out
  try p.run()
  let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
  p.waitUntilExit()
  return text
}
