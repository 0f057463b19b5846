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
    }
  }

  /// SO_DOMAIN's value for each family.
  package static func familyNumber(_ f: AddressFamily) -> Int64 {
    switch f {
    case .unix: return 1
    case .inet: return 2
    case .inet6: return 10
    }
  }

  package static func socketType(number n: Int64) -> SocketType? {
    SocketType.allCases.first { typeNumber($0) == n }
  }

  package static func family(number n: Int64) -> AddressFamily? {
    AddressFamily.allCases.first { familyNumber($0) == n }
  }

  /// The `level` argument of setsockopt/getsockopt, as strace names it.
  package static func levelName(_ o: SocketOption) -> String {
    switch o {
    case .TCP_SYNCNT, .TCP_NODELAY, .TCP_USER_TIMEOUT: return "IPPROTO_TCP"
    case .IPV6_V6ONLY: return "IPPROTO_IPV6"
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
    }
  }

  package static func typeName(_ t: SocketType) -> String {
    switch t {
    case .stream: return "SOCK_STREAM"
    case .dgram: return "SOCK_DGRAM"
    case .seqpacket: return "SOCK_SEQPACKET"
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
