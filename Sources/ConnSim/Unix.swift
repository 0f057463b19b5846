import ConnRuntime
import ConnSyntax

// Unix sockets (net/unix/af_unix.c): a path names a socket file in the simulated file system, an
// abstract name lives in a table of its own. A stream or seqpacket connect is answered at once by
// the listener's queue (or waits while it is full); a datagram connect only records its target.

struct UnixSocket {
  enum State { case closed, listening, established }

  var common: CommonState
  var state: State = .closed
  var connected = false
  var peer: SocketAddress?
  /// The other end: the connection's peer, or a datagram socket's target.
  var remote: Handle?
  var remoteClosed = false
  var backlog = 0
  var acceptQueue: [Handle] = []
  /// The socket file's absolute path, or `@name` for an abstract name.
  var key: String?
  /// Bytes (stream) and messages (datagram, seqpacket) received and not read yet.
  var received: [UInt8] = []
  var datagrams: [Datagram] = []
  /// How many Landlock layers there were when the socket was made (its domain).
  var landlockDepth: UInt8 = 0

  init(kind: SocketKind, nonblocking: Bool, host: Int32 = 0) {
    common = CommonState(kind: kind, nonblocking: nonblocking)
    common.host = host
  }

  /// unix_recvq_full: more than backlog connections waiting.
  var queueFull: Bool { acceptQueue.count > backlog }
  var isDatagram: Bool { common.kind.type == .dgram }
}

extension SimBackend {
  func unixBind(_ h: Handle, _ address: SocketAddress) -> Outcome {
    // unix_bind_bsd makes the file first (EADDRINUSE when it exists), then finds the socket
    // bound already (EINVAL); unix_bind_abstract looks at the socket first.
    let bound = unix[h].common.local != nil
    switch address {
    case .unix(let path) where path.isEmpty:
      // An unnamed address is the private directory itself, which exists.
      return .failure(.EADDRINUSE)
    case .unix(let path):
      // unix_bind_bsd: the name is made like any file (EEXIST, said EADDRINUSE, before the
      // parent's write permission), with the socket inode's mode 0777 under the umask.
      let full: String
      switch files.creationPath(files.absolute(path), uid: fsUID) {
      case .failure(let e): return .failure(e)
      case .success(let p): full = p
      }
      if files[full] != nil { return .failure(.EADDRINUSE) }
      guard let dir = files[files.parent(of: full)], files.canWrite(dir, uid: fsUID) else {
        return .failure(.EACCES)
      }
      if bound { return .failure(.EINVAL) }
      files[full] = FileEntry(
        kind: .socket(h, type: unix[h].common.kind.type), mode: 0o777 & ~FileOperation.umask, owner: fsUID)
      unix[h].key = full
      unix[h].common.local = .unix(path)
    case .abstract(let name):
      if bound { return .failure(.EINVAL) }
      // Abstract names belong to a network namespace: one table per host.
      let key = abstractKey(name, unix[h].common.host, unix[h].common.kind.type)
      if abstractNames[key] != nil { return .failure(.EADDRINUSE) }
      abstractNames[key] = h
      unix[h].key = "@" + key
      unix[h].common.local = .abstract(name)
    default:
      return .failure(.EINVAL)
    }
    unix[h].common.userBound = true
    return .ok
  }

  func unixListen(_ h: Handle, backlog: Int) -> Outcome {
    let s = unix[h]
    if s.common.local == nil || s.state == .established || s.connected { return .failure(.EINVAL) }
    unix[h].state = .listening
    unix[h].backlog = backlog
    return .ok
  }

  /// unix_stream_connect and unix_dgram_connect.
  func unixConnect(_ h: Handle, _ address: SocketAddress, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  {
    if case .unspec = address {
      if !unix[h].isDatagram { return .failure(.EINVAL) }
      unix[h].remote = nil
      unix[h].peer = nil
      return .ok
    }
    let other: Handle
    switch findUnix(address, type: unix[h].common.kind.type, from: unix[h].common.host) {
    case .failure(let e): return .failure(e)
    case .success(let o): other = o
    }
    if unix[h].isDatagram {
      // unix_may_send: a peer connected to someone else does not take us.
      if let theirs = unix[other].remote, unix.contains(theirs), theirs != h { return .failure(.EPERM) }
      // security_unix_may_send: the scope, unless `other` is the peer already.
      if unix[h].remote != other && abstractScoped(other, address) { return .failure(.EPERM) }
      unix[h].remote = other
      unix[h].peer = unix[other].common.local
      return .ok
    }
    if unix[other].state != .listening || unix[other].common.shutRead { return .failure(.ECONNREFUSED) }
    if unix[other].queueFull {
      if unix[h].common.nonblocking { return .failure(.EAGAIN) }
      let t = unix[h].common.options.sendTimeout
      switch try wait(
        until: { !unix.contains(other) || !unix[other].queueFull }, timeout: t.nanoseconds > 0 ? t : nil,
        interrupt: options.interrupt, limit: limit)
      {
      case .ready: break
      case .timeout: return .failure(.EAGAIN)
      case .interrupted: return .failure(.EINTR)
      }
      if !unix.contains(other) || unix[other].state != .listening { return .failure(.ECONNREFUSED) }
    }
    switch unix[h].state {
    case .closed where !unix[h].connected: break
    case .established: return .failure(.EISCONN)
    default: return .failure(unix[h].connected ? .EISCONN : .EINVAL)
    }
    // security_unix_stream_connect, after the states: the abstract-socket scope.
    if abstractScoped(other, address) { return .failure(.EPERM) }
    var child = UnixSocket(kind: unix[other].common.kind, nonblocking: false, host: unix[other].common.host)
    child.state = .established
    child.connected = true
    child.common.local = unix[other].common.local
    child.peer = unix[h].common.local ?? .unix("")
    child.remote = h
    let c = unix.add(child)
    unix[h].remote = c
    unix[h].state = .established
    unix[h].connected = true
    unix[h].peer = unix[other].common.local
    unix[other].acceptQueue.append(c)
    return .ok
  }

  /// The bound socket of a type behind a path or abstract name (for sendto).
  func findUnixSocket(_ address: SocketAddress, type: SocketType, from host: Int32) -> Result<Handle, Errno> {
    findUnix(address, type: type, from: host)
  }

  /// The abstract-name table's key: the name within a host, for one socket type (the kernel
  /// hashes the type with the name: a stream and a datagram socket can share a name).
  func abstractKey(_ name: String, _ host: Int32, _ type: SocketType) -> String { "\(host)/\(type)/\(name)" }

  /// unix_find_other: the bound socket behind a path or abstract name.
  private func findUnix(_ address: SocketAddress, type: SocketType, from host: Int32) -> Result<Handle, Errno>
  {
    switch address {
    case .abstract(let name):
      // Abstract names are found by name and type together: anything else is "nobody there".
      guard let o = abstractNames[abstractKey(name, host, type)], unix.contains(o),
        unix[o].common.kind.type == type
      else {
        return .failure(.ECONNREFUSED)
      }
      return .success(o)
    case .unix(let path):
      switch files.lookup(files.absolute(path), uid: fsUID) {
      case .failure(let e): return .failure(e)
      case .success((_, let entry)):
        // unix_find_bsd: write permission on whatever is there (a socket file is 0755 under
        // umask 022), then it must be a socket that is still open.
        if !files.canWrite(entry, uid: fsUID) { return .failure(.EACCES) }
        guard case .socket(let o?, let t) = entry.kind, unix.contains(o) else {
          return .failure(.ECONNREFUSED)
        }
        if t != type { return .failure(.EPROTOTYPE) }
        return .success(o)
      }
    default:
      return .failure(.EINVAL)
    }
  }

  func unixShutdown(_ h: Handle, read rd: Bool, write wr: Bool) -> Outcome {
    if rd { unix[h].common.shutRead = true }
    if wr {
      unix[h].common.shutWrite = true
      if let r = unix[h].remote, unix.contains(r) { unix[r].remoteClosed = true }
    }
    return .ok
  }

  /// The last descriptor closed: waiting connections are reset, the peer sees the end, the name
  /// is free again (a socket file stays on disk, as on Linux, but nobody answers there).
  func unixRelease(_ h: Handle) {
    for child in unix[h].acceptQueue where unix.contains(child) {
      if let c = unix[child].remote, unix.contains(c) {
        unix[c].state = .closed
        unix[c].common.ended(by: .ECONNRESET)
      }
      unix.remove(child)
    }
    // Only a two-way link is a connection: a datagram client's `remote` points at its target,
    // which keeps its own association.
    // A datagram peer (a socketpair's) keeps pointing at the dead socket: its next send says
    // ECONNREFUSED and dissolves the association (unix_dgram_sendmsg).
    if let r = unix[h].remote, unix.contains(r), unix[r].remote == h, !unix[r].isDatagram {
      unix[r].remoteClosed = true
      unix[r].remote = nil
      // unix_release_sock: a stream or seqpacket peer is shut down both ways (poll: hup).
      unix[r].common.shutRead = true
      unix[r].common.shutWrite = true
    }
    if let key = unix[h].key {
      if key.hasPrefix("@") {
        abstractNames[String(key.dropFirst())] = nil
      } else if var e = files[key], case .socket(h?, let type) = e.kind {
        // The file stays (unless a file statement removed it, or another socket took the name).
        e.kind = .socket(nil, type: type)
        files[key] = e
      }
    }
    unix.remove(h)
  }

  func unixPeerName(_ h: Handle) -> Outcome {
    let s = unix[h]
    if s.isDatagram {
      guard let r = s.remote, unix.contains(r) else { return .failure(.ENOTCONN) }
      return .address(unix[r].common.local ?? .unix(""))
    }
    guard s.state == .established else { return .failure(.ENOTCONN) }
    if let p = s.peer { return .address(p) }
    if let r = s.remote, unix.contains(r), let l = unix[r].common.local { return .address(l) }
    return .failure(.ENOTCONN)
  }

  func unixReadiness(_ h: Handle) -> PollEvents {
    let s = unix[h]
    var m = PollEvents()
    if !s.received.isEmpty || !s.datagrams.isEmpty { m.insert(.readable) }
    if s.isDatagram {
      m.insert(.writable)
      if s.common.shutRead && s.common.shutWrite { m.insert(.hangup) }
      if s.common.shutRead { m.formUnion([.readable, .readHangup]) }
      if s.common.error != nil { m.insert(.error) }
      return m
    }
    if s.state == .listening {
      // unix_poll: the shutdown bits count on a listener too; it is never writable.
      if !s.acceptQueue.isEmpty { m.insert(.readable) }
      if s.common.shutRead && s.common.shutWrite { m.insert(.hangup) }
      if s.common.shutRead { m.formUnion([.readable, .readHangup]) }
      return m
    }
    if s.state == .closed || (s.common.shutRead && s.common.shutWrite) { m.insert(.hangup) }
    if s.remoteClosed || s.common.shutRead { m.formUnion([.readable, .readHangup]) }
    m.insert(.writable)
    return m
  }
}
