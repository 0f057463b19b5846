// Tokens: a kind and a byte range. The lexer (Lexer.swift) makes them; the parser decodes their
// values from the bytes.

package enum TokenKind: UInt8, Sendable {
  case identifier  // stream, s, ECONNREFUSED
  case integer  // 80
  case duration  // 250us 10ms 1.5s 2m
  case ipv4  // 127.0.0.1 or 127.0.0.1:80
  case ipv6  // [::1]:80, [fe80::1%lo]:80, [::1]
  case prefix  // 10.0.0.0/8, fd00::/64
  case string  // "run/x.sock"
  case abstractName  // @name
  case dottedName  // net.ipv4.tcp_syn_retries (a sysctl key)
  case equals, semicolon, newline, leftBrace, rightBrace
  case invalid  // already reported by the lexer
  case eof

  package var description: String {
    switch self {
    case .identifier: return "a name"
    case .integer: return "a number"
    case .duration: return "a duration"
    case .ipv4: return "an IPv4 address"
    case .ipv6: return "an IPv6 address"
    case .prefix: return "a prefix"
    case .string: return "a string"
    case .abstractName: return "an abstract name"
    case .dottedName: return "a dotted name"
    case .equals: return "'='"
    case .semicolon: return "';'"
    case .newline: return "end of line"
    case .leftBrace: return "'{'"
    case .rightBrace: return "'}'"
    case .invalid: return "invalid input"
    case .eof: return "end of file"
    }
  }
}

package struct Token: Sendable, Equatable {
  package var kind: TokenKind
  package var start: UInt32
  package var end: UInt32
  package var range: SourceRange { SourceRange(Int(start), Int(end)) }
}
