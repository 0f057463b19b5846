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
    #expect(corpusFiles.count >= 40, "the corpus should hold at least 40 scenarios, has \(corpusFiles.count)")
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
      .ECONNREFUSED, .EINPROGRESS, .EALREADY, .ETIMEDOUT, .EINTR, .EISCONN, .EBADF, .ENOTSOCK, .EFAULT, .EINVAL,
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
