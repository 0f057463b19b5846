// The data rules: send, sendto, write, recv, recvfrom, read.

extension ParserState {
  /// send NAME DATA {FLAG} [interrupt DUR]
  /// sendto NAME TARGET DATA {FLAG} [interrupt DUR]       TARGET -> ADDRESS | NAME | 'null'
  /// write NAME DATA
  /// DATA -> STRING | 'hex' STRING | 'zeros' INT
  mutating func parseSend(_ call: DataCall) throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    var target: ConnectTarget?
    if call == .sendto {
      if isWord("null") {
        consume()
        target = .nullPointer
      } else if atNetlinkAddress {
        target = .address(try parseNetlinkAddress())
      } else if token.kind == .identifier && !isWord("unspec") {
        target = .boundAddressOf(try parseSocketRef())
      } else {
        target = try parseTargetAddress()
      }
    }
    let data = try parseData()
    var flags = MessageFlags()
    var options = CallOptions()
    if call != .write { try parseFlags(&flags, &options) }
    return .send(call, name, data, to: target, flags, options)
  }

  /// recv NAME [INT] {FLAG} [interrupt DUR]      (at most INT bytes; 65536 when not given)
  /// recvfrom NAME [INT] {FLAG} [interrupt DUR]
  /// read NAME [INT]
  mutating func parseReceive(_ call: DataCall) throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    var max: Int64 = 65536
    if token.kind == .integer { max = try parseInteger("the most bytes to receive", max: 1 << 20) }
    var flags = MessageFlags()
    var options = CallOptions()
    if call != .read {
      try parseFlags(&flags, &options)
    } else if isWord("background") {
      consume()
      options.background = true
    }
    return .receive(call, name, max: Int32(max), flags, options)
  }

  /// DATA -> STRING | 'hex' STRING | 'zeros' INT
  mutating func parseData() throws(StatementError) -> [UInt8] {
    if token.kind == .string {
      return Array(try decodeString().utf8)
    }
    if isWord("hex") {
      consume()
      guard token.kind == .string else { throw unexpected("a string of hex digits, such as \"0a ff\"") }
      let r = token.range
      let text = try decodeString()
      var out: [UInt8] = []
      var high: UInt8?
      for c in text.utf8 where c != 0x20 {
        let v: UInt8
        switch c {
        case 0x30...0x39: v = c - 0x30
        case 0x61...0x66: v = c - 0x61 + 10
        case 0x41...0x46: v = c - 0x41 + 10
        default: throw error(.malformedData("'\(text)' is not hex digits (0-9, a-f, spaces)", at: r))
        }
        if let h = high {
          out.append(h << 4 | v)
          high = nil
        } else {
          high = v
        }
      }
      if high != nil {
        throw error(.malformedData("hex digits come in pairs: '\(text)' has an odd number", at: r))
      }
      return out
    }
    if isWord("zeros") {
      consume()
      let n = try parseInteger("a byte count", max: 1 << 20)
      return [UInt8](repeating: 0, count: Int(n))
    }
    throw unexpected("the data: a string, hex \"...\" or zeros N", hint: "send s \"hello\"")
  }

  mutating func parseFlags(_ flags: inout MessageFlags, _ options: inout CallOptions) throws(StatementError) {
    while token.kind == .identifier {
      if isWord("interrupt") {
        consume()
        options.interrupt = try parseDuration("a duration after 'interrupt', such as 200ms")
        continue
      }
      if isWord("background") && options.background == false {
        consume()
        options.background = true
        continue
      }
      guard
        let f = MessageFlags.byName.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
      else {
        let word = tokenText
        throw error(
          .expected(
            "a flag (\(MessageFlags.names.map(\.0).joined(separator: ", "))) or 'interrupt'",
            found: "'\(word)'",
            at: token.range))
      }
      flags.insert(f)
      consume()
    }
  }
}
