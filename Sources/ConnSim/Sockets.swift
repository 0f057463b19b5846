import ConnRuntime
import ConnSyntax

// The simulated sockets live in one table per family (TCP, UDP, Unix), each slot a plain struct
// that a reader can see whole in its family's file. A socket is named by a `Handle`: its slot and
// the slot's generation, so that a handle kept by another socket (a peer, a datagram target, an
// accept queue) goes stale when the socket is freed and its slot reused, as a weak reference
// would.

/// A slot in a family's table and the generation it was handed out in.
struct Handle: Hashable {
  var index: Int32
  var generation: UInt32
}

/// A socket of any family.
enum SocketRef: Hashable {
  case tcp(Handle)
  case udp(Handle)
  case unix(Handle)
  /// Raw IP, packet, netlink.
  case other(Handle)
}

/// Options and state every family shares: what setsockopt stores, O_NONBLOCK, the bound address.
struct CommonState {
  let kind: SocketKind
  /// The host the socket lives on (0: the scenario's own).
  var host: Int32 = 0
  /// connect(2) is refused with this errno (a connect hook of the host when the socket was made).
  var connectDenied: Errno?
  var nonblocking: Bool
  /// The bound address (nil: unbound). Ports in it are real ports.
  var local: SocketAddress?
  /// Bound by the user (bind), as opposed to automatically by connect or listen.
  var userBound = false
  /// What bind(2) locked (SOCK_BINDADDR_LOCK, SOCK_BINDPORT_LOCK): a specific address, a
  /// specific port. A datagram disconnect keeps only what is locked.
  var addressLocked = false
  var portLocked = false
  var shutRead = false
  var shutWrite = false
  /// sk_err: the errno SO_ERROR reports and clears.
  var error: Errno?
  var options = SocketOptions()
  /// Descriptors that refer to the socket: it is released when the last one closes.
  var descriptors = 0

  init(kind: SocketKind, nonblocking: Bool) {
    self.kind = kind
    self.nonblocking = nonblocking
  }

  @inline(__always) var localPort: UInt16 { local?.port ?? 0 }

  /// The connection ended with an error (a reset, a timeout): sk_err set, closed both ways.
  mutating func ended(by e: Errno) {
    error = e
    shutRead = true
    shutWrite = true
  }
}

/// What setsockopt stores, with Linux's defaults.
struct SocketOptions {
  var reuseAddr = false
  var reusePort = false
  var broadcast = false
  var keepalive = false
  var noDelay = false
  /// TCP_FASTOPEN_CONNECT: without a cookie (net.ipv4.tcp_fastopen = 1, nothing cached) the
  /// connect is an ordinary one; the flag is only read back.
  var fastOpenConnect = false
  var v6only = false
  var freebind = false
  var bindAddressNoPort = false
  /// TCP_FASTOPEN: a listener's queue of Fast Open requests (0: it grants no cookies), at most
  /// 4096. Kept in 16 bits beside the flags, so that every socket's options stay the same size.
  var fastOpenQueue: UInt16 = 0
  /// TCP_SYNCNT (nil: the host's net.ipv4.tcp_syn_retries).
  var synCount: Int?
  var userTimeout: Int64 = 0
  var sendTimeout = TimeSpan.zero
  var receiveTimeout = TimeSpan.zero
  /// SO_LINGER's seconds when on.
  var linger: Int64?
  var sendBuffer: Int64?
  var receiveBuffer: Int64?
}

/// A family's sockets: slots reused through a free list, each with a generation. A slot keeps
/// its last socket after removal (it is overwritten when the slot is reused), so reading and
/// changing a live socket never copies it.
struct SocketTable<Socket> {
  private(set) var slots: [Socket] = []
  private var generations: [UInt32] = []
  private var live: [Bool] = []
  private var free: [Int32] = []
  private(set) var count = 0

  /// Whether the socket behind a handle still exists.
  @inline(__always)
  func contains(_ h: Handle) -> Bool {
    let i = Int(h.index)
    return i < slots.count && live[i] && generations[i] == h.generation
  }

  subscript(h: Handle) -> Socket {
    @inline(__always) _read { yield slots[Int(h.index)] }
    @inline(__always) _modify { yield &slots[Int(h.index)] }
  }

  mutating func add(_ s: consuming Socket) -> Handle {
    count += 1
    if let i = free.popLast() {
      slots[Int(i)] = s
      live[Int(i)] = true
      return Handle(index: i, generation: generations[Int(i)])
    }
    slots.append(s)
    generations.append(0)
    live.append(true)
    return Handle(index: Int32(slots.count - 1), generation: 0)
  }

  mutating func remove(_ h: Handle) {
    guard contains(h) else { return }
    count -= 1
    live[Int(h.index)] = false
    generations[Int(h.index)] &+= 1
    free.append(h.index)
  }

  mutating func removeAll() {
    slots.removeAll(keepingCapacity: true)
    generations.removeAll(keepingCapacity: true)
    live.removeAll(keepingCapacity: true)
    free.removeAll(keepingCapacity: true)
    count = 0
  }
}
