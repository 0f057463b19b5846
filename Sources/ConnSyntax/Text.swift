// Quoting: strings as the lexer reads them back, and as JSON (and YAML) string literals.

/// Quotes a string the way the lexer reads it back.
package func quoteString(_ s: String) -> String {
  var out = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\0": out += "\\0"
    default:
      if u.value < 0x20 || u.value == 0x7f {
        out += "\\x" + (u.value < 16 ? "0" : "") + String(u.value, radix: 16)
      } else {
        out.unicodeScalars.append(u)
      }
    }
  }
  return out + "\""
}

/// A JSON string literal (also a valid YAML double-quoted string).
package func jsonString(_ s: String) -> String {
  var out = "\""
  for c in s.unicodeScalars {
    switch c {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    default:
      if c.value < 0x20 {
        let h = String(c.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
      } else {
        out.unicodeScalars.append(c)
      }
    }
  }
  return out + "\""
}
