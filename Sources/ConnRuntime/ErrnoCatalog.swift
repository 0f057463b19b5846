// What each errno means, for `conn explain` and for annotating outcomes. The summaries are glibc's
// strerror(3) texts on Linux (generated with python3's os.strerror, not typed from memory); the
// connect(2) notes are written against connect-reference.txt and the examples were
// checked against a Linux 6.x kernel over loopback and Unix sockets. No libc here: the numbers
// live in the kernel backend, the words live here.

import ConnSyntax

package struct ErrnoInfo: Sendable {
  package let errno: Errno
  /// Linux's strerror(3) text, e.g. "Connection refused".
  package let summary: String
  /// What this errno means when connect(2) returns it, in our own words; nil when connect never returns it.
  package let meaning: String?
  /// Where Linux differs from connect-reference.txt (e.g. EADDRNOTAVAIL where BSD says EADDRINUSE); nil when it does not.
  package let linuxNote: String?
  /// A minimal, self-contained scenario in the conn language that provokes it on Linux over loopback (or with `net` statements that need --isolate); nil when none.
  package let example: String?
  /// True for the errnos listed in connect-reference.txt.
  package let inReference: Bool
}

package enum ErrnoCatalog {
  /// The corpus scenarios (under scripts/scenarios) that show what an errno's Linux note says
  /// the kernel answers: every such sentence is backed by a scenario the tests run on the
  /// kernel and on the simulation.
  package static func evidence(_ e: Errno) -> [String] {
    switch e {
    case .EACCES:
      return [
        "unix/eacces.conn", "unix/eacces-directory.conn", "net/broadcast-udp.conn", "net/broadcast-tcp.conn",
        "isolated/prohibit-route.conn",
        "isolated/topology/connect-hook.conn", "isolated/topology/firewall-output-drop.conn",
        "tcp/landlock-connect.conn",
      ]
    case .EPERM:
      return [
        "unix/landlock-abstract.conn", "args/drop-privileges.conn",
        "isolated/topology/connect-hook.conn", "isolated/topology/firewall-output-drop.conn",
        "isolated/topology/firewall-output-udp-eperm.conn", "unix/eperm-dgram.conn", "net/broadcast-udp.conn",
      ]
    case .EADDRINUSE: return ["net/eaddrnotavail-4tuple.conn", "net/eaddrinuse-bind.conn"]
    case .EAFNOSUPPORT:
      return ["args/eafnosupport.conn", "ipv6/inet-sockaddr-to-inet6.conn", "args/unix-wrong-family.conn"]
    case .EAGAIN:
      return ["isolated/ports-exhausted.conn", "unix/eagain-backlog.conn", "unix/backlog-sndtimeo.conn"]
    case .EALREADY:
      return ["tcp/ealready.conn", "tcp/eintr-attempt-continues.conn", "isolated/silent-ealready.conn"]
    case .EINPROGRESS:
      return ["tcp/sndtimeo.conn", "tcp/refused-nonblocking.conn", "unix/eagain-backlog.conn"]
    case .EINTR: return ["tcp/eintr.conn", "tcp/eintr-attempt-continues.conn"]
    case .EISCONN:
      return [
        "tcp/connect-listening-socket.conn", "tcp/connect-again-reports-result.conn", "tcp/eisconn.conn",
        "tcp/unspec-disconnect.conn",
      ]
    case .ENETUNREACH:
      return [
        "isolated/no-route.conn", "isolated/unreachable-route.conn", "isolated/ipv6-routes.conn",
        "net/broadcast-tcp.conn", "isolated/fuzz/link-local-connect.conn", "ipv6/v6only-mapped.conn",
        "isolated/fuzz/dual-stack-bound.conn",
      ]
    case .EADDRNOTAVAIL: return ["net/eaddrnotavail-4tuple.conn", "isolated/ports-exhausted.conn"]
    case .EHOSTUNREACH: return ["isolated/unreachable-route.conn", "isolated/ipv6-routes.conn"]
    case .ECONNABORTED: return ["tcp/econnaborted.conn", "tcp/refused-error-unread.conn"]
    case .EINVAL:
      return [
        "ipv6/inet-sockaddr-to-inet6.conn", "args/unix-wrong-family.conn", "isolated/blackhole-route.conn",
        "args/einval-length.conn",
      ]
    case .ELOOP: return ["unix/eloop.conn"]
    case .ENOTDIR: return ["unix/enotdir.conn", "unix/enotdir-file.conn"]
    default: return []
    }
  }

  /// One entry per Errno case, in Errno.allCases order.
  package static let entries: [ErrnoInfo] = Errno.allCases.map { e in
    let c = connectDetails(e)
    return ErrnoInfo(
      errno: e, summary: strerrorText(e), meaning: c?.meaning, linuxNote: c?.linuxNote, example: c?.example,
      inReference: c?.inReference ?? false)
  }

  package static func info(_ e: Errno) -> ErrnoInfo { entries[Int(e.rawValue)] }

  package static func summary(_ e: Errno) -> String { entries[Int(e.rawValue)].summary }

  /// The errnos that connect(2) can return (meaning != nil), sorted by name.
  package static var connectErrnos: [ErrnoInfo] {
    entries.filter { $0.meaning != nil }.sorted { $0.errno.name < $1.errno.name }
  }

  struct ConnectDetail {
    var inReference: Bool
    var meaning: String
    var linuxNote: String?
    var example: String?
  }

  /// The connect(2) side of an errno: nil for errnos connect never returns. Every example obeys
  /// the scenario rules: an `expect` right after each statement that fails, listeners on port 0,
  /// and destinations outside loopback only behind `net` statements (which need --isolate).
  static func connectDetails(_ e: Errno) -> ConnectDetail? {
    switch e {
    // The errnos of connect-reference.txt.
    case .EACCES:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The caller may not reach this destination. For a Unix socket path: no write permission on the socket file, or no search permission on a directory on the way to it. For IP: a UDP socket connecting to a broadcast address without SO_BROADCAST, or a destination covered by a prohibit route.",
        linuxNote:
          "Linux uses EACCES, never EPERM, for the broadcast case, and only on datagram sockets: a TCP socket connecting to a broadcast address gets ENETUNREACH whatever SO_BROADCAST says. Linux adds a route of type prohibit as a source of EACCES. A local firewall does not give EACCES from connect(2): a cgroup BPF connect hook gives EPERM, and a netfilter output rule that drops a TCP SYN makes the connect time out. A Landlock layer that does not allow a TCP port gives EACCES too, before TCP looks (where TCP would say ECONNREFUSED, EISCONN or EINPROGRESS).",
        example: """
          sock u = dgram inet
          connect u 127.255.255.255:9
          expect EACCES
          """)
    case .EPERM:
      return ConnectDetail(
        inReference: true,
        meaning:
          "Local policy forbids the connection, or a Unix datagram socket tried to connect to a socket that is already connected to some other socket: a datagram peer must be one that accepts datagrams from us.",
        linuxNote:
          "Linux does not use EPERM for broadcast addresses (that is EACCES). From connect(2) itself, the local policy that gives EPERM is a cgroup BPF connect program that rejects the call; a netfilter output rule that drops packets does not: a TCP connect whose SYN it drops times out (ETIMEDOUT), and only a datagram send that it drops answers EPERM. The Unix datagram case is Linux's too; the reference does not mention it. Two more policies give EPERM: a Landlock layer that scopes abstract Unix sockets (a connect to one made outside the layer), and a missing capability (a netlink connect to a multicast group without CAP_NET_ADMIN).",
        example: """
          sock a = dgram unix
          bind a "a.sock"
          sock b = dgram unix
          bind b "b.sock"
          connect a b
          sock c = dgram unix
          connect c a
          expect EPERM
          """)
    case .EADDRINUSE:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The local address and port the connection would use are already taken by another socket. Linux does not report this from connect for TCP, UDP or Unix sockets; such a clash is EADDRNOTAVAIL there.",
        linuxNote:
          "Where BSD says EADDRINUSE, Linux says EADDRNOTAVAIL: a socket bound with SO_REUSEADDR to the address and port of an existing connection, connecting to that connection's peer, would duplicate its 4-tuple and fails with EADDRNOTAVAIL. On Linux EADDRINUSE comes from bind and listen, not connect.",
        example: nil)
    case .EAFNOSUPPORT:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The address belongs to a family the socket cannot use, such as an IPv6 address given to an AF_INET socket.",
        linuxNote:
          "Only inet and inet6 sockets say EAFNOSUPPORT. A Unix socket given a non-Unix address gets EINVAL, and an inet6 socket given a 16-byte sockaddr_in also gets EINVAL, because Linux checks the length (at least 24 bytes) before the family.",
        example: """
          sock s = stream inet
          connect s [::1]:80
          expect EAFNOSUPPORT
          """)
    case .EAGAIN:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The connection cannot be made without waiting and the caller will not wait: a nonblocking connect (or one whose SO_SNDTIMEO ran out) to a Unix stream listener whose backlog is full. A UDP socket that must pick a local port when none is free also says EAGAIN.",
        linuxNote:
          "For TCP, port exhaustion gives EADDRNOTAVAIL, not EAGAIN, and there is no routing cache to run out of (it was removed in Linux 3.6). Linux's EAGAIN comes from a Unix stream connect to a listener with a full accept queue when the caller may not block, and from connect on an unbound UDP socket when no ephemeral port is left.",
        example: """
          sock l = stream unix
          bind l "l.sock"
          listen l backlog 0
          sock a = stream unix
          connect a l
          sock s = stream unix nonblock
          connect s l
          expect EAGAIN
          """)
    case .EALREADY:
      return ConnectDetail(
        inReference: true,
        meaning:
          "An earlier attempt on this socket is still going, so connect cannot start another. That is the case after a nonblocking connect said EINPROGRESS, and also after a blocking connect was interrupted (EINTR): the handshake carries on without the caller.",
        linuxNote:
          "Linux also reports EALREADY after an interrupted blocking connect, not only on nonblocking sockets. Only a call that may not wait says so at once: a blocking retry waits for the pending attempt and returns its outcome, or EALREADY if its SO_SNDTIMEO runs out first.",
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l backlog 0
          sock a = stream inet
          connect a l
          sock s = stream inet nonblock
          connect s l
          expect EINPROGRESS
          connect s l
          expect EALREADY
          """)
    case .EBADF:
      return ConnectDetail(
        inReference: true,
        meaning: "The descriptor is not open, so there is no socket to connect.",
        linuxNote: nil,
        example: """
          sock bad = fd 999
          connect bad 127.0.0.1:80
          expect EBADF
          """)
    case .ECONNREFUSED:
      return ConnectDetail(
        inReference: true,
        meaning:
          "Nobody accepts connections at the destination. For TCP the peer answered the SYN with a reset because no socket listens on that port; for Unix sockets the name resolves but no listening socket of that type is there (a bound socket that never called listen, an abstract name nobody bound, or a path that is not a socket).",
        linuxNote: nil,
        example: """
          sock p = stream inet
          bind p 127.0.0.1:0
          sock s = stream inet
          connect s p
          expect ECONNREFUSED
          """)
    case .EFAULT:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The pointer to the address lies outside memory the process may read, so the kernel cannot copy the address in.",
        linuxNote: nil,
        example: """
          sock s = stream inet
          connect s badptr
          expect EFAULT
          """)
    case .EINPROGRESS:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The handshake has started but not finished and the call does not wait for it. Wait until the socket is writable, then read SO_ERROR: ok means connected, otherwise it holds the failure.",
        linuxNote:
          "Linux also returns EINPROGRESS from a blocking connect whose SO_SNDTIMEO expires before the handshake completes; the attempt goes on in the background. A nonblocking TCP connect says EINPROGRESS even over loopback where the answer is immediate, while Unix sockets never do: they connect at once or fail.",
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l
          sock s = stream inet nonblock
          connect s l
          expect EINPROGRESS
          """)
    case .EINTR:
      return ConnectDetail(
        inReference: true,
        meaning:
          "A signal was caught while a blocking connect was waiting for the handshake. The call returns, but the attempt is not cancelled.",
        linuxNote:
          "The interrupted attempt keeps running: a nonblocking connect on the same socket afterwards says EALREADY, and a blocking one waits for the first attempt's result.",
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l backlog 0
          sock a = stream inet
          connect a l
          sock s = stream inet
          set s TCP_SYNCNT 1
          connect s l interrupt 100ms
          expect EINTR
          """)
    case .EISCONN:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The socket is already connected; a stream socket connects once. A datagram socket may instead connect again to change its peer, or connect to AF_UNSPEC to drop it.",
        linuxNote:
          "Linux also says EISCONN when a listening TCP socket calls connect. After a nonblocking connect has completed, the next connect returns 0 (it collects the result) and only later ones say EISCONN. A connected TCP socket can be disconnected by connecting to AF_UNSPEC and may then connect again.",
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l
          sock s = stream inet
          connect s l
          accept l as c
          connect s l
          expect EISCONN
          """)
    case .ENETUNREACH:
      return ConnectDetail(
        inReference: true,
        meaning:
          "No route leads to the destination's network, so the attempt fails before a packet is sent.",
        linuxNote:
          "A route of type unreachable gives EHOSTUNREACH, not ENETUNREACH, over IPv4 and IPv6 alike; ENETUNREACH means no route matched at all. Linux also returns it when a TCP socket connects to a broadcast or multicast address, when an IPV6_V6ONLY socket connects to a v4-mapped address, and when a dual-stack socket bound to an IPv6 address connects to a v4-mapped one.",
        example: """
          sock s = stream inet
          connect s 127.255.255.255:80
          expect ENETUNREACH
          """)
    case .ENOTSOCK:
      return ConnectDetail(
        inReference: true,
        meaning: "The descriptor is open but is not a socket; it refers to a file, a device or a pipe.",
        linuxNote: nil,
        example: """
          sock f = file "/dev/null"
          connect f 127.0.0.1:80
          expect ENOTSOCK
          """)
    case .ETIMEDOUT:
      return ConnectDetail(
        inReference: true,
        meaning:
          "The handshake went unanswered: the SYN and all its retransmissions (TCP_SYNCNT of them, about two minutes with the default of 6) got no reply, so the attempt was given up. A nonblocking connect learns this from SO_ERROR.",
        linuxNote: nil,
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l backlog 0
          sock a = stream inet
          connect a l
          sock s = stream inet
          set s TCP_SYNCNT 1
          connect s l
          expect ETIMEDOUT within 4s
          """)

    // Errnos Linux returns from connect that the reference does not list.
    case .EADDRNOTAVAIL:
      return ConnectDetail(
        inReference: false,
        meaning:
          "No local address and port can be used for this connection: every ephemeral port is taken for this destination, or the socket's bound address and port would make a connection identical (same 4-tuple) to one that already exists.",
        linuxNote:
          "This is how Linux reports, for TCP, what the reference lists as EADDRINUSE (a 4-tuple collision) and as EAGAIN (no free local ports).",
        example: """
          # needs: isolate
          net ports 40000 40001
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l
          sock a = stream inet
          connect a l
          sock b = stream inet
          connect b l
          expect EADDRNOTAVAIL
          """)
    case .EHOSTUNREACH:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The destination host cannot be reached: the matching route (IPv4 or IPv6) is of type unreachable, or the network reported the host unreachable during the handshake.",
        linuxNote:
          "The reference has only ENETUNREACH; Linux reports an unreachable route, IPv4 or IPv6, as EHOSTUNREACH.",
        example: """
          # needs: isolate
          net route 10.9.0.0/16 unreachable
          sock s = stream inet
          connect s 10.9.0.1:80
          expect EHOSTUNREACH
          """)
    case .EPROTOTYPE:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The Unix socket at the destination has a different type from ours, for example a stream socket connecting to a path bound by a datagram socket.",
        linuxNote: nil,
        example: """
          sock d = dgram unix
          bind d "d.sock"
          sock s = stream unix
          connect s d
          expect EPROTOTYPE
          """)
    case .ENOENT:
      return ConnectDetail(
        inReference: false,
        meaning: "The Unix socket path, or a directory on the way to it, does not exist.",
        linuxNote: nil,
        example: """
          sock s = stream unix
          connect s "nope.sock"
          expect ENOENT
          """)
    case .ECONNABORTED:
      return ConnectDetail(
        inReference: false,
        meaning:
          "connect was called again on a socket whose nonblocking attempt had already failed, after that failure had been collected (for instance by reading SO_ERROR), so there is no error left to report. The call after that starts a new attempt.",
        linuxNote:
          "Not in the reference. If SO_ERROR has not been read, the repeated connect returns the original error (e.g. ECONNREFUSED) instead.",
        example: """
          sock p = stream inet
          bind p 127.0.0.1:0
          sock s = stream inet nonblock
          connect s p
          expect EINPROGRESS
          poll s writable timeout 1s
          get s SO_ERROR
          expect ECONNREFUSED
          connect s p
          expect ECONNABORTED
          """)
    case .ENOTCONN:
      return ConnectDetail(
        inReference: false,
        meaning:
          "Linux's connect does not return it for TCP, UDP or Unix sockets; it is what `peer` (getpeername) answers for a socket without a peer: before connect, after a failed connect, or after a datagram socket dropped its peer by connecting to AF_UNSPEC.",
        linuxNote: nil,
        example: """
          sock u = dgram inet
          connect u 127.0.0.1:9
          connect u unspec
          peer u
          expect ENOTCONN
          """)
    case .EINVAL:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The request is malformed for this socket: the address length is too short for the family (or too long for a Unix address), a Unix socket got another family, a listening Unix socket tried to connect, or the destination is covered by a blackhole route.",
        linuxNote:
          "Not in the reference. Linux checks the length before the family, so an inet6 socket given a sockaddr_in gets EINVAL rather than EAFNOSUPPORT, and a Unix socket given any non-Unix address gets EINVAL. A blackhole route makes connect fail with EINVAL.",
        example: """
          sock s = stream inet
          connect s 127.0.0.1:80 len 3
          expect EINVAL
          """)
    case .ECONNRESET:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The peer reset the connection after the handshake had completed but before connect reported it: a nonblocking socket that calls connect again hands back the reset.",
        linuxNote: nil,
        example: """
          sock l = stream inet
          bind l 127.0.0.1:0
          listen l
          sock s = stream inet nonblock
          connect s l
          expect EINPROGRESS
          poll s writable timeout 1s
          accept l as c
          set c SO_LINGER 0s
          close c
          sleep 10ms
          connect s l
          expect ECONNRESET
          """)
    case .ENOTDIR:
      return ConnectDetail(
        inReference: false,
        meaning:
          "A component of the Unix socket path that must be a directory is not one, such as a path under /dev/null.",
        linuxNote: nil,
        example: """
          sock s = stream unix
          connect s "/dev/null/x.sock"
          expect ENOTDIR
          """)
    case .ELOOP:
      return ConnectDetail(
        inReference: false,
        meaning:
          "Resolving the Unix socket path met too many symbolic links, usually because they form a loop.",
        linuxNote: nil,
        example: """
          symlink "a" "b"
          symlink "b" "a"
          sock s = stream unix
          connect s "a"
          expect ELOOP
          """)
    case .ENAMETOOLONG:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The Unix socket path, or a name reached through a symbolic link while resolving it, is longer than the file system allows.",
        linuxNote: nil,
        example: nil)
    case .EOPNOTSUPP:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The socket's protocol has no connect operation at all (packet sockets, for example); the stream, datagram and seqpacket sockets of inet, inet6 and unix all support it.",
        linuxNote: nil,
        example: """
          # needs: root
          sock p = raw packet
          connect p 127.0.0.1:80
          expect EOPNOTSUPP
          """)
    case .ENOBUFS:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The kernel could not get buffer space to set up the attempt; a transient shortage, worth retrying later.",
        linuxNote: nil,
        example: nil)
    case .ENOMEM:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The kernel ran out of memory while setting up the connection (socket, route or hash table state).",
        linuxNote: nil,
        example: nil)
    case .ENETDOWN:
      return ConnectDetail(
        inReference: false,
        meaning:
          "The interface that leads to the destination is down. Linux seldom says this from connect itself: a down interface usually shows up as ENETUNREACH or, later, as a timeout.",
        linuxNote: nil,
        example: nil)
    default:
      return nil
    }
  }
}
