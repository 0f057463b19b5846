// The operands of statements: socket references, what a `sock` creates, connect targets, call
// modifiers, option values, settings, `net` rules and identities. Values are decoded already,
// so the interpreter never looks at text again.

/// A use of a socket name. `slot` indexes `Script.socketNames`.
package struct SocketRef: Hashable, Sendable {
  package var slot: Int32
  package var range: SourceRange
  package init(slot: Int32, range: SourceRange) {
    self.slot = slot
    self.range = range
  }
}

package enum SocketSpec: Hashable, Sendable {
  /// socket(family, type [| SOCK_NONBLOCK], 0), on a host of the scenario (nil: `self`).
  case socket(SocketKind, nonblocking: Bool, on: HostRef? = nil)
  /// A bare descriptor number, open or not: for EBADF.
  case descriptor(Int32)
  /// open(path, O_RDONLY): a descriptor that is not a socket, for ENOTSOCK.
  /// (Boxed: rare, and it keeps `sock` statements small.)
  indirect case file(String)
}

package enum ConnectTarget: Hashable, Sendable {
  case address(SocketAddress)
  /// The address another socket is bound to (getsockname at run time).
  case boundAddressOf(SocketRef)
  /// An address written with another socket's port in place of the number (`127.0.0.1:l`):
  /// the port `l` is bound to, read when the statement runs.
  indirect case withPortOf(SocketAddress, SocketRef)
  /// An address pointer outside the process's address space: EFAULT.
  case badPointer
  /// A NULL address pointer (`null`).
  case nullPointer
  /// A `struct sockaddr` of this family number, zero after it (`family 17`).
  case family(UInt16)
}

/// Modifiers a blocking call accepts.
///
/// Stored packed (16 bytes instead of 32: optionals as flag bits), since every connect, accept,
/// poll and sleep statement holds one.
public struct CallOptions: Hashable, Sendable {
  @usableFromInline var interruptNanoseconds: Int64 = 0
  @usableFromInline var length: Int32 = 0
  @usableFromInline var bits: UInt8 = 0
  @usableFromInline static let nonblockBit: UInt8 = 1
  @usableFromInline static let interruptBit: UInt8 = 2
  @usableFromInline static let lengthBit: UInt8 = 4
  @usableFromInline static let backgroundBit: UInt8 = 8

  package init() {}

  /// connect: set O_NONBLOCK on the socket before the call. accept: give the accepted socket
  /// O_NONBLOCK (accept4's SOCK_NONBLOCK); the listener's own mode decides whether accept blocks.
  @inlinable public var nonblock: Bool {
    get { bits & Self.nonblockBit != 0 }
    set { bits = newValue ? bits | Self.nonblockBit : bits & ~Self.nonblockBit }
  }
  /// Deliver a signal after this long, so the call returns EINTR.
  @inlinable public var interrupt: TimeSpan? {
    get { bits & Self.interruptBit != 0 ? TimeSpan(nanoseconds: interruptNanoseconds) : nil }
    set {
      interruptNanoseconds = newValue?.nanoseconds ?? 0
      bits = newValue != nil ? bits | Self.interruptBit : bits & ~Self.interruptBit
    }
  }
  /// Run the call in the background: the scenario goes on, and `wait NAME` collects the outcome.
  @inlinable public var background: Bool {
    get { bits & Self.backgroundBit != 0 }
    set { bits = newValue ? bits | Self.backgroundBit : bits & ~Self.backgroundBit }
  }
  /// Pass this address length instead of the family's own (EINVAL on purpose).
  @inlinable public var addressLength: Int32? {
    get { bits & Self.lengthBit != 0 ? length : nil }
    set {
      length = newValue ?? 0
      bits = newValue != nil ? bits | Self.lengthBit : bits & ~Self.lengthBit
    }
  }
}

package enum OptionValue: Hashable, Sendable {
  case integer(Int64)
  case duration(TimeSpan)
  /// SO_LINGER off.
  case off

  package var description: String {
    switch self {
    case .integer(let v): return "\(v)"
    case .duration(let d): return d.description
    case .off: return "off"
    }
  }
}

package enum Setting: Hashable, Sendable {
  case nonblocking(Bool)
  /// FD_CLOEXEC through F_SETFD.
  case closeOnExec(Bool)
  case option(SocketOption, OptionValue)
  /// `set s opt LEVEL NAME VALUE`: an option by its numbers, with an int value.
  case optionNumber(OptionNumber, Int32)
}

/// A socket option by its level and name numbers (`opt IPPROTO_TCP 23`), for the options the
/// language has no name for.
package struct OptionNumber: Hashable, Sendable {
  package var level: Int32
  package var name: Int32
  package init(level: Int32, name: Int32) {
    self.level = level
    self.name = name
  }

  /// The levels a script may write by name, with Linux's numbers.
  package static let levels: [(String, Int32)] = [
    ("SOL_SOCKET", 1), ("IPPROTO_IP", 0), ("IPPROTO_TCP", 6), ("IPPROTO_UDP", 17), ("IPPROTO_IPV6", 41),
    ("IPPROTO_RAW", 255),
  ]

  package var levelName: String { Self.levels.first { $0.1 == level }?.0 ?? "\(level)" }
}

package enum RouteKind: String, CaseIterable, Sendable {
  /// Linux route type unreachable: EHOSTUNREACH.
  case unreachable
  /// Route type prohibit: EACCES.
  case prohibit
  /// Route type blackhole: EINVAL.
  case blackhole
  /// A route whose packets go nowhere and get no answer: SYNs are lost, so connects time out.
  case silent
}

package enum NetRule: Hashable, Sendable {
  case route(IPPrefix, RouteKind)
  /// A prefix whose every address is this host's (on the kernel: ip addr add PREFIX dev lo).
  case address(IPPrefix)
  /// The ephemeral port range (net.ipv4.ip_local_port_range).
  case ports(UInt16, UInt16)

  package var description: String {
    switch self {
    case .route(let p, let k): return "net route \(p.description) \(k.rawValue)"
    case .address(let p): return "net addr \(p.description)"
    case .ports(let lo, let hi): return "net ports \(lo) \(hi)"
    }
  }
}

/// One descriptor of a `poll` on several, and the events asked for it.
package struct PollTarget: Hashable, Sendable {
  package var socket: SocketRef
  package var events: PollEvents
  package init(_ socket: SocketRef, _ events: PollEvents) {
    self.socket = socket
    self.events = events
  }
}

/// A file statement: a change inside the scenario's private directory. Paths are relative to
/// it and never climb out; conn follows no symbolic link to make the change.
package enum FileOperation: Hashable, Sendable {
  /// mkdir(2) with `mode` (under umask 022).
  case mkdir(String, mode: UInt16)
  /// An empty regular file, made with O_CREAT|O_EXCL and `mode` (under umask 022).
  case mkfile(String, mode: UInt16)
  case chmod(String, mode: UInt16)
  /// The owner only (the group stays), of the entry itself (a link is not followed).
  case chown(String, UserIdentity)
  /// symlink(2): `link` is made, holding `target`.
  case symlink(target: String, link: String)
  /// unlink(2), or rmdir(2) for a directory.
  case remove(String)

  /// The path the statement changes.
  package var path: String {
    switch self {
    case .mkdir(let p, _), .mkfile(let p, _), .chmod(let p, _), .chown(let p, _), .remove(let p): return p
    case .symlink(_, let link): return link
    }
  }

  package var keyword: String {
    switch self {
    case .mkdir: return "mkdir"
    case .mkfile: return "mkfile"
    case .chmod: return "chmod"
    case .chown: return "chown"
    case .symlink: return "symlink"
    case .remove: return "rm"
    }
  }

  /// The umask conn gives the scenario's process, so that modes do not depend on the shell.
  package static let umask: UInt16 = 0o022

  /// Why a file statement was refused: conn makes its changes without following links.
  package static func throughLink(_ path: String) -> String {
    "\(quoteString(path)) leads through a symbolic link, which file statements do not follow (they change only what is in the private directory itself)"
  }
}

package enum UserIdentity: Hashable, Sendable {
  case root
  case nobody
  case uid(UInt32)

  package var uid: UInt32 {
    switch self {
    case .root: return 0
    case .nobody: return 65534
    case .uid(let u): return u
    }
  }
}

/// A port in a `landlock` rule: a number, or the port a socket is bound to when the statement
/// runs (so that no scenario needs a fixed port).
package enum PortRef: Hashable, Sendable {
  case number(UInt16)
  case portOf(SocketRef)
}

/// One Landlock layer: the ports each restricted right allows. A right that is not named is not
/// restricted (nil); a right named with no ports (`none`) is refused on every port. The syntax
/// tree holds numbers or sockets (`LandlockRules`), the program slots, the backend numbers
/// (`LandlockLayer`, in ConnRuntime).
package struct Landlock<Port: Hashable & Sendable>: Hashable, Sendable {
  /// TCP connect(2) is allowed to these ports only.
  package var connect: [Port]?
  /// TCP bind(2) is allowed to these ports only.
  package var bind: [Port]?
  /// Abstract Unix sockets made outside this layer refuse connects and datagrams (EPERM).
  package var abstract = false
  package init(connect: [Port]? = nil, bind: [Port]? = nil, abstract: Bool = false) {
    self.connect = connect
    self.bind = bind
    self.abstract = abstract
  }

  /// The same layer with each port turned into another form (a slot, a number).
  package func mapPorts<T, E: Error>(_ f: (Port) throws(E) -> T) throws(E) -> Landlock<T> {
    func each(_ list: [Port]?) throws(E) -> [T]? {
      guard let list else { return nil }
      var out: [T] = []
      out.reserveCapacity(list.count)
      for p in list { out.append(try f(p)) }
      return out
    }
    return Landlock<T>(connect: try each(connect), bind: try each(bind), abstract: abstract)
  }
}

/// `landlock ...` as written.
package typealias LandlockRules = Landlock<PortRef>

extension Landlock where Port == PortRef {
  /// The sockets whose ports the rules name.
  package var sockets: [SocketRef] {
    ((connect ?? []) + (bind ?? [])).compactMap {
      if case .portOf(let r) = $0 { return r } else { return nil }
    }
  }
}
