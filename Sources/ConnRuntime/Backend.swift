import ConnSyntax

/// A descriptor number as the backend hands it out.
package typealias Descriptor = Int32

/// The seam between the interpreter and a world of sockets: the real kernel (ConnSystem) or a
/// simulation (ConnSim). Requirements speak in the runtime's types; a backend turns them into
/// calls and its answers into `Outcome`s, passing errnos through unchanged.
///
/// What both backends must do alike is not theirs to decide: the interpreter applies the rules
/// (a call's time limit, `connect ... nonblock`, the clamp of `sleep`) and the trace is rendered
/// by one renderer from the records a backend hands to `trace`.
///
/// Calls that can block take `limit`: past it they throw `BackendError.timedOut` instead of
/// returning an errno the kernel did not say.
package protocol Backend: AnyObject {
  /// "system" or "sim".
  var name: String { get }
  /// Monotonic time; virtual for a simulation.
  func now() -> TimeSpan
  /// True when `now()` is a simulated clock: the interpreter then watches real time as well, so
  /// that no scenario runs past its limit in wall-clock time either.
  var virtualTime: Bool { get }
  /// Receives a record of each call when set (`-v`).
  var trace: ((TraceRecord) -> Void)? { get set }
  /// How long Unix paths and abstract names may be here (the parser and checker enforce it).
  var pathLimits: PathLimits { get }

  /// Starts a scenario: sets up its network (`net` rules), its private directory, identity.
  func beginScenario(netRules: [NetRule]) throws(BackendError)
  /// Ends a scenario: closes what is listed, restores identity, removes what begin created.
  func endScenario(closing descriptors: [Descriptor])

  /// Creates a socket on a host of the scenario's network (0: the scenario's own host).
  func socket(_ kind: SocketKind, nonblocking: Bool, on host: Int32) throws(BackendError) -> Outcome
  /// Carries out topology statements in order, as one change (the kernel backend batches the
  /// commands of consecutive statements). `hostNames` names every host of the session by
  /// number (`self` first). A failure names its statement: `.inStep(index, why)`.
  func applyTopology(_ steps: [TopologyStatement], hostNames: [String]) throws(BackendError)
  /// `sock x = fd N`: the number is the scenario's to use, unless it is one the tool itself
  /// lives on (its output, its worker pipes): then the backend refuses it.
  func adopt(_ fd: Descriptor) throws(BackendError)
  func openFile(_ path: String, limit: TimeSpan) throws(BackendError) -> Outcome
  func bind(_ fd: Descriptor, _ address: SocketAddress) throws(BackendError) -> Outcome
  func listen(_ fd: Descriptor, backlog: Int32) -> Outcome
  func connect(_ fd: Descriptor, _ target: ResolvedTarget, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  func accept(_ fd: Descriptor, _ options: CallOptions, limit: TimeSpan) throws(BackendError) -> Outcome
  /// socketpair(2) on the scenario's own host: `.ok` and the two descriptors, or an errno.
  func socketPair(_ kind: SocketKind, nonblocking: Bool) throws(BackendError) -> (
    Outcome, (Descriptor, Descriptor)?
  )
  /// A second descriptor for the socket (or file) behind `fd`: fcntl(F_DUPFD_CLOEXEC), or
  /// dup3(fd, target, O_CLOEXEC). The new descriptor, or an errno; a number the tool itself lives
  /// on is refused as for `adopt`.
  func dup(_ fd: Descriptor, onto target: Descriptor?) throws(BackendError) -> Outcome
  func setNonblocking(_ fd: Descriptor, _ on: Bool) -> Outcome
  /// FD_CLOEXEC on or off (fcntl F_SETFD).
  func setCloseOnExec(_ fd: Descriptor, _ on: Bool) -> Outcome
  /// fcntl F_GETFL (O_NONBLOCK) or F_GETFD (FD_CLOEXEC): `.number(1)` when the flag is set.
  func getFlag(_ fd: Descriptor, _ flag: DescriptorFlag) -> Outcome
  func setOption(_ fd: Descriptor, _ option: SocketOption, _ value: OptionValue) throws(BackendError)
    -> Outcome
  /// SO_ERROR gives `.ok` or `.failure(pending)`; other options `.number`.
  func getOption(_ fd: Descriptor, _ option: SocketOption) throws(BackendError) -> Outcome
  /// setsockopt(2) of an int option given by its numbers.
  func setOption(_ fd: Descriptor, number: OptionNumber, _ value: Int32) throws(BackendError) -> Outcome
  /// getsockopt(2) of an int option given by its numbers: `.number`.
  func getOption(_ fd: Descriptor, number: OptionNumber) throws(BackendError) -> Outcome
  /// `timeout` is the user's (nil: none); the backend waits at most `limit` in any case.
  func poll(
    _ fd: Descriptor, _ events: PollEvents, timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome
  /// poll(2) on several descriptors: `.pollSet` (one set per descriptor, in order), `.pollTimeout`
  /// or an errno; as `poll` otherwise.
  func pollSet(_ set: [PolledDescriptor], timeout: TimeSpan?, _ options: CallOptions, limit: TimeSpan)
    throws(BackendError) -> Outcome
  /// send(2), sendto(2) (`to` given) or write(2): the byte count.
  func send(
    _ fd: Descriptor, _ call: DataCall, _ data: [UInt8], to: ResolvedTarget?, _ flags: MessageFlags,
    _ options: CallOptions, limit: TimeSpan
  ) throws(BackendError) -> Outcome
  /// recv(2), recvfrom(2) or read(2) of at most `max` bytes: `.data`.
  func receive(
    _ fd: Descriptor, _ call: DataCall, max: Int, _ flags: MessageFlags, _ options: CallOptions,
    limit: TimeSpan
  ) throws(BackendError) -> Outcome
  func peerName(_ fd: Descriptor) -> Outcome
  func localName(_ fd: Descriptor) -> Outcome
  func shutdown(_ fd: Descriptor, _ how: ShutdownHow) -> Outcome
  func close(_ fd: Descriptor) -> Outcome
  /// Sleeps for `duration` (already clamped to the call's limit) and returns what is left of it
  /// when a signal cut it short (zero when it slept the whole time); the interpreter decides
  /// whether to go on sleeping.
  func sleep(_ duration: TimeSpan) -> TimeSpan
  func setUser(_ user: UserIdentity) throws(BackendError) -> Outcome
  /// `drop`: the user's real, effective and saved IDs, its group alone, no capabilities, and no
  /// way back. The kernel backend does it only on a thread that ends with the scenario.
  func dropPrivileges(_ user: UserIdentity) throws(BackendError) -> Outcome
  /// `landlock`: one more Landlock layer, its ports resolved. For good, like `drop`.
  func restrict(_ layer: LandlockLayer) throws(BackendError) -> Outcome
  /// `... background`: starts a blocking call (one of this backend's, wrapped) in the
  /// background, and returns once it is under way (blocked) or finished. Its trace comes when it
  /// finishes.
  func startBackground(_ call: @escaping () throws(BackendError) -> Outcome) throws(BackendError) -> Int32
  /// `wait`: the outcome of a background call, once it has finished (its own limit bounds it).
  func waitBackground(_ id: Int32) throws(BackendError) -> Outcome
  /// `signal`: interrupts a background call with a signal, as `interrupt` does a call.
  func signalBackground(_ id: Int32) throws(BackendError)
  /// After each statement while background calls are under way: lets those that can finish do
  /// so (the simulation's; the kernel's go on by themselves).
  func settle()
  /// A file statement, as the current file-system identity, inside the private directory.
  /// Throws `.refused` (with `FileOperation.throughLink`) rather than follow a symbolic link.
  func file(_ op: FileOperation) throws(BackendError) -> Outcome

}

extension Backend {
  /// A socket on the scenario's own host.
  package func socket(_ kind: SocketKind, nonblocking: Bool) throws(BackendError) -> Outcome {
    try socket(kind, nonblocking: nonblocking, on: 0)
  }
}

/// Coroutines for the simulation's background calls: a body that runs on a thread of its own
/// while its caller waits, and hands control back with `yield`, so that exactly one of the two
/// runs at any time. The host provides them (threads); the simulation never runs two things at
/// once.
package protocol Coroutines: Sendable {
  /// A coroutine for `body` (nil when no thread could be made); it starts at the first resume.
  func make(_ body: @escaping (_ yield: @escaping () -> Void) -> Void) -> Coroutine?
}

package protocol Coroutine: AnyObject {
  /// Runs the body until it yields or ends; true once it has ended.
  func resume() -> Bool
}

/// One Landlock layer as the kernel takes it: the TCP ports each restricted right allows.
package typealias LandlockLayer = Landlock<UInt16>

extension Landlock where Port == UInt16 {
  /// As the trace shows it: `{connect=[80], bind=none, scope=abstract}`.
  package var description: String {
    func ports(_ p: [UInt16]) -> String {
      p.isEmpty ? "none" : "[" + p.map(String.init).joined(separator: ",") + "]"
    }
    var parts: [String] = []
    if let c = connect { parts.append("connect=" + ports(c)) }
    if let b = bind { parts.append("bind=" + ports(b)) }
    if abstract { parts.append("scope=abstract") }
    return "{" + parts.joined(separator: ", ") + "}"
  }
}

/// One descriptor of a poll on several, and the events asked for it.
package struct PolledDescriptor: Equatable, Sendable {
  package var fd: Descriptor
  package var events: PollEvents
  package init(_ fd: Descriptor, _ events: PollEvents) {
    self.fd = fd
    self.events = events
  }
}

/// The address argument of a connect after names are resolved.
package enum ResolvedTarget: Equatable, Sendable {
  case address(SocketAddress)
  /// A pointer outside the process (`badptr`).
  case badPointer
  /// A NULL pointer (`null`): the length is 0 unless `len` says otherwise.
  case nullPointer
  /// A `struct sockaddr` (16 bytes unless `len` says otherwise) holding only this family
  /// number; the kernel reads the rest as zeros.
  case family(UInt16)

  /// The address length a call passes when the script gives none; nil: the address's own.
  package var defaultLength: Int? {
    switch self {
    case .address: return nil
    case .badPointer, .family: return 16
    case .nullPointer: return 0
    }
  }
}
