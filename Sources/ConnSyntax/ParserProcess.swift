// The rules of the process's context, one function per rule with the rule quoted above it:
// who the scenario is (`user`, `drop`), what it may still do (`landlock`), and the files of its
// private directory (mkdir, mkfile, chmod, chown, symlink, rm).

extension ParserState {

  /// user ('root' | 'nobody' | INT)
  mutating func parseUser() throws(StatementError) -> StatementKind {
    if isWord("root") {
      consume()
      return .user(.root)
    }
    if isWord("nobody") {
      consume()
      return .user(.nobody)
    }
    if token.kind == .integer {
      return .user(.uid(UInt32(try parseInteger("a user id", max: 65535 * 65536))))
    }
    throw unexpected("'root', 'nobody' or a numeric user id")
  }

  /// drop ('nobody' | INT): every identity of the process, for good (root is no drop at all).
  mutating func parseDrop() throws(StatementError) -> StatementKind {
    let at = token.range
    guard case .user(let who) = try parseUser() else { throw unexpected("a user") }
    if who.uid == 0 {
      throw error(
        .invalidValue(
          "dropping to root keeps every privilege", at: at, hint: "drop to nobody, or to a user id from 1"))
    }
    return .drop(who)
  }

  /// landlock RIGHT {RIGHT}
  /// RIGHT = ('connect' | 'bind') ('none' | PORT {PORT}) | 'abstract'
  /// PORT = INT | NAME (the port that socket is bound to)
  mutating func parseLandlock() throws(StatementError) -> LandlockRules {
    var rules = LandlockRules()
    var any = false
    while !atStatementEnd {
      let at = token.range
      if isWord("abstract") {
        consume()
        if rules.abstract { throw error(.invalidValue("'abstract' is named twice", at: at)) }
        rules.abstract = true
      } else if isWord("connect") || isWord("bind") {
        let connect = isWord("connect")
        consume()
        if (connect ? rules.connect : rules.bind) != nil {
          throw error(.invalidValue("'\(connect ? "connect" : "bind")' is named twice", at: at))
        }
        let ports = try parseLandlockPorts()
        if connect { rules.connect = ports } else { rules.bind = ports }
      } else {
        throw unexpected(
          any ? "'connect', 'bind' or 'abstract'" : "'connect', 'bind' or 'abstract' after 'landlock'")
      }
      any = true
    }
    if !any { throw unexpected("'connect', 'bind' or 'abstract' after 'landlock'") }
    return rules
  }

  /// 'none' | PORT {PORT}: ends at the next right's word or the end of the statement.
  private mutating func parseLandlockPorts() throws(StatementError) -> [PortRef] {
    if isWord("none") {
      consume()
      return []
    }
    var ports: [PortRef] = []
    while !atStatementEnd && !isWord("connect") && !isWord("bind") && !isWord("abstract") {
      if token.kind == .integer {
        ports.append(.number(UInt16(try parseInteger("a port", max: 65535))))
      } else if token.kind == .identifier {
        ports.append(.portOf(try parseSocketRef()))
      } else {
        throw unexpected("a port, or a socket whose port to allow")
      }
    }
    if ports.isEmpty { throw unexpected("ports, sockets whose ports to allow, or 'none'") }
    return ports
  }

  /// mkdir PATH ['mode' MODE] | mkfile PATH ['mode' MODE] | chmod PATH MODE
  /// | chown PATH ('root' | 'nobody' | INT) | symlink TARGET LINK | rm PATH
  mutating func parseFile(_ kw: StatementKeyword) throws(StatementError) -> FileOperation {
    let path = try parseScenarioPath(allowDot: kw == .chmod || kw == .chown)
    switch kw {
    case .mkdir, .mkfile:
      var mode: UInt16 = kw == .mkdir ? 0o755 : 0o644
      if isWord("mode") {
        consume()
        mode = try parseMode()
      }
      return kw == .mkdir ? .mkdir(path, mode: mode) : .mkfile(path, mode: mode)
    case .chmod: return .chmod(path, mode: try parseMode())
    case .chown:
      guard case .user(let who) = try parseUser() else { throw unexpected("a user") }
      return .chown(path, who)
    case .symlink:
      // The first string is what the link holds: it may name nothing (a dangling link) but, like
      // every path here, stays inside the private directory.
      return .symlink(target: path, link: try parseScenarioPath(allowDot: false))
    default: return .remove(path)
    }
  }

  /// A path inside the scenario's private directory: relative, not climbing out with '..'.
  mutating func parseScenarioPath(allowDot: Bool) throws(StatementError) -> String {
    guard token.kind == .string else { throw unexpected("a path in quotes, such as \"dir\"") }
    let r = token.range
    let path = try decodeString()
    if path.hasPrefix("/") { throw error(.absoluteFilePath(path, at: r)) }
    try checkUnixPath(path, at: r, absoluteAllowed: false)
    let last = path.split(separator: "/").last ?? "."
    if !allowDot && (last == "." || last == "..") {
      throw error(
        .invalidValue("\(quoteString(path)) names a directory by '\(last)': name an entry in it", at: r))
    }
    return path
  }

  /// An octal mode: 0755, 755, 1777 (at most 07777).
  mutating func parseMode() throws(StatementError) -> UInt16 {
    guard token.kind == .integer else { throw unexpected("a mode in octal, such as 0755") }
    let text = tokenText
    guard text.utf8.count <= 5, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }),
      let v = UInt16(text, radix: 8), v <= 0o7777
    else {
      throw error(
        .invalidValue("'\(text)' is not a mode: write up to four octal digits, such as 0755", at: token.range)
      )
    }
    consume()
    return v
  }
}
