#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims
import ConnHost
import ConnRuntime
import ConnSyntax

// Isolated runs: each scenario gets a network namespace of its own, with only loopback up and no
// route out, and its `net` statements made real inside it with iproute2. The namespace belongs
// to the calling thread alone (unshare(CLONE_NEWNET) moves one thread), so the rest of the
// process, and the host, never see it; it disappears when the next scenario replaces it or the
// process ends.
//
// Safety: `ip` runs only after the thread's namespace has been checked to be the fresh one just
// made; if anything about that fails, nothing is run at all.

package struct IsolationError: Error, Sendable {
  package var message: String
  /// The `net` statement that could not be made real, if one is to blame.
  package var range: SourceRange?
}

package enum Isolation {
  /// Why namespaces cannot be made here, or nil when they can.
  package static let unavailableReason: String? = {
    #if os(Linux)
      let e = conn_probe_unshare_net()
      if e == 0 { return nil }
      if e == EPERM { return "creating a network namespace needs root (CAP_SYS_ADMIN): unshare said EPERM" }
      return "cannot create a network namespace: unshare said \(Platform.strerror(e))"
    #else
      return "network namespaces exist only on Linux"
    #endif
  }()

  /// iproute2's `ip`, looked up once.
  static let ipPath: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
    access($0, X_OK) == 0
  }

  /// Moves the calling thread into a fresh network namespace with loopback up, then applies the
  /// rules. On error the thread may be left in a fresh (harmless) namespace, never in the host's
  /// with changes.
  /// Returns the namespace's identity, which the kernel backend checks again before it lets a
  /// connect leave loopback.
  @discardableResult
  package static func enter(rules: [(NetRule, SourceRange)]) throws(IsolationError) -> UInt64 {
    if let why = unavailableReason { throw IsolationError(message: why) }
    let before = conn_netns_inode()
    if conn_unshare_net() != 0 {
      throw IsolationError(message: "unshare(CLONE_NEWNET) failed: \(Platform.strerror(errno))")
    }
    let mine = conn_netns_inode()
    guard mine != 0, mine != before else {
      throw IsolationError(message: "the new network namespace could not be confirmed; nothing was changed")
    }
    if conn_loopback_up() != 0 {
      throw IsolationError(
        message: "cannot bring loopback up in the new namespace: \(Platform.strerror(errno))")
    }
    try apply(rules, namespace: mine)
    return mine
  }

  /// The `ip -batch` line for a rule, or nil when the rule is not a route or address.
  static func ipCommand(_ rule: NetRule) -> String? {
    switch rule {
    case .route(let p, .unreachable): return "route add unreachable \(p.description)"
    case .route(let p, .prohibit): return "route add prohibit \(p.description)"
    case .route(let p, .blackhole): return "route add blackhole \(p.description)"
    // Out through loopback to an address that is not local: the packet is dropped on the way
    // back in (no forwarding), with no answer. SYNs vanish.
    case .route(let p, .silent): return "route add \(p.description) dev lo"
    // Like 127.0.0.0/8, the whole prefix becomes local.
    case .address(let p): return "addr add \(p.description) dev lo"
    case .ports: return nil
    }
  }

  static func apply(_ rules: [(NetRule, SourceRange)], namespace: UInt64) throws(IsolationError) {
    var lines: [String] = []
    var ranges: [SourceRange] = []
    for (rule, range) in rules {
      if case .ports(let lo, let hi) = rule {
        try setPortRange(lo, hi, range: range, namespace: namespace)
        continue
      }
      if let c = ipCommand(rule) {
        lines.append(c)
        ranges.append(range)
      }
    }
    if lines.isEmpty { return }
    guard let ip = ipPath else {
      throw IsolationError(
        message: "'net' statements need iproute2's ip command, which is not installed", range: ranges.first)
    }
    guard conn_netns_inode() == namespace else {
      throw IsolationError(
        message: "refusing to run ip: this thread is not in its private namespace", range: ranges.first)
    }
    guard let p = Subprocess(path: ip, arguments: ["-batch", "-"], mergeStandardError: true) else {
      throw IsolationError(message: "cannot start \(ip)", range: ranges.first)
    }
    p.send(lines.joined(separator: "\n"))
    p.closeInput()
    // Bounded: ip gets 10 seconds, then it is killed.
    var output: [String] = []
    let deadline = Host.monotonicNow() + 10_000_000_000
    var timedOut = false
    while true {
      let left = deadline - Host.monotonicNow()
      if left <= 0 {
        timedOut = true
        p.kill()
        break
      }
      if Subprocess.waitReadable([p], timeoutMilliseconds: Int32(min(left / 1_000_000, 1000))).isEmpty {
        continue
      }
      guard let more = p.readLines() else { break }
      if output.count < 100 { output += more }
    }
    let status = p.finish()
    if timedOut { throw IsolationError(message: "ip did not finish within 10s", range: ranges.first) }
    if status != 0 {
      // "Command failed -:N" names the batch line that failed.
      var failed = 0
      let marker = "Command failed -:"
      for l in output where l.hasPrefix(marker) {
        failed = Int(l.dropFirst(marker.count).prefix { $0.isNumber }) ?? 0
      }
      let detail = output.filter { !$0.hasPrefix("Command failed") }.joined(separator: "; ")
      let index = failed > 0 && failed <= ranges.count ? failed - 1 : 0
      throw IsolationError(
        message: "ip \(lines[index]): \(detail.isEmpty ? "failed (status \(status))" : detail)",
        range: ranges[index])
    }
  }

  static func setPortRange(_ lo: UInt16, _ hi: UInt16, range: SourceRange, namespace: UInt64)
    throws(IsolationError)
  {
    guard conn_netns_inode() == namespace else {
      throw IsolationError(
        message: "refusing to change the port range: this thread is not in its private namespace",
        range: range)
    }
    // /proc/sys/net resolves to the opening thread's namespace: this one.
    let fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC)
    if fd < 0 {
      throw IsolationError(
        message: "cannot open ip_local_port_range: \(Platform.strerror(errno))", range: range)
    }
    defer { _ = sysClose(fd) }
    if !Host.writeAll(fd, "\(lo) \(hi)\n") {
      throw IsolationError(
        message: "the kernel refused the port range \(lo)-\(hi): \(Platform.strerror(errno))", range: range)
    }
  }
}
