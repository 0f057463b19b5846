// The topology rules (Topology.swift): host, link, route, addr, firewall, sysctl, one function
// per rule with the rule quoted above it.

extension ParserState {
  /// HOST -> 'self' | NAME   (a name given by a `host` statement; interned here, checked by the
  /// checker)
  mutating func parseHostRef() throws(StatementError) -> HostRef {
    guard token.kind == .identifier else { throw unexpected("a host name (or self)") }
    let text = tokenText
    let r = HostRef(index: hosts.intern(text), range: token.range)
    consume()
    return r
  }

  /// host NAME ['router']
  mutating func parseHost() throws(StatementError) -> TopologyStatement {
    guard token.kind == .identifier else { throw unexpected("a host name", hint: "host srv") }
    let nameRange = token.range
    let name = tokenText
    if name == "self" {
      throw error(.badHostName("'self' is the scenario's own host: it needs no declaring", at: nameRange))
    }
    if name == "lo" {
      throw error(.badHostName("'lo' names the loopback interface: choose another host name", at: nameRange))
    }
    // The host's name is the name of the interfaces that lead to it (IFNAMSIZ: 15 bytes).
    if name.utf8.count > 15 {
      throw error(.badHostName("a host name has at most 15 characters (it names interfaces)", at: nameRange))
    }
    let h = try parseHostRef()
    var router = false
    if isWord("router") {
      consume()
      router = true
    }
    return .host(h, router: router)
  }

  /// link HOST HOST ( PREFIX [PREFIX] | 'up' | 'down' )
  mutating func parseLink() throws(StatementError) -> TopologyStatement {
    let a = try parseHostRef()
    let b = try parseHostRef()
    if isWord("up") || isWord("down") {
      let up = isWord("up")
      consume()
      return .linkState(a, b, up: up)
    }
    guard token.kind == .prefix else {
      throw unexpected(
        "the link's prefix (such as 10.9.0.0/24), or 'up' or 'down'", hint: "link self srv 10.9.0.0/24")
    }
    var prefixes: [IPPrefix] = []
    while token.kind == .prefix {
      let r = token.range
      let p = try parsePrefix()
      if p != p.networkOnly { throw error(.hostBitsSet(p, at: r)) }
      switch p {
      case .v4(_, let l) where l > 30:
        throw error(
          .outOfRange("a link's IPv4 prefix is /30 or shorter (it needs two host addresses)", at: r))
      case .v6(_, let l) where l > 126:
        throw error(
          .outOfRange("a link's IPv6 prefix is /126 or shorter (it needs two host addresses)", at: r))
      default: break
      }
      if prefixes.contains(where: { isV4($0) == isV4(p) }) {
        throw error(
          .outOfRange("a link has one IPv4 and one IPv6 prefix at most", at: r))
      }
      prefixes.append(p)
    }
    return .link(a, b, prefixes)
  }

  private func isV4(_ p: IPPrefix) -> Bool {
    if case .v4 = p { return true }
    return false
  }

  /// route HOST (PREFIX | 'default' | 'default6') ( 'via' (ADDRESS | HOST) | 'unreachable' |
  /// 'prohibit' | 'blackhole' )
  mutating func parseRoute() throws(StatementError) -> TopologyStatement {
    let h = try parseHostRef()
    let p: IPPrefix
    if isWord("default") {
      consume()
      p = .v4(IPv4Address(0), 0)
    } else if isWord("default6") {
      consume()
      p = .v6(IPv6Address(high: 0, low: 0), 0)
    } else {
      let r = token.range
      guard token.kind == .prefix else {
        throw unexpected("a prefix such as 10.9.2.0/24, or 'default' (IPv4) or 'default6'")
      }
      p = try parsePrefix()
      if p != p.networkOnly { throw error(.hostBitsSet(p, at: r)) }
    }
    let target: RouteTarget
    if isWord("via") {
      consume()
      if token.kind == .identifier {
        target = .viaHost(try parseHostRef())
      } else {
        target = .via(try parseBareIP())
      }
    } else if isWord("unreachable") {
      consume()
      target = .unreachable
    } else if isWord("prohibit") {
      consume()
      target = .prohibit
    } else if isWord("blackhole") {
      consume()
      target = .blackhole
    } else {
      throw unexpected("'via' a gateway, or a route type: unreachable, prohibit, blackhole")
    }
    return .route(h, p, target)
  }

  /// An IP address with no port: 10.9.1.254 or [fd00:1::fe].
  mutating func parseBareIP() throws(StatementError) -> IPAddress {
    let r = token.range
    let s = Int(token.start)
    let e = Int(token.end)
    switch token.kind {
    case .ipv4:
      guard let a = IPv4Address.parse(UnsafeBufferPointer(rebasing: buf[s..<e])) else {
        throw error(.malformedAddress("'\(tokenText)' is not an IPv4 address without a port", at: r))
      }
      consume()
      return .v4(a)
    case .ipv6:
      guard buf[e - 1] == 0x5D,
        let a = IPv6Address.parse(UnsafeBufferPointer(rebasing: buf[(s + 1)..<(e - 1)]))
      else {
        throw error(
          .malformedAddress("'\(tokenText)' is not an IPv6 address in brackets, without a port", at: r))
      }
      consume()
      return .v6(a)
    default:
      throw unexpected("a gateway address (10.9.1.254, [fd00:1::fe]) or a host name")
    }
  }

  /// addr ('add' | 'del') [HOST] DEVICE PREFIX      DEVICE -> 'lo' | HOST (the link to it)
  mutating func parseAddr() throws(StatementError) -> TopologyStatement {
    let add: Bool
    if isWord("add") {
      add = true
    } else if isWord("del") {
      add = false
    } else {
      throw unexpected("'add' or 'del'", hint: "addr del lo 127.0.0.1/8")
    }
    consume()
    guard token.kind == .identifier else { throw unexpected("a device: lo, or the host a link leads to") }
    // One word before the prefix: the device on `self`; two: a host, then its device.
    var host = HostRef(index: HostRef.selfIndex, range: token.range)
    var deviceToken = token
    var deviceText = tokenText
    consume()
    if token.kind == .identifier {
      host = HostRef(
        index: deviceText == "self" ? HostRef.selfIndex : hosts.intern(deviceText), range: deviceToken.range)
      deviceToken = token
      deviceText = tokenText
      consume()
    }
    let device: Device =
      deviceText == "lo"
      ? .loopback : .link(to: HostRef(index: hosts.intern(deviceText), range: deviceToken.range))
    guard token.kind == .prefix else {
      throw unexpected("an address with its prefix length, such as 127.0.0.1/8")
    }
    let p = try parsePrefix()
    return .address(host, device, p, add: add)
  }

  /// firewall HOST ('input' | 'output' | 'forward') ['tcp' | 'udp'] ['saddr' PREFIX]
  ///   ['daddr' PREFIX] ['sport' PORT] ['dport' PORT] VERDICT
  /// VERDICT -> 'accept' | 'drop' | 'reject' ['with' ('tcp' 'reset' | ICMP TYPE)]
  /// ICMP -> 'icmp' | 'icmpv6' | 'icmpx'
  mutating func parseFirewall() throws(StatementError) -> TopologyStatement {
    let h = try parseHostRef()
    // firewall HOST 'connect' ('deny' | 'reject' 'with' ERRNO)
    if isWord("connect") {
      consume()
      if isWord("deny") {
        consume()
        return .connectHook(h, nil)
      }
      guard isWord("reject") else { throw unexpected("'deny', or 'reject with' an errno") }
      consume()
      guard isWord("with") else {
        throw unexpected("'with' and an errno", hint: "firewall self connect reject with EACCES")
      }
      consume()
      let r = token.range
      guard token.kind == .identifier,
        let e = errnoNames.lookup(buf.baseAddress! + Int(token.start), Int(token.end - token.start))
      else {
        throw unexpected("an errno name such as EACCES")
      }
      _ = r
      consume()
      return .connectHook(h, e)
    }
    let chain: FirewallChain
    if isWord("input") {
      chain = .input
    } else if isWord("output") {
      chain = .output
    } else if isWord("forward") {
      chain = .forward
    } else {
      throw unexpected("a chain (input, output, forward), or 'connect'")
    }
    consume()
    var m = FirewallMatch()
    if isWord("tcp") {
      m.proto = .tcp
      consume()
    } else if isWord("udp") {
      m.proto = .udp
      consume()
    }
    while true {
      if isWord("saddr") || isWord("daddr") {
        let source = isWord("saddr")
        consume()
        let r = token.range
        let p = try parsePrefix()
        if p != p.networkOnly { throw error(.hostBitsSet(p, at: r)) }
        if source { m.source = p } else { m.destination = p }
      } else if isWord("sport") || isWord("dport") {
        let source = isWord("sport")
        let r = token.range
        consume()
        if m.proto == nil {
          throw error(
            .expected(
              "'tcp' or 'udp' before a port", found: "'\(source ? "sport" : "dport")'", at: r,
              hint: "firewall srv input tcp dport 80 drop"))
        }
        let port = UInt16(try parseInteger("a port", max: 65535))
        if source { m.sourcePort = port } else { m.destinationPort = port }
      } else {
        break
      }
    }
    let verdict: FirewallVerdict
    if isWord("accept") {
      consume()
      verdict = .accept
    } else if isWord("drop") {
      consume()
      verdict = .drop
    } else if isWord("reject") {
      consume()
      if isWord("with") {
        consume()
        if isWord("tcp") {
          let r = token.range
          consume()
          guard isWord("reset") else { throw unexpected("'reset' after 'with tcp'") }
          consume()
          if m.proto != .tcp {
            throw error(
              .expected(
                "a 'tcp' rule", found: "'reject with tcp reset' without it", at: r,
                hint: "a reset answers TCP only: firewall srv input tcp dport 80 reject with tcp reset"))
          }
          verdict = .rejectWithReset
        } else {
          let family: ICMPFamily
          if isWord("icmp") {
            family = .icmp
          } else if isWord("icmpv6") {
            family = .icmpv6
          } else if isWord("icmpx") {
            family = .icmpx
          } else {
            throw unexpected("'tcp reset', or 'icmp', 'icmpv6' or 'icmpx' and a type")
          }
          consume()
          let allowed: [ICMPReject]
          switch family {
          case .icmp: allowed = ICMPReject.icmp
          case .icmpv6: allowed = ICMPReject.icmpv6
          case .icmpx: allowed = ICMPReject.icmpx
          }
          let typeStart = Int(token.start)
          let expected = "an \(family.rawValue) type: \(allowed.map(\.rawValue).joined(separator: ", "))"
          guard token.kind == .identifier, let text = hyphenatedWord() else { throw unexpected(expected) }
          guard let type = ICMPReject(rawValue: text), allowed.contains(type) else {
            throw error(
              .expected(expected, found: "'\(text)'", at: SourceRange(typeStart, typeStart + text.utf8.count))
            )
          }
          verdict = .rejectWithICMP(family, type)
        }
      } else {
        verdict = .reject
      }
    } else {
      throw unexpected("a verdict: accept, drop or reject")
    }
    return .firewall(h, chain, m, verdict)
  }

  /// A word with hyphens (`host-unreachable`): the lexer stops names at '-', so the parts are
  /// read from the bytes and the lexer moved past them.
  mutating func hyphenatedWord() -> String? {
    var e = Int(token.start)
    while e < buf.count {
      let c = buf[e]
      let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2D
      if !ok { break }
      e += 1
    }
    let text = lexer.text(Int(token.start), e)
    lastConsumedEnd = UInt32(e)
    lexer.seek(e)
    advance()
    return text.isEmpty ? nil : text
  }

  /// sysctl HOST KEY VALUE     KEY -> a dotted name under net. ; VALUE -> INT {INT}
  mutating func parseSysctl() throws(StatementError) -> TopologyStatement {
    let h = try parseHostRef()
    guard token.kind == .dottedName else {
      throw unexpected("a sysctl name such as net.ipv4.tcp_syn_retries")
    }
    let keyRange = token.range
    let key = tokenText
    if !key.hasPrefix("net.") {
      throw error(
        .badSysctl(
          "'\(key)' is not a network setting: only net.* settings belong to a host's own namespace",
          at: keyRange))
    }
    consume()
    var values: [String] = []
    while token.kind == .integer {
      values.append(tokenText)
      consume()
    }
    if values.isEmpty { throw unexpected("a value (a number, or numbers separated by spaces)") }
    return .sysctl(h, key: key, value: values.joined(separator: " "))
  }
}

/// Host names in order of first appearance, `self` first.
struct HostTable {
  private(set) var names: [String] = ["self"]
  private var index: [String: Int32] = ["self": 0]

  mutating func intern(_ name: String) -> Int32 {
    if let i = index[name] { return i }
    let i = Int32(names.count)
    names.append(name)
    index[name] = i
    return i
  }
}
