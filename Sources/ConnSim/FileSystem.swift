// The simulated file system, as far as Unix sockets need one: the directories of a fresh
// machine's /tmp, the scenario's private directory, /dev/null, and the socket files scenarios
// bind. Lookups walk the path as the kernel does: ENOENT for a missing component, ENOTDIR for a
// component that is not a directory, EACCES for a directory the identity may not search.

import ConnSyntax

/// What a path in the simulated file system is.
enum FileEntry {
  case directory(mode: UInt16, owner: UInt32)
  case file
  /// A socket file; `socket` is nil once its socket closed (the file stays, as on Linux).
  case socket(Handle?, type: SocketType, owner: UInt32)
}

struct SimFileSystem {
  /// The private directory relative Unix paths resolve in (never created anywhere).
  static let scenarioDirectory = "/tmp/conn-sim"

  private(set) var files: [String: FileEntry] = [:]

  init() {
    files = [
      "/": .directory(mode: 0o755, owner: 0),
      "/dev": .directory(mode: 0o755, owner: 0),
      "/dev/null": .file,
      "/tmp": .directory(mode: 0o1777, owner: 0),
      Self.scenarioDirectory: .directory(mode: 0o700, owner: 0),
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

  private func canSearch(_ e: FileEntry, uid: UInt32) -> Bool {
    guard case .directory(let mode, let owner) = e else { return false }
    if uid == 0 { return true }
    return uid == owner ? mode & 0o100 != 0 : mode & 0o001 != 0
  }

  /// May `uid` create an entry in this directory?
  func canWrite(_ e: FileEntry, uid: UInt32) -> Bool {
    guard case .directory(let mode, let owner) = e else { return false }
    if uid == 0 { return true }
    return uid == owner ? mode & 0o200 != 0 : mode & 0o002 != 0
  }

  /// Walks an absolute path.
  func lookup(_ path: String, uid: UInt32) -> Result<FileEntry, Errno> {
    let parts = path.split(separator: "/")
    var current = "/"
    for (i, p) in parts.enumerated() {
      guard let dir = files[current] else { return .failure(.ENOENT) }
      guard case .directory = dir else { return .failure(.ENOTDIR) }
      if !canSearch(dir, uid: uid) { return .failure(.EACCES) }
      current = current == "/" ? "/" + p : current + "/" + p
      if i == parts.count - 1 {
        guard let e = files[current] else { return .failure(.ENOENT) }
        return .success(e)
      }
      // Only the model's own directories exist; anything else under them is missing.
      if files[current] == nil { return .failure(.ENOENT) }
    }
    return files[current].map { .success($0) } ?? .failure(.ENOENT)
  }
}
