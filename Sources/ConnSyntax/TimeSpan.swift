// Durations as the language writes them (`250us`, `10ms`, `1.5s`, `2m`) and as reports print
// them, without Foundation.

/// A span of time in nanoseconds. (Not `Swift.Duration`: this one is 8 bytes and prints as the
/// language writes it.)
///
/// Public and `@inlinable` (see Errno): the interpreter compares times on every statement.
public struct TimeSpan: Hashable, Comparable, Sendable {
  public var nanoseconds: Int64
  @inlinable public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
  @inlinable public static func milliseconds(_ ms: Int64) -> TimeSpan {
    TimeSpan(nanoseconds: ms * 1_000_000)
  }
  @inlinable public static func seconds(_ s: Int64) -> TimeSpan { TimeSpan(nanoseconds: s * 1_000_000_000) }
  package static let zero = TimeSpan(nanoseconds: 0)
  @inlinable public static func < (l: TimeSpan, r: TimeSpan) -> Bool { l.nanoseconds < r.nanoseconds }
  @inlinable public static func > (l: TimeSpan, r: TimeSpan) -> Bool { l.nanoseconds > r.nanoseconds }
  @inlinable public static func + (l: TimeSpan, r: TimeSpan) -> TimeSpan {
    TimeSpan(nanoseconds: l.nanoseconds &+ r.nanoseconds)
  }
  @inlinable public static func - (l: TimeSpan, r: TimeSpan) -> TimeSpan {
    TimeSpan(nanoseconds: l.nanoseconds &- r.nanoseconds)
  }
  package var seconds: Double { Double(nanoseconds) / 1e9 }

  /// The shortest exact spelling in the language's units: `250us`, `10ms`, `1.5s`, `2m`.
  package var description: String {
    let ns = nanoseconds
    if ns == 0 { return "0s" }
    if ns % 60_000_000_000 == 0 { return "\(ns / 60_000_000_000)m" }
    if ns % 1_000_000_000 == 0 { return "\(ns / 1_000_000_000)s" }
    if ns % 1_000_000 == 0 {
      return ns >= 1_000_000_000 ? trimmed(Double(ns) / 1e9) + "s" : "\(ns / 1_000_000)ms"
    }
    if ns % 1_000 == 0 { return ns >= 1_000_000 ? trimmed(Double(ns) / 1e6) + "ms" : "\(ns / 1_000)us" }
    return "\(ns)ns"
  }

  /// For reports: `3.004s`, `12.5ms`, `80us`.
  package var humanDescription: String {
    let ns = Double(nanoseconds)
    if nanoseconds >= 1_000_000_000 { return String(format3(ns / 1e9)) + "s" }
    if nanoseconds >= 1_000_000 { return String(format3(ns / 1e6)) + "ms" }
    return String(format3(ns / 1e3)) + "us"
  }
}

private func trimmed(_ d: Double) -> String {
  var s = String(d)
  if s.hasSuffix(".0") { s.removeLast(2) }
  return s
}

/// Three significant decimals without Foundation.
package func format3(_ d: Double) -> String {
  let scaled = (d * 1000).rounded()
  let whole = Int64(scaled) / 1000
  let frac = Int64(scaled) % 1000
  if frac == 0 { return "\(whole)" }
  var f = String(frac)
  while f.count < 3 { f = "0" + f }
  while f.hasSuffix("0") { f.removeLast() }
  return "\(whole).\(f)"
}
