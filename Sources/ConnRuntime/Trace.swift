import ConnSyntax

// The `-v` trace. A backend describes each call it makes as a structured record; one renderer
// turns records into strace-like lines, so that every backend's trace reads the same and `both`
// can put them side by side:
//
//   socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, 0) = 4
//   connect(4, {inet 127.0.0.1:32997}, 16) = -1 EINPROGRESS (Operation now in progress)
//   getsockopt(4, SOL_SOCKET, SO_ERROR, [ECONNREFUSED]) = 0
//
// Addresses are shown as the scenario writes them (a relative Unix path without the private
// directory in front, an abstract name without its private prefix).

/// One call, with the arguments that matter to a reader.
package enum TracedCall: Sendable {
  case socket(SocketKind, nonblocking: Bool)
  case open(path: String)
  case bind(Descriptor, SocketAddress, length: Int)
  case listen(Descriptor, backlog: Int32)
  case connect(Descriptor, ResolvedTarget, length: Int)
  /// `peer`: the address accept4 wrote, when it succeeded.
  case accept(Descriptor, peer: SocketAddress?, nonblocking: Bool)
  /// `pair`: the two descriptors, when it succeeded.
  case socketPair(SocketKind, nonblocking: Bool, pair: (Descriptor, Descriptor)?)
  /// fcntl(F_DUPFD_CLOEXEC), or dup3(2) onto `target`.
  case dup(Descriptor, target: Descriptor?)
  case setNonblocking(Descriptor, Bool)
  case setCloseOnExec(Descriptor, Bool)
  /// F_GETFL or F_GETFD, and the one flag read from the answer.
  case getFlag(Descriptor, DescriptorFlag)
  case setOption(Descriptor, SocketOption, OptionValue)
  /// `callFailed`: getsockopt itself failed (EBADF...), as opposed to reading a pending errno.
  case getOption(Descriptor, SocketOption, callFailed: Bool)
  case setOptionNumber(Descriptor, OptionNumber, Int32)
  case getOptionNumber(Descriptor, OptionNumber)
  case poll(Descriptor, PollEvents, timeout: TimeSpan)
  case pollSet([PolledDescriptor], timeout: TimeSpan)
  case peerName(Descriptor)
  case localName(Descriptor)
  case shutdown(Descriptor, ShutdownHow)
  case close(Descriptor)
  case sleep(TimeSpan)
  case setUser(UInt32)
  /// setgroups, setresgid, setresuid and capset of the calling thread, to one user.
  case dropPrivileges(UInt32)
  /// landlock_create_ruleset, landlock_add_rule for each port, landlock_restrict_self.
  case landlock(LandlockLayer)
  case file(FileOperation)
  /// A socket file the scenario bound, removed at its end.
  case unlink(path: String)
  case send(Descriptor, DataCall, [UInt8], to: SocketAddress?, MessageFlags)
  case receive(Descriptor, DataCall, max: Int, MessageFlags)
}

/// A call and what it returned. `note` is printed after the line: `[cleanup]` for what the end
/// of a scenario closes or removes.
package struct TraceRecord: Sendable {
  package var call: TracedCall
  package var result: Outcome
  package var note: String?

  package init(_ call: TracedCall, _ result: Outcome, note: String? = nil) {
    self.call = call
    self.result = result
    self.note = note
  }

  /// The strace-like line.
  package var description: String {
    var line = callText + " = " + resultText
    if let note { line += "  [\(note)]" }
    return line
  }

  private var callText: String {
    switch call {
    case .socket(let kind, let nb):
      return
        "socket(\(Linux.familyName(kind.family)), \(Linux.typeName(kind.type))\(nb ? "|SOCK_NONBLOCK" : ""), \(kind.proto))"
    case .open(let path): return "open(\(quoteString(path)), O_RDONLY)"
    case .bind(let fd, let a, let len): return "bind(\(fd), \(Self.show(a)), \(len))"
    case .listen(let fd, let backlog): return "listen(\(fd), \(backlog))"
    case .connect(let fd, let a, let len):
      let shown: String
      switch a {
      case .address(let a): shown = Self.show(a)
      case .badPointer: shown = "badptr"
      case .nullPointer: shown = "NULL"
      case .family(let f): shown = "{sa_family=\(Linux.familyNumberName(f))}"
      }
      return "connect(\(fd), \(shown), \(len))"
    case .accept(let fd, let peer, let nb):
      return "accept4(\(fd), \(peer.map(Self.show) ?? "..."), \(nb ? "SOCK_NONBLOCK|" : "")SOCK_CLOEXEC)"
    case .socketPair(let kind, let nb, let pair):
      let fds = pair.map { "[\($0.0), \($0.1)]" } ?? "..."
      return
        "socketpair(\(Linux.familyName(kind.family)), \(Linux.typeName(kind.type))\(nb ? "|SOCK_NONBLOCK" : ""), \(kind.proto), \(fds))"
    case .dup(let fd, let target):
      return target.map { "dup3(\(fd), \($0), O_CLOEXEC)" } ?? "fcntl(\(fd), F_DUPFD_CLOEXEC, 0)"
    case .setCloseOnExec(let fd, let on): return "fcntl(\(fd), F_SETFD, \(on ? "FD_CLOEXEC" : "0"))"
    case .getFlag(let fd, let flag):
      return "fcntl(\(fd), \(flag == .O_NONBLOCK ? "F_GETFL" : "F_GETFD")) & \(flag.rawValue)"
    case .setNonblocking(let fd, let on): return "fcntl(\(fd), F_SETFL, \(on ? "O_NONBLOCK" : "0"))"
    case .setOption(let fd, let o, let v):
      return "setsockopt(\(fd), \(Linux.levelName(o)), \(o.rawValue), \(Self.show(v, o)))"
    case .getOption(let fd, let o, let failed):
      let head = "getsockopt(\(fd), \(Linux.levelName(o)), \(o.rawValue)"
      if failed { return head + ")" }
      switch result {
      case .ok: return head + ", [0])"
      case .number(let n): return head + ", [\(n)])"
      case .failure(let e): return head + ", [\(e.name)])"
      default: return head + ")"
      }
    case .poll(let fd, let events, let timeout):
      return "ppoll([{fd=\(fd), events=\(events.description)}], 1, \(timeout.description))"
    case .pollSet(let set, let timeout):
      let fds = set.map { "{fd=\($0.fd), events=\($0.events.description)}" }.joined(separator: ", ")
      return "ppoll([\(fds)], \(set.count), \(timeout.description))"
    case .setOptionNumber(let fd, let n, let v): return "setsockopt(\(fd), \(n.levelName), \(n.name), [\(v)])"
    case .getOptionNumber(let fd, let n):
      if case .number(let v) = result { return "getsockopt(\(fd), \(n.levelName), \(n.name), [\(v)])" }
      return "getsockopt(\(fd), \(n.levelName), \(n.name))"
    case .peerName(let fd): return "getpeername(\(fd))"
    case .localName(let fd): return "getsockname(\(fd))"
    case .shutdown(let fd, let how):
      return "shutdown(\(fd), \(how == .read ? "SHUT_RD" : how == .write ? "SHUT_WR" : "SHUT_RDWR"))"
    case .close(let fd): return "close(\(fd))"
    case .sleep(let d): return "nanosleep(\(d.description))"
    case .setUser(let uid): return "setfsuid(\(uid))"
    case .dropPrivileges(let uid): return "setresuid(\(uid), \(uid), \(uid))"
    case .landlock(let layer): return "landlock_restrict_self(\(layer.description))"
    case .file(let op): return Self.show(op)
    case .unlink(let path): return "unlink(\(quoteString(path)))"
    case .send(let fd, let c, let data, let to, let flags):
      let shown = quoteBytes(Array(data.prefix(64))) + (data.count > 64 ? "..." : "")
      switch c {
      case .write: return "write(\(fd), \(shown), \(data.count))"
      case .sendto:
        return "sendto(\(fd), \(shown), \(data.count), \(flags.description), \(to.map(Self.show) ?? "NULL"))"
      default: return "send(\(fd), \(shown), \(data.count), \(flags.description))"
      }
    case .receive(let fd, let c, let max, let flags):
      switch c {
      case .read: return "read(\(fd), ..., \(max))"
      case .recvfrom: return "recvfrom(\(fd), ..., \(max), \(flags.description))"
      default: return "recv(\(fd), ..., \(max), \(flags.description))"
      }
    }
  }

  /// What the call returned, as strace shows it: `0`, `3`, `-1 ENAME (text)`; getsockopt's value
  /// is shown among the arguments instead.
  private var resultText: String {
    if case .getOption(_, _, let failed) = call, !failed { return "0" }
    if case .getOptionNumber = call, case .number = result { return "0" }
    return result.description
  }

  /// The libc call a file statement makes, with its path as the scenario writes it.
  static func show(_ op: FileOperation) -> String {
    func mode(_ m: UInt16) -> String {
      let digits = String(m, radix: 8)
      return "0" + String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }
    switch op {
    case .mkdir(let p, let m): return "mkdir(\(quoteString(p)), \(mode(m)))"
    case .mkfile(let p, let m): return "open(\(quoteString(p)), O_CREAT|O_EXCL|O_WRONLY, \(mode(m)))"
    case .chmod(let p, let m): return "chmod(\(quoteString(p)), \(mode(m)))"
    case .chown(let p, let u): return "lchown(\(quoteString(p)), \(u.uid), -1)"
    case .symlink(let t, let l): return "symlink(\(quoteString(t)), \(quoteString(l)))"
    case .remove(let p): return "remove(\(quoteString(p)))"
    }
  }

  package static func show(_ a: SocketAddress) -> String {
    switch a {
    case .inet: return "{inet \(a.description)}"
    case .inet6: return "{inet6 \(a.description)}"
    case .unix, .abstract: return "{unix \(a.description)}"
    case .unspec: return "{unspec}"
    case .netlink(let pid, let groups): return "{netlink pid=\(pid) groups=\(groups)}"
    case .packet(let proto, let ifindex): return "{packet proto=\(proto) ifindex=\(ifindex)}"
    }
  }

  static func show(_ v: OptionValue, _ o: SocketOption) -> String {
    switch (o, v) {
    case (.SO_LINGER, .off): return "{l_onoff=0, l_linger=0}"
    case (.SO_LINGER, .duration(let d)): return "{l_onoff=1, l_linger=\(d.nanoseconds / 1_000_000_000)}"
    case (.SO_LINGER, .integer(let n)): return "{l_onoff=1, l_linger=\(n)}"
    case (_, .duration(let d)):
      return "{tv_sec=\(d.nanoseconds / 1_000_000_000), tv_usec=\(d.nanoseconds % 1_000_000_000 / 1000)}"
    case (_, .integer(let n)): return "[\(n)]"
    case (_, .off): return "[0]"
    }
  }
}
