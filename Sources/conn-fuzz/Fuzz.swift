// The front end under a fuzzer: every input, however malformed, is lexed, parsed, checked,
// rendered (each diagnostic with its excerpt) and compiled, and none of that may crash, hang or
// grow without bound. scripts/fuzz.sh builds this with libFuzzer (-sanitize=fuzzer, and the
// address sanitizer) and runs it from the scenario corpus.
//
// Built without FUZZING (as `swift build` builds every target), it is a replayer: it runs the
// same steps over the files it is given, to reproduce a crash the fuzzer saved.

import ConnHost
import ConnRuntime
import ConnSyntax

/// One input through the whole front end.
func exercise(_ bytes: [UInt8]) {
  let source = SourceFile(name: "fuzz.conn", bytes: bytes)
  let script = Parser.parse(source)
  let renderer = DiagnosticRenderer(color: false)
  for d in script.diagnostics { _ = renderer.render(d, in: source) }
  if !script.hasErrors {
    let program = Program(script) { _ in 0 }
    precondition(program.code.count == program.statements.count)
  }
  // Command-line values go through the same rules.
  if bytes.count < 256, let text = String(validating: bytes, as: UTF8.self) {
    _ = Parser.duration(text)
    _ = Parser.networkPrefix(text)
  }
}

#if FUZZING
  /// libFuzzer's driver, for a program that has its own main (SwiftPM gives every executable one).
  @_silgen_name("LLVMFuzzerRunDriver")
  func runFuzzer(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
  ) -> CInt
#endif

@main
struct Fuzz {
  static func main() {
    #if FUZZING
      var argc = CommandLine.argc
      var argv = CommandLine.unsafeArgv
      let status = runFuzzer(&argc, &argv) { data, size in
        exercise(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
        return 0
      }
      Host.exit(status)
    #else
      // Replay: the steps over each file given.
      for path in CommandLine.arguments.dropFirst() {
        do throws(HostError) {
          exercise(try Host.readFile(path, limit: 1 << 30))
          Host.printOut("\(path): ok\n")
        } catch {
          Host.printErr("conn-fuzz: \(error.description)\n")
        }
      }
    #endif
  }
}
