// The values inside statements, decoded from their tokens' bytes: integers, durations,
// addresses (IPv4, IPv6 with scope, Unix paths, abstract names), ports, prefixes and strings.

extension ParserState {

  /// INT, decimal, no sign (a sign only where `negative` allows it, down to -`max`).
  mutating func parseInteger(_ what: String, max: Int64, negative: Bool = false) throws(StatementError)
    -> Int64
  {
    guard token.kind == .integer else { throw unexpected(what) }
    if buf[Int(token.start)] == 0x2D {
      guard negative else {
        throw error(.outOfRange("\(tokenText) is out of range (0 to \(max))", at: token.range))
      }
      var v: Int64 = 0
      for i in (Int(token.start) + 1)..<Int(token.end) {
        v = v &* 10 &+ Int64(buf[i] - 0x30)
        if v > max || v < 0 {
          throw error(.outOfRange("\(tokenText) is out of range (-\(max) to \(max))", at: token.range))
        }
      }
      consume()
      return -v
    }
    var v: Int64 = 0
    for i in Int(token.start)..<Int(token.end) {
      v = v &* 10 &+ Int64(buf[i] - 0x30)
      if v > max || v < 0 {
        throw error(.outOfRange("\(tokenText) is out of range (0 to \(max))", at: token.range))
      }
    }
    consume()
    return v
  }

  /// DUR: digits [. digits] unit, unit one of ns us ms s m. At most one hour.
  mutating func parseDuration(_ what: String) throws(StatementError) -> TimeSpan {
    guard token.kind == .duration else {
      if token.kind == .integer {
        throw error(
          .expected(
            what, found: "'\(tokenText)'", at: token.range,
            hint: "add a unit: \(tokenText)ms or \(tokenText)s"))
      }
      throw unexpected(what)
    }
    var i = Int(token.start)
    let e = Int(token.end)
    var whole: Int64 = 0
    var frac: Int64 = 0
    var fracDigits = 0
    var overflow = false
    while i < e, buf[i] >= 0x30, buf[i] <= 0x39 {
      whole = whole &* 10 &+ Int64(buf[i] - 0x30)
      if whole > 1_000_000_000_000 { overflow = true }
      i += 1
    }
    if i < e && buf[i] == 0x2E {
      i += 1
      while i < e, buf[i] >= 0x30, buf[i] <= 0x39 {
        if fracDigits < 9 {
          frac = frac * 10 + Int64(buf[i] - 0x30)
          fracDigits += 1
        }
        i += 1
      }
    }
    let unit: Int64
    switch e - i {
    case 1: unit = buf[i] == 0x73 ? 1_000_000_000 : 60_000_000_000
    default:
      switch buf[i] {
      case 0x6E: unit = 1
      case 0x75: unit = 1_000
      default: unit = 1_000_000
      }
    }
    var fracNs: Int64 = 0
    if fracDigits > 0 {
      var scale: Int64 = 1
      for _ in 0..<fracDigits { scale *= 10 }
      // frac/scale of a unit, rounded to the nanosecond. (frac * unit overflows for minutes, whose
      // unit is a multiple of every scale.)
      fracNs = unit % scale == 0 ? frac * (unit / scale) : (frac * unit + scale / 2) / scale
    }
    let (mul, o1) = whole.multipliedReportingOverflow(by: unit)
    let ns = mul &+ fracNs
    if overflow || o1 || ns > Parser.maxDuration.nanoseconds {
      throw error(.outOfRange("duration \(tokenText) is out of range (at most 1 hour)", at: token.range))
    }
    consume()
    return TimeSpan(nanoseconds: ns)
  }

  /// ADDRESS -> IPV4:PORT | [IPV6(%SCOPE)]:PORT | STRING | @NAME | 'unspec'
  mutating func parseAddress(allowUnspec: Bool) throws(StatementError) -> SocketAddress {
    let r = token.range
    switch token.kind {
    case .ipv4:
      let s = Int(token.start)
      let e = Int(token.end)
      var colon = s
      while colon < e && buf[colon] != 0x3A { colon += 1 }
      guard let a = IPv4Address.parse(UnsafeBufferPointer(rebasing: buf[s..<colon])) else {
        throw error(
          .malformedAddress(
            "'\(lexer.text(s, colon))' is not an IPv4 address (four numbers 0-255)", at: SourceRange(s, colon)
          ))
      }
      guard colon < e else {
        throw error(
          .malformedAddress("\(lexer.text(s, e)) has no port", at: r).withHint("write \(lexer.text(s, e)):80")
        )
      }
      let port = try parsePort(colon + 1, e, nameAllowed: portNames)
      consume()
      return .inet(a, port: port)
    case .ipv6:
      let s = Int(token.start)
      let e = Int(token.end)
      var close = s
      while close < e && buf[close] != 0x5D { close += 1 }
      var addrEnd = close
      var scope: String?
      var pct = s + 1
      while pct < close && buf[pct] != 0x25 { pct += 1 }
      if pct < close {
        addrEnd = pct
        scope = lexer.text(pct + 1, close)
        if scope!.isEmpty
          || !scope!.utf8.allSatisfy({
            ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || $0 == 0x2E || $0 == 0x5F
              || $0 == 0x2D
          })
        {
          throw error(
            .malformedAddress(
              "'\(scope!)' is not an interface name or index", at: SourceRange(pct + 1, close)))
        }
      }
      guard let a = IPv6Address.parse(UnsafeBufferPointer(rebasing: buf[(s + 1)..<addrEnd])) else {
        throw error(
          .malformedAddress(
            "'\(lexer.text(s + 1, addrEnd))' is not an IPv6 address", at: SourceRange(s + 1, addrEnd)))
      }
      guard close + 1 < e, buf[close + 1] == 0x3A else {
        throw error(
          .malformedAddress("\(lexer.text(s, e)) has no port", at: r).withHint(
            "write \(lexer.text(s, close + 1)):80"))
      }
      let port = try parsePort(close + 2, e, nameAllowed: portNames)
      consume()
      return .inet6(a, port: port, scope: scope)
    case .string:
      let path = try decodeString()
      try checkUnixPath(path, at: r)
      return .unix(path)
    case .abstractName:
      let name = lexer.text(Int(token.start) + 1, Int(token.end))
      if Int(token.end - token.start) - 1 > pathLimits.abstractName {
        throw error(.abstractNameTooLong(limit: pathLimits.abstractName, at: r))
      }
      consume()
      return .abstract(name)
    case .identifier where isWord("unspec") && allowUnspec:
      consume()
      return .unspec
    case .integer:
      throw unexpected("an address", hint: "write 127.0.0.1:\(tokenText)")
    default:
      throw unexpected("an address (127.0.0.1:80, [::1]:80, \"path\", @name)")
    }
  }

  /// A Unix socket path must fit sun_path where the scenario runs, hold no NUL (the kernel
  /// would read only up to it: an abstract name is the way to write a leading NUL), and, when
  /// relative, stay inside the scenario's private directory.
  mutating func checkUnixPath(_ path: String, at r: SourceRange, absoluteAllowed: Bool = true)
    throws(StatementError)
  {
    // One pass over the bytes: a NUL anywhere, and for a relative path the depth of each part
    // ("." stays, ".." goes up, anything else goes down); no part may climb above the start.
    var path = path
    let (n, hasNul, escapes) = path.withUTF8 { b -> (Int, Bool, Bool) in
      var depth = 0
      var escapes = false
      var partStart = 0
      for i in 0...b.count {
        if i < b.count {
          if b[i] == 0 { return (b.count, true, false) }
          if b[i] != UInt8(ascii: "/") { continue }
        }
        let length = i - partStart
        if length == 2 && b[partStart] == UInt8(ascii: ".") && b[partStart + 1] == UInt8(ascii: ".") {
          depth -= 1
          if depth < 0 { escapes = true }
        } else if length > 0 && !(length == 1 && b[partStart] == UInt8(ascii: ".")) {
          depth += 1
        }
        partStart = i + 1
      }
      return (b.count, false, escapes)
    }
    if n == 0 { throw error(.emptyPath(at: r)) }
    if hasNul { throw error(.nulInPath(at: r)) }
    if path.utf8.first == UInt8(ascii: "/") {
      if n > pathLimits.absolutePath { throw error(.pathTooLong(n, limit: pathLimits.absolutePath, at: r)) }
      return
    }
    if n > pathLimits.relativePath {
      throw error(.relativePathTooLong(n, limit: pathLimits.relativePath, at: r))
    }
    if escapes { throw error(.pathEscapes(path, at: r, absoluteAllowed: absoluteAllowed)) }
  }

  /// Whether the current token starts a netlink address: `netlink` and a number.
  var atNetlinkAddress: Bool { isWord("netlink") && lexer.peek().kind == .integer }

  /// 'netlink' PID ['groups' MASK]: a sockaddr_nl (PID 0: the kernel).
  mutating func parseNetlinkAddress() throws(StatementError) -> SocketAddress {
    consume()
    let pid = UInt32(try parseInteger("a netlink port id (0: the kernel)", max: Int64(UInt32.max)))
    var groups: UInt32 = 0
    if isWord("groups") {
      consume()
      groups = UInt32(try parseInteger("a mask of netlink groups, such as 1", max: Int64(UInt32.max)))
    }
    return .netlink(pid: pid, groups: groups)
  }

  /// An address where a socket name may stand for the port (`127.0.0.1:l`): `.withPortOf`
  /// with port 0 in the address, or a plain `.address`.
  mutating func parseTargetAddress() throws(StatementError) -> ConnectTarget {
    portNames = true
    portName = nil
    defer { portNames = false }
    let a = try parseAddress(allowUnspec: true)
    if let name = portName { return .withPortOf(a, name) }
    return .address(a)
  }

  /// A port number; where `nameAllowed`, a socket name instead (kept in `portName`, port 0).
  mutating func parsePort(_ s: Int, _ e: Int, nameAllowed: Bool = false) throws(StatementError) -> UInt16 {
    if s >= e { throw error(.malformedAddress("missing port number after ':'", at: SourceRange(s - 1, e))) }
    let first = buf[s]
    if first == 0x5F || (first | 0x20 >= 0x61 && first | 0x20 <= 0x7A) {
      guard nameAllowed else {
        throw error(
          .malformedAddress(
            "'\(lexer.text(s, e))' is not a port number (a socket's port can stand here only in bind, connect and sendto)",
            at: SourceRange(s, e)))
      }
      guard e - s <= Lexer.maxTokenLength,
        buf[s..<e].allSatisfy({
          $0 == 0x5F || ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A)
        })
      else {
        throw error(.malformedAddress("'\(lexer.text(s, e))' is not a socket name", at: SourceRange(s, e)))
      }
      let r = SocketRef(slot: names.intern(buf, s, e), range: SourceRange(s, e))
      statementRefs.append(r.slot)
      portName = r
      return 0
    }
    var v = 0
    for i in s..<e {
      let c = buf[i]
      guard c >= 0x30 && c <= 0x39 else {
        throw error(.malformedAddress("'\(lexer.text(s, e))' is not a port number", at: SourceRange(s, e)))
      }
      v = v * 10 + Int(c - 0x30)
      if v > 65535 {
        throw error(
          .outOfRange("port \(lexer.text(s, e)) is out of range (0 to 65535)", at: SourceRange(s, e)))
      }
    }
    return UInt16(v)
  }

  /// PREFIX: a.b.c.d/len or v6/len (net route also requires no bits set past len).
  mutating func parsePrefix() throws(StatementError) -> IPPrefix {
    guard token.kind == .prefix else { throw unexpected("an address prefix such as 10.0.0.0/8") }
    let s = Int(token.start)
    let e = Int(token.end)
    var slash = s
    while buf[slash] != 0x2F { slash += 1 }
    var len = 0
    if slash + 1 >= e { throw error(.malformedAddress("missing prefix length after '/'", at: token.range)) }
    if e - (slash + 1) > 1 && buf[slash + 1] == 0x30 {
      throw error(
        .malformedAddress(
          "prefix length '\(lexer.text(slash + 1, e))' has a leading zero", at: SourceRange(slash + 1, e)))
    }
    for i in (slash + 1)..<e {
      let c = buf[i]
      guard c >= 0x30 && c <= 0x39, len < 1000 else {
        throw error(
          .malformedAddress(
            "'\(lexer.text(slash + 1, e))' is not a prefix length", at: SourceRange(slash + 1, e)))
      }
      len = len * 10 + Int(c - 0x30)
    }
    let addrBytes = UnsafeBufferPointer(rebasing: buf[s..<slash])
    if let v4 = IPv4Address.parse(addrBytes) {
      if len > 32 {
        throw error(
          .outOfRange(
            "prefix length \(len) is out of range for IPv4 (0 to 32)", at: SourceRange(slash + 1, e)))
      }
      consume()
      return .v4(v4, len)
    }
    if let v6 = IPv6Address.parse(addrBytes) {
      if len > 128 {
        throw error(
          .outOfRange(
            "prefix length \(len) is out of range for IPv6 (0 to 128)", at: SourceRange(slash + 1, e)))
      }
      consume()
      return .v6(v6, len)
    }
    throw error(
      .malformedAddress("'\(lexer.text(s, slash))' is not an IPv4 or IPv6 address", at: SourceRange(s, slash))
    )
  }

  /// Decodes the current string token's escapes (the lexer has validated them).
  mutating func decodeString() throws(StatementError) -> String {
    var i = Int(token.start) + 1
    let e = Int(token.end) - 1
    if !buf[i..<e].contains(0x5C) {
      // No escape: the text is the string.
      consume()
      return String(decoding: UnsafeBufferPointer(rebasing: buf[i..<e]), as: UTF8.self)
    }
    var out: [UInt8] = []
    out.reserveCapacity(e - i)
    while i < e {
      let b = buf[i]
      if b == 0x5C {
        let n = buf[i + 1]
        switch n {
        case 0x6E: out.append(0x0A)
        case 0x74: out.append(0x09)
        case 0x30: out.append(0)
        case 0x78:
          out.append(hexValue(buf[i + 2])! << 4 | hexValue(buf[i + 3])!)
          i += 2
        default: out.append(n)
        }
        i += 2
      } else {
        out.append(b)
        i += 1
      }
    }
    consume()
    return String(decoding: out, as: UTF8.self)
  }
}
