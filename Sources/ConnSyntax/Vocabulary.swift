// The words of the language that are not statements: errno names, socket options, poll events,
// socket kinds. They are part of the language (a script names them), so they live here; what an
// errno *means* lives in ConnRuntime's catalog and its number in the backend that produces it.

/// An errno by name. Numbers differ between platforms; the kernel backend maps them.
package enum Errno: UInt8, CaseIterable, Sendable, Hashable, Error {
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
  package static let aliases: [(String, Errno)] = [("EWOULDBLOCK", .EAGAIN), ("ENOTSUP", .EOPNOTSUPP), ("EDEADLOCK", .EDEADLK)]

  /// The name as scripts and `strerrorname_np` spell it.
  package var name: String { Errno.names[Int(rawValue)] }
  private static let names: [String] = allCases.map { String(describing: $0) }

  package static let byName: ByteTable<Errno> = ByteTable(allCases.map { ($0.name, $0) } + aliases)

  package init?(name: String) {
    guard let e = Errno.byName.lookup(name) else { return nil }
    self = e
  }
}

/// A set of errnos as a 128-bit mask: `expect EINPROGRESS or EALREADY` without allocation.
package struct ErrnoSet: Hashable, Sendable {
  package var low: UInt64 = 0
  package var high: UInt64 = 0
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
  package func contains(_ e: Errno) -> Bool {
    let i = Int(e.rawValue)
    return i < 64 ? low & (1 << UInt64(i)) != 0 : high & (1 << UInt64(i - 64)) != 0
  }
  package var members: [Errno] { Errno.allCases.filter { contains($0) } }
}

/// The socket options a script can `set` or `get`, with the kind of value each takes.
package enum SocketOption: String, CaseIterable, Sendable {
  case SO_ERROR, SO_TYPE, SO_DOMAIN, SO_ACCEPTCONN
  case SO_BROADCAST, SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_LINGER
  case SO_SNDTIMEO, SO_RCVTIMEO, SO_SNDBUF, SO_RCVBUF
  case TCP_SYNCNT, TCP_NODELAY, TCP_USER_TIMEOUT
  case IPV6_V6ONLY, IP_BIND_ADDRESS_NO_PORT, IP_FREEBIND

  package enum ValueKind: Sendable { case integer, boolean, duration }

  package var valueKind: ValueKind {
    switch self {
    case .SO_SNDTIMEO, .SO_RCVTIMEO, .SO_LINGER: return .duration
    case .SO_BROADCAST, .SO_REUSEADDR, .SO_REUSEPORT, .SO_KEEPALIVE, .TCP_NODELAY, .IPV6_V6ONLY,
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

package enum SocketType: String, CaseIterable, Sendable { case stream, dgram, seqpacket }
package enum AddressFamily: String, CaseIterable, Sendable { case inet, inet6, unix }

package struct SocketKind: Hashable, Sendable {
  package var type: SocketType
  package var family: AddressFamily
  package init(_ type: SocketType, _ family: AddressFamily) {
    self.type = type
    self.family = family
  }
}

package enum ShutdownHow: String, CaseIterable, Sendable { case read, write, both }

/// Edit distance for "did you mean" hints. Small inputs only.
package func closestName(to word: String, in candidates: [String], maxDistance: Int = 3) -> String? {
  let w = Array(word.uppercased().utf8)
  var best: (String, Int)?
  for c in candidates {
    let cb = Array(c.uppercased().utf8)
    if abs(cb.count - w.count) > maxDistance { continue }
    let d = editDistance(w, cb)
    if d <= maxDistance, d < (best?.1 ?? Int.max) { best = (c, d) }
  }
  // Only suggest when the suggestion is plausibly a typo, not a different word.
  guard let b = best, b.1 <= max(1, w.count / 3) else { return nil }
  return b.0
}

func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  // Damerau-Levenshtein (optimal string alignment): a swapped pair counts as one edit.
  let n = a.count, m = b.count
  if n == 0 { return m }
  if m == 0 { return n }
  var d = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
  for i in 0...n { d[i][0] = i }
  for j in 0...m { d[0][j] = j }
  for i in 1...n {
    for j in 1...m {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
    }
  }
  return d[n][m]
}

/// A lookup table from byte strings to values, so that keyword and errno recognition never
/// builds a `String` on the hot path.
package struct ByteTable<Value>: @unchecked Sendable {
  /// All keys back to back; entry i is bytes[offsets[i] ..< offsets[i] + lengths[i]].
  private var bytes: [UInt8] = []
  private var offsets: [Int32] = []
  private var lengths: [Int32] = []
  private var values: [Value] = []
  private var slots: [Int32]
  private let mask: Int

  package init(_ entries: [(String, Value)]) {
    var size = 16
    while size < entries.count * 4 { size *= 2 }
    slots = [Int32](repeating: -1, count: size)
    mask = size - 1
    for (k, v) in entries {
      let key = Array(k.utf8)
      var i = key.withUnsafeBufferPointer { ByteTable.hash($0.baseAddress!, $0.count) } & mask
      while slots[i] >= 0 { i = (i + 1) & mask }
      slots[i] = Int32(values.count)
      offsets.append(Int32(bytes.count))
      lengths.append(Int32(key.count))
      bytes += key
      values.append(v)
    }
  }

  /// Eight bytes per step (a byte-at-a-time hash is a chain of dependent multiplies, slow for
  /// names such as ECONNREFUSED that the parser looks up over and over).
  @inline(__always)
  static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int {
    var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(truncatingIfNeeded: n)
    let raw = UnsafeRawPointer(p)
    var i = 0
    while i + 8 <= n {
      h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
      h ^= h >> 32
      i += 8
    }
    var tail: UInt64 = 0
    var shift: UInt64 = 0
    while i < n {
      tail |= UInt64(p[i]) << shift
      shift += 8
      i += 1
    }
    h = (h ^ tail) &* 0xC4CE_B9FE_1A85_EC53
    return Int(truncatingIfNeeded: h ^ (h >> 29))
  }

  package func lookup(_ p: UnsafePointer<UInt8>, _ n: Int) -> Value? {
    var i = ByteTable.hash(p, n) & mask
    return bytes.withUnsafeBufferPointer { keys -> Value? in
      while true {
        let s = Int(slots[i])
        if s < 0 { return nil }
        if Int(lengths[s]) == n && memEqual(keys.baseAddress! + Int(offsets[s]), p, n) { return values[s] }
        i = (i + 1) & mask
      }
    }
  }

  package func lookup(_ s: String) -> Value? {
    var s = s
    return s.withUTF8 { b in b.count == 0 ? nil : lookup(b.baseAddress!, b.count) }
  }

  package var names: [String] {
    (0..<values.count).map { String(decoding: bytes[Int(offsets[$0])..<Int(offsets[$0] + lengths[$0])], as: UTF8.self) }
  }
}

@inline(__always)
func memEqual(_ a: UnsafePointer<UInt8>, _ b: UnsafePointer<UInt8>, _ n: Int) -> Bool {
  for i in 0..<n where a[i] != b[i] { return false }
  return true
}
