import CConnShims
import ConnHost
import Foundation
import Testing

@Suite struct FilesTests {
  @Test func devicesAreRefusedWithoutReadingThem() throws {
    let start = Date()
    #expect(throws: HostError.notRegular("/dev/zero", "a character device")) {
      try Host.readFile("/dev/zero")
    }
    #expect(Date().timeIntervalSince(start) < 1)
  }

  @Test func theSizeLimitHoldsWhileReadingAPipe() throws {
    // A pipe has no size to look at: the limit is checked as the bytes come. (The writer goes on
    // after the reader gave up: its writes fail with EPIPE, as they do in conn, which ignores
    // SIGPIPE.)
    signal(SIGPIPE, SIG_IGN)
    var fds: [Int32] = [0, 0]
    #expect(pipe(&fds) == 0)
    let (readEnd, writeEnd) = (fds[0], fds[1])
    let writer = Thread {
      let chunk = [UInt8](repeating: 0x41, count: 4096)
      for _ in 0..<64 { _ = chunk.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) } }
      close(writeEnd)
    }
    writer.start()
    defer { close(readEnd) }
    #expect(throws: HostError.tooLarge("/dev/fd/\(readEnd)", 10_000)) {
      try Host.readFile("/dev/fd/\(readEnd)", limit: 10_000)
    }
  }

  @Test func aFIFOWithNoWriterDoesNotHang() throws {
    let path = NSTemporaryDirectory() + "conn-fifo-" + UUID().uuidString
    #expect(mkfifo(path, 0o600) == 0)
    defer { unlink(path) }
    let start = Date()
    #expect(try Host.readFile(path).isEmpty)
    #expect(Date().timeIntervalSince(start) < 1)
  }

  @Test func symbolicLinkLoopsAreWalkedOnce() throws {
    let dir = NSTemporaryDirectory() + "conn-walk-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    _ = FileManager.default.createFile(atPath: dir + "/sub/a.conn", contents: nil)
    try FileManager.default.createSymbolicLink(atPath: dir + "/sub/l1", withDestinationPath: ".")
    try FileManager.default.createSymbolicLink(atPath: dir + "/sub/l2", withDestinationPath: "..")
    let found = Host.scenarioFiles(under: dir)
    #expect(found == [dir + "/sub/a.conn"])
  }

  @Test func filesTheToolWritesBelongToItsRealUser() throws {
    guard getuid() == 0 else { return }
    let path = NSTemporaryDirectory() + "conn-save-" + UUID().uuidString
    defer { unlink(path) }
    #expect(conn_setfsuid(65534, 65534) == 0)
    defer { _ = conn_setfsuid(0, 0) }
    try Host.writeFile(path, "saved\n")
    #expect(conn_current_fsuid() == 65534, "the thread's identity is given back")
    _ = conn_setfsuid(0, 0)
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    #expect((attributes[.ownerAccountID] as? Int) == 0)
  }

  @Test func reservedDescriptorsAreKnownByWhatTheyAre() {
    ReservedDescriptors.add(987_654, as: "a test's pipe")
    #expect(ReservedDescriptors.owner(of: 987_654) == "a test's pipe")
    ReservedDescriptors.remove(987_654)
    #expect(ReservedDescriptors.owner(of: 987_654) == nil)
  }
}
