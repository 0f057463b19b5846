import ConnSyntax

/// A descriptor number as the backend hands it out.
package typealias Descriptor = Int32

/// The seam between the interpreter and a world of sockets: the real kernel (ConnSystem) or a
/// simulation (ConnSim). Requirements speak in the runtime's types; a backend turns them into
/// calls and its answers into `Outcome`s, passing errnos through unchanged.
///
/// Calls that can block take `limit`: past it they throw `BackendError.timedOut` instead of
/// returning an errno the kernel did not say.
package protocol Backend: AnyObject {
  /// "system" or "sim".
  var name: String { get }
  /// Monotonic time; virtual for a simulation.
  func now() -> TimeSpan
  /// Receives strace-like lines (`connect(3, {inet 127.0.0.1:80}, 16) = 0`) when set.
  var trace: ((String) -> Void)? { get set }

  /// Starts a scenario: sets up its network (`net` rules), its private directory, identity.
  func beginScenario(netRules: [NetRule]) throws(BackendError)
  /// Ends a scenario: closes what is listed, restores identity, removes what begin created.
  func endScenario(closing descriptors: [Descriptor])

  func socket(_ kind: SocketKind, nonblocking: Bool) -> Outcome
  func openFile(_ path: String) -> Outcome
  func bind(_ fd: Descriptor, _ address: SocketAddress) -> Outcome
  func listen(_ fd: Descriptor, backlog: Int32) -> Outcome
  func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome
  func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome
  func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome
  func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError) -> Outcome
  /// SO_ERROR gives `.ok` or `.failure(pending)`; other options `.number`.
  func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome
  func poll(_ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome
  func peerName(_ fd: Descriptor) -> Outcome
  func localName(_ fd: Descriptor) -> Outcome
  func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome
  func close(_ fd: Descriptor) -> Outcome
  func sleep(_ duration: TimeSpan, limit: TimeSpan) throws(BackendError)
  func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome

  /// The interpreter enters (`true`) or leaves (`false`) a `repeat` loop. Inside one, a backend
  /// may keep what it sets up for a call alive for the next call of the loop; it releases it when
  /// the outermost loop ends. (The default does nothing.)
  func repeatLoop(_ entering: Bool)
}

extension Backend {
  package func repeatLoop(_ entering: Bool) {}
}

/// The backlog `listen` passes when the script gives none, as `listen(fd, SOMAXCONN)` callers do.
package let defaultListenBacklog: Int32 = 128
