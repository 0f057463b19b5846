import ConnSyntax

// `expect`: whether the last outcome is one of the alternatives, whether the call was quick
// enough for `within`, and the failures that say what was expected and what came back, with the
// errno's meaning for connect(2).

extension Interpreter {
  /// The errno's meaning for connect(2), for outcomes of connect or of SO_ERROR (a pending
  /// connect's result); other calls' errnos get no connect-specific text.
  func explanation(_ o: Outcome, from kind: StatementKind?) -> String? {
    switch kind {
    case .connect?, .get(_, .SO_ERROR)?: break
    default: return nil
    }
    if case .failure(let e) = o {
      let info = ErrnoCatalog.info(e)
      guard let m = info.meaning else { return nil }
      return "\(e.name) from connect(2): \(m)" + (info.linuxNote.map { " (Linux: \($0))" } ?? "")
    }
    return nil
  }

  func unexpected(_ o: Outcome, _ st: Statement, _ source: SourceFile) -> Failure {
    Failure(
      kind: .unexpectedErrno,
      message: "unexpected \(o.expectationText) from '\(st.kind.keyword)' (no 'expect' names it)",
      range: st.range, source: source, expected: "success", actual: o.actualText(after: st.kind),
      explanation: explanation(o, from: st.kind))
  }

  func matches(_ e: Expectation, _ o: Outcome, sockets: [Slot]) -> Bool {
    switch o {
    case .ok: return e.ok
    case .number(let n):
      if e.ok || e.numbers.contains(n) { return true }
      if case .get(_, let option)? = lastStatement { return OptionReading.matches(e, option, n) }
      // A descriptor flag is on or off as well.
      if case .getFlag? = lastStatement { return (e.on && n != 0) || (e.off && n == 0) }
      return false
    case .failure(let err): return e.errnos.contains(err)
    case .unknownErrno: return false
    case .events(let ev):
      return e.events.contains { ev.isSuperset(of: $0) } || matches(e, [ev], sockets: sockets)
    case .pollSet(let evs): return matches(e, evs, sockets: sockets)
    case .pollTimeout: return e.timeout
    case .data(let d):
      if e.ok || e.numbers.contains(Int64(d.length)) || e.data.contains(d.bytes) { return true }
      // A string alternative is read as a Unix path: here it stands for its bytes.
      return e.addresses.contains {
        if case .unix(let p) = $0 { return Array(p.utf8) == d.bytes } else { return false }
      }
    case .address(let a):
      if e.addresses.contains(a) { return true }
      let templates = e.portTemplates
      for (i, s) in sockets.enumerated() {
        let fd = slots[Int(s)].fd
        guard fd >= 0, case .address(let bound) = backend.localName(fd) else { continue }
        if let t = templates[i] {
          if let port = bound.port, t.withPort(port) == a { return true }
        } else if bound == a {
          return true
        }
      }
      return false
    }
  }

  /// Whether an alternative of per-descriptor events holds for every descriptor it names.
  private func matches(_ e: Expectation, _ evs: [PollEvents], sockets: [Slot]) -> Bool {
    e.descriptorEvents.contains { group in
      group.allSatisfy { d in
        guard let i = lastPollSlots.firstIndex(of: sockets[d.socket]), i < evs.count else { return false }
        return d.events.isEmpty ? evs[i].isEmpty : evs[i].isSuperset(of: d.events)
      }
    }
  }

  /// A poll's result as an expectation would name it: `a readable b none`.
  func pollText(_ o: Outcome) -> String? {
    let evs: [PollEvents]
    switch o {
    case .pollSet(let all): evs = all
    case .events(let ev) where lastPollSlots.count == 1: return ev.description
    default: return nil
    }
    return zip(lastPollSlots, evs).map { names[Int($0.0)] + " " + $0.1.description }.joined(separator: " ")
  }

  /// The alternatives as written, each socket name followed by what it stood for when the
  /// `expect` ran: `l (0.0.0.0:58365)`, `r (not open)`.
  func expectedText(_ e: Expectation, _ source: SourceFile, sockets: [Slot]) -> String {
    var out = ""
    var at = e.textRange.start
    let templates = e.portTemplates
    let polled = Set(e.descriptorEvents.flatMap { $0.map(\.socket) })
    for (i, (ref, slot)) in zip(e.sockets, sockets).enumerated().sorted(by: {
      $0.1.0.range.start < $1.1.0.range.start
    }) where !polled.contains(i) {
      out += source.text(SourceRange(Int(at), Int(ref.range.start)))
      out += source.text(ref.range) + " (" + resolvedName(slot, portIn: templates[i]) + ")"
      at = ref.range.end
    }
    return out + source.text(SourceRange(Int(at), Int(e.textRange.end)))
  }

  /// What a socket name stands for in an `expect`: the address it is bound to (getsockname).
  func resolvedName(_ slot: Slot, portIn template: SocketAddress? = nil) -> String {
    let fd = slots[Int(slot)].fd
    guard fd >= 0 else { return "not open" }
    let local = backend.localName(fd)
    if case .address(let a) = local {
      guard let template else { return a.description }
      return a.port.map { template.withPort($0).description } ?? "\(a.description), which has no port"
    }
    return "getsockname said \(local.expectationText)"
  }

  /// Checks the last outcome against `expect` number `index`. The usual case (an errno, ok, a
  /// descriptor) is decided on plain values; the rest, and every failure, goes the long way.
  @inline(__always)
  func check(_ p: Program, _ at: Int, _ index: Int32) throws(Failure) {
    let c = p.checks[Int(index)]
    if !c.complex && lastElapsed.nanoseconds <= c.within {
      switch last.kind {
      case .failure: if c.errnos.contains(rawErrno: UInt8(truncatingIfNeeded: last.value)) { return }
      case .ok, .number: if c.ok { return }
      case .pollTimeout: if c.timeout { return }
      default: break
      }
    }
    try checkFully(p, at, index)
  }

  private func checkFully(_ p: Program, _ at: Int, _ index: Int32) throws(Failure) {
    let e = p.expectations[Int(index)]
    let st = p.statements[at]
    guard let o = lastOutcome else {
      throw Failure(
        kind: .runtime, message: "nothing to check: no statement ran before this 'expect'", range: st.range,
        source: p.source)
    }
    if !matches(e, o, sockets: p.expectedSockets[Int(index)]) {
      let wanted = expectedText(e, p.source, sockets: p.expectedSockets[Int(index)])
      throw Failure(
        kind: .expectation,
        message: "expected \(wanted), got \(pollText(o) ?? o.expectationText(after: lastStatement))",
        range: e.textRange, source: p.source, expected: wanted,
        actual: pollText(o) ?? o.actualText(after: lastStatement),
        explanation: explanation(o, from: lastStatement))
    }
    if let w = e.within, lastElapsed > w {
      throw Failure(
        kind: .tooSlow,
        message:
          "the call took \(lastElapsed.humanDescription), more than the \(w.description) allowed by 'within'",
        range: st.range, source: p.source, expected: "within \(w.description)",
        actual: lastElapsed.humanDescription)
    }
    if let a = e.after, lastElapsed < a {
      throw Failure(
        kind: .tooFast,
        message:
          "the call took \(lastElapsed.humanDescription), less than the \(a.description) that 'after' demands",
        range: st.range, source: p.source, expected: "after \(a.description)",
        actual: lastElapsed.humanDescription)
    }
  }
}
