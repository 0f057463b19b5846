// Statement keywords, matched without hashing: every keyword has at most eight bytes, so the
// bytes read as one little-endian word are compared with each keyword's word.

enum StatementKeyword: CaseIterable {
  case sock, bind, listen, connect, accept, set, get, poll, peer, local, shutdown, close, sleep
  case expect, net, user, `repeat`
  case host, link, route, addr, firewall, sysctl
  case send, sendto, write, recv, recvfrom, read
  case socketpair, dup
  case mkdir, mkfile, chmod, chown, symlink, rm
  case drop, landlock
  case wait, signal
  /// Written out (not `String(describing:)`, which is slow at start-up); a test checks the order.
  static let names = [
    "sock", "bind", "listen", "connect", "accept", "set", "get", "poll", "peer", "local", "shutdown", "close",
    "sleep",
    "expect", "net", "user", "repeat",
    "host", "link", "route", "addr", "firewall", "sysctl",
    "send", "sendto", "write", "recv", "recvfrom", "read",
    "socketpair", "dup",
    "mkdir", "mkfile", "chmod", "chown", "symlink", "rm",
    "drop", "landlock",
    "wait", "signal",
  ]

  /// The keyword spelled by `n` bytes at `p`: the bytes, read as one little-endian word, are
  /// compared with each keyword's (every keyword but `socketpair` has at most 8 bytes), with no
  /// hashing.
  @inline(__always)
  static func match(_ p: UnsafePointer<UInt8>, _ n: Int) -> StatementKeyword? {
    if n == 10 {
      // The one longer keyword: its first eight bytes as a word, then "ir".
      return matchWord(p, 8) == word("socketpa") && p[8] == UInt8(ascii: "i") && p[9] == UInt8(ascii: "r")
        ? .socketpair : nil
    }
    if n < 2 || n > 8 { return nil }
    var w: UInt64 = 0
    for i in 0..<n { w |= UInt64(p[i]) << (8 * UInt64(i)) }
    switch w {
    case word("sock"): return .sock
    case word("bind"): return .bind
    case word("listen"): return .listen
    case word("connect"): return .connect
    case word("accept"): return .accept
    case word("set"): return .set
    case word("get"): return .get
    case word("poll"): return .poll
    case word("peer"): return .peer
    case word("local"): return .local
    case word("shutdown"): return .shutdown
    case word("close"): return .close
    case word("sleep"): return .sleep
    case word("expect"): return .expect
    case word("net"): return .net
    case word("user"): return .user
    case word("repeat"): return .repeat
    case word("host"): return .host
    case word("link"): return .link
    case word("route"): return .route
    case word("addr"): return .addr
    case word("firewall"): return .firewall
    case word("sysctl"): return .sysctl
    case word("send"): return .send
    case word("sendto"): return .sendto
    case word("write"): return .write
    case word("recv"): return .recv
    case word("recvfrom"): return .recvfrom
    case word("read"): return .read
    case word("dup"): return .dup
    case word("mkdir"): return .mkdir
    case word("mkfile"): return .mkfile
    case word("chmod"): return .chmod
    case word("chown"): return .chown
    case word("symlink"): return .symlink
    case word("drop"): return .drop
    case word("landlock"): return .landlock
    case word("wait"): return .wait
    case word("signal"): return .signal
    case word("rm"): return .rm
    default: return nil
    }
  }

  @inline(__always)
  private static func matchWord(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
    var w: UInt64 = 0
    for i in 0..<n { w |= UInt64(p[i]) << (8 * UInt64(i)) }
    return w
  }

  @inline(__always)
  private static func word(_ s: StaticString) -> UInt64 {
    var w: UInt64 = 0
    let p = s.utf8Start
    for i in 0..<s.utf8CodeUnitCount { w |= UInt64(p[i]) << (8 * UInt64(i)) }
    return w
  }
}
