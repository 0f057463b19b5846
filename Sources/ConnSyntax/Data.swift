// Data on a socket: what `send`, `sendto` and `write` send, what `recv`, `recvfrom` and `read`
// receive, and the flags of the calls (MSG_*).

/// The flags of send(2) and recv(2), by the names Linux gives them. The kernel backend maps
/// them to the platform's numbers.
package struct MessageFlags: OptionSet, Hashable, Sendable {
  package let rawValue: UInt16
  package init(rawValue: UInt16) { self.rawValue = rawValue }
  package static let dontWait = MessageFlags(rawValue: 1)
  package static let peek = MessageFlags(rawValue: 2)
  package static let noSignal = MessageFlags(rawValue: 4)
  package static let fastOpen = MessageFlags(rawValue: 8)
  package static let waitAll = MessageFlags(rawValue: 16)
  package static let truncate = MessageFlags(rawValue: 32)
  package static let outOfBand = MessageFlags(rawValue: 64)
  package static let more = MessageFlags(rawValue: 128)

  package static let names: [(String, MessageFlags)] = [
    ("MSG_DONTWAIT", .dontWait), ("MSG_PEEK", .peek), ("MSG_NOSIGNAL", .noSignal),
    ("MSG_FASTOPEN", .fastOpen),
    ("MSG_WAITALL", .waitAll), ("MSG_TRUNC", .truncate), ("MSG_OOB", .outOfBand), ("MSG_MORE", .more),
  ]
  package static let byName = ByteTable(names)

  /// `MSG_DONTWAIT|MSG_PEEK`, or `0`.
  package var description: String {
    let parts = MessageFlags.names.filter { contains($0.1) }.map(\.0)
    return parts.isEmpty ? "0" : parts.joined(separator: "|")
  }
}

/// Which call of the data family a statement makes.
package enum DataCall: String, Sendable {
  case send, sendto, write
  case recv, recvfrom, read
}

/// Bytes as a scenario writes them: `"text"` (with the string escapes), `hex "0a ff"`, or
/// `zeros N`.
package func quoteBytes(_ bytes: [UInt8]) -> String {
  let printable = bytes.allSatisfy { ($0 >= 0x20 && $0 < 0x7F) || $0 == 0x0A || $0 == 0x09 }
  if printable {
    var s = "\""
    for b in bytes {
      switch b {
      case 0x22: s += "\\\""
      case 0x5C: s += "\\\\"
      case 0x0A: s += "\\n"
      case 0x09: s += "\\t"
      default: s.unicodeScalars.append(Unicode.Scalar(b))
      }
    }
    return s + "\""
  }
  let digits = Array("0123456789abcdef".utf8)
  var hex: [UInt8] = []
  for b in bytes {
    hex.append(digits[Int(b >> 4)])
    hex.append(digits[Int(b & 15)])
  }
  return "hex \"" + String(decoding: hex, as: UTF8.self) + "\""
}
