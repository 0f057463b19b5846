// The rule for `expect`: alternatives joined by `or`, an optional `within` and `after`. The alternatives are
// collected as plain values and then shared (ExpectationTable), so that a long scenario's
// expectations cost one reference each.

extension ParserState {
  mutating func parseExpect() throws(StatementError) -> StatementKind {
    let textStart = token.start
    var e = Expectation.Alternatives()
    var textEnd = token.end
    while true {
      try parseAlternative(&e)
      textEnd = lastConsumedEnd
      guard isWord("or") else { break }
      consume()
    }
    // `expect EINPROGRESS, EALREADY`: the lexer calls the ',' an unexpected character; here it
    // is known what was meant.
    if token.kind == .invalid && buf[Int(token.start)] == UInt8(ascii: ",") {
      let at = token.start
      var end = Int(at)
      while end < buf.count && buf[end] != 0x0A && buf[end] != 0x3B && buf[end] != 0x23 { end += 1 }
      let rewritten = lexer.text(Int(textStart), end).replacingCommas(with: " or ")
        .split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).joined(separator: " ")
      let d = Diagnostic.commaBetweenAlternatives(at: SourceRange(Int(at), Int(at) + 1), rewritten: rewritten)
      if let i = lexer.diagnostics.firstIndex(where: { $0.range.start == at }) {
        lexer.diagnostics[i] = d
      } else {
        _ = error(d)
      }
      // One diagnostic for the line: the commas after this one are covered by its hint.
      while token.kind != .newline && token.kind != .semicolon && token.kind != .eof
        && token.kind != .leftBrace && token.kind != .rightBrace
      {
        let reported = lexer.diagnostics.count
        advance()
        if token.kind == .invalid && buf[Int(token.start)] == UInt8(ascii: ",")
          && lexer.diagnostics.count > reported
        {
          lexer.diagnostics.removeLast()
        }
      }
      throw StatementError()
    }
    let textRange = SourceRange(Int(textStart), Int(textEnd))
    // The call's time: at least `after`, at most `within`, in either order.
    for _ in 0..<2 {
      if isWord("within") && e.within == nil {
        consume()
        e.within = try parseDuration("a duration after 'within', such as 4s")
      } else if isWord("after") && e.after == nil {
        let r = token.range
        consume()
        e.after = try parseDuration("a duration after 'after', such as 900ms")
        if let w = e.within, let a = e.after, a > w {
          throw error(.outOfRange("'after \(a.description)' is longer than 'within \(w.description)'", at: r))
        }
      }
    }
    if let w = e.within, let a = e.after, a > w {
      throw error(
        .outOfRange("'after \(a.description)' is longer than 'within \(w.description)'", at: textRange))
    }
    return .expect(Expectation(storage: expectations.shared(e), textRange: textRange))
  }

  /// NAME (EVENT {EVENT} | 'none') { NAME (EVENT {EVENT} | 'none') }
  mutating func parseDescriptorEvents(_ e: inout Expectation.Alternatives) throws(StatementError)
    -> [DescriptorEvents]
  {
    var group: [DescriptorEvents] = []
    while token.kind == .identifier && !isWord("or") && !isWord("after") && !isWord("within") {
      let ref = try parseSocketRef()
      var events = PollEvents()
      if isWord("none") {
        consume()
      } else {
        events = parseEvents()
        if events.isEmpty { throw unexpected("poll events or 'none' after '\(source.text(ref.range))'") }
      }
      if group.contains(where: { e.sockets[$0.socket].slot == ref.slot }) {
        throw error(
          .invalidValue("'\(source.text(ref.range))' is named twice in one alternative", at: ref.range))
      }
      group.append(DescriptorEvents(socket: e.sockets.count, events: events))
      e.sockets.append(ref)
    }
    return group
  }

  mutating func parseAlternative(_ e: inout Expectation.Alternatives) throws(StatementError) {
    let r = token.range
    switch token.kind {
    case .identifier:
      let p = buf.baseAddress! + Int(token.start)
      let n = Int(token.end - token.start)
      if isWord("ok") {
        consume()
        e.ok = true
        return
      }
      if isWord("timeout") {
        consume()
        e.timeout = true
        return
      }
      // An option's state, after `get`: `expect off` after `get s SO_LINGER`.
      if isWord("on") || isWord("off") {
        if isWord("on") { e.on = true } else { e.off = true }
        consume()
        return
      }
      if isWord("unnamed") {
        consume()
        e.addresses.append(.unix(""))
        return
      }
      if isWord("unspec") {
        consume()
        e.addresses.append(.unspec)
        return
      }
      if atNetlinkAddress {
        e.addresses.append(try parseNetlinkAddress())
        return
      }
      if isWord("hex") || isWord("zeros") {
        e.data.append(try parseData())
        return
      }
      if let errno = errnoNames.lookup(p, n) {
        consume()
        if !e.errnos.insert(errno) { _ = error(.duplicateExpectation(at: r)) }
        return
      }
      if eventNames.lookup(p, n) != nil {
        var ev = PollEvents()
        while token.kind == .identifier,
          let x = eventNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
        {
          ev.insert(x)
          consume()
        }
        e.events.append(ev)
        return
      }
      // `a readable b none`: events per descriptor, after a poll of several.
      let next = lexer.peek()
      if next.kind == .identifier {
        let np = buf.baseAddress! + Int(next.start)
        let nn = Int(next.end - next.start)
        if eventNames.lookup(np, nn) != nil
          || (nn == 4 && lexer.text(Int(next.start), Int(next.end)) == "none")
        {
          e.descriptorEvents.append(try parseDescriptorEvents(&e))
          return
        }
      }
      let w = tokenText
      if n > 1 && p[0] == UInt8(ascii: "E") && w.allSatisfy({ $0.isUppercase || $0.isNumber }) {
        throw error(.unknownErrno(w, at: r, suggestion: closestName(to: w, in: Errno.allCases.map(\.name))))
      }
      let words = ["ok", "timeout", "unnamed", "unspec", "on", "off"] + PollEvents.names.map(\.0)
      if let near = closestName(to: w, in: words, maxDistance: 2) {
        throw error(
          .expected(
            "an outcome (ok, an errno name, poll events, timeout, a number, on, off, a duration or an address)",
            found: "'\(w)'",
            at: r,
            hint: "did you mean '\(near)'?"))
      }
      // Any other name is a socket: its bound address (after peer/local).
      e.sockets.append(try parseSocketRef())
    case .integer:
      e.numbers.append(try parseInteger("a number", max: Int64(Int32.max)))
    case .duration:
      e.durations.append(try parseDuration("a duration"))
    case .string where token.end - token.start == 2:
      // "": no bytes (a receive's end of file); never a path.
      consume()
      e.data.append([])
    case .ipv4, .ipv6:
      switch try parseTargetAddress() {
      case .withPortOf(let a, let ref):
        e.portTemplates[e.sockets.count] = a
        e.sockets.append(ref)
      case .address(let a): e.addresses.append(a)
      default: throw unexpected("an address")
      }
    case .string, .abstractName:
      e.addresses.append(try parseAddress(allowUnspec: false))
    default:
      throw unexpected(
        "an outcome after 'expect' (ok, an errno name, poll events, timeout, a number, on, off, a duration or an address)"
      )
    }
  }

  /// net 'route' PREFIX KIND | net 'addr' PREFIX | net 'ports' INT INT
}

extension String {
  fileprivate func replacingCommas(with s: String) -> String {
    var out = ""
    for c in self { if c == "," { out += s } else { out.append(c) } }
    return out
  }
}
