import ConnRuntime
import ConnSyntax


// The state of one simulated socket, named after the Linux fields it stands for: `state` is
// sk_state (TCP_CLOSE, LISTEN, SYN_SENT, ESTABLISHED), `sockState` is sock->state (SS_*), and
// `error` is sk_err, the errno SO_ERROR reports and clears.

final class SimSocket {
  enum State { case closed, listening, synSent, established }
  enum SocketState { case unconnected, connecting, connected }

  let kind: SocketKind
  var nonblocking: Bool

  var state: State = .closed
  var sockState: SocketState = .unconnected
  var error: Errno?
  var shutRead = false
  var shutWrite = false

  /// The bound address (nil: unbound). Ports in it are real ports.
  var local: SocketAddress?
  /// Bound by the user (bind), as opposed to automatically by connect or listen.
  var userBound = false
  var peer: SocketAddress?
  /// The socket at the other end (TCP over loopback, Unix stream/seqpacket, Unix dgram target).
  weak var remote: SimSocket?
  /// Set when the other end closed.
  var remoteClosed = false

  // Listening.
  var backlog = 0
  var acceptQueue: [SimSocket] = []
  var queueFull: Bool { acceptQueue.count > backlog }

  // Options.
  var reuseAddr = false
  var reusePort = false
  var broadcast = false
  var keepalive = false
  var noDelay = false
  var v6only = false
  var freebind = false
  var bindAddressNoPort = false
  var synCount = 6
  var userTimeout: Int64 = 0
  var sendTimeout = TimeSpan.zero
  var receiveTimeout = TimeSpan.zero
  var linger: Int64?
  var sendBuffer: Int64?
  var receiveBuffer: Int64?

  /// Unix path or abstract name this socket is bound to, in the simulator's namespace.
  var unixKey: String?

  init(kind: SocketKind, nonblocking: Bool) {
    self.kind = kind
    self.nonblocking = nonblocking
  }

  var isTCP: Bool { kind.type == .stream && kind.family != .unix }
  var isUDP: Bool { kind.type == .dgram && kind.family != .unix }
  var isUnix: Bool { kind.family == .unix }

  var localPort: UInt16 { local?.port ?? 0 }
}

/// A pending TCP connection attempt: the SYN and its retransmissions.
struct SynAttempt {
  let socket: SimSocket
  let target: SocketAddress
  let start: Int64
  /// Which transmission comes next (0 is the first SYN).
  var transmission: Int
  var time: Int64
  let sequence: Int
}

/// What a path in the simulated file system is.
enum FileEntry {
  case directory(mode: UInt16, owner: UInt32)
  case file
  /// A socket file; `socket` is nil once its socket closed (the file stays, as on Linux).
  case socket(SimSocket?, type: SocketType, owner: UInt32)
}
