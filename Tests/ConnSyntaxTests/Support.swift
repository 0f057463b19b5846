// Shared helpers: marker-annotated sources (as in swift-syntax's tests), parsing shortcuts, and a
// deterministic PRNG for the robustness tests.

import Testing

@testable import ConnSyntax

// MARK: - Markers

/// A source with `1️⃣`, `2️⃣`, ... removed, and the byte offset where each marker stood.
struct MarkedSource {
  var bytes: [UInt8]
  var markers: [String: Int]
  var text: String { String(decoding: bytes, as: UTF8.self) }

  init(_ marked: String) {
    var out: [UInt8] = []
    var found: [String: Int] = [:]
    for ch in marked {
      let scalars = ch.unicodeScalars
      // A keycap emoji is DIGIT, U+FE0F, U+20E3: one Character.
      if scalars.count == 3, scalars.last == "\u{20E3}", let d = scalars.first, ("0"..."9").contains(d) {
        precondition(found[String(ch)] == nil, "marker \(ch) used twice")
        found[String(ch)] = out.count
      } else {
        out.append(contentsOf: ch.utf8)
      }
    }
    bytes = out
    markers = found
  }
}

/// One diagnostic a marked source should produce.
struct ExpectedDiagnostic {
  var id: String
  var marker: String
  /// Substrings the message / hint must contain, when given.
  var message: String?
  var hint: String?

  init(_ id: String, at marker: String = "1️⃣", message: String? = nil, hint: String? = nil) {
    self.id = id
    self.marker = marker
    self.message = message
    self.hint = hint
  }
}

/// Parses a marked source and checks that it produces exactly `expected`, each diagnostic
/// starting at its marker's byte offset. Failures point at the caller.
@discardableResult
func assertDiagnostics(
  _ marked: String, _ expected: [ExpectedDiagnostic],
  sourceLocation: SourceLocation = #_sourceLocation
) -> Script {
  let ms = MarkedSource(marked)
  let file = SourceFile(name: "test.conn", bytes: ms.bytes)
  let script = Parser.parse(file)
  func where_(_ off: Int) -> String {
    let (l, c) = file.location(of: UInt32(off))
    return "\(l):\(c)"
  }
  let actual = script.diagnostics.map { "\($0.id) \(where_(Int($0.range.start)))" }
  if script.diagnostics.count != expected.count {
    Issue.record(
      "expected \(expected.count) diagnostic(s), got \(script.diagnostics.count): \(actual)",
      sourceLocation: sourceLocation)
  }
  var unmatched = script.diagnostics
  for e in expected {
    guard let off = ms.markers[e.marker] else {
      Issue.record("marker \(e.marker) is not in the source", sourceLocation: sourceLocation)
      continue
    }
    guard let i = unmatched.firstIndex(where: { $0.id == e.id && Int($0.range.start) == off }) else {
      Issue.record(
        "missing \(e.id) at \(e.marker) (\(where_(off))); got \(actual)", sourceLocation: sourceLocation)
      continue
    }
    let d = unmatched.remove(at: i)
    if let m = e.message {
      #expect(d.message.contains(m), "message of \(e.id): \(d.message)", sourceLocation: sourceLocation)
    }
    if let h = e.hint {
      #expect(
        d.hint?.contains(h) == true, "hint of \(e.id): \(d.hint ?? "nil")", sourceLocation: sourceLocation)
    }
  }
  for d in script.diagnostics {
    #expect(
      d.range.start <= d.range.end && Int(d.range.end) <= ms.bytes.count,
      "range \(d.range) of \(d.id) is outside the input", sourceLocation: sourceLocation)
  }
  return script
}

/// Shorthand for a single expected diagnostic at `1️⃣`.
@discardableResult
func assertDiagnostic(
  _ marked: String, _ id: String, message: String? = nil, hint: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Script {
  assertDiagnostics(
    marked, [ExpectedDiagnostic(id, message: message, hint: hint)], sourceLocation: sourceLocation)
}

// MARK: - Parsing shortcuts

func parse(_ text: String) -> Script {
  Parser.parse(SourceFile(name: "test.conn", text: text))
}

func parse(bytes: [UInt8]) -> Script {
  Parser.parse(SourceFile(name: "test.conn", bytes: bytes))
}

/// `ID LINE:COL` for each diagnostic, in source order.
func summary(_ script: Script) -> [String] {
  script.diagnostics.map { d in
    let (l, c) = script.source.location(of: d.range.start)
    return "\(d.id) \(l):\(c)"
  }
}

/// Parses a script that must be clean and returns its top-level statement kinds.
func cleanStatements(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [StatementKind] {
  let s = parse(text)
  #expect(s.diagnostics.isEmpty, "unexpected diagnostics: \(summary(s))", sourceLocation: sourceLocation)
  return s.statements.map(\.kind)
}

/// The last statement of a clean script (declarations usually come first).
func lastStatement(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> StatementKind? {
  let kinds = cleanStatements(text, sourceLocation: sourceLocation)
  if kinds.isEmpty { Issue.record("no statements parsed", sourceLocation: sourceLocation) }
  return kinds.last
}

/// The expectation in `<prefix>\nexpect <alternatives>`, parsed clean.
func expectation(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConnSyntax.Expectation?
{
  guard case .expect(let e)? = lastStatement(text, sourceLocation: sourceLocation) else {
    Issue.record("last statement is not an expect", sourceLocation: sourceLocation)
    return nil
  }
  return e
}

func ipv4(_ s: String) -> IPv4Address { IPv4Address.parse(Array(s.utf8))! }
func ipv6(_ s: String) -> IPv6Address { IPv6Address.parse(Array(s.utf8))! }

// MARK: - Deterministic randomness

/// SplitMix64: tiny, fast, and the same sequence on every platform.
struct SplitMix64: RandomNumberGenerator {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
}
