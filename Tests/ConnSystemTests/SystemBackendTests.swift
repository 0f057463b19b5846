import ConnHost
import ConnRuntime
import ConnSyntax
import Foundation
import Testing

@testable import ConnSystem

/// The kernel backend's own duties: time limits, the descriptors that are not a scenario's, the
/// files a scenario leaves, the trace.
@Suite(.serialized) struct SystemBackendTests {
  @Test func aBlockingCallPastItsLimitTimesOutAndTheUsersInterruptIsAnAnswer() throws {
    var timer = CallTimer()
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer {
      close(fds[0])
      close(fds[1])
    }
    var byte: UInt8 = 0
    let start = Date()
    #expect(throws: BackendError.timedOut(.milliseconds(50))) {
      _ = try timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(50)) {
        Int32(read(fds[0], &byte, 1))
      }
    }
    #expect(Date().timeIntervalSince(start) < 2)
    let (rc, err) = try timer.bounded(mayBlock: true, interrupt: .milliseconds(20), limit: .seconds(5)) {
      Int32(read(fds[0], &byte, 1))
    }
    #expect(rc == -1 && err == EINTR)
  }

  /// The watchdog signals only a call that overruns: a thousand quick calls under a short limit,
  /// then a wait past it, see no signal; and every overrun of a loop is caught.
  @Test func theWatchdogSignalsOnlyCallsThatOverrun() throws {
    var timer = CallTimer()
    for _ in 0..<1000 {
      let (rc, _) = try timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(30)) { 0 }
      #expect(rc == 0)
    }
    var ts = timespec(tv_sec: 0, tv_nsec: 80_000_000)
    #expect(nanosleep(&ts, nil) == 0, "a signal came after the calls had ended")
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer {
      close(fds[0])
      close(fds[1])
    }
    var byte: UInt8 = 0
    for _ in 0..<5 {
      #expect(throws: BackendError.timedOut(.milliseconds(20))) {
        _ = try timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(20)) {
          Int32(read(fds[0], &byte, 1))
        }
      }
    }
  }

  /// A call's limit counts from the interpreter's last clock reading (taken right after the
  /// previous statement), once; a call with no fresh reading counts from its own start.
  @Test func theLimitCountsFromTheLastClockReadingOnce() throws {
    var timer = CallTimer()
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    defer {
      close(fds[0])
      close(fds[1])
    }
    var byte: UInt8 = 0
    _ = timer.now()
    usleep(150_000)
    // The 200 ms limit began 150 ms ago, at the reading: about 50 ms are left.
    var start = Date()
    #expect(throws: BackendError.timedOut(.milliseconds(200))) {
      _ = try timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(200)) {
        Int32(read(fds[0], &byte, 1))
      }
    }
    let first = Date().timeIntervalSince(start)
    #expect(first < 0.140, "the limit did not count from the reading: \(first)s")
    // The reading is used up: this call gets its whole 200 ms.
    start = Date()
    #expect(throws: BackendError.timedOut(.milliseconds(200))) {
      _ = try timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(200)) {
        Int32(read(fds[0], &byte, 1))
      }
    }
    let second = Date().timeIntervalSince(start)
    #expect(second >= 0.180, "a used reading was used again: \(second)s")
  }

  /// Several threads, each with its own limit, each timed out on its own.
  @Test func eachThreadHasItsOwnLimit() throws {
    final class Results: @unchecked Sendable {
      var times: [Double] = [0, 0, 0]
      let lock = NSLock()
    }
    let results = Results()
    let limits: [Int64] = [30, 90, 150]
    var threads: [Thread] = []
    for (k, ms) in limits.enumerated() {
      let t = Thread {
        var fds: [Int32] = [0, 0]
        _ = pipe(&fds)
        var byte: UInt8 = 0
        let start = Date()
        var timer = CallTimer()
        _ = try? timer.bounded(mayBlock: true, interrupt: nil, limit: .milliseconds(ms)) {
          Int32(read(fds[0], &byte, 1))
        }
        results.lock.lock()
        results.times[k] = Date().timeIntervalSince(start)
        results.lock.unlock()
        close(fds[0])
        close(fds[1])
      }
      threads.append(t)
      t.start()
    }
    let deadline = Date().addingTimeInterval(5)
    while results.times.contains(0) && Date() < deadline { usleep(10_000) }
    for (k, ms) in limits.enumerated() {
      #expect(results.times[k] >= Double(ms) / 1000 * 0.9, "thread \(k) stopped early: \(results.times[k])s")
      #expect(results.times[k] < Double(ms) / 1000 + 1, "thread \(k) stopped late: \(results.times[k])s")
    }
  }

  @Test func theToolsOwnDescriptorsAreRefused() throws {
    let b = SystemBackend()
    ReservedDescriptors.add(1234, as: "a test's pipe")
    defer { ReservedDescriptors.remove(1234) }
    #expect(
      throws: BackendError.refused("descriptor 1234 is conn's own (a test's pipe); a scenario may not use it")
    ) {
      try b.adopt(1234)
    }
    try b.adopt(999)
  }

  @Test func socketFilesAtAbsolutePathsAreRemovedIfStillTheirs() throws {
    let dir = NSTemporaryDirectory() + "conn-abs-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let b = SystemBackend()
    var lines: [String] = []
    b.trace = { lines.append($0.description) }
    try b.beginScenario(netRules: [])
    guard case .number(let fd) = try b.socket(SocketKind(.stream, .unix), nonblocking: false) else {
      throw Failed()
    }
    #expect(try b.bind(Descriptor(fd), .unix(dir + "/mine.sock")) == .ok)
    guard case .number(let fd2) = try b.socket(SocketKind(.stream, .unix), nonblocking: false) else {
      throw Failed()
    }
    #expect(try b.bind(Descriptor(fd2), .unix(dir + "/replaced.sock")) == .ok)
    // Someone else's file now stands at the second path: it is not the scenario's to remove.
    unlink(dir + "/replaced.sock")
    _ = FileManager.default.createFile(atPath: dir + "/replaced.sock", contents: Data("theirs".utf8))
    b.endScenario(closing: [Descriptor(fd), Descriptor(fd2)])
    #expect(!FileManager.default.fileExists(atPath: dir + "/mine.sock"))
    #expect(FileManager.default.fileExists(atPath: dir + "/replaced.sock"))
    #expect(lines.contains("unlink(\"\(dir)/mine.sock\") = 0  [cleanup]"))
  }

  @Test func relativePathsLiveInAPrivateDirectoryThatGoesAway() throws {
    let b = SystemBackend()
    try b.beginScenario(netRules: [])
    guard case .number(let fd) = try b.socket(SocketKind(.dgram, .unix), nonblocking: false) else {
      throw Failed()
    }
    #expect(try b.bind(Descriptor(fd), .unix("here.sock")) == .ok)
    #expect(b.localName(Descriptor(fd)) == .address(.unix("here.sock")))
    // This scenario's directory is the one holding here.sock (other processes make their own
    // meanwhile, so counting /tmp/conn-* would not say which went away).
    let mine = try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter {
      $0.hasPrefix("conn-") && FileManager.default.fileExists(atPath: "/tmp/\($0)/here.sock")
    }
    #expect(mine.count == 1)
    b.endScenario(closing: [Descriptor(fd)])
    for name in mine { #expect(!FileManager.default.fileExists(atPath: "/tmp/" + name)) }
  }

  @Test func theTraceReadsLikeStrace() throws {
    let b = SystemBackend()
    var lines: [String] = []
    b.trace = { lines.append($0.description) }
    try b.beginScenario(netRules: [])
    guard case .number(let fd) = try b.socket(SocketKind(.stream, .inet), nonblocking: true) else {
      throw Failed()
    }
    _ = try b.bind(Descriptor(fd), .inet(.loopback, port: 0))
    _ = try b.getOption(Descriptor(fd), .SO_ERROR)
    _ = b.close(Descriptor(fd))
    _ = try b.getOption(Descriptor(fd), .SO_TYPE)
    b.endScenario(closing: [])
    #expect(lines[0] == "socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, 0) = \(fd)")
    #expect(lines[1] == "bind(\(fd), {inet 127.0.0.1:0}, 16) = 0")
    #expect(lines[2] == "getsockopt(\(fd), SOL_SOCKET, SO_ERROR, [0]) = 0")
    #expect(lines[3] == "close(\(fd)) = 0")
    #expect(lines[4] == "getsockopt(\(fd), SOL_SOCKET, SO_TYPE) = -1 EBADF (Bad file descriptor)")
  }
}

struct Failed: Error {}
