#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// A scenario's private directory (`/tmp/conn-XXXXXX`), where its relative Unix paths live.
//
// - It is made by the tool's real identity (mode 0700), whatever file-system identity a `user`
//   statement gave the thread, so no other user can replace it.
// - It is removed through a descriptor opened on it when it was made, never by path: entries are
//   unlinked relative to that descriptor, subdirectories are opened with O_NOFOLLOW, and the
//   directory itself is removed only if its path still leads to the same inode. A symbolic link
//   planted anywhere in it is removed as a link; nothing outside is ever touched.
// - While it exists, the process holds an exclusive flock on it. A directory whose lock can be
//   taken belongs to a process that is gone (killed with SIGKILL): `removeStale()` (run at the
//   start of `conn run`, and by `conn clean`) removes those.

package final class PrivateDirectory {
  package static let parent = "/tmp"
  package static let namePrefix = "conn-"
  /// The length of a private directory's path plus the slash after it (`/tmp/conn-XXXXXX/`).
  package static let pathPrefixLength = parent.utf8.count + 1 + namePrefix.utf8.count + 6 + 1

  package let path: String
  private var fd: Int32
  /// A descriptor open on the directory (file statements resolve beneath it); -1 once removed.
  package var descriptor: Int32 { fd }

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
  }

  /// Makes a fresh private directory, as the real user; nil (with the reason) if it cannot.
  package static func make() -> Result<PrivateDirectory, HostError> {
    Host.asRealIdentity { () -> Result<PrivateDirectory, HostError> in
      var template = Array("\(parent)/\(namePrefix)XXXXXX".utf8CString)
      let made = template.withUnsafeMutableBufferPointer { b -> String? in
        guard let p = mkdtemp(b.baseAddress!) else { return nil }
        return String(cString: p)
      }
      guard let dir = made else { return .failure(.unreadable(parent, systemErrorText(errno))) }
      let fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if fd < 0 {
        let e = errno
        rmdir(dir)
        return .failure(.unreadable(dir, systemErrorText(e)))
      }
      _ = flock(fd, LOCK_EX | LOCK_NB)
      ReservedDescriptors.add(fd, as: "the scenario's private directory")
      return .success(PrivateDirectory(path: dir, fd: fd))
    }
  }

  deinit { remove() }

  /// Removes the directory and everything in it (see the top of the file). Safe to call again.
  package func remove() {
    guard fd >= 0 else { return }
    Host.asRealIdentity {
      Self.empty(fd, depth: 0)
      var mine = stat()
      var there = stat()
      if fstat(fd, &mine) == 0 && lstat(path, &there) == 0 && mine.st_dev == there.st_dev
        && mine.st_ino == there.st_ino
        && there.st_mode & S_IFMT == S_IFDIR
      {
        _ = unlinkat(AT_FDCWD, path, AT_REMOVEDIR)
      }
    }
    ReservedDescriptors.remove(fd)
    _ = close(fd)
    fd = -1
  }

  /// Unlinks everything in the directory open on `dir`, descending into real subdirectories
  /// (never through a link), at most 16 levels deep and 100,000 entries in all.
  private static func empty(_ dir: Int32, depth: Int) {
    guard depth < 16 else { return }
    let copy = dup(dir)
    guard copy >= 0, let dp = fdopendir(copy) else {
      if copy >= 0 { _ = close(copy) }
      return
    }
    defer { closedir(dp) }
    var names: [String] = []
    while let ent = readdir(dp), names.count < 100_000 {
      let n = withUnsafePointer(to: ent.pointee.d_name) { p in
        p.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
      }
      if n != "." && n != ".." { names.append(n) }
    }
    for n in names {
      if unlinkat(dir, n, 0) == 0 { continue }
      // A directory: empty it through a descriptor of its own, then remove it.
      var sub = openat(dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      if sub < 0 && errno == EACCES {
        // A scenario's chmod took the owner's own rights away: give them back (never through
        // a link), then open it.
        _ = conn_chmod_nofollow(dir, n, 0o700)
        sub = openat(dir, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      }
      if sub >= 0 {
        empty(sub, depth: depth + 1)
        _ = close(sub)
        _ = unlinkat(dir, n, AT_REMOVEDIR)
      }
    }
  }

  /// Removes the private directories of processes that are gone: those in /tmp named
  /// `conn-XXXXXX`, owned by this user, whose lock nobody holds. Returns their paths.
  @discardableResult
  package static func removeStale() -> [String] {
    guard let dp = opendir(parent) else { return [] }
    var candidates: [String] = []
    // Every `conn run` reads all of /tmp, which may hold thousands of entries: a name is looked
    // at as bytes, and becomes a String only when it is `conn-` and six more.
    let prefix = Array(namePrefix.utf8)
    let length = prefix.count + 6
    while let ent = readdir(dp), candidates.count < 10_000 {
      let n = withUnsafePointer(to: ent.pointee.d_name) { p in
        p.withMemoryRebound(to: UInt8.self, capacity: 256) { b -> String? in
          for i in 0..<prefix.count where b[i] != prefix[i] { return nil }
          for i in prefix.count..<length where b[i] == 0 { return nil }
          guard b[length] == 0 else { return nil }
          return String(decoding: UnsafeBufferPointer(start: b, count: length), as: UTF8.self)
        }
      }
      if let n { candidates.append(parent + "/" + n) }
    }
    closedir(dp)
    var removed: [String] = []
    for path in candidates {
      var st = stat()
      guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == geteuid() else { continue }
      let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
      guard fd >= 0 else { continue }
      if flock(fd, LOCK_EX | LOCK_NB) != 0 {
        _ = close(fd)  // its process is alive
        continue
      }
      let dir = PrivateDirectory(path: path, fd: fd)
      dir.remove()
      removed.append(path)
    }
    return removed
  }
}
