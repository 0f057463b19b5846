// The REPL's help: one table for the statements and one for the `:` commands. The installed
// binary cannot read docs/LANGUAGE.md, so the text lives here; a test checks that every syntax
// line below appears word for word in the reference, so the two cannot drift apart.

/// `:help STATEMENT`: the statement's syntax as docs/LANGUAGE.md writes it, and a short account.
package struct StatementHelp: Sendable {
  package let keyword: String
  /// The syntax lines, exactly as in the statement's section of docs/LANGUAGE.md.
  package let syntax: [String]
  /// One line for the `:help` overview.
  package let summary: String
  /// A few lines for `:help STATEMENT`.
  package let details: String
}

/// A `:` command of the REPL.
package struct CommandHelp: Sendable {
  package let name: String
  package let usage: String
  package let summary: String
}

package enum ReplHelp {
  package static let statements: [StatementHelp] = [
    StatementHelp(
      keyword: "sock",
      syntax: [
        "sock NAME = TYPE FAMILY [proto N] [nonblock]",
        "sock NAME = TYPE FAMILY [proto N] [nonblock] on HOST",
        "sock NAME = fd N",
        "sock NAME = file \"PATH\"",
      ],
      summary: "create a socket (or name a bare descriptor, or open a file)",
      details: """
        socket(2) with TYPE stream, dgram, seqpacket or raw and FAMILY inet, inet6, unix,
        packet or netlink; 'proto N' is the protocol (raw inet proto 1: ICMP). The result is
        the descriptor. 'fd N' names a descriptor number without opening anything
        (for EBADF); 'file' opens a file that is not a socket (for ENOTSOCK).
        Example: sock s = stream inet nonblock
        """),
    StatementHelp(
      keyword: "bind",
      syntax: ["bind NAME ADDRESS"],
      summary: "give a socket its local address",
      details: """
        bind(2). ADDRESS is 127.0.0.1:0 or [::1]:0 (port 0: the kernel picks), a Unix path
        "x.sock" (relative paths live in a private directory), an abstract name @x, or unspec.
        A socket name may stand for the port: 0.0.0.0:l is the port l is bound to.
        Example: bind l 127.0.0.1:0
        """),
    StatementHelp(
      keyword: "listen",
      syntax: ["listen NAME [backlog N]"],
      summary: "make a stream socket accept connections",
      details: """
        listen(2) with backlog N (128 when not given). Linux queues backlog+1 connections.
        Example: listen l backlog 0
        """),
    StatementHelp(
      keyword: "connect",
      syntax: ["connect NAME TARGET [nonblock] [interrupt DUR] [len N] [background]"],
      summary: "connect a socket to an address or to another socket's address",
      details: """
        connect(2). TARGET is an address (127.0.0.1:l takes socket l's port), a socket name
        (the address that socket is bound to), unspec (dissolves a datagram association),
        badptr (EFAULT), null (a NULL pointer), family N (a sockaddr holding only family
        number N) or netlink PID [groups MASK] (a netlink socket's destination). 'nonblock' sets
        O_NONBLOCK first; 'interrupt 100ms' signals the call (EINTR); 'len N' passes a wrong
        address length (EINVAL). Press Ctrl-C to interrupt a connect that blocks.
        Example: connect c l nonblock
        """),
    StatementHelp(
      keyword: "accept",
      syntax: ["accept NAME as NEWNAME [nonblock] [interrupt DUR] [background]"],
      summary: "accept a connection and name the new socket",
      details: """
        accept4(2) on a listening socket; NEWNAME is declared for the connection. 'nonblock'
        makes the accepted socket nonblocking.
        Example: accept l as a
        """),
    StatementHelp(
      keyword: "socketpair",
      syntax: ["socketpair NAME NAME = TYPE FAMILY [nonblock]"],
      summary: "create two connected sockets and name both",
      details: """
        socketpair(2): two unnamed Unix sockets, each the other's peer. Only unix has pairs:
        inet and inet6 answer EOPNOTSUPP.
        Example: socketpair a b = stream unix
        """),
    StatementHelp(
      keyword: "dup",
      syntax: ["dup NAME as NEWNAME [fd N]"],
      summary: "a second descriptor for the same socket",
      details: """
        fcntl(F_DUPFD_CLOEXEC), or dup3(2) onto descriptor N with 'fd N' (closing what was
        there). The socket lives until its last descriptor is closed.
        Example: dup s as d
        """),
    StatementHelp(
      keyword: "set",
      syntax: [
        "set NAME nonblock", "set NAME block", "set NAME FLAG on|off", "set NAME OPTION VALUE",
        "set NAME opt LEVEL N VALUE",
      ],
      summary: "change O_NONBLOCK, FD_CLOEXEC or a socket option",
      details: """
        fcntl(2) for nonblock/block and the flags O_NONBLOCK (F_SETFL) and FD_CLOEXEC (F_SETFD);
        setsockopt(2) otherwise. VALUE is a number, on, off, or a duration for SO_SNDTIMEO,
        SO_RCVTIMEO and SO_LINGER. 'opt LEVEL N VALUE' sets an int option by its numbers
        (set l opt IPPROTO_TCP 23 5: TCP_FASTOPEN on a listener).
        Example: set s TCP_SYNCNT 1
        """),
    StatementHelp(
      keyword: "get",
      syntax: ["get NAME OPTION", "get NAME FLAG", "get NAME opt LEVEL N"],
      summary: "read a socket option (SO_ERROR gives the pending errno) or a descriptor flag",
      details: """
        getsockopt(2). The result is the option's value (expect a number, on, off, or a
        duration for SO_LINGER, SO_SNDTIMEO and SO_RCVTIMEO: expect off after get s
        SO_LINGER); for SO_ERROR it is ok or the pending errno itself, which the read clears.
        FLAG (O_NONBLOCK, FD_CLOEXEC) is read with fcntl(2) F_GETFL or F_GETFD, as 1 or 0.
        'opt LEVEL N' reads an int option by its numbers.
        Example: get c SO_ERROR
        """),
    StatementHelp(
      keyword: "poll",
      syntax: ["poll NAME EVENT... [NAME EVENT...]... [timeout DUR] [interrupt DUR] [background]"],
      summary: "wait for events on one socket or several",
      details: """
        poll(2). EVENT is readable, writable, error, hup, rdhup, pri or nval. The result is the
        events that came, or timeout; with several names, each one's events, checked with
        'expect l readable u none'.
        Example: poll c writable timeout 1s
        """),
    StatementHelp(
      keyword: "peer",
      syntax: ["peer NAME"],
      summary: "the address a socket is connected to (getpeername)",
      details: """
        getpeername(2): an address, or ENOTCONN.
        Example: peer c
        """),
    StatementHelp(
      keyword: "local",
      syntax: ["local NAME"],
      summary: "the address a socket is bound to (getsockname)",
      details: """
        getsockname(2): an address; 'unnamed' for an unbound Unix socket.
        Example: local s
        """),
    StatementHelp(
      keyword: "shutdown",
      syntax: ["shutdown NAME read|write|both"],
      summary: "shut down one or both directions of a connection",
      details: """
        shutdown(2) with SHUT_RD, SHUT_WR or SHUT_RDWR.
        Example: shutdown c write
        """),
    StatementHelp(
      keyword: "send",
      syntax: ["send NAME DATA [FLAG]... [interrupt DUR] [background]"],
      summary: "send(2) bytes on a socket",
      details: """
        DATA is "text", hex "0a ff" or zeros N; FLAG is MSG_DONTWAIT, MSG_NOSIGNAL, ... The
        outcome is the byte count or an errno (EPIPE, ECONNRESET, EAGAIN, EPERM, ...).
        Example: send c "hello"
        """),
    StatementHelp(
      keyword: "sendto",
      syntax: ["sendto NAME TARGET DATA [FLAG]... [interrupt DUR] [background]"],
      summary: "sendto(2): bytes to an address or to a socket's address",
      details: """
        TARGET is an address (127.0.0.1:r takes socket r's port), a socket name, or null
        (then it is send(2)).
        Example: sendto u 127.0.0.1:r "ping"
        """),
    StatementHelp(
      keyword: "write",
      syntax: ["write NAME DATA"],
      summary: "write(2) bytes to a descriptor",
      details: """
        Example: write c "hi"
        """),
    StatementHelp(
      keyword: "recv",
      syntax: ["recv NAME [N] [FLAG]... [interrupt DUR] [background]"],
      summary: "recv(2) at most N bytes (65536)",
      details: """
        The outcome is the bytes (expect "hello", hex "00ff", "" for the end of the stream, or
        their count) or an errno (EAGAIN, ECONNREFUSED, ECONNRESET, ...).
        Example: recv a MSG_DONTWAIT
        """),
    StatementHelp(
      keyword: "recvfrom",
      syntax: ["recvfrom NAME [N] [FLAG]... [interrupt DUR] [background]"],
      summary: "recvfrom(2): the bytes and who sent them",
      details: """
        Example: recvfrom p
        """),
    StatementHelp(
      keyword: "read",
      syntax: ["read NAME [N] [background]"],
      summary: "read(2) at most N bytes from a descriptor",
      details: """
        Example: read a 10
        """),
    StatementHelp(
      keyword: "close",
      syntax: ["close NAME"],
      summary: "close a descriptor",
      details: """
        close(2). The name keeps its number, so a later use passes the stale descriptor.
        Example: close c
        """),
    StatementHelp(
      keyword: "sleep",
      syntax: ["sleep DUR"],
      summary: "wait a while",
      details: """
        nanosleep(2); the simulated backend moves its clock instead.
        Example: sleep 10ms
        """),
    StatementHelp(
      keyword: "expect",
      syntax: ["expect ALT [or ALT]... [after DUR] [within DUR]"],
      summary: "check the outcome of the statement before",
      details: """
        Passes when the previous outcome matches one alternative: ok, an errno, poll events,
        timeout, a number, on or off and a duration (an option get read), an address,
        unnamed, unspec, or a socket name (that socket's address; a failure shows it). 'within DUR' and 'after DUR' also bound how long the call took, from
        above and from below. In the REPL a failed
        expect is shown and the session goes on.
        Example: expect EINPROGRESS or EALREADY
        """),
    StatementHelp(
      keyword: "net",
      syntax: [
        "net route PREFIX unreachable|prohibit|blackhole|silent", "net addr PREFIX", "net ports LO HI",
      ],
      summary: "describe the scenario's network (files only)",
      details: """
        Routes, local addresses and the ephemeral port range, set up before a scenario starts.
        The REPL cannot change the network of a session in progress: put net statements in a
        file and run it with conn run (--isolate on the kernel backend).
        """),
    StatementHelp(
      keyword: "host",
      syntax: ["host NAME [router]"],
      summary: "a host of the scenario's network (needs --isolate on the kernel)",
      details: """
        A network namespace of its own with loopback up; 'router' forwards between its links.
        The scenario's own host is 'self'. Put a socket on a host with: sock s = stream inet on NAME
        Example: host srv
        """),
    StatementHelp(
      keyword: "link",
      syntax: ["link HOST HOST PREFIX [PREFIX6]", "link HOST HOST up|down"],
      summary: "join two hosts (a veth pair), or take one end down",
      details: """
        The first host gets the prefix's first address, the second the next one; inside each
        host the interface is named after the other host.
        Example: link self srv 10.9.0.0/24 fd00:9::/64
        """),
    StatementHelp(
      keyword: "route",
      syntax: [
        "route HOST PREFIX|default|default6 via ADDRESS|HOST",
        "route HOST PREFIX unreachable|prohibit|blackhole",
      ],
      summary: "a route on a host",
      details: """
        'via HOST' goes through that host's address on the shared link.
        Example: route self default via r
        """),
    StatementHelp(
      keyword: "addr",
      syntax: ["addr add|del [HOST] lo|HOST PREFIX"],
      summary: "add or remove an address of a host's interface",
      details: """
        The device is lo or the link to a host. Example: addr del lo 127.0.0.1/8
        """),
    StatementHelp(
      keyword: "firewall",
      syntax: [
        "firewall HOST input|output|forward [tcp|udp] [saddr P] [daddr P] [sport N] [dport N] VERDICT",
        "firewall HOST connect deny | reject with ERRNO",
      ],
      summary: "an nftables rule on a host, or a cgroup BPF connect hook",
      details: """
        VERDICT: accept, drop, reject, reject with tcp reset, reject with icmp|icmpv6|icmpx TYPE.
        Example: firewall srv input tcp dport 80 reject with tcp reset
        """),
    StatementHelp(
      keyword: "sysctl",
      syntax: ["sysctl HOST net.KEY VALUE..."],
      summary: "one of a host's own network settings",
      details: """
        Only settings the kernel keeps per network namespace. Example:
        sysctl self net.ipv4.tcp_syn_retries 1
        """),
    StatementHelp(
      keyword: "user",
      syntax: ["user root|nobody|UID"],
      summary: "change the identity used for file permission checks",
      details: """
        setfsuid(2)/setfsgid(2), for EACCES on Unix socket files. Needs root.
        Example: user nobody
        """),
    StatementHelp(
      keyword: "drop",
      syntax: ["drop nobody|UID"],
      summary: "become an unprivileged process, for good",
      details: """
        Real, effective and saved user and group IDs, groups [UID], no capabilities,
        no_new_privs: raw and packet sockets EPERM, netlink groups EPERM, ports below
        1024 EACCES. No way back. Runs under `conn run` (a thread of its own); here
        only with :backend sim. Needs root. Example: drop nobody
        """),
    StatementHelp(
      keyword: "landlock",
      syntax: ["landlock RIGHT...", "RIGHT = connect PORTS | bind PORTS | abstract"],
      summary: "add a Landlock layer, for good",
      details: """
        TCP connect or bind only to the ports named (a socket's name: its port),
        EACCES otherwise; `abstract`: abstract Unix sockets made before the layer
        are EPERM. Rights combine: landlock connect l abstract. Runs under
        `conn run` (a thread of its own); here only with :backend sim.
        """),
    StatementHelp(
      keyword: "wait",
      syntax: ["wait NAME"],
      summary: "the outcome of the call NAME runs in the background",
      details: """
        `background` after connect, accept, recv, send or poll runs the call while the
        scenario goes on; `wait NAME` collects its outcome (expect it as the call's).
        Example: accept l as c background; connect s l; wait l
        """),
    StatementHelp(
      keyword: "signal",
      syntax: ["signal NAME"],
      summary: "interrupt the call NAME runs in the background (EINTR)",
      details: """
        A signal to the thread of the background call: a call still blocked returns
        EINTR at `wait NAME`. Example: accept l as c background; signal l; wait l
        """),
    StatementHelp(
      keyword: "mkdir",
      syntax: ["mkdir PATH [mode MODE]"],
      summary: "make a directory in the private directory",
      details: """
        mkdir(2), mode 0755 unless given (octal; umask 022). Paths are relative to the
        scenario's private directory and never leave it.
        Example: mkdir "run" mode 0700
        """),
    StatementHelp(
      keyword: "mkfile",
      syntax: ["mkfile PATH [mode MODE]"],
      summary: "make an empty regular file (ENOTDIR, ECONNREFUSED cases)",
      details: """
        open(2) with O_CREAT|O_EXCL, mode 0644 unless given. EEXIST when the name exists.
        Example: mkfile "plain"
        """),
    StatementHelp(
      keyword: "chmod",
      syntax: ["chmod PATH MODE"],
      summary: "set a mode (octal), as the current user",
      details: """
        chmod(2). "." is the private directory itself (root's, 0700: chmod "." 0711 lets
        other users search it). A link is not followed.
        Example: chmod "srv/ctl.sock" 0777
        """),
    StatementHelp(
      keyword: "chown",
      syntax: ["chown PATH root|nobody|UID"],
      summary: "give a file or directory to another owner",
      details: """
        lchown(2) of the owner only (the group stays). Needs root.
        Example: chown "srv" nobody
        """),
    StatementHelp(
      keyword: "symlink",
      syntax: ["symlink TARGET PATH"],
      summary: "make a symbolic link PATH holding TARGET (ELOOP, dangling links)",
      details: """
        symlink(2). TARGET need not exist, but stays inside the private directory.
        Example: symlink "a" "b"
        """),
    StatementHelp(
      keyword: "rm",
      syntax: ["rm PATH"],
      summary: "remove a file, a socket file, a link or an empty directory",
      details: """
        unlink(2), or rmdir(2) for a directory (ENOTEMPTY when it holds something).
        Example: rm "srv/ctl.sock"
        """),
    StatementHelp(
      keyword: "repeat",
      syntax: ["repeat N { STATEMENTS }"],
      summary: "run a block N times",
      details: """
        The '{' must be on the same line as repeat. In the REPL an open block continues on
        the next lines (prompt '...>') until its '}'; Ctrl-C drops it.
        Example: repeat 3 { sock u = dgram inet; close u }
        """),
  ]

  package static let commands: [CommandHelp] = [
    CommandHelp(
      name: ":help", usage: ":help [STATEMENT]",
      summary: "this overview, or one statement's syntax and meaning"),
    CommandHelp(
      name: ":sockets", usage: ":sockets",
      summary: "the session's sockets: descriptor, kind, state (bound, connecting...), addresses"),
    CommandHelp(
      name: ":save", usage: ":save FILE",
      summary: "write the session as a scenario that 'conn run FILE' replays"),
    CommandHelp(name: ":load", usage: ":load FILE", summary: "run a scenario file into the session"),
    CommandHelp(name: ":reset", usage: ":reset", summary: "close everything and start a fresh session"),
    CommandHelp(
      name: ":backend", usage: ":backend [NAME]", summary: "show the backend, or switch to another (resets)"),
    CommandHelp(name: ":quit", usage: ":quit", summary: "close everything and leave (also Ctrl-D)"),
  ]

  package static func statement(_ keyword: String) -> StatementHelp? {
    statements.first { $0.keyword == keyword }
  }

  /// The `:help` overview.
  package static var overview: String {
    var out = """
      Type a statement and press Enter: it runs at once and its outcome is printed
      ('= 3', '= 0', '= -1 EINPROGRESS (...)', events, addresses). Several statements may
      share a line, separated by ';'. An open 'repeat N {' continues on the next lines.
      Tab completes words; Up recalls earlier lines; Ctrl-C clears the line, or interrupts a
      call that blocks.

      Statements (:help STATEMENT for its syntax and meaning):


      """
    let width = statements.map(\.keyword.count).max() ?? 0
    for s in statements {
      out += "  " + s.keyword + String(repeating: " ", count: width - s.keyword.count + 2) + s.summary + "\n"
    }
    out += "\nCommands:\n\n"
    let cw = commands.map(\.usage.count).max() ?? 0
    for c in commands {
      out += "  " + c.usage + String(repeating: " ", count: cw - c.usage.count + 2) + c.summary + "\n"
    }
    out += "\nThe language reference is docs/LANGUAGE.md.\n"
    return out
  }

  /// `:help WORD`: a statement's help, a command's, or nil.
  package static func topic(_ word: String) -> String? {
    let w = word.hasPrefix(":") ? String(word.dropFirst()) : word
    if let s = statement(w) {
      return s.syntax.map { "  " + $0 + "\n" }.joined() + "\n"
        + s.details.split(separator: "\n", omittingEmptySubsequences: false)
        .map { "  " + $0 }.joined(separator: "\n") + "\n"
    }
    if let c = commands.first(where: { $0.name == ":" + w }) {
      return "  \(c.usage)\n\n  \(c.summary)\n"
    }
    return nil
  }
}
