import CConnShims
import ConnHost
import Foundation
import Testing

/// The private directory is made by the real identity and removed without ever following a
/// link out of it (issue 12, item 1).
@Suite(.serialized) struct PrivateDirectoryTests {
  func make() throws -> PrivateDirectory {
    switch PrivateDirectory.make() {
    case .success(let d): return d
    case .failure(let e): throw e
    }
  }

  @Test func madeWithMode0700AndRemovedWithWhatItHolds() throws {
    let d = try make()
    let attributes = try FileManager.default.attributesOfItem(atPath: d.path)
    #expect((attributes[.posixPermissions] as? Int) == 0o700)
    #expect(d.path.hasPrefix("/tmp/conn-") && d.path.utf8.count + 1 == PrivateDirectory.pathPrefixLength)
    try FileManager.default.createDirectory(atPath: d.path + "/sub/deeper", withIntermediateDirectories: true)
    _ = FileManager.default.createFile(atPath: d.path + "/sub/deeper/f", contents: Data("x".utf8))
    _ = FileManager.default.createFile(atPath: d.path + "/g", contents: nil)
    d.remove()
    #expect(!FileManager.default.fileExists(atPath: d.path))
  }

  @Test func linksInsideAreRemovedAsLinksNotFollowed() throws {
    let victim = NSTemporaryDirectory() + "conn-victim-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: victim) }
    _ = FileManager.default.createFile(atPath: victim + "/precious", contents: Data("keep".utf8))
    let d = try make()
    try FileManager.default.createSymbolicLink(atPath: d.path + "/link-to-dir", withDestinationPath: victim)
    try FileManager.default.createSymbolicLink(
      atPath: d.path + "/link-to-file", withDestinationPath: victim + "/precious")
    d.remove()
    #expect(!FileManager.default.fileExists(atPath: d.path))
    #expect(FileManager.default.fileExists(atPath: victim + "/precious"))
  }

  @Test func aDirectoryReplacedByALinkIsNeverEmptiedThroughIt() throws {
    let victim = NSTemporaryDirectory() + "conn-victim-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: victim, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: victim) }
    _ = FileManager.default.createFile(atPath: victim + "/precious", contents: Data("keep".utf8))
    let d = try make()
    // Someone moves the directory away and puts a link to the victim in its place.
    let moved = d.path + "-moved"
    #expect(rename(d.path, moved) == 0)
    defer { try? FileManager.default.removeItem(atPath: moved) }
    try FileManager.default.createSymbolicLink(atPath: d.path, withDestinationPath: victim)
    defer { unlink(d.path) }
    d.remove()
    #expect(FileManager.default.fileExists(atPath: victim + "/precious"), "the cleanup followed the link")
    #expect(FileManager.default.fileExists(atPath: d.path), "the planted link is not ours to remove")
  }

  @Test func madeByTheRealIdentityWhateverTheThreadsFileSystemIdentity() throws {
    guard getuid() == 0 else { return }  // changing the file-system identity needs root
    #expect(conn_setfsuid(65534, 65534) == 0)
    let result = PrivateDirectory.make()
    _ = conn_setfsuid(0, 0)
    guard case .success(let d) = result else {
      Issue.record("could not make the directory")
      return
    }
    defer { d.remove() }
    let attributes = try FileManager.default.attributesOfItem(atPath: d.path)
    #expect((attributes[.ownerAccountID] as? Int) == 0)
  }

  @Test func staleDirectoriesOfGoneProcessesAreRemovedLiveOnesKept() throws {
    let live = try make()
    defer { live.remove() }
    // A directory like one a killed process left: nobody holds its lock.
    var template = Array("/tmp/conn-XXXXXX".utf8CString)
    let stale = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    _ = FileManager.default.createFile(atPath: stale + "/x.sock", contents: nil)
    // Names close to a private directory's, which are not one: kept.
    let tag = String(UInt32.random(in: 0..<UInt32.max), radix: 36)
    let others = ["/tmp/conn-\(tag)\(tag)", "/tmp/conn-\(tag.prefix(5))", "/tmp/conn_\(tag.prefix(6))"].filter
    {
      $0.utf8.count != "/tmp/conn-XXXXXX".utf8.count || !$0.hasPrefix("/tmp/conn-")
    }
    for o in others { try FileManager.default.createDirectory(atPath: o, withIntermediateDirectories: false) }
    defer { for o in others { try? FileManager.default.removeItem(atPath: o) } }
    let removed = PrivateDirectory.removeStale()
    for o in others { #expect(FileManager.default.fileExists(atPath: o), "\(o) was removed") }
    // Gone: removed by this call, or by a `conn run` another test started meanwhile (every run
    // removes stale directories when it starts, with this same function).
    #expect(!FileManager.default.fileExists(atPath: stale), "removed: \(removed)")
    #expect(!removed.contains(live.path))
    #expect(FileManager.default.fileExists(atPath: live.path))
  }
}
