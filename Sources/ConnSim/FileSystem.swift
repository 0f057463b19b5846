// The simulated file system, as far as Unix sockets need one: the directories of a fresh
// machine's /tmp, the scenario's private directory, /dev/null, the socket files scenarios bind,
// and what file statements make there (directories, empty files, symbolic links). Lookups walk
// the path as the kernel does: ENOENT for a missing component, ENOTDIR for a component that is
// not a directory, EACCES for a directory the identity may not search, ELOOP past 40 links.
//
// Permissions: root may do anything; anyone else gets the owner's bits on what they own and
// the other bits elsewhere. Group bits are not modelled (the kernel would look at the process's
// groups): a mode whose group bits differ from its other bits can answer differently, as
// LANGUAGE.md says.

import ConnRuntime
import ConnSyntax

/// One entry of the simulated file system.
struct FileEntry {
  enum Kind {
    case directory
    case file
    /// A socket file; the socket is nil once it closed (the file stays, as on Linux).
    case socket(Handle?, type: SocketType)
    case symlink(String)
  }
  var kind: Kind
  var mode: UInt16
  var owner: UInt32

  var isDirectory: Bool {
    if case .directory = kind { return true }
    return false
  }
}

struct SimFileSystem {
  /// The private directory relative Unix paths resolve in (never created anywhere).
  static let scenarioDirectory = "/tmp/conn-sim"
  /// Linux's MAXSYMLINKS: a path walk follows at most this many links.
  static let maxLinks = 40

  private(set) var files: [String: FileEntry] = [:]

  init() {
    files = [
      "/": FileEntry(kind: .directory, mode: 0o755, owner: 0),
      "/dev": FileEntry(kind: .directory, mode: 0o755, owner: 0),
      "/dev/null": FileEntry(kind: .file, mode: 0o666, owner: 0),
      "/tmp": FileEntry(kind: .directory, mode: 0o1777, owner: 0),
      Self.scenarioDirectory: FileEntry(kind: .directory, mode: 0o700, owner: 0),
    ]
  }

  subscript(path: String) -> FileEntry? {
    get { files[path] }
    set { files[path] = newValue }
  }

  func absolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : Self.scenarioDirectory + "/" + path
  }

  func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "/" }
    let p = String(path[..<slash])
    return p.isEmpty ? "/" : p
  }

  private func allows(_ e: FileEntry, uid: UInt32, _ bit: UInt16) -> Bool {
    uid == e.owner ? e.mode & (bit << 6) != 0 : e.mode & bit != 0
  }

  /// May `uid` look names up in this directory?
  func canSearch(_ e: FileEntry, uid: UInt32) -> Bool {
    e.isDirectory && (uid == 0 || allows(e, uid: uid, 0o1))
  }

  /// May `uid` write this entry (create and remove names, for a directory)?
  func canWrite(_ e: FileEntry, uid: UInt32) -> Bool {
    uid == 0 || allows(e, uid: uid, 0o2)
  }

  /// The canonical path `path` names: every directory it passes must be searchable; links are
  /// followed (the last one only when `followLast`), or, when `links` is nil, not allowed at
  /// all (`.success(nil)` then says a link was met). The last component need not exist.
  func resolve(_ path: String, uid: UInt32, followLast: Bool, links: inout Int?) -> Result<String?, Errno> {
    var current = "/"
    let parts = path.split(separator: "/")
    for (i, part) in parts.enumerated() {
      guard let dir = files[current] else { return .failure(.ENOENT) }
      guard dir.isDirectory else { return .failure(.ENOTDIR) }
      if !canSearch(dir, uid: uid) { return .failure(.EACCES) }
      if part == "." { continue }
      if part == ".." {
        current = parent(of: current)
        continue
      }
      let next = current == "/" ? "/" + part : current + "/" + part
      let last = i == parts.count - 1
      if case .symlink(let target)? = files[next]?.kind, !last || followLast {
        guard let count = links else { return .success(nil) }
        if count >= Self.maxLinks { return .failure(.ELOOP) }
        links = count + 1
        let from = target.hasPrefix("/") ? target : (current == "/" ? "" : current) + "/" + target
        switch resolve(from, uid: uid, followLast: true, links: &links) {
        case .failure(let e): return .failure(e)
        case .success(nil): return .success(nil)
        case .success(let p?): current = p
        }
        continue
      }
      if !last && files[next] == nil { return .failure(.ENOENT) }
      current = next
    }
    return .success(current)
  }

  /// The canonical path of `path` and what is there, links followed.
  func lookup(_ path: String, uid: UInt32) -> Result<(String, FileEntry), Errno> {
    var links: Int? = 0
    switch resolve(path, uid: uid, followLast: true, links: &links) {
    case .failure(let e): return .failure(e)
    case .success(let p):
      guard let p, let e = files[p] else { return .failure(.ENOENT) }
      return .success((p, e))
    }
  }

  /// Where a new name `path` would go (links followed up to its parent, the name itself not):
  /// its canonical path, which may already exist.
  func creationPath(_ path: String, uid: UInt32) -> Result<String, Errno> {
    var links: Int? = 0
    switch resolve(path, uid: uid, followLast: false, links: &links) {
    case .failure(let e): return .failure(e)
    case .success(let p): return p.map { .success($0) } ?? .failure(.ENOENT)
    }
  }

  /// Whether any entry lies under directory `path`.
  func hasEntries(under path: String) -> Bool {
    let prefix = path == "/" ? "/" : path + "/"
    return files.keys.contains { $0 != path && $0.hasPrefix(prefix) }
  }

  /// Removes `path` and, for a directory, nothing else (the caller checked it is empty).
  mutating func remove(_ path: String) { files[path] = nil }
}

extension SimBackend {
  /// A file statement, as the kernel backend makes it: the path resolved beneath the private
  /// directory without following a link (refused where one would be), the change made as the
  /// current file-system identity, with umask 022.
  package func file(_ op: FileOperation) throws(BackendError) -> Outcome {
    advance(to: clock)
    var links: Int?
    let full = files.absolute(op.path)
    let path: String
    switch files.resolve(full, uid: fsUID, followLast: false, links: &links) {
    case .failure(let e): return emit(.file(op), .failure(e))
    case .success(nil): throw .refused(FileOperation.throughLink(op.path))
    case .success(let p?): path = p
    }
    let existing = files[path]
    let dir = files[files.parent(of: path)]
    func create(_ kind: FileEntry.Kind, _ mode: UInt16) -> Outcome {
      if existing != nil { return .failure(.EEXIST) }
      guard let dir, files.canWrite(dir, uid: fsUID) else { return .failure(.EACCES) }
      files[path] = FileEntry(kind: kind, mode: mode, owner: fsUID)
      return .ok
    }
    let outcome: Outcome
    switch op {
    case .mkdir(_, let mode): outcome = create(.directory, mode & 0o1777 & ~FileOperation.umask)
    case .mkfile(_, let mode): outcome = create(.file, mode & ~FileOperation.umask)
    case .symlink(let target, _): outcome = create(.symlink(target), 0o777)
    case .chmod(_, let mode):
      guard var e = existing else { return emit(.file(op), .failure(.ENOENT)) }
      if case .symlink = e.kind { throw .refused(FileOperation.throughLink(op.path)) }
      if fsUID != 0 && fsUID != e.owner { return emit(.file(op), .failure(.EPERM)) }
      e.mode = mode
      files[path] = e
      outcome = .ok
    case .chown(_, let who):
      guard var e = existing else { return emit(.file(op), .failure(.ENOENT)) }
      // Only root gives a file away; an owner may "change" it to itself.
      if fsUID != 0 && !(fsUID == e.owner && who.uid == fsUID) { return emit(.file(op), .failure(.EPERM)) }
      e.owner = who.uid
      files[path] = e
      outcome = .ok
    case .remove:
      guard let e = existing else { return emit(.file(op), .failure(.ENOENT)) }
      guard let dir, files.canWrite(dir, uid: fsUID) else { return emit(.file(op), .failure(.EACCES)) }
      // The sticky bit: only the entry's owner, the directory's, or root removes it.
      if dir.mode & 0o1000 != 0 && fsUID != 0 && fsUID != e.owner && fsUID != dir.owner {
        return emit(.file(op), .failure(.EPERM))
      }
      if e.isDirectory && files.hasEntries(under: path) { return emit(.file(op), .failure(.ENOTEMPTY)) }
      files.remove(path)
      outcome = .ok
    }
    return emit(.file(op), outcome)
  }
}
