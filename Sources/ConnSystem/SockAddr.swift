#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims
import ConnRuntime
import ConnSyntax

/// Socket constants whose Swift spelling differs between Glibc and Darwin.
enum SocketConstants {
  #if canImport(Glibc) || canImport(Musl)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let dgram = Int32(SOCK_DGRAM.rawValue)
    static let seqpacket = Int32(SOCK_SEQPACKET.rawValue)
    static let raw = Int32(SOCK_RAW.rawValue)
    static let cloexec = Int32(SOCK_CLOEXEC.rawValue)
    static let nonblock = Int32(SOCK_NONBLOCK.rawValue)
    static let ipprotoTCP = Int32(IPPROTO_TCP)
    static let ipprotoIP = Int32(IPPROTO_IP)
    static let ipprotoIPv6 = Int32(IPPROTO_IPV6)
  #else
    static let stream = SOCK_STREAM
    static let dgram = SOCK_DGRAM
    static let seqpacket = SOCK_SEQPACKET
    static let raw = SOCK_RAW
    static let cloexec: Int32 = 0
    static let nonblock: Int32 = 0
    static let ipprotoTCP = IPPROTO_TCP
    static let ipprotoIP = IPPROTO_IP
    static let ipprotoIPv6 = IPPROTO_IPV6
  #endif

  /// (level, name) for setsockopt/getsockopt; nil where the platform has no such option.
  static func option(_ o: SocketOption) -> (Int32, Int32)? {
    switch o {
    case .SO_ERROR: return (SOL_SOCKET, SO_ERROR)
    case .SO_TYPE: return (SOL_SOCKET, SO_TYPE)
    case .SO_ACCEPTCONN: return (SOL_SOCKET, SO_ACCEPTCONN)
    case .SO_BROADCAST: return (SOL_SOCKET, SO_BROADCAST)
    case .SO_REUSEADDR: return (SOL_SOCKET, SO_REUSEADDR)
    case .SO_REUSEPORT: return (SOL_SOCKET, SO_REUSEPORT)
    case .SO_KEEPALIVE: return (SOL_SOCKET, SO_KEEPALIVE)
    case .SO_LINGER: return (SOL_SOCKET, SO_LINGER)
    case .SO_SNDTIMEO: return (SOL_SOCKET, SO_SNDTIMEO)
    case .SO_RCVTIMEO: return (SOL_SOCKET, SO_RCVTIMEO)
    case .SO_SNDBUF: return (SOL_SOCKET, SO_SNDBUF)
    case .SO_RCVBUF: return (SOL_SOCKET, SO_RCVBUF)
    case .TCP_NODELAY: return (ipprotoTCP, TCP_NODELAY)
    case .IPV6_V6ONLY: return (ipprotoIPv6, IPV6_V6ONLY)
    case .IPV6_ADDRFORM: return (ipprotoIPv6, 1)
    #if os(Linux)
      case .SO_DOMAIN: return (SOL_SOCKET, 39)
      case .TCP_SYNCNT: return (ipprotoTCP, 7)
      case .TCP_USER_TIMEOUT: return (ipprotoTCP, 18)
      case .TCP_FASTOPEN_CONNECT: return (ipprotoTCP, 30)
      case .TCP_FASTOPEN: return (ipprotoTCP, 23)
      case .IP_FREEBIND: return (ipprotoIP, 15)
      case .IP_BIND_ADDRESS_NO_PORT: return (ipprotoIP, 24)
    #else
      default: return nil
    #endif
    }
  }

  static func levelName(_ l: Int32) -> String {
    switch l {
    case SOL_SOCKET: return "SOL_SOCKET"
    case ipprotoTCP: return "IPPROTO_TCP"
    case ipprotoIPv6: return "IPPROTO_IPV6"
    case ipprotoIP: return "IPPROTO_IP"
    default: return "\(l)"
    }
  }

  static let pollMap: [(PollEvents, Int16)] = {
    var m: [(PollEvents, Int16)] = [
      (.readable, Int16(POLLIN)), (.writable, Int16(POLLOUT)), (.error, Int16(POLLERR)),
      (.hangup, Int16(POLLHUP)),
      (.priority, Int16(POLLPRI)), (.invalid, Int16(POLLNVAL)),
    ]
    #if os(Linux)
      m.append((.readHangup, 0x2000))
    #endif
    return m
  }()

  static func pollBits(_ e: PollEvents) -> Int16 {
    var b: Int16 = 0
    for (k, v) in pollMap where e.contains(k) { b |= v }
    return b
  }

  static func pollEvents(_ b: Int16) -> PollEvents {
    var e = PollEvents()
    for (k, v) in pollMap where b & v != 0 { e.insert(k) }
    return e
  }
}

/// A sockaddr_storage with conversions to and from the language's `SocketAddress`.
struct SockAddr {
  var storage = sockaddr_storage()

  mutating func withPointer<R>(_ body: (UnsafeMutablePointer<sockaddr>) -> R) -> R {
    withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
  }

  /// Fills the storage; returns the length a C program would pass.
  mutating func encode(_ a: SocketAddress, dir: () -> String, abstractPrefix: String) -> socklen_t {
    storage = sockaddr_storage()
    switch a {
    case .inet(let ip, let port):
      return withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
          sin.pointee.sin_family = sa_family_t(AF_INET)
          sin.pointee.sin_port = port.bigEndian
          sin.pointee.sin_addr.s_addr = ip.value.bigEndian
          return socklen_t(MemoryLayout<sockaddr_in>.size)
        }
      }
    case .inet6(let ip, let port, let scope):
      var scopeID: UInt32 = 0
      if let s = scope {
        scopeID = UInt32(s) ?? if_nametoindex(s)
      }
      return withUnsafeMutablePointer(to: &storage) {
        $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
          sin6.pointee.sin6_family = sa_family_t(AF_INET6)
          sin6.pointee.sin6_port = port.bigEndian
          sin6.pointee.sin6_scope_id = scopeID
          let bytes = ip.bytes
          withUnsafeMutableBytes(of: &sin6.pointee.sin6_addr) { raw in
            for i in 0..<16 { raw[i] = bytes[i] }
          }
          return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
      }
    case .unix(let path):
      let full = path.hasPrefix("/") ? path : dir() + "/" + path
      return encodeUnix(Array(full.utf8), abstract: false)
    case .abstract(let name):
      return encodeUnix(Array((abstractPrefix + name).utf8), abstract: true)
    case .unspec:
      withPointer { $0.pointee.sa_family = sa_family_t(AF_UNSPEC) }
      return socklen_t(MemoryLayout<sockaddr>.size)
    case .netlink(let pid, let groups):
      // struct sockaddr_nl: family, pad, nl_pid, nl_groups.
      withUnsafeMutableBytes(of: &storage) { raw in
        raw.storeBytes(of: sa_family_t(AF_NETLINK), toByteOffset: 0, as: sa_family_t.self)
        raw.storeBytes(of: pid, toByteOffset: 4, as: UInt32.self)
        raw.storeBytes(of: groups, toByteOffset: 8, as: UInt32.self)
      }
      return 12
    case .packet(let proto, let ifindex):
      // struct sockaddr_ll: family, protocol (network order), ifindex, then zeros.
      withUnsafeMutableBytes(of: &storage) { raw in
        raw.storeBytes(of: sa_family_t(AF_PACKET), toByteOffset: 0, as: sa_family_t.self)
        raw.storeBytes(of: proto.bigEndian, toByteOffset: 2, as: UInt16.self)
        raw.storeBytes(of: ifindex, toByteOffset: 4, as: Int32.self)
      }
      return 20
    }
  }

  private mutating func encodeUnix(_ bytes: [UInt8], abstract: Bool) -> socklen_t {
    let offset = Int(conn_sun_path_offset())
    let capacity = MemoryLayout<sockaddr_un>.size - offset
    let start = abstract ? 1 : 0
    let n = min(bytes.count, capacity - start - (abstract ? 0 : 1))
    withUnsafeMutableBytes(of: &storage) { raw in
      raw.storeBytes(of: sa_family_t(AF_UNIX), toByteOffset: 0, as: sa_family_t.self)
      if abstract { raw[offset] = 0 }
      for i in 0..<n { raw[offset + start + i] = bytes[i] }
    }
    // Abstract names count exactly; paths include their terminating NUL, as most programs pass.
    return socklen_t(offset + start + n + (abstract ? 0 : 1))
  }

  /// Reads back what the kernel wrote (getsockname, getpeername, accept).
  func decode(_ len: socklen_t, dir: String?, abstractPrefix: String) -> SocketAddress {
    var s = storage
    let family = Int32(s.ss_family)
    switch family {
    case AF_INET:
      return withUnsafePointer(to: &s) {
        $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
          .inet(
            IPv4Address(UInt32(bigEndian: sin.pointee.sin_addr.s_addr)),
            port: UInt16(bigEndian: sin.pointee.sin_port))
        }
      }
    case AF_INET6:
      return withUnsafePointer(to: &s) {
        $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
          let bytes = withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
          let scope = sin6.pointee.sin6_scope_id
          return .inet6(
            IPv6Address(bytes: bytes), port: UInt16(bigEndian: sin6.pointee.sin6_port),
            scope: scope == 0 ? nil : "\(scope)")
        }
      }
    case AF_UNIX:
      let offset = Int(conn_sun_path_offset())
      let n = Int(len) - offset
      if n <= 0 { return .unix("") }
      let raw = withUnsafeBytes(of: &s) { Array($0[offset..<(offset + n)]) }
      if raw[0] == 0 {
        var name = String(decoding: raw[1...], as: UTF8.self)
        if name.hasPrefix(abstractPrefix) { name.removeFirst(abstractPrefix.count) }
        return .abstract(name)
      }
      let end = raw.firstIndex(of: 0) ?? raw.count
      var path = String(decoding: raw[..<end], as: UTF8.self)
      if let d = dir, path.hasPrefix(d + "/") { path.removeFirst(d.count + 1) }
      return .unix(path)
    case AF_NETLINK:
      return withUnsafeBytes(of: &s) {
        .netlink(
          pid: $0.load(fromByteOffset: 4, as: UInt32.self),
          groups: $0.load(fromByteOffset: 8, as: UInt32.self))
      }
    case AF_PACKET:
      return withUnsafeBytes(of: &s) {
        .packet(
          proto: UInt16(bigEndian: $0.load(fromByteOffset: 2, as: UInt16.self)),
          ifindex: $0.load(fromByteOffset: 4, as: Int32.self))
      }
    default:
      return .unspec
    }
  }

  /// strace-like rendering: `{inet 127.0.0.1:80}`.
  func describe(_ len: socklen_t) -> String {
    let fam = Int32(storage.ss_family)
    let a = decode(len, dir: nil, abstractPrefix: "")
    switch fam {
    case AF_INET: return "{inet \(a.description)}"
    case AF_INET6: return "{inet6 \(a.description)}"
    case AF_UNIX: return "{unix \(a.description)}"
    case AF_UNSPEC: return "{unspec}"
    case AF_NETLINK, AF_PACKET: return TraceRecord.show(a)
    default: return "{family \(fam)}"
    }
  }
}
