#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("unsupported platform")
#endif
import CConnShims
import ConnRuntime
import ConnSyntax

// Errno numbers come from the platform's own constants: they differ between Linux and Darwin.
// This is where the kernel's numbers become the language's names, and the only place.

enum Platform {
  /// Errno names to this platform's numbers.
  static let errnoNumbers: [(Errno, Int32)] = [
    (.EPERM, EPERM), (.ENOENT, ENOENT), (.ESRCH, ESRCH), (.EINTR, EINTR), (.EIO, EIO), (.ENXIO, ENXIO),
    (.E2BIG, E2BIG), (.ENOEXEC, ENOEXEC), (.EBADF, EBADF), (.ECHILD, ECHILD), (.EAGAIN, EAGAIN),
    (.ENOMEM, ENOMEM), (.EACCES, EACCES), (.EFAULT, EFAULT), (.EBUSY, EBUSY), (.EEXIST, EEXIST),
    (.EXDEV, EXDEV), (.ENODEV, ENODEV), (.ENOTDIR, ENOTDIR), (.EISDIR, EISDIR), (.EINVAL, EINVAL),
    (.ENFILE, ENFILE), (.EMFILE, EMFILE), (.ENOTTY, ENOTTY), (.ETXTBSY, ETXTBSY), (.EFBIG, EFBIG),
    (.ENOSPC, ENOSPC), (.ESPIPE, ESPIPE), (.EROFS, EROFS), (.EMLINK, EMLINK), (.EPIPE, EPIPE),
    (.EDOM, EDOM), (.ERANGE, ERANGE), (.EDEADLK, EDEADLK), (.ENAMETOOLONG, ENAMETOOLONG),
    (.ENOLCK, ENOLCK), (.ENOSYS, ENOSYS), (.ENOTEMPTY, ENOTEMPTY), (.ELOOP, ELOOP), (.ENOMSG, ENOMSG),
    (.EIDRM, EIDRM), (.ENOSTR, ENOSTR), (.ENODATA, ENODATA), (.ETIME, ETIME), (.ENOSR, ENOSR),
    (.EREMOTE, EREMOTE), (.ENOLINK, ENOLINK), (.EPROTO, EPROTO), (.EBADMSG, EBADMSG),
    (.EOVERFLOW, EOVERFLOW), (.EILSEQ, EILSEQ), (.EUSERS, EUSERS), (.ENOTSOCK, ENOTSOCK),
    (.EDESTADDRREQ, EDESTADDRREQ), (.EMSGSIZE, EMSGSIZE), (.EPROTOTYPE, EPROTOTYPE),
    (.ENOPROTOOPT, ENOPROTOOPT), (.EPROTONOSUPPORT, EPROTONOSUPPORT), (.ESOCKTNOSUPPORT, ESOCKTNOSUPPORT),
    (.EOPNOTSUPP, EOPNOTSUPP), (.EPFNOSUPPORT, EPFNOSUPPORT), (.EAFNOSUPPORT, EAFNOSUPPORT),
    (.EADDRINUSE, EADDRINUSE), (.EADDRNOTAVAIL, EADDRNOTAVAIL), (.ENETDOWN, ENETDOWN),
    (.ENETUNREACH, ENETUNREACH), (.ENETRESET, ENETRESET), (.ECONNABORTED, ECONNABORTED),
    (.ECONNRESET, ECONNRESET), (.ENOBUFS, ENOBUFS), (.EISCONN, EISCONN), (.ENOTCONN, ENOTCONN),
    (.ESHUTDOWN, ESHUTDOWN), (.ETOOMANYREFS, ETOOMANYREFS), (.ETIMEDOUT, ETIMEDOUT),
    (.ECONNREFUSED, ECONNREFUSED), (.EHOSTDOWN, EHOSTDOWN), (.EHOSTUNREACH, EHOSTUNREACH),
    (.EALREADY, EALREADY), (.EINPROGRESS, EINPROGRESS), (.ESTALE, ESTALE), (.EDQUOT, EDQUOT),
    (.ECANCELED, ECANCELED), (.EOWNERDEAD, EOWNERDEAD), (.ENOTRECOVERABLE, ENOTRECOVERABLE),
  ]

  /// Number -> name, for the kernel's answers.
  static let errnoByNumber: [Errno?] = {
    var t = [Errno?](repeating: nil, count: 256)
    for (e, n) in errnoNumbers where n >= 0 && n < 256 && t[Int(n)] == nil { t[Int(n)] = e }
    return t
  }()

  static let numberByErrno: [Int32] = {
    var t = [Int32](repeating: -1, count: Errno.allCases.count)
    for (e, n) in errnoNumbers { t[Int(e.rawValue)] = n }
    return t
  }()

  static func number(of e: Errno) -> Int32 { numberByErrno[Int(e.rawValue)] }

  /// The outcome for a failed call: the errno exactly as the kernel set it.
  static func failure(_ n: Int32) -> Outcome {
    if n >= 0 && n < 256, let e = errnoByNumber[Int(n)] { return .failure(e) }
    let name = conn_errno_name(n).map { String(cString: $0) }
    return .unknownErrno(n, name: name)
  }

  static func strerror(_ n: Int32) -> String {
    guard let p = strerrorText(n) else { return "errno \(n)" }
    return String(cString: p)
  }

  static func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
  }
}

/// The number an errno has on this platform, for `conn explain`.
package func platformErrnoNumber(_ e: Errno) -> Int32 { Platform.number(of: e) }

/// The errno a platform number stands for, if the language names it.
package func platformErrno(number n: Int32) -> Errno? {
  n >= 0 && n < 256 ? Platform.errnoByNumber[Int(n)] : nil
}

private func strerrorText(_ n: Int32) -> UnsafeMutablePointer<CChar>? { strerror(n) }

// File-scope wrappers: inside types whose methods share these names (socket, close, connect...),
// the C functions are reached through these, on every platform alike.
@inline(__always) func sysSocket(_ d: Int32, _ t: Int32, _ p: Int32) -> Int32 { socket(d, t, p) }
@inline(__always) func sysOpen(_ path: String, _ flags: Int32) -> Int32 { open(path, flags) }
@inline(__always) func sysBind(_ fd: Int32, _ a: UnsafePointer<sockaddr>, _ l: socklen_t) -> Int32 {
  bind(fd, a, l)
}
@inline(__always) func sysListen(_ fd: Int32, _ b: Int32) -> Int32 { listen(fd, b) }
@inline(__always) func sysConnect(_ fd: Int32, _ a: UnsafePointer<sockaddr>?, _ l: socklen_t) -> Int32 {
  connect(fd, a, l)
}
@inline(__always) func sysShutdown(_ fd: Int32, _ h: Int32) -> Int32 { shutdown(fd, h) }
@inline(__always) func sysClose(_ fd: Int32) -> Int32 { close(fd) }
@inline(__always) func sysSend(_ fd: Int32, _ b: UnsafeRawPointer?, _ n: Int, _ f: Int32) -> Int {
  send(fd, b, n, f)
}
@inline(__always) func sysRecv(_ fd: Int32, _ b: UnsafeMutableRawPointer?, _ n: Int, _ f: Int32) -> Int {
  recv(fd, b, n, f)
}
@inline(__always) func sysWrite(_ fd: Int32, _ b: UnsafeRawPointer?, _ n: Int) -> Int { write(fd, b, n) }
@inline(__always) func sysRead(_ fd: Int32, _ b: UnsafeMutableRawPointer?, _ n: Int) -> Int { read(fd, b, n) }
