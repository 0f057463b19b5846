// conn-bench: measurements that print their figures (never timed tests).
//
//   conn-bench parse [--mb N] [--runs K] [--once]   lex+parse throughput on a generated scenario
//   conn-bench layout                      the syntax tree's sizes in bytes
//   conn-bench suite ...                   every measurement of scripts/bench.sh (Suite.swift)
//   conn-bench hello                       exits at once: a Swift program's start-up, for comparison
//
// Every figure is a median over several runs; memory is the process's peak RSS.

import ConnRuntime
import ConnSyntax
import ConnHost

func peakRSSBytes() -> Int { Host.peakRSSBytes() }

func now() -> Int64 { Host.monotonicNow() }

/// A realistic scenario text: the corpus's statement mix, comments included, with distinct
/// socket names and addresses, repeated until `bytes` long.
func generateScenario(bytes: Int) -> [UInt8] {
  var out: [UInt8] = []
  out.reserveCapacity(bytes + 4096)
  var i = 0
  while out.count < bytes {
    let n = i % 97
    let block = """
      # case \(i): nonblocking connect to a listener, then the refused port
      sock l\(n) = stream inet
      bind l\(n) 127.0.0.1:0
      listen l\(n) backlog 16
      sock s\(n) = stream inet nonblock
      connect s\(n) l\(n)
      expect EINPROGRESS or EALREADY
      poll s\(n) writable timeout 1s
      expect writable
      get s\(n) SO_ERROR; expect ok
      sock u\(n) = dgram inet6
      connect u\(n) [::1]:\(1000 + n)
      peer u\(n)
      expect [::1]:\(1000 + n)
      sock p\(n) = stream unix
      connect p\(n) "run/sock-\(n).sock"
      expect ENOENT within 10ms
      repeat 3 { sock r = stream inet; connect r 127.0.0.1:\(2000 + n); expect ECONNREFUSED; close r }
      close s\(n); close l\(n)

      """
    out.append(contentsOf: block.utf8)
    i += 1
  }
  return out
}

func benchParse(_ args: [String]) {
  var mb = 20
  var runs = 5
  // --once: a single parse, no warm-up: the memory a process needs to parse the file (repeated
  // parses in one process add the allocator's leftovers from the earlier ones).
  var once = false
  var i = 0
  while i < args.count {
    if args[i] == "--mb", i + 1 < args.count { mb = Int(args[i + 1]) ?? mb; i += 1 }
    if args[i] == "--runs", i + 1 < args.count { runs = Int(args[i + 1]) ?? runs; i += 1 }
    if args[i] == "--once" { once = true }
    i += 1
  }
  let baseline = peakRSSBytes()
  let text = generateScenario(bytes: mb * 1_000_000)
  var times: [Double] = []
  var statements = 0
  // One untimed warm-up run first (the process's first large allocations fault their pages in),
  // then the timed runs: the median is the steady state of a process that parses files.
  if once { runs = 1 }
  for run in (once ? 1 : 0)...runs {
    let source = SourceFile(name: "bench.conn", bytes: text)
    let t0 = now()
    let script = Parser.parse(source)
    let t1 = now()
    precondition(!script.hasErrors, "generated scenario has errors: \(script.diagnostics.first!.message)")
    statements = script.statements.count
    if run > 0 { times.append(Double(t1 - t0) / 1e9) }
  }
  let secs = median(times)
  let mbps = Double(text.count) / 1e6 / secs
  let peak = peakRSSBytes()
  let ratio = Double(peak) / Double(text.count)
  let rates = times.map { "\(Double(text.count) / 1e6 / $0)" }.joined(separator: ",")
  print(
    "parse: \(text.count) bytes, \(statements) top-level statements, \(once ? "one run" : "\(runs) runs after a warm-up run")"
  )
  print("  median time      \(fmt(secs * 1000)) ms")
  print("  throughput       \(fmt(mbps)) MB/s   (target >= 500)")
  print(
    "  peak RSS         \(fmt(Double(peak) / 1e6)) MB = \(fmt(ratio))x the file (target <= 3x); before generating: \(fmt(Double(baseline) / 1e6)) MB"
  )
  print(
    "{\"bench\":\"parse\",\"bytes\":\(text.count),\"statements\":\(statements),\"median_seconds\":\(secs),\"mb_per_s\":\(mbps),\"rates\":[\(rates)],\"peak_rss_bytes\":\(peak),\"peak_ratio\":\(ratio)}"
  )
}

func fmt(_ d: Double) -> String {
  let r = (d * 100).rounded() / 100
  return String(r)
}

let args = Array(CommandLine.arguments.dropFirst())
switch args.first {
case "parse": benchParse(Array(args.dropFirst()))
case "suite": benchSuite(Array(args.dropFirst()))
case "hello": break
case "parts":
  // The instructions of a callgrind output file by part, as the suite counts them (the test of
  // the reader runs this on a real callgrind run).
  guard args.count == 2, let bytes = try? Host.readFile(args[1]) else {
    Host.printErr("usage: conn-bench parts CALLGRIND-OUTPUT-FILE\n")
    Host.exit(2)
  }
  let text = String(decoding: bytes, as: UTF8.self)
  let profile = CostProfile(callgrindOutput: text)
  for part in CostPart.allCases { print("\(part.key)\t\(Int(profile.parts[part] ?? 0))") }
  let summary = text.split(separator: "\n").first { $0.hasPrefix("summary:") || $0.hasPrefix("totals:") }
  print("counted\t\(Int(profile.total))")
  print("summary\t\(summary.map { String($0.split(separator: " ").last ?? "") } ?? "none")")
case "layout":
  // The syntax tree's sizes, which decide the parser's memory per statement.
  print(
    "Statement stride \(MemoryLayout<Statement>.stride), StatementKind \(MemoryLayout<StatementKind>.stride)")
  print(
    "Expectation \(MemoryLayout<Expectation>.stride), SocketAddress \(MemoryLayout<SocketAddress>.stride)")
  print(
    "ConnectTarget \(MemoryLayout<ConnectTarget>.stride), CallOptions \(MemoryLayout<CallOptions>.stride)")
  print(
    "SocketSpec \(MemoryLayout<SocketSpec>.stride), SocketRef \(MemoryLayout<SocketRef>.stride), Setting \(MemoryLayout<Setting>.stride)"
  )
  print(
    "NetRule \(MemoryLayout<NetRule>.stride), IPPrefix \(MemoryLayout<IPPrefix>.stride), Outcome \(MemoryLayout<Outcome>.stride)"
  )
default:
  print(
    "usage: conn-bench parse [--mb N] [--runs K] | conn-bench parts FILE | conn-bench suite --conn PATH --floor PATH --work DIR ..."
  )
  Host.exit(2)
}
