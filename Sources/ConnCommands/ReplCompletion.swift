import ConnSyntax

// Tab completion for the REPL, in plain Swift so that tests can ask it directly. It looks at the
// words of the statement being typed (the text after the last ';', '{' or '}') and offers what
// the grammar allows in that position: statement keywords first, then socket names declared in
// the session, errno names, options, events and the other fixed words. After :load and :save
// it answers nil, and readline completes file names.

package struct ReplCompleter: Sendable {
  package var socketNames: [String]
  package var backendNames: [String]
  /// `self` and the hosts the session has made.
  package var hostNames: [String] = ["self"]

  package init(socketNames: [String] = [], backendNames: [String] = BackendChoice.allCases.map(\.rawValue)) {
    self.socketNames = socketNames
    self.backendNames = backendNames
  }

  static let keywords = ReplHelp.statements.map(\.keyword)
  static let errnoNames = Errno.allCases.map(\.name) + Errno.aliases.map(\.0)
  static let optionNames = SocketOption.allCases.map(\.rawValue)
  static let settableOptions = SocketOption.allCases.filter { !$0.isReadOnly }.map(\.rawValue)
  static let eventNames = PollEvents.names.map(\.0)
  static let flagNames = DescriptorFlag.allCases.map(\.rawValue)

  /// The completions of `word`, which starts right after `linePrefix`; nil to complete file names.
  package func candidates(linePrefix: String, word: String) -> [String]? {
    let prefixBytes = Array(linePrefix.utf8)
    let trimmed = prefixBytes.drop { $0 == 0x20 || $0 == 0x09 }
    if trimmed.first == UInt8(ascii: ":") || (trimmed.isEmpty && word.hasPrefix(":")) {
      let words = Self.words(Array(trimmed))
      guard let command = words.first else { return filter(ReplHelp.commands.map(\.name), word) }
      switch command {
      case ":load", ":save": return nil
      case ":help": return words.count == 1 ? filter(Self.keywords + ReplHelp.commands.map(\.name), word) : []
      case ":backend": return words.count == 1 ? filter(backendNames, word) : []
      default: return []
      }
    }
    let words = Self.words(Self.currentStatement(prefixBytes))
    // `127.0.0.1:` or `[::1]:` then a socket name: the port that socket is bound to.
    if let colon = word.lastIndex(of: ":"), let first = word.first, let before = word[..<colon].last,
      first.isNumber ? before.isNumber : first == "[" && before == "]"
    {
      let head = word[...colon]
      return filter(socketNames.map { head + $0 }, word)
    }
    var found = filter(options(after: words), word)
    // `set` and `get` name their options themselves (SO_ERROR cannot be set).
    if found.isEmpty && words.first != "set" && words.first != "get" {
      // Wherever the position, an errno or option name completes by its own spelling.
      if word.hasPrefix("E") {
        found = filter(Self.errnoNames, word)
      } else if word.hasPrefix("MSG_") {
        found = filter(MessageFlags.names.map(\.0), word)
      } else if word.hasPrefix("SO_") || word.hasPrefix("TCP_") || word.hasPrefix("IP") {
        found = filter(Self.optionNames, word)
      }
    }
    return found
  }

  private func filter(_ list: [String], _ word: String) -> [String] {
    var seen = Set<String>()
    return list.filter { $0.hasPrefix(word) && seen.insert($0).inserted }.sorted()
  }

  /// The words the grammar allows after `words` (the complete words of the statement so far).
  func options(after words: [String]) -> [String] {
    guard let keyword = words.first else { return Self.keywords }
    let n = words.count
    let names = socketNames
    switch keyword {
    case "sock":
      switch n {
      case 2: return ["="]
      case 3: return SocketType.allCases.map(\.rawValue) + ["fd", "file"]
      case 4: return SocketType(rawValue: words[3]) != nil ? AddressFamily.allCases.map(\.rawValue) : []
      case 5: return SocketType(rawValue: words[3]) != nil ? ["nonblock", "on", "proto"] : []
      case 6: return words[5] == "on" ? hostNames : words[5] == "nonblock" ? ["on"] : []
      case 7: return words[6] == "on" ? hostNames : []
      default: return []
      }
    case "bind": return n == 1 ? names : n == 2 ? names + ["unspec"] : []
    case "listen": return n == 1 ? names : n == 2 ? ["backlog"] : []
    case "connect":
      if n == 1 { return names }
      if n == 2 { return names + ["unspec", "badptr", "null", "family", "netlink"] }
      return Self.afterOption(
        words, ["nonblock", "interrupt", "len", "background"], valued: ["interrupt", "len"])
    case "accept":
      if n == 1 { return names }
      if n == 2 { return ["as"] }
      if n == 3 { return [] }
      return Self.afterOption(words, ["nonblock", "interrupt", "background"], valued: ["interrupt"])
    case "socketpair":
      switch n {
      case 1, 2: return []
      case 3: return ["="]
      case 4: return SocketType.allCases.map(\.rawValue)
      case 5: return AddressFamily.allCases.map(\.rawValue)
      case 6: return ["nonblock"]
      default: return []
      }
    case "dup":
      if n == 1 { return names }
      if n == 2 { return ["as"] }
      return n == 4 ? ["fd"] : []
    case "set":
      if n == 1 { return names }
      if n == 2 { return ["nonblock", "block", "opt"] + Self.flagNames + Self.settableOptions }
      if n == 3 && words[2] == "opt" { return OptionNumber.levels.map(\.0) }
      if n == 3 && DescriptorFlag(rawValue: words[2]) != nil { return ["on", "off"] }
      if n == 3, let o = SocketOption(rawValue: words[2]) {
        switch o.valueKind {
        case .boolean: return ["on", "off"]
        case .duration: return o == .SO_LINGER ? ["off"] : []
        case .integer: return []
        }
      }
      return []
    case "get":
      if n == 3 && words[2] == "opt" { return OptionNumber.levels.map(\.0) }
      return n == 1 ? names : n == 2 ? ["opt"] + Self.flagNames + Self.optionNames : []
    case "poll":
      if n == 1 { return names }
      return Self.afterOption(
        words, Self.eventNames + ["timeout", "interrupt", "background"] + (words.count > 2 ? names : []),
        valued: ["timeout", "interrupt"])
    case "peer", "local", "close", "wait", "signal": return n == 1 ? names : []
    case "send", "sendto", "write", "recv", "recvfrom", "read":
      if n == 1 { return names }
      if n == 2 && words[0] == "sendto" { return names }
      if n == 2 && ["send", "write"].contains(words[0]) || n == 3 && words[0] == "sendto" {
        return ["hex", "zeros"]
      }
      if words[0] == "write" { return [] }
      if words[0] == "read" { return ["background"] }
      return Self.afterOption(
        words, MessageFlags.names.map(\.0) + ["interrupt", "background"], valued: ["interrupt"])
    case "shutdown": return n == 1 ? names : n == 2 ? ShutdownHow.allCases.map(\.rawValue) : []
    case "expect":
      if words.last == "within" || words.last == "after" { return [] }
      return ["ok", "timeout", "unnamed", "unspec", "on", "off", "or", "within", "after"] + Self.eventNames
        + Self.errnoNames
        + names
    case "net":
      if n == 1 { return ["route", "addr", "ports"] }
      if n == 3 && words[1] == "route" { return RouteKind.allCases.map(\.rawValue) }
      return []
    case "user": return n == 1 ? ["root", "nobody"] : []
    case "drop": return n == 1 ? ["nobody"] : []
    case "landlock":
      let rights = ["connect", "bind", "abstract"].filter { !words.dropFirst().contains($0) }
      if words.last == "connect" || words.last == "bind" { return ["none"] + names }
      if n == 1 || words.last == "abstract" || words.last == "none" { return rights }
      return rights + names
    case "mkdir", "mkfile": return n == 2 ? ["mode"] : []
    case "chown": return n == 2 ? ["root", "nobody"] : []
    case "host": return n == 2 ? ["router"] : []
    case "link":
      if n <= 2 { return hostNames }
      return n == 3 ? ["up", "down"] : []
    case "route":
      if n == 1 { return hostNames }
      if n == 2 { return ["default", "default6"] }
      if n == 3 { return ["via", "unreachable", "prohibit", "blackhole"] }
      return n == 4 && words[3] == "via" ? hostNames : []
    case "addr":
      if n == 1 { return ["add", "del"] }
      return n <= 3 ? hostNames + ["lo"] : []
    case "firewall": return firewallOptions(words)
    case "sysctl": return n == 1 ? hostNames : []
    default: return []
    }
  }

  private func firewallOptions(_ words: [String]) -> [String] {
    let n = words.count
    if n == 1 { return hostNames }
    if n == 2 { return FirewallChain.allCases.map(\.rawValue) + ["connect"] }
    if words[2] == "connect" { return n == 3 ? ["deny", "reject"] : n == 4 ? ["with"] : Self.errnoNames }
    let last = words[n - 1]
    let before = n >= 2 ? words[n - 2] : ""
    if last == "with" { return ["tcp", "icmp", "icmpv6", "icmpx"] }
    if before == "with" {
      switch last {
      case "tcp": return ["reset"]
      case "icmp": return ICMPReject.icmp.map(\.rawValue)
      case "icmpv6": return ICMPReject.icmpv6.map(\.rawValue)
      case "icmpx": return ICMPReject.icmpx.map(\.rawValue)
      default: return []
      }
    }
    if ["saddr", "daddr", "sport", "dport"].contains(last) { return [] }
    return ["tcp", "udp", "saddr", "daddr", "sport", "dport", "accept", "drop", "reject", "with"]
  }

  /// Option words, except right after one that takes a value.
  private static func afterOption(_ words: [String], _ all: [String], valued: Set<String>) -> [String] {
    if let last = words.last, valued.contains(last) { return [] }
    return all
  }

  /// The bytes after the last ';', '{' or '}' outside a string.
  static func currentStatement(_ bytes: [UInt8]) -> [UInt8] {
    var start = 0
    var inString = false
    var i = 0
    while i < bytes.count {
      let b = bytes[i]
      if inString {
        if b == UInt8(ascii: "\\") { i += 1 } else if b == UInt8(ascii: "\"") { inString = false }
      } else if b == UInt8(ascii: "\"") {
        inString = true
      } else if b == UInt8(ascii: ";") || b == UInt8(ascii: "{") || b == UInt8(ascii: "}") {
        start = i + 1
      }
      i += 1
    }
    return Array(bytes[min(start, bytes.count)...])
  }

  /// Words split at spaces and tabs, with '=' a word of its own.
  static func words(_ bytes: [UInt8]) -> [String] {
    var out: [String] = []
    var current: [UInt8] = []
    func flush() {
      if !current.isEmpty { out.append(String(decoding: current, as: UTF8.self)) }
      current.removeAll()
    }
    for b in bytes {
      if b == 0x20 || b == 0x09 {
        flush()
      } else if b == UInt8(ascii: "=") {
        flush()
        out.append("=")
      } else {
        current.append(b)
      }
    }
    flush()
    return out
  }
}
