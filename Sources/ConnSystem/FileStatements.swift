#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#endif
import CConnShims
import ConnRuntime
import ConnSyntax

// File statements on the kernel: mkdir, mkfile, chmod, chown, symlink and rm inside the
// scenario's private directory, as the thread's file-system identity. The parent directory of
// the path is opened with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) under the private
// directory's descriptor and the change is made relative to it (mkdirat, fchmodat2 with
// AT_SYMLINK_NOFOLLOW, fchownat with AT_SYMLINK_NOFOLLOW, symlinkat, unlinkat), so no link
// planted by the scenario can make conn change anything outside the private directory.

enum FileStatements {
  /// Makes the change; the errno of the call that failed, or 0. Throws `.refused` where a link
  /// would have to be followed.
  static func apply(_ op: FileOperation, beneath root: Int32) throws(BackendError) -> Int32 {
    let (parent, name) = split(op.path)
    let dir = conn_open_beneath(root, parent)
    if dir == -ELOOP || dir == -EXDEV { throw .refused(FileOperation.throughLink(op.path)) }
    if dir < 0 { return -dir }
    defer { _ = close(dir) }
    func result(_ rc: Int32) -> Int32 { rc < 0 ? errno : 0 }
    switch op {
    case .mkdir(_, let mode):
      return result(mkdirat(dir, name, mode_t(mode)))
    case .mkfile(_, let mode):
      let fd = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode_t(mode))
      if fd < 0 { return errno }
      _ = close(fd)
      return 0
    case .chmod(_, let mode):
      let rc = conn_chmod_nofollow(dir, name, UInt32(mode))
      if rc == -EOPNOTSUPP { throw .refused(FileOperation.throughLink(op.path)) }
      return -rc
    case .chown(_, let who):
      return result(fchownat(dir, name, who.uid, gid_t.max, AT_SYMLINK_NOFOLLOW))
    case .symlink(let target, _):
      return result(symlinkat(target, dir, name))
    case .remove:
      if unlinkat(dir, name, 0) == 0 { return 0 }
      // unlink(2) refuses a directory (EISDIR): then it is rmdir(2)'s answer.
      if errno != EISDIR { return errno }
      return result(unlinkat(dir, name, AT_REMOVEDIR))
    }
  }

  /// "a/b/c" -> ("a/b", "c"); "c" -> (".", "c"); "." -> (".", "."). Empty components and a
  /// trailing slash are dropped.
  static func split(_ path: String) -> (String, String) {
    let parts = path.split(separator: "/")
    guard let last = parts.last else { return (".", ".") }
    let parent = parts.dropLast().joined(separator: "/")
    return (parent.isEmpty ? "." : parent, String(last))
  }
}
