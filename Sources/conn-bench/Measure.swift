// Running a program and measuring it from outside: wall time (monotonic clock around fork and
// wait) and peak memory (the child's ru_maxrss from wait4), taken by the C floor's `measure`
// mode. The measured process is exactly the command line a user would type; nothing is
// injected into it.

import ConnHost

struct ProcessSample {
  /// Seconds from spawn to reaped.
  var wall: Double
  /// Peak resident set size, bytes.
  var peakRSS: Int
  var status: Int32
  var output: String
}

enum BenchError: Error, CustomStringConvertible {
  case failed(String)
  var description: String {
    switch self {
    case .failed(let s): return s
    }
  }
}

enum Measure {
  /// The C floor binary, whose `measure` mode runs a program and reports its wall time, peak
  /// RSS and exit status (see scripts/bench/floor.c for why a small intermediary process).
  nonisolated(unsafe) static var helper = ""

  /// Runs `argv` with stdout and stderr going to `logPath`; returns its time and peak memory.
  /// `check` makes a non-zero exit status an error that shows the program's output.
  static func run(_ argv: [String], log logPath: String, check: Bool = true) throws(BenchError)
    -> ProcessSample
  {
    guard let p = Subprocess(path: helper, arguments: ["measure", logPath] + argv) else {
      throw .failed("cannot start \(helper)")
    }
    p.closeInput()
    var text = ""
    while true {
      _ = Subprocess.waitReadable([p], timeoutMilliseconds: 1000)
      guard let lines = p.readLines() else { break }
      text += lines.joined(separator: "\n")
    }
    let helperStatus = p.finish()
    let parts = text.split(separator: " ")
    guard helperStatus == 0, parts.count == 3, let ns = Double(parts[0]), let kb = Int(parts[1]),
      let status = Int32(parts[2])
    else {
      throw .failed("measuring \(argv.joined(separator: " ")) failed: \(text)")
    }
    let sample = ProcessSample(wall: ns / 1e9, peakRSS: kb * 1024, status: status, output: "")
    if check && status != 0 {
      let out = (try? Host.readFile(logPath)).map { String(decoding: $0.prefix(4000), as: UTF8.self) } ?? ""
      throw .failed("\(argv.joined(separator: " ")) exited with status \(status):\n\(out)")
    }
    return sample
  }

  /// Like `run`, and returns what the program printed.
  static func capture(_ argv: [String], log: String, check: Bool = true) throws(BenchError) -> ProcessSample {
    var s = try run(argv, log: log, check: check)
    s.output = (try? Host.readFile(log)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    return s
  }
}

func median(_ xs: [Double]) -> Double {
  if xs.isEmpty { return .nan }
  let s = xs.sorted()
  return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

/// A fixed number of decimals, without Foundation.
func fixed(_ d: Double, _ decimals: Int) -> String {
  if d.isNaN { return "n/a" }
  if d.isInfinite { return d > 0 ? "inf" : "-inf" }
  var scale = 1.0
  for _ in 0..<decimals { scale *= 10 }
  let negative = d < 0
  let r = (abs(d) * scale).rounded()
  let whole = r / scale
  let w = Int64(whole.rounded(.down))
  var frac = String(Int64(r - Double(w) * scale))
  while frac.count < decimals { frac = "0" + frac }
  return (negative && r != 0 ? "-" : "") + (decimals > 0 ? "\(w).\(frac)" : "\(w)")
}

/// Three significant digits: 12.3, 1.23, 0.123, 1234.
func sig3(_ d: Double) -> String {
  let a = abs(d)
  if d.isNaN { return "n/a" }
  if a >= 100 { return fixed(d, 0) }
  if a >= 10 { return fixed(d, 1) }
  if a >= 1 { return fixed(d, 2) }
  return fixed(d, 3)
}

/// A duration in the unit that suits it.
func human(seconds s: Double) -> String {
  if s.isNaN { return "n/a" }
  if abs(s) >= 1 { return sig3(s) + " s" }
  if abs(s) >= 1e-3 { return sig3(s * 1e3) + " ms" }
  if abs(s) >= 1e-6 { return sig3(s * 1e6) + " us" }
  return sig3(s * 1e9) + " ns"
}

func megabytes(_ bytes: Double) -> String { bytes.isNaN ? "n/a" : fixed(bytes / 1e6, 1) + " MB" }

func ratio(_ r: Double) -> String { r.isNaN ? "n/a" : fixed(r, 2) + "x" }

func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
  let n = s.count
  if n >= width { return s }
  let fill = String(repeating: " ", count: width - n)
  return right ? fill + s : s + fill
}

func jsonNumber(_ d: Double) -> String {
  if d.isNaN || d.isInfinite { return "null" }
  return "\(d)"
}
