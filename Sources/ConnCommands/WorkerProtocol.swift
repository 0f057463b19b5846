import ConnRuntime
import ConnSyntax

// The line protocol between `conn run` and its workers (`conn run --worker`):
//   parent -> worker:  "<task index>\t<path>"
//   worker -> parent:  "trace\t<task index>\t<line>" as each call happens (with -v), then
//                      "begin\t<task index>", "key\tvalue" lines, and "end".
// Values escape backslash, newline and tab, so every record is plain lines.

enum WorkerProtocol {
  static func escape(_ s: String) -> String {
    var out = ""
    out.reserveCapacity(s.utf8.count)
    for c in s.unicodeScalars {
      switch c {
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\t": out += "\\t"
      case "\r": out += "\\r"
      default: out.unicodeScalars.append(c)
      }
    }
    return out
  }

  static func unescape(_ s: Substring) -> String {
    var out = ""
    var it = s.unicodeScalars.makeIterator()
    while let c = it.next() {
      if c == "\\", let n = it.next() {
        switch n {
        case "n": out += "\n"
        case "t": out += "\t"
        case "r": out += "\r"
        default: out.unicodeScalars.append(n)
        }
      } else {
        out.unicodeScalars.append(c)
      }
    }
    return out
  }

  static func encode(_ r: ScenarioReport, index: Int) -> String {
    var lines = ["begin\t\(index)"]
    func put(_ k: String, _ v: String?) { if let v { lines.append("\(k)\t\(escape(v))") } }
    put("path", r.path)
    put("status", r.status.rawValue)
    put("duration", "\(r.duration.nanoseconds)")
    put("virtual", r.virtualTime ? "1" : nil)
    put("detail", r.detail.isEmpty ? nil : r.detail)
    put("skip", r.skipReason)
    put("backend", r.backend)
    if let f = r.failure {
      put("f.kind", f.kind)
      put("f.message", f.message)
      put("f.line", "\(f.line)")
      put("f.column", "\(f.column)")
      put("f.expected", f.expected)
      put("f.actual", f.actual)
      put("f.meaning", f.meaning)
    }
    lines.append("end")
    return lines.joined(separator: "\n")
  }

  static func trace(_ line: String, index: Int) -> String { "trace\t\(index)\t\(escape(line))" }

  /// What a line from a worker completes.
  enum Message {
    case trace(Int, String)
    case report(Int, ScenarioReport)
  }

  /// Collects records from a stream of lines.
  struct Decoder {
    private var current: (index: Int, fields: [(String, String)])?

    /// Feeds one line; returns a trace line at once, and a finished report at "end".
    mutating func feed(_ line: String) -> Message? {
      if current == nil && line.hasPrefix("trace\t") {
        let rest = line.dropFirst(6)
        guard let tab = rest.firstIndex(of: "\t"), let index = Int(rest[..<tab]) else { return nil }
        return .trace(index, unescape(rest[rest.index(after: tab)...]))
      }
      if line.hasPrefix("begin\t") {
        current = (Int(line.dropFirst(6)) ?? -1, [])
        return nil
      }
      if line == "end", let c = current {
        current = nil
        return .report(c.index, Decoder.build(c.fields))
      }
      if let tab = line.firstIndex(of: "\t") {
        current?.fields.append((String(line[..<tab]), unescape(line[line.index(after: tab)...])))
      }
      return nil
    }

    static func build(_ fields: [(String, String)]) -> ScenarioReport {
      var r = ScenarioReport(path: "", status: .error, backend: "")
      var f = FailureInfo(kind: "", message: "", line: 0, column: 0)
      var hasFailure = false
      for (k, v) in fields {
        switch k {
        case "path": r.path = v
        case "status": r.status = ScenarioStatus(rawValue: v) ?? .error
        case "duration": r.duration = TimeSpan(nanoseconds: Int64(v) ?? 0)
        case "virtual": r.virtualTime = v == "1"
        case "detail": r.detail = v
        case "skip": r.skipReason = v
        case "backend": r.backend = v
        case "f.kind":
          f.kind = v
          hasFailure = true
        case "f.message": f.message = v
        case "f.line": f.line = Int(v) ?? 0
        case "f.column": f.column = Int(v) ?? 0
        case "f.expected": f.expected = v
        case "f.actual": f.actual = v
        case "f.meaning": f.meaning = v
        default: break
        }
      }
      if hasFailure { r.failure = f }
      return r
    }
  }
}
