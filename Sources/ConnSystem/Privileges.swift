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

// Who the scenario is, on the kernel: `user` (the file-system identity, which endScenario gives
// back), `drop` (every identity, for good) and `landlock` (a Landlock layer, for good). The last
// two change the calling thread for good (privileges.c makes them per thread), so they run only
// on a thread the runner made for the scenario (`threadIsDisposable`), and leave the cleanup
// that needs the real identity to the runner's thread (`finishCleanup`).

extension SystemBackend {
  package func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome {
    let (uid, gid) = Self.ids(user)
    identityChanged = true
    if conn_setfsuid(uid, gid) != 0 {
      throw .failed(
        "cannot take the file-system identity \(uid): 'user' needs root (and Linux)\(changedForGood ? ", which 'drop' gave up" : "")"
      )
    }
    return traced(.setUser(uid), .ok)
  }

  private static func ids(_ user: UserIdentity) -> (UInt32, UInt32) {
    switch user {
    case .root: return (0, 0)
    case .nobody: return (65534, 65534)
    case .uid(let u): return (u, u)
    }
  }

  /// `drop` and `landlock` outside a thread of their own would change the thread that runs
  /// everything else (the REPL's, a worker's) for good.
  private func requireDisposableThread(_ keyword: String) throws(BackendError) {
    if !threadIsDisposable {
      throw .refused(
        "'\(keyword)' changes the thread that runs the scenario for good: it runs in 'conn run', which gives such a scenario a thread of its own (the REPL can try it with :backend sim)"
      )
    }
  }

  package func dropPrivileges(_ user: UserIdentity) throws(BackendError) -> Outcome {
    try requireDisposableThread("drop")
    let (uid, gid) = Self.ids(user)
    // The private directory is made now, by the identity about to go: after the drop it would
    // be nobody's own (and the simulation, like `user`, has it stay the real user's).
    _ = scenarioDirectory()
    changedForGood = true
    identityChanged = true
    let err = conn_drop_privileges(uid, gid)
    if err != 0 {
      throw .failed("cannot drop to user \(uid): \(Platform.strerror(err)) ('drop' needs root, and Linux)")
    }
    return traced(.dropPrivileges(uid), .ok)
  }

  package func restrict(_ layer: LandlockLayer) throws(BackendError) -> Outcome {
    try requireDisposableThread("landlock")
    if let why = Self.landlockUnavailableReason { throw .failed("cannot add a Landlock layer: \(why)") }
    changedForGood = true
    let connect = layer.connect ?? []
    let bind = layer.bind ?? []
    let err = connect.withUnsafeBufferPointer { c in
      bind.withUnsafeBufferPointer { b in
        conn_landlock_restrict(
          c.baseAddress, layer.connect == nil ? -1 : Int32(c.count), b.baseAddress,
          layer.bind == nil ? -1 : Int32(b.count), layer.abstract ? 1 : 0)
      }
    }
    if err != 0 { throw .failed("cannot add a Landlock layer: \(Platform.strerror(err))") }
    return traced(.landlock(layer), .ok)
  }

  /// Why this kernel cannot take the `landlock` statement (ABI 6: TCP ports and scopes), or nil.
  package static let landlockUnavailableReason: String? = {
    let abi = conn_landlock_abi()
    if abi < 0 {
      return
        "Landlock is not enabled in this kernel (\(Platform.strerror(-abi)); add 'landlock' to the lsm= boot parameter)"
    }
    if abi < 6 { return "this kernel's Landlock is ABI \(abi); TCP ports and scopes need ABI 6 (Linux 6.12)" }
    return nil
  }()
}
