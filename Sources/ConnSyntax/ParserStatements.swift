// The statement rules, one function per rule with the rule quoted above it: the socket calls
// (sock, bind, listen, connect, accept, set, get, poll, peer, local, shutdown, close, sleep),
// then net and repeat. `expect` has a file of its own (ParserExpect.swift), and so do the
// process's context (ParserProcess.swift: user, drop, landlock, the file statements), data
// (ParserData.swift) and topology (ParserTopology.swift).

extension ParserState {

  mutating func parseStatement() throws(StatementError) -> Statement {
    guard token.kind == .identifier else {
      if token.kind == .leftBrace {
        throw error(
          .expected("a statement", found: "'{'", at: token.range, hint: "blocks belong to 'repeat N { ... }'")
        )
      }
      throw unexpected("a statement")
    }
    guard let kw = StatementKeyword.match(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
    else {
      let word = tokenText
      throw error(
        .unknownStatement(
          word, at: token.range, suggestion: closestName(to: word, in: StatementKeyword.names)))
    }
    let start = token.start
    advance()
    let kind: StatementKind
    switch kw {
    case .sock: kind = try parseSock()
    case .bind: kind = try parseBind()
    case .listen: kind = try parseListen()
    case .connect: kind = try parseConnect()
    case .accept: kind = try parseAccept()
    case .set: kind = try parseSet()
    case .get: kind = try parseGet()
    case .poll: kind = try parsePoll()
    case .peer: kind = .peer(try parseSocketRef())
    case .local: kind = .local(try parseSocketRef())
    case .shutdown: kind = try parseShutdown()
    case .close: kind = .close(try parseSocketRef())
    case .sleep: kind = .sleep(try parseDuration("a duration such as 10ms"), CallOptions())
    case .expect: kind = try parseExpect()
    case .net: kind = try parseNet()
    case .user: kind = try parseUser()
    case .repeat: return try parseRepeat(start)
    case .host: kind = .topology(try parseHost())
    case .link: kind = .topology(try parseLink())
    case .route: kind = .topology(try parseRoute())
    case .addr: kind = .topology(try parseAddr())
    case .firewall: kind = .topology(try parseFirewall())
    case .sysctl: kind = .topology(try parseSysctl())
    case .send: kind = try parseSend(.send)
    case .sendto: kind = try parseSend(.sendto)
    case .write: kind = try parseSend(.write)
    case .recv: kind = try parseReceive(.recv)
    case .recvfrom: kind = try parseReceive(.recvfrom)
    case .read: kind = try parseReceive(.read)
    case .socketpair: kind = try parseSocketPair()
    case .dup: kind = try parseDup()
    case .mkdir, .mkfile, .chmod, .chown, .symlink, .rm: kind = .file(try parseFile(kw))
    case .wait: kind = .wait(try parseSocketRef())
    case .signal: kind = .signal(try parseSocketRef())
    case .drop: kind = try parseDrop()
    case .landlock: kind = .landlock(try parseLandlock())
    }
    return Statement(kind, SourceRange(Int(start), Int(lastConsumedEnd)))
  }

  /// sock NAME '=' ( TYPE FAMILY ['nonblock'] | 'fd' INT | 'file' STRING )
  mutating func parseSock() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    guard token.kind == .equals else {
      throw unexpected("'='", hint: "write: sock \(source.text(name.range)) = stream inet")
    }
    consume()
    if isWord("fd") {
      consume()
      // Negative numbers too: fd -1 is the classic bad descriptor.
      let n = try parseInteger("a descriptor number", max: Int64(Int32.max), negative: true)
      return .sock(name, .descriptor(Int32(n)))
    }
    if isWord("file") {
      consume()
      guard token.kind == .string else { throw unexpected("a quoted path such as \"/dev/null\"") }
      let path = try decodeString()
      return .sock(name, .file(path))
    }
    let kind = try parseSocketKind(
      typeExpected: "a socket type (stream, dgram, seqpacket, raw), 'fd N' or 'file PATH'")
    var nonblock = false
    if isWord("nonblock") {
      nonblock = true
      consume()
    }
    var host: HostRef?
    if isWord("on") {
      consume()
      host = try parseHostRef()
    }
    return .sock(name, .socket(kind, nonblocking: nonblock, on: host))
  }

  /// TYPE FAMILY ['proto' INT]   TYPE -> 'stream' | 'dgram' | 'seqpacket' | 'raw'
  /// FAMILY -> 'inet' | 'inet6' | 'unix' | 'packet' | 'netlink'
  mutating func parseSocketKind(typeExpected: String) throws(StatementError) -> SocketKind {
    let type: SocketType
    if isWord("stream") {
      type = .stream
    } else if isWord("dgram") {
      type = .dgram
    } else if isWord("seqpacket") {
      type = .seqpacket
    } else if isWord("raw") {
      type = .raw
    } else {
      throw unexpected(typeExpected)
    }
    consume()
    let family: AddressFamily
    if isWord("inet") {
      family = .inet
    } else if isWord("inet6") {
      family = .inet6
    } else if isWord("unix") {
      family = .unix
    } else if isWord("packet") {
      family = .packet
    } else if isWord("netlink") {
      family = .netlink
    } else {
      throw unexpected("an address family (inet, inet6, unix, packet, netlink)")
    }
    consume()
    var proto: Int32 = 0
    if isWord("proto") {
      consume()
      proto = Int32(try parseInteger("a protocol number, such as 1 (ICMP)", max: 65535))
    }
    return SocketKind(type, family, proto: proto)
  }

  /// socketpair NAME NAME '=' TYPE FAMILY ['nonblock']
  mutating func parseSocketPair() throws(StatementError) -> StatementKind {
    let first = try parseSocketRef()
    guard token.kind == .identifier else {
      throw unexpected("a second name", hint: "socketpair a b = stream unix")
    }
    let second = try parseSocketRef()
    guard token.kind == .equals else {
      throw unexpected("'='", hint: "socketpair a b = stream unix")
    }
    consume()
    let kind = try parseSocketKind(typeExpected: "a socket type (stream, dgram, seqpacket)")
    var nonblock = false
    if isWord("nonblock") {
      nonblock = true
      consume()
    }
    return .socketPair(first, second, kind, nonblocking: nonblock)
  }

  /// dup NAME 'as' NAME ['fd' INT]
  mutating func parseDup() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    guard isWord("as") else {
      throw unexpected("'as' and a name for the new descriptor", hint: "dup s as d")
    }
    consume()
    let into = try parseSocketRef()
    var at: Int32?
    if isWord("fd") {
      consume()
      at = Int32(try parseInteger("a descriptor number", max: Int64(Int32.max)))
    }
    return .dup(name, into: into, at: at)
  }

  /// bind NAME (ADDRESS | NAME)        ADDRESS may name a socket for its port: 0.0.0.0:l
  mutating func parseBind() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    if atNetlinkAddress { return .bind(name, try parseNetlinkAddress()) }
    if token.kind == .identifier && !isWord("unspec") {
      return .bindTo(name, boundAddressOf: try parseSocketRef())
    }
    switch try parseTargetAddress() {
    case .withPortOf(let a, let other): return .bindPortOf(name, a, portOf: other)
    case .address(let a): return .bind(name, a)
    default: throw unexpected("an address")
    }
  }

  /// listen NAME ['backlog' INT]
  mutating func parseListen() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    var backlog: Int32?
    if isWord("backlog") {
      consume()
      backlog = Int32(try parseInteger("a backlog length", max: 65535))
    }
    return .listen(name, backlog: backlog)
  }

  /// connect NAME TARGET { 'nonblock' | 'interrupt' DUR | 'len' INT }
  /// TARGET -> ADDRESS | NAME | 'unspec' | 'badptr' | 'null' | 'family' INT
  mutating func parseConnect() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let target: ConnectTarget
    if token.kind == .identifier {
      if isWord("badptr") {
        consume()
        target = .badPointer
      } else if isWord("null") {
        consume()
        target = .nullPointer
      } else if atNetlinkAddress {
        target = .address(try parseNetlinkAddress())
      } else if isWord("family") && lexer.peek().kind == .integer {
        consume()
        target = .family(UInt16(try parseInteger("an address family number", max: 65535)))
      } else if isWord("unspec") {
        consume()
        target = .address(.unspec)
      } else if isWord("nonblock") || isWord("interrupt") || isWord("len") || isWord("background") {
        throw unexpected("an address or a socket name before '\(tokenText)'")
      } else {
        target = .boundAddressOf(try parseSocketRef())
      }
    } else {
      target = try parseTargetAddress()
    }
    let options = try parseCallOptions(
      allowed: CallOption.nonblock | CallOption.interrupt | CallOption.length | CallOption.background)
    return .connect(name, target, options)
  }

  /// Call modifiers as bits (no Set allocation on the hot path).
  enum CallOption {
    static let nonblock: UInt8 = 1
    static let interrupt: UInt8 = 2
    static let length: UInt8 = 4
    static let background: UInt8 = 8
  }

  /// { 'nonblock' | 'interrupt' DUR | 'len' INT | 'background' }, each at most once.
  mutating func parseCallOptions(allowed: UInt8) throws(StatementError) -> CallOptions {
    var o = CallOptions()
    var seen: UInt8 = 0
    while token.kind == .identifier {
      let which: UInt8
      if isWord("nonblock") {
        which = CallOption.nonblock
      } else if isWord("interrupt") {
        which = CallOption.interrupt
      } else if isWord("len") {
        which = CallOption.length
      } else if isWord("background") {
        which = CallOption.background
      } else {
        break
      }
      guard allowed & which != 0 else { throw unexpected("end of statement") }
      if seen & which != 0 {
        throw error(.invalidValue("'\(tokenText)' given twice", at: token.range))
      }
      seen |= which
      consume()
      switch which {
      case CallOption.nonblock: o.nonblock = true
      case CallOption.background: o.background = true
      case CallOption.interrupt:
        o.interrupt = try parseDuration("a duration after 'interrupt', such as 100ms")
      default: o.addressLength = Int32(try parseInteger("an address length in bytes", max: 4096))
      }
    }
    return o
  }

  /// accept NAME 'as' NAME { 'nonblock' | 'interrupt' DUR }
  mutating func parseAccept() throws(StatementError) -> StatementKind {
    let listener = try parseSocketRef()
    guard isWord("as") else {
      throw unexpected("'as' and a name for the accepted socket", hint: "accept l as c")
    }
    consume()
    let into = try parseSocketRef()
    let o = try parseCallOptions(allowed: CallOption.nonblock | CallOption.interrupt | CallOption.background)
    return .accept(listener, into: into, o)
  }

  /// set NAME ( 'nonblock' | 'block' | FLAG ('on' | 'off') | OPTION VALUE )
  /// VALUE -> INT | DUR | 'on' | 'off'   FLAG -> 'O_NONBLOCK' | 'FD_CLOEXEC'
  mutating func parseSet() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    if isWord("nonblock") {
      consume()
      return .set(name, .nonblocking(true))
    }
    if isWord("block") {
      consume()
      return .set(name, .nonblocking(false))
    }
    if token.kind == .identifier,
      let flag = DescriptorFlag.byName.lookup(
        buf.baseAddress! + Int(token.start), Int(token.end - token.start))
    {
      consume()
      let on: Bool
      if isWord("on") {
        on = true
      } else if isWord("off") {
        on = false
      } else {
        throw unexpected("on or off for \(flag.rawValue)")
      }
      consume()
      return .set(name, flag == .O_NONBLOCK ? .nonblocking(on) : .closeOnExec(on))
    }
    if isWord("opt") {
      consume()
      let number = try parseOptionNumber()
      let v = try parseInteger("an int value", max: Int64(Int32.max), negative: true)
      return .set(name, .optionNumber(number, Int32(v)))
    }
    let (option, optRange) = try parseOption()
    let value: OptionValue
    let valueRange = token.range
    switch token.kind {
    case .integer:
      value = .integer(try parseInteger("a value", max: Int64(Int32.max)))
    case .duration:
      value = .duration(try parseDuration("a duration"))
    case .identifier where isWord("on"):
      consume()
      value = .integer(1)
    case .identifier where isWord("off"):
      consume()
      value = option == .SO_LINGER ? .off : .integer(0)
    default:
      throw unexpected("a value for \(option.rawValue)")
    }
    if option.isReadOnly {
      throw error(
        .invalidValue(
          "\(option.rawValue) can only be read (use: get \(source.text(name.range)) \(option.rawValue))",
          at: optRange))
    }
    switch (option.valueKind, value) {
    case (.duration, .integer):
      throw error(
        .invalidValue(
          "\(option.rawValue) takes a duration", at: valueRange,
          hint: "for example: set \(source.text(name.range)) \(option.rawValue) 100ms"))
    case (.integer, .duration), (.boolean, .duration):
      throw error(.invalidValue("\(option.rawValue) takes a number, not a duration", at: valueRange))
    case (.integer, .off), (.boolean, .off): break
    default: break
    }
    return .set(name, .option(option, value))
  }

  /// OPTION, an SO_/TCP_/IP_ name
  mutating func parseOption() throws(StatementError) -> (SocketOption, SourceRange) {
    guard token.kind == .identifier else { throw unexpected("a socket option such as SO_ERROR") }
    let r = token.range
    guard let o = optionNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start)) else {
      let w = tokenText
      throw error(
        .unknownOption(
          w, at: r,
          suggestion: closestName(
            to: w, in: SocketOption.allCases.map(\.rawValue) + DescriptorFlag.allCases.map(\.rawValue))))
    }
    consume()
    return (o, r)
  }

  /// get NAME ( OPTION | FLAG )   FLAG -> 'O_NONBLOCK' | 'FD_CLOEXEC'
  mutating func parseGet() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    if token.kind == .identifier,
      let flag = DescriptorFlag.byName.lookup(
        buf.baseAddress! + Int(token.start), Int(token.end - token.start))
    {
      consume()
      return .getFlag(name, flag)
    }
    if isWord("opt") {
      consume()
      return .getNumber(name, try parseOptionNumber())
    }
    let (o, _) = try parseOption()
    return .get(name, o)
  }

  /// LEVEL NAME: a level by its name (SOL_SOCKET, IPPROTO_TCP, ...) or number, and the option's
  /// number.
  mutating func parseOptionNumber() throws(StatementError) -> OptionNumber {
    let level: Int32
    if token.kind == .identifier, let l = OptionNumber.levels.first(where: { $0.0 == tokenText }) {
      consume()
      level = l.1
    } else if token.kind == .integer {
      level = Int32(try parseInteger("a level number", max: Int64(Int32.max)))
    } else {
      throw unexpected(
        "a level (SOL_SOCKET, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_RAW or a number)")
    }
    let name = Int32(
      try parseInteger("an option number, such as 23 (TCP_FASTOPEN)", max: Int64(Int32.max)))
    return OptionNumber(level: level, name: name)
  }

  /// poll NAME EVENT {EVENT} ['timeout' DUR] ['interrupt' DUR]
  mutating func parsePoll() throws(StatementError) -> StatementKind {
    var targets: [PollTarget] = []
    repeat {
      let name = try parseSocketRef()
      let events = parseEvents()
      if events.isEmpty { throw unexpected("poll events (readable, writable, ...)") }
      if targets.contains(where: { $0.socket.slot == name.slot }) {
        throw error(.invalidValue("'\(source.text(name.range))' is polled twice", at: name.range))
      }
      targets.append(PollTarget(name, events))
    } while token.kind == .identifier && !isWord("timeout") && !isWord("interrupt")
    if token.kind == .duration { throw error(.durationWithoutTimeout(tokenText, at: token.range)) }
    var timeout: TimeSpan?
    if isWord("timeout") {
      consume()
      timeout = try parseDuration("a duration after 'timeout', such as 1s")
    }
    let o = try parseCallOptions(allowed: CallOption.interrupt | CallOption.background)
    if targets.count == 1 { return .poll(targets[0].socket, targets[0].events, timeout: timeout, o) }
    return .pollSet(targets, timeout: timeout, o)
  }

  /// EVENT {EVENT}: the poll event words here, none when the token is not one.
  mutating func parseEvents() -> PollEvents {
    var events = PollEvents()
    while token.kind == .identifier,
      let e = eventNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
    {
      events.insert(e)
      consume()
    }
    return events
  }

  /// shutdown NAME ('read' | 'write' | 'both')
  mutating func parseShutdown() throws(StatementError) -> StatementKind {
    let name = try parseSocketRef()
    let how: ShutdownHow
    if isWord("read") {
      how = .read
    } else if isWord("write") {
      how = .write
    } else if isWord("both") {
      how = .both
    } else {
      throw unexpected("'read', 'write' or 'both'")
    }
    consume()
    return .shutdown(name, how)
  }

  /// expect ALTERNATIVE { 'or' ALTERNATIVE } ['within' DUR]
  /// ALTERNATIVE -> 'ok' | 'timeout' | ERRNO | EVENT {EVENT} | INT | ADDRESS | 'unnamed'
  ///
  /// The alternatives are collected in a scratch storage, then shared with every earlier
  /// `expect` that accepts the same (see `Expectation`).

  mutating func parseNet() throws(StatementError) -> StatementKind {
    if isWord("route") {
      consume()
      let prefixRange = token.range
      let p = try parsePrefix()
      // The kernel refuses a route whose prefix has host bits set ("Invalid prefix").
      if p != p.networkOnly { throw error(.hostBitsSet(p, at: prefixRange)) }
      let kind: RouteKind
      if isWord("unreachable") {
        kind = .unreachable
      } else if isWord("prohibit") {
        kind = .prohibit
      } else if isWord("blackhole") {
        kind = .blackhole
      } else if isWord("silent") {
        kind = .silent
      } else {
        throw unexpected("a route type: unreachable, prohibit, blackhole or silent")
      }
      consume()
      return .net(.route(p, kind))
    }
    if isWord("addr") {
      consume()
      return .net(.address(try parsePrefix()))
    }
    if isWord("ports") {
      consume()
      let lo = try parseInteger("the first port of the ephemeral range", max: 65535)
      let hiRange = token.range
      let hi = try parseInteger("the last port of the ephemeral range", max: 65535)
      if lo < 1 || hi < lo {
        throw error(.outOfRange("ephemeral port range \(lo)-\(hi) is empty or starts at 0", at: hiRange))
      }
      return .net(.ports(UInt16(lo), UInt16(hi)))
    }
    throw unexpected("'route', 'addr' or 'ports' after 'net'")
  }

  /// repeat INT '{' block '}'
  mutating func parseRepeat(_ start: UInt32) throws(StatementError) -> Statement {
    let countRange = token.range
    let count = try parseInteger("a repeat count", max: Int64(Parser.maxRepeat))
    guard token.kind == .leftBrace else {
      throw unexpected("'{' after the repeat count", hint: "repeat \(count) { ... }")
    }
    let open = token
    advance()
    if depth >= Parser.maxNesting {
      _ = error(.nestingTooDeep(at: open.range))
      skipToEndOfNesting()
      throw StatementError()
    }
    depth += 1
    openBlocks.append(start)
    // Room for a typical body at once, rather than growing it 1, 2, 4.
    let body = parseBlock(reserving: 4)
    depth -= 1
    openBlocks.removeLast()
    guard token.kind == .rightBrace else {
      throw error(.unclosedBlock(openedAt: line(start), at: token.range))
    }
    consume()
    _ = countRange
    return Statement(.repeat(count: Int(count), body: body), SourceRange(Int(start), Int(lastConsumedEnd)))
  }
}
