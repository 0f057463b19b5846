// The front end must survive anything: random bytes, mutated scripts, huge inputs. "Survive"
// means: parse returns, the diagnostic count is bounded, and every range lies inside the input.

import Foundation
import Testing

@testable import ConnSyntax

private let seeds: [String] = [
  "sock s = stream inet; connect s 127.0.0.1:80 nonblock; expect EINPROGRESS\n",
  """
  # needs: root isolate
  net route 198.51.100.0/24 silent
  sock s = stream inet
  connect s 198.51.100.7:80 nonblock interrupt 10ms len 16
  expect EINPROGRESS or EALREADY within 1s
  poll s writable error timeout 100ms
  expect timeout or writable error
  """,
  """
  sock l = stream inet6
  bind l [fe80::1%lo]:8080
  listen l backlog 4
  accept l as c
  peer c
  expect [::ffff:127.0.0.1]:80 or unnamed or @name or "/x\\n\\x41"
  repeat 3 {
    set c SO_LINGER 1.5s; get c SO_ERROR; expect ok
    repeat 2 { shutdown c both }
  }
  """,
  """
  sock u = dgram unix
  bind u "/tmp/a.sock"
  net addr fd00::/64
  net ports 1000 2000
  user 1000
  sleep 250us
  close u
  """,
]

/// Bytes that matter to the lexer and parser.
private let interesting: [[UInt8]] = [
  [UInt8(ascii: "{")], [UInt8(ascii: "}")], [UInt8(ascii: "[")], [UInt8(ascii: "]")], [UInt8(ascii: "\"")],
  [UInt8(ascii: "@")], [UInt8(ascii: ";")], [UInt8(ascii: "\n")], [0], [0xFF], [UInt8(ascii: "\\")],
  [UInt8(ascii: "#")], [UInt8(ascii: ":")], [UInt8(ascii: "%")], [UInt8(ascii: "/")], [UInt8(ascii: ".")],
  [UInt8(ascii: "=")], [UInt8(ascii: "\r")], [0xC3], [0xE2, 0x82], Array("repeat 9 {".utf8),
  Array("expect".utf8),
  Array("999999999999999999999".utf8), Array("0.999999999m".utf8), Array("::".utf8), Array("\\x".utf8),
]

/// Words of the language and edge-case values, for grammar-shaped random input.
private let words: [String] = [
  "sock", "s", "=", "stream", "dgram", "inet", "inet6", "unix", "fd", "file", "connect", "bind", "listen",
  "backlog",
  "accept", "as", "set", "get", "poll", "peer", "local", "shutdown", "both", "close", "sleep", "expect",
  "net",
  "route", "addr", "ports", "user", "root", "repeat", "{", "}", ";", "\n", "ok", "or", "within", "timeout",
  "unnamed", "unspec", "badptr", "nonblock", "interrupt", "len", "readable", "writable", "hup", "EAGAIN",
  "EWOULDBLOCK", "ECONNREFUSED", "EFOO", "SO_LINGER", "SO_ERROR", "SO_RCVTIMEO", "on", "off", "unreachable",
  "127.0.0.1:80", "999.1.1.1:80", "1.2.3.4:", "[::1]:80", "[fe80::1%lo]:65536", "[::ffff:1.2.3.4]:0", "[]:1",
  "[%]:1", "10.0.0.0/8", "fd00::/129", "/8", "1.2.3.4/", "0", "65535", "4294967296", "99999999999999999999",
  "1.5s", "0.999999999m", "60m", "59.9999999999m", "99999999999m", "0.5ns", "\"x\\x4\"", "\"\"", "@a", "@",
]

private func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
  var b = input
  let rounds = 1 + rng.below(4)
  for _ in 0..<rounds {
    switch rng.below(6) {
    case 0 where !b.isEmpty:  // flip a bit
      let i = rng.below(b.count)
      b[i] ^= UInt8(1 << rng.below(8))
    case 1:  // insert an interesting byte sequence
      let i = rng.below(b.count + 1)
      b.insert(contentsOf: interesting[rng.below(interesting.count)], at: i)
    case 2 where !b.isEmpty:  // truncate
      b.removeLast(rng.below(b.count + 1))
    case 3 where !b.isEmpty:  // duplicate a slice
      let i = rng.below(b.count)
      let n = 1 + rng.below(min(64, b.count - i))
      let j = rng.below(b.count + 1)
      b.insert(contentsOf: Array(b[i..<(i + n)]), at: j)
    case 4 where !b.isEmpty:  // delete a slice
      let i = rng.below(b.count)
      let n = 1 + rng.below(min(16, b.count - i))
      b.removeSubrange(i..<(i + n))
    default:  // overwrite with a random byte
      if b.isEmpty {
        b.append(UInt8(truncatingIfNeeded: rng.next()))
      } else {
        b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next())
      }
    }
  }
  return b
}

/// Parses, and checks the invariants every input must keep.
private func check(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
  let script = parse(bytes: bytes)
  func inside(_ r: SourceRange) -> Bool { r.start <= r.end && Int(r.end) <= bytes.count }
  func statementsInside(_ list: [Statement]) -> Bool {
    list.allSatisfy { st in
      guard inside(st.range) else { return false }
      if case .repeat(_, let body) = st.kind { return statementsInside(body) }
      return true
    }
  }
  let starts = script.diagnostics.map(\.range.start)
  let ok =
    script.diagnostics.count <= Parser.maxDiagnostics + 1
    && script.diagnostics.allSatisfy { inside($0.range) }
    && zip(starts, starts.dropFirst()).allSatisfy { $0 <= $1 }
    && statementsInside(script.statements)
  if !ok {
    let shown = String(decoding: bytes.prefix(300), as: UTF8.self).debugDescription
    Issue.record("invariant broken for input \(shown): \(summary(script))", sourceLocation: sourceLocation)
  }
}

@Suite struct RobustnessTests {
  /// CONN_FUZZ_ITERATIONS and CONN_FUZZ_SEED run a longer or different campaign by hand.
  @Test func tenThousandMutatedAndRandomInputs() {
    let env = ProcessInfo.processInfo.environment
    let iterations = env["CONN_FUZZ_ITERATIONS"].flatMap { Int($0) } ?? 20_000
    var rng = SplitMix64(seed: env["CONN_FUZZ_SEED"].flatMap { UInt64($0) } ?? 0xC0FF_EE00_2026)
    let seedBytes = seeds.map { Array($0.utf8) }
    var count = 0
    for i in 0..<iterations {
      let input: [UInt8]
      switch i % 4 {
      case 0:  // random bytes, biased towards printable text
        let n = rng.below(200)
        input = (0..<n).map { _ in
          rng.below(4) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : UInt8(0x20 + rng.below(0x5F))
        }
      case 1:  // random sequence of interesting pieces and words
        var b: [UInt8] = []
        for _ in 0..<rng.below(40) {
          if rng.below(2) == 0 {
            b += interesting[rng.below(interesting.count)]
          } else {
            b += Array(words[rng.below(words.count)].utf8)
          }
          b.append(UInt8(ascii: " "))
        }
        input = b
      default:  // mutations of valid scripts
        input = mutate(seedBytes[rng.below(seedBytes.count)], &rng)
      }
      check(input)
      count += 1
    }
    #expect(count >= min(iterations, 10_000))
  }

  @Test func seedsAreValid() {
    for s in seeds { #expect(summary(parse(s)) == [], "\(s)") }
  }

  @Test func renderingMutatedInputsNeverFails() {
    var rng = SplitMix64(seed: 42)
    let renderer = DiagnosticRenderer(color: false)
    for _ in 0..<500 {
      let bytes = mutate(Array(seeds[rng.below(seeds.count)].utf8), &rng)
      let script = parse(bytes: bytes)
      for d in script.diagnostics {
        let text = renderer.render(d, in: script.source)
        #expect(text.hasPrefix("test.conn:"))
      }
    }
  }

  @Test func tenMegabyteLineWithoutNewline() {
    // Valid statements separated by ';', one line, no trailing newline.
    let unit = Array("sleep 1ms; ".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(10 << 20)
    while bytes.count + unit.count <= 10 << 20 { bytes += unit }
    let s = parse(bytes: bytes)
    #expect(s.diagnostics.isEmpty)
    #expect(s.statements.count == bytes.count / unit.count)
  }

  @Test func tenMegabyteSingleWord() {
    let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 10 << 20)
    let s = parse(bytes: bytes)
    #expect(s.diagnostics.map(\.id) == ["lex.too-long"])
    let text = DiagnosticRenderer(color: false).render(s.diagnostics[0], in: s.source)
    #expect(text.utf8.count < 1000)
  }

  @Test func tenMegabyteString() {
    let bytes =
      Array("sock s = stream unix\nbind s \"".utf8) + [UInt8](repeating: UInt8(ascii: "p"), count: 10 << 20)
    let s = parse(bytes: bytes)
    #expect(s.diagnostics.map(\.id) == ["lex.unterminated-string"])
  }

  @Test func tenMegabytesOfGarbageOnOneLine() {
    var rng = SplitMix64(seed: 7)
    let bytes = (0..<(10 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) | 0x80 }
    let s = parse(bytes: bytes)
    #expect(!s.diagnostics.isEmpty)
    #expect(s.diagnostics.count <= Parser.maxDiagnostics + 1)
  }

  @Test func binaryGarbageAllByteValues() {
    var bytes: [UInt8] = []
    for _ in 0..<64 { bytes += (0...255).map { UInt8($0) } }
    check(bytes)
    check(bytes.reversed())
    let s = parse(bytes: bytes)
    #expect(!s.diagnostics.isEmpty)
  }

  @Test func aMillionOpenBracesAndOtherPathologies() {
    for piece in ["{", "}", "[", "\"", "@", "repeat 1 {", "expect ", "# ", ";", "\n", "\0"] {
      let unit = Array(piece.utf8)
      var bytes: [UInt8] = []
      bytes.reserveCapacity(1_000_000)
      for _ in 0..<(1_000_000 / unit.count) { bytes.append(contentsOf: unit) }
      check(bytes)
    }
  }
}
