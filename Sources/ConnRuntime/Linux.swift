import ConnSyntax

// Facts about Linux that both backends, the REPL and the trace share, written once: the numbers
// getsockopt reports for SO_TYPE and SO_DOMAIN, the level each option lives at, the backlog a
// bare `listen` passes, and how a call's time limit follows from the user's timeout and what is
// left of the scenario. (Numbers that libc defines per platform, errno values among them, stay
// in the kernel backend; these are the kernel's own and the simulation must answer the same.)

package enum Linux {
  /// SO_TYPE's value for each socket type.
  package static func typeNumber(_ t: SocketType) -> Int64 {
    switch t {
    case .stream: return 1
    case .dgram: return 2
    case .seqpacket: return 5
    case .raw: return 3
    }
  }

  /// SO_DOMAIN's value for each family.
  package static func familyNumber(_ f: AddressFamily) -> Int64 {
    switch f {
    case .unix: return 1
    case .inet: return 2
    case .inet6: return 10
    case .netlink: return 16
    case .packet: return 17
    }
  }

  package static func socketType(number n: Int64) -> SocketType? {
    SocketType.allCases.first { typeNumber($0) == n }
  }

  package static func family(number n: Int64) -> AddressFamily? {
    AddressFamily.allCases.first { familyNumber($0) == n }
  }

  /// Linux's level and name numbers of the named options (the kernel's ABI, the same on every
  /// architecture for these).
  package static func optionNumber(_ o: SocketOption) -> OptionNumber {
    func n(_ l: Int32, _ v: Int32) -> OptionNumber { OptionNumber(level: l, name: v) }
    switch o {
    case .SO_REUSEADDR: return n(1, 2)
    case .SO_TYPE: return n(1, 3)
    case .SO_ERROR: return n(1, 4)
    case .SO_BROADCAST: return n(1, 6)
    case .SO_SNDBUF: return n(1, 7)
    case .SO_RCVBUF: return n(1, 8)
    case .SO_KEEPALIVE: return n(1, 9)
    case .SO_LINGER: return n(1, 13)
    case .SO_REUSEPORT: return n(1, 15)
    case .SO_RCVTIMEO: return n(1, 20)
    case .SO_SNDTIMEO: return n(1, 21)
    case .SO_ACCEPTCONN: return n(1, 30)
    case .SO_DOMAIN: return n(1, 39)
    case .TCP_NODELAY: return n(6, 1)
    case .TCP_SYNCNT: return n(6, 7)
    case .TCP_USER_TIMEOUT: return n(6, 18)
    case .TCP_FASTOPEN_CONNECT: return n(6, 30)
    case .TCP_FASTOPEN: return n(6, 23)
    case .IPV6_V6ONLY: return n(41, 26)
    case .IPV6_ADDRFORM: return n(41, 1)
    case .IP_FREEBIND: return n(0, 15)
    case .IP_BIND_ADDRESS_NO_PORT: return n(0, 24)
    }
  }

  /// The named option with these numbers, if the language has one.
  package static func option(number: OptionNumber) -> SocketOption? {
    SocketOption.allCases.first { optionNumber($0) == number }
  }

  /// The `level` argument of setsockopt/getsockopt, as strace names it.
  package static func levelName(_ o: SocketOption) -> String {
    switch o {
    case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT, .TCP_FASTOPEN_CONNECT, .TCP_FASTOPEN:
      return "IPPROTO_TCP"
    case .IPV6_V6ONLY, .IPV6_ADDRFORM: return "IPPROTO_IPV6"
    case .IP_BIND_ADDRESS_NO_PORT, .IP_FREEBIND: return "IPPROTO_IP"
    default: return "SOL_SOCKET"
    }
  }

  /// The constant names of a family and a type, as strace prints socket(2)'s arguments.
  package static func familyName(_ f: AddressFamily) -> String {
    switch f {
    case .inet: return "AF_INET"
    case .inet6: return "AF_INET6"
    case .unix: return "AF_UNIX"
    case .packet: return "AF_PACKET"
    case .netlink: return "AF_NETLINK"
    }
  }

  /// A family number as the trace shows it: its name where it has a common one.
  package static func familyNumberName(_ f: UInt16) -> String {
    switch f {
    case 0: return "AF_UNSPEC"
    case 1: return "AF_UNIX"
    case 2: return "AF_INET"
    case 10: return "AF_INET6"
    case 16: return "AF_NETLINK"
    case 17: return "AF_PACKET"
    default: return String(f)
    }
  }

  package static func typeName(_ t: SocketType) -> String {
    switch t {
    case .stream: return "SOCK_STREAM"
    case .dgram: return "SOCK_DGRAM"
    case .seqpacket: return "SOCK_SEQPACKET"
    case .raw: return "SOCK_RAW"
    }
  }

  /// The backlog `listen` passes when the script gives none, as `listen(fd, SOMAXCONN)` callers do.
  package static let defaultListenBacklog: Int32 = 128
  /// net.core.somaxconn's default: the kernel caps every backlog at it.
  package static let maximumBacklog: Int32 = 4096
}

/// How long one blocking call may take: the user's limit on every blocking call, or what is left
/// of the scenario's own limit if that is less (but at least a millisecond, so that the call is
/// still made and times out as a call).
package func callLimit(timeout: TimeSpan, scenarioLeft: TimeSpan?) -> TimeSpan {
  guard let left = scenarioLeft, left < timeout else { return timeout }
  return TimeSpan(nanoseconds: max(left.nanoseconds, 1_000_000))
}

/// What `get` read, as `expect` speaks of it. Both backends give an option's value as a
/// number: a flag as 0 or 1, SO_SNDTIMEO and SO_RCVTIMEO in milliseconds, SO_LINGER as its
/// seconds when l_onoff is 1 and -1 when it is 0.
package enum OptionReading {
  /// How an `expect` names the value: `off` for SO_LINGER with l_onoff 0 (a -1 would not
  /// parse), else the number.
  package static func expectationText(_ option: SocketOption, _ n: Int64) -> String {
    option == .SO_LINGER && n < 0 ? "off" : "\(n)"
  }

  /// What getsockopt wrote, for a failure's "actual:" line.
  package static func description(_ option: SocketOption, _ n: Int64) -> String {
    switch option {
    case .SO_LINGER: return n < 0 ? "off (l_onoff=0)" : "on, \(n)s (l_onoff=1, l_linger=\(n))"
    case .SO_SNDTIMEO, .SO_RCVTIMEO: return n == 0 ? "0 (no time limit)" : "\(n)ms"
    default: return "\(n)"
    }
  }

  /// Whether the value is on: SO_LINGER's l_onoff, a timeout that is set, a flag that is nonzero.
  package static func isOn(_ option: SocketOption, _ n: Int64) -> Bool {
    option == .SO_LINGER ? n >= 0 : n != 0
  }

  /// The value as a duration, for options that hold one.
  package static func duration(_ option: SocketOption, _ n: Int64) -> TimeSpan? {
    switch option {
    case .SO_LINGER: return n < 0 ? nil : TimeSpan(nanoseconds: n * 1_000_000_000)
    case .SO_SNDTIMEO, .SO_RCVTIMEO: return TimeSpan(nanoseconds: n * 1_000_000)
    default: return nil
    }
  }

  /// Whether `expect` alternatives `on`, `off` or durations accept the value.
  package static func matches(_ e: Expectation, _ option: SocketOption, _ n: Int64) -> Bool {
    if e.on && isOn(option, n) { return true }
    if e.off && !isOn(option, n) { return true }
    if let d = duration(option, n), e.durations.contains(d) { return true }
    return false
  }
}

extension Outcome {
  /// How an `expect` line would name this outcome of `statement`: as `expectationText`, but an
  /// option `get` read in the words `expect` has for it (`off` for SO_LINGER off).
  package func expectationText(after statement: StatementKind?) -> String {
    if case .number(let n) = self, case .get(_, let option)? = statement {
      return OptionReading.expectationText(option, n)
    }
    return expectationText
  }

  /// What the call did, for a failure's "actual:" line: the outcome as the trace shows it, but
  /// for `get` what getsockopt returned and what it wrote ("getsockopt returned 0, SO_ERROR =
  /// ECONNREFUSED ..."), since a pending errno read through SO_ERROR is not a failed call.
  package func actualText(after statement: StatementKind?) -> String {
    guard case .get(_, let option)? = statement else { return description }
    switch self {
    case .ok: return "getsockopt returned 0, \(option.rawValue) = 0"
    // getsockopt(SO_ERROR) itself fails only on a bad descriptor (the tool's pointers are
    // valid): any other errno is the value it read.
    case .failure(let e) where option == .SO_ERROR && e != .EBADF && e != .ENOTSOCK:
      return "getsockopt returned 0, SO_ERROR = \(e.name) (\(ErrnoCatalog.summary(e)))"
    case .number(let n):
      return "getsockopt returned 0, \(option.rawValue) = \(OptionReading.description(option, n))"
    default: return description
    }
  }
}
