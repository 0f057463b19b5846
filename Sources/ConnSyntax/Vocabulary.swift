// The words of the language that are not statements: errno names, socket options, poll events,
// socket kinds. They are part of the language (a script names them), so they live here; what an
// errno *means* lives in ConnRuntime's catalog and its number in the backend that produces it.

/// An errno by name. Numbers differ between platforms; the kernel backend maps them.
///
/// `public`, like the few other value types the interpreter and the backends touch on every
/// statement: the optimizer inlines across modules only public declarations (see
/// docs/ARCHITECTURE.md, "Access").
public enum Errno: UInt8, CaseIterable, Sendable, Hashable, Error {
  case EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM
  case EACCES, EFAULT, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE, EMFILE
  case ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE, EDEADLK
  case ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ENOSTR, ENODATA, ETIME
  case ENOSR, EREMOTE, ENOLINK, EPROTO, EBADMSG, EOVERFLOW, EILSEQ, EUSERS
  case ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT, EPROTONOSUPPORT
  case ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE, EADDRNOTAVAIL
  case ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS, EISCONN, ENOTCONN
  case ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EALREADY
  case EINPROGRESS, ESTALE, EDQUOT, ECANCELED, EOWNERDEAD, ENOTRECOVERABLE

  /// Other spellings accepted in scripts, mapped to the name Linux reports.
  package static let aliases: [(String, Errno)] = [
    ("EWOULDBLOCK", .EAGAIN), ("ENOTSUP", .EOPNOTSUPP), ("EDEADLOCK", .EDEADLK),
  ]

  /// The name as scripts and `strerrorname_np` spell it.
  package var name: String { Errno.names[Int(rawValue)] }
  /// Written out, in case order (a test checks it): `String(describing:)` on every case cost a
  /// whole millisecond of a one-statement run's start-up.
  static let names: [String] = [
    "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG", "ENOEXEC", "EBADF", "ECHILD",
    "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "EBUSY", "EEXIST", "EXDEV", "ENODEV", "ENOTDIR", "EISDIR",
    "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE", "EROFS", "EMLINK",
    "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY", "ELOOP",
    "ENOMSG", "EIDRM", "ENOSTR", "ENODATA", "ETIME", "ENOSR", "EREMOTE", "ENOLINK", "EPROTO",
    "EBADMSG", "EOVERFLOW", "EILSEQ", "EUSERS", "ENOTSOCK", "EDESTADDRREQ", "EMSGSIZE", "EPROTOTYPE",
    "ENOPROTOOPT", "EPROTONOSUPPORT", "ESOCKTNOSUPPORT", "EOPNOTSUPP", "EPFNOSUPPORT", "EAFNOSUPPORT",
    "EADDRINUSE", "EADDRNOTAVAIL", "ENETDOWN", "ENETUNREACH", "ENETRESET", "ECONNABORTED",
    "ECONNRESET", "ENOBUFS", "EISCONN", "ENOTCONN", "ESHUTDOWN", "ETOOMANYREFS", "ETIMEDOUT",
    "ECONNREFUSED", "EHOSTDOWN", "EHOSTUNREACH", "EALREADY", "EINPROGRESS", "ESTALE", "EDQUOT",
    "ECANCELED", "EOWNERDEAD", "ENOTRECOVERABLE",
  ]

  package static let byName: ByteTable<Errno> = ByteTable(allCases.map { ($0.name, $0) } + aliases)

  package init?(name: String) {
    guard let e = Errno.byName.lookup(name) else { return nil }
    self = e
  }
}

/// A set of errnos as a 128-bit mask: `expect EINPROGRESS or EALREADY` without allocation.
public struct ErrnoSet: Hashable, Sendable {
  @usableFromInline package var low: UInt64 = 0
  @usableFromInline package var high: UInt64 = 0
  package init() {}
  package var isEmpty: Bool { low == 0 && high == 0 }

  package mutating func insert(_ e: Errno) -> Bool {
    let i = Int(e.rawValue)
    if i < 64 {
      let had = low & (1 << UInt64(i)) != 0
      low |= 1 << UInt64(i)
      return !had
    }
    let had = high & (1 << UInt64(i - 64)) != 0
    high |= 1 << UInt64(i - 64)
    return !had
  }
  @inlinable public func contains(_ e: Errno) -> Bool { contains(rawErrno: e.rawValue) }

  /// Membership by the errno's raw value (the interpreter keeps outcomes as plain numbers).
  @inlinable public func contains(rawErrno i8: UInt8) -> Bool {
    let i = Int(i8)
    return i < 64 ? low & (1 << UInt64(i)) != 0 : high & (1 << UInt64(i - 64)) != 0
  }

  package var members: [Errno] { Errno.allCases.filter { contains($0) } }
}

/// The socket options a script can `set` or `get`, with the kind of value each takes.
package enum SocketOption: String, CaseIterable, Sendable {
  case SO_ERROR, SO_TYPE, SO_DOMAIN, SO_ACCEPTCONN
  case SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_LINGER
  case SO_SNDTIMEO, SO_RCVTIMEO, SO_SNDBUF, SO_RCVBUF
  case TCP_SYNCNT, TCP_NODELAY, TCP_USER_TIMEOUT, TCP_FASTOPEN_CONNECT, TCP_FASTOPEN
  case IPV6_V6ONLY, IPV6_ADDRFORM, IP_BIND_ADDRESS_NO_PORT, IP_FREEBIND

  package enum ValueKind: Sendable { case integer, boolean, duration }

  package var valueKind: ValueKind {
    switch self {
    case .SO_SNDTIMEO, .SO_RCVTIMEO, .SO_LINGER: return .duration
    case .SO_BROADCAST, .SO_REUSEADDR, .SO_REUSEPORT, .SO_KEEPALIVE, .TCP_NODELAY, .TCP_FASTOPEN_CONNECT,
      .IPV6_V6ONLY,
      .IP_BIND_ADDRESS_NO_PORT, .IP_FREEBIND, .SO_ACCEPTCONN:
      return .boolean
    default: return .integer
    }
  }

  /// Options that the kernel only reports.
  package var isReadOnly: Bool {
    switch self {
    case .SO_ERROR, .SO_TYPE, .SO_DOMAIN, .SO_ACCEPTCONN: return true
    default: return false
    }
  }

  package static let byName = ByteTable(allCases.map { ($0.rawValue, $0) })
}

/// The descriptor flags `get` and `set` reach through fcntl(2): O_NONBLOCK, a file status flag
/// (F_GETFL/F_SETFL, shared by every descriptor of the open file), and FD_CLOEXEC, a flag of the
/// descriptor itself (F_GETFD/F_SETFD).
package enum DescriptorFlag: String, CaseIterable, Sendable {
  case O_NONBLOCK, FD_CLOEXEC
  package static let byName = ByteTable(allCases.map { ($0.rawValue, $0) })
}

/// poll(2) events, named as scripts write them.
package struct PollEvents: OptionSet, Hashable, Sendable {
  package let rawValue: UInt8
  package init(rawValue: UInt8) { self.rawValue = rawValue }
  package static let readable = PollEvents(rawValue: 1)
  package static let writable = PollEvents(rawValue: 2)
  package static let error = PollEvents(rawValue: 4)
  package static let hangup = PollEvents(rawValue: 8)
  package static let readHangup = PollEvents(rawValue: 16)
  package static let priority = PollEvents(rawValue: 32)
  /// POLLNVAL: the descriptor is not open.
  package static let invalid = PollEvents(rawValue: 64)

  package static let names: [(String, PollEvents)] = [
    ("readable", .readable), ("writable", .writable), ("error", .error), ("hup", .hangup),
    ("rdhup", .readHangup), ("pri", .priority), ("nval", .invalid),
  ]
  package static let byName = ByteTable(names)

  package var description: String {
    let parts = PollEvents.names.filter { contains($0.1) }.map(\.0)
    return parts.isEmpty ? "none" : parts.joined(separator: " ")
  }
}

public enum SocketType: String, CaseIterable, Sendable, BitwiseCopyable { case stream, dgram, seqpacket, raw }
public enum AddressFamily: String, CaseIterable, Sendable, BitwiseCopyable {
  case inet, inet6, unix, packet, netlink
}

public struct SocketKind: Hashable, Sendable, BitwiseCopyable {
  public var type: SocketType
  public var family: AddressFamily
  /// socket(2)'s third argument, kept in 16 bits (the language takes 0 to 65535): a kind stays
  /// four bytes, and every `sock` statement that holds one stays small.
  @usableFromInline var protoBits: UInt16
  /// socket(2)'s third argument (`proto N`; 0: the family's default for the type).
  @inlinable public var proto: Int32 {
    get { Int32(protoBits) }
    set { protoBits = UInt16(truncatingIfNeeded: newValue) }
  }
  @inlinable public init(_ type: SocketType, _ family: AddressFamily, proto: Int32 = 0) {
    self.type = type
    self.family = family
    self.protoBits = UInt16(truncatingIfNeeded: proto)
  }
}

package enum ShutdownHow: String, CaseIterable, Sendable { case read, write, both }
