import ConnSyntax

/// What a statement returned. Errnos are kept by name; the backend that produced them knows
/// their numbers.
package enum Outcome: Equatable, Sendable {
  /// Success with nothing more to say (0 from bind, connect, ...; SO_ERROR of 0).
  case ok
  /// Success with a value: a descriptor (sock, accept) or an option's value (get).
  case number(Int64)
  /// -1 with this errno.
  case failure(Errno)
  /// -1 with an errno number the catalog does not name; shown as the kernel's number.
  case unknownErrno(Int32, name: String?)
  /// poll(2) returned these events.
  case events(PollEvents)
  /// poll(2) on several descriptors returned these events, one set per descriptor in the
  /// order they were written (an empty set: nothing happened to that one).
  case pollSet([PollEvents])
  /// poll(2) returned 0.
  case pollTimeout
  /// getpeername / getsockname.
  case address(SocketAddress)
  /// recv, recvfrom, read: the bytes received.
  case data(ReceivedBytes)

  package var isError: Bool {
    switch self {
    case .failure, .unknownErrno: return true
    default: return false
    }
  }

  /// As the REPL and `-v` print it: `0`, `3`, `-1 EINPROGRESS (Operation now in progress)`.
  package var description: String {
    switch self {
    case .ok: return "0"
    case .number(let n): return "\(n)"
    case .failure(let e): return "-1 \(e.name) (\(ErrnoCatalog.summary(e)))"
    case .unknownErrno(let n, let name): return "-1 \(name ?? "errno \(n)")"
    case .events(let ev): return ev.description
    case .pollSet(let evs): return evs.map(\.description).joined(separator: ", ")
    case .pollTimeout: return "timeout"
    case .address(let a): return a.description
    case .data(let d): return d.description
    }
  }

  /// An errno, if this is one.
  package var errno: Errno? {
    if case .failure(let e) = self { return e }
    return nil
  }

  /// How an `expect` line would name this outcome (used by :save and failure messages).
  package var expectationText: String {
    switch self {
    case .ok: return "ok"
    case .number(let n): return "\(n)"
    case .failure(let e): return e.name
    case .unknownErrno(let n, let name): return name ?? "errno \(n)"
    case .events(let ev): return ev.description
    case .pollSet(let evs): return evs.map(\.description).joined(separator: ", ")
    case .pollTimeout: return "timeout"
    case .address(let a): return a.description
    case .data(let d): return quoteBytes(d.bytes)
    }
  }
}

/// What a receive returned: the bytes, the call's return value (more than the bytes with
/// MSG_TRUNC on a datagram that did not fit), and for recvfrom the sender.
package struct ReceivedBytes: Equatable, Sendable {
  package var bytes: [UInt8]
  package var length: Int
  package var from: SocketAddress?
  package init(_ bytes: [UInt8], length: Int? = nil, from: SocketAddress? = nil) {
    self.bytes = bytes
    self.length = length ?? bytes.count
    self.from = from
  }
  /// `5 "hello"`, `0` (end of file), `5 "hello" from 127.0.0.1:5000`.
  package var description: String {
    var s = "\(length)"
    if !bytes.isEmpty { s += " " + quoteBytes(bytes) }
    if let f = from { s += " from " + f.description }
    return s
  }
}

/// A failure of the tool rather than an answer from the kernel: the scenario stops at that line.
package enum BackendError: Error, Equatable, Sendable {
  /// A blocking call passed the run's time limit.
  case timedOut(TimeSpan)
  /// The destination is outside what this run may reach (safety).
  case refused(String)
  /// The simulated backend does not model this.
  case notModelled(String)
  /// Anything else the backend could not do (a helper command failed, ...).
  case failed(String)
  /// One of a group of topology statements failed: which one (its place in the group), and why.
  indirect case inStep(Int, BackendError)

  package var message: String {
    switch self {
    case .timedOut(let t): return "timed out after \(t.description)"
    case .refused(let m): return m
    case .notModelled(let m): return "not modelled by the simulated backend: \(m)"
    case .failed(let m): return m
    case .inStep(_, let e): return e.message
    }
  }
}
