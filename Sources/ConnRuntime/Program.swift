import ConnSyntax

// A checked script compiled into a flat list of plain-value instructions: socket names resolved
// to the session's binding slots, operands that are not plain values (addresses, paths,
// expectations) moved into side tables and referred to by index, and `repeat` blocks turned into
// a loop instruction and a jump back. Executing it walks an array with a program counter: no
// recursion, no copies of the syntax tree, and the interpreter can stop after any statement and
// go on later (the REPL, and `both`, which runs two backends in step).

/// A binding slot of the session (one per socket name it has seen).
package typealias Slot = Int32

/// What a connect is aimed at, resolved.
package enum CompiledTarget: Sendable {
  /// `addresses[index]`.
  case address(Int32)
  /// The address the socket in this slot is bound to, read when the connect runs.
  case socket(Slot)
  /// `addresses[index]` with the port the socket in the slot is bound to.
  case portOf(Int32, Slot)
  case badPointer
  case nullPointer
  case family(UInt16)
}

/// A port of a `landlock` rule: a number, or the slot of the socket whose bound port it is.
package enum CompiledPort: Hashable, Sendable {
  case number(UInt16)
  case portOf(Slot)
}

/// A `landlock` statement with its sockets resolved to slots.
package typealias CompiledLandlock = Landlock<CompiledPort>

/// One instruction. Every case holds plain values only, so copying one costs nothing.
package enum Instruction: Sendable {
  case socket(Slot, SocketKind, nonblocking: Bool, host: Int32)
  case descriptor(Slot, Descriptor)
  /// `strings[path]`.
  case openFile(Slot, path: Int32)
  case bind(Slot, address: Int32)
  /// Bind to the address the second socket is bound to (read when the bind runs).
  case bindSocket(Slot, Slot)
  /// Bind to `addresses[address]` with the port the second socket is bound to.
  case bindPortOf(Slot, address: Int32, portOf: Slot)
  case listen(Slot, backlog: Int32)
  case connect(Slot, CompiledTarget, CallOptions)
  case accept(Slot, into: Slot, CallOptions)
  case socketPair(Slot, Slot, SocketKind, nonblocking: Bool)
  /// dup(2), or dup2(2) onto `at` (-1: none given; `dup ... fd N` takes 0 and up).
  case dup(Slot, into: Slot, at: Descriptor)
  case setNonblocking(Slot, Bool)
  case setOption(Slot, SocketOption, OptionValue)
  case getOption(Slot, SocketOption)
  case setOptionNumber(Slot, OptionNumber, Int32)
  case getOptionNumber(Slot, OptionNumber)
  case setCloseOnExec(Slot, Bool)
  case getFlag(Slot, DescriptorFlag)
  case poll(Slot, PollEvents, timeout: TimeSpan?, CallOptions)
  case peer(Slot)
  case local(Slot)
  case shutdown(Slot, ShutdownHow)
  case close(Slot)
  case sleep(TimeSpan)
  /// `strings`-like tables: `payloads[data]`; the target as for connect.
  case send(Slot, DataCall, data: Int32, to: CompiledTarget?, MessageFlags, CallOptions)
  case receive(Slot, DataCall, max: Int32, MessageFlags, CallOptions)
  /// `expectations[index]`.
  case expect(Int32)
  case user(UserIdentity)
  case drop(UserIdentity)
  /// `wait NAME`, `signal NAME`: the call NAME runs in the background.
  case wait(Slot)
  case signal(Slot)
  /// `landlocks[index]`.
  case landlock(Int32)
  /// `pollSets[index]`.
  case pollSet(Int32, timeout: TimeSpan?, CallOptions)
  /// `fileOperations[index]`.
  case file(Int32)
  /// A `net` statement: its rule was applied before the first statement ran.
  case applied
  /// `topology[index]`: a host, link, route, address, firewall rule or sysctl, carried out here
  /// (with the topology instructions right after it, as one change).
  case topology(Int32)
  /// Enter a `repeat`: run the body `count` times; with a count of zero, go to `exit`.
  case loop(count: Int, exit: Int32)
  /// The end of a loop body: back to `body` while iterations are left.
  case next(body: Int32)
}

/// An `expect` as plain values, so that checking the usual ones (ok, errnos, timeout) is a few
/// comparisons; alternatives that need more (poll events, numbers, addresses, sockets) send the
/// check to the full `Expectation`.
package struct CompiledExpectation: Sendable {
  package var ok: Bool
  package var timeout: Bool
  package var errnos: ErrnoSet
  /// `within`, in nanoseconds (Int64.max: none).
  package var within: Int64
  /// There are alternatives besides ok, errnos and timeout.
  package var complex: Bool
}

/// Made once and only read after (a class: the interpreter holds it without copying; its
/// tables are constants, so reading them needs no exclusivity check).
package final class Program: @unchecked Sendable {
  package let source: SourceFile
  package let code: [Instruction]
  /// The statement each instruction came from (for steps, failures and the REPL).
  package let statements: [Statement]
  /// Whether the instruction's statement is followed, in its block, by an `expect` (the errno
  /// rule: an errno with no `expect` after it fails the scenario).
  package let checked: [Bool]
  package let addresses: [SocketAddress]
  package let strings: [String]
  package let payloads: [[UInt8]]
  package let expectations: [Expectation]
  /// The same, as plain values, by the same index.
  package let checks: [CompiledExpectation]
  /// For each expectation, the slots of the sockets its alternatives name (mostly none).
  package let expectedSockets: [[Slot]]
  /// Topology statements, their hosts numbered as the session numbers them.
  package let topology: [TopologyStatement]
  /// The file statements' operations.
  package let fileOperations: [FileOperation]
  /// The descriptors of each poll on several, as slots and events.
  package let pollSets: [[(slot: Slot, events: PollEvents)]]
  /// The `landlock` statements' rules.
  package let landlocks: [CompiledLandlock]

  /// Compiles `script`; `slot` gives the session slot of a script's socket name, `host` the
  /// session number of a host name (`self` is 0).
  package init(_ script: Script, slot: (String) -> Slot, host: (String) -> Int32 = { _ in 0 }) {
    var c = Compiler()
    c.hosts = script.hostNames.map(host)
    let slots = script.socketNames.map(slot)
    c.code.reserveCapacity(script.statements.count + 1)
    c.compile(script.statements, slots)
    source = script.source
    code = c.code
    statements = c.statements
    checked = c.checked
    addresses = c.addresses
    strings = c.strings
    payloads = c.payloads
    expectations = c.expectations
    checks = c.checks
    expectedSockets = c.expectedSockets
    topology = c.topology
    fileOperations = c.fileOperations
    pollSets = c.pollSets
    landlocks = c.landlocks
  }

  package var count: Int { code.count }
}

/// Builds a program's tables.
private struct Compiler {
  var code: [Instruction] = []
  var statements: [Statement] = []
  var checked: [Bool] = []
  var addresses: [SocketAddress] = []
  var strings: [String] = []
  var payloads: [[UInt8]] = []
  var expectations: [Expectation] = []
  var checks: [CompiledExpectation] = []
  var expectedSockets: [[Slot]] = []
  var topology: [TopologyStatement] = []
  var fileOperations: [FileOperation] = []
  var pollSets: [[(slot: Slot, events: PollEvents)]] = []
  var landlocks: [CompiledLandlock] = []
  /// Session host numbers by script host index.
  var hosts: [Int32] = []

  mutating func emit(_ i: Instruction, _ st: Statement, checked: Bool) {
    code.append(i)
    statements.append(st)
    self.checked.append(checked)
  }

  mutating func compile(_ target: ConnectTarget, _ slots: [Slot]) -> CompiledTarget {
    switch target {
    case .address(let a):
      addresses.append(a)
      return .address(Int32(addresses.count - 1))
    case .withPortOf(let a, let other):
      addresses.append(a)
      return .portOf(Int32(addresses.count - 1), slots[Int(other.slot)])
    case .boundAddressOf(let other): return .socket(slots[Int(other.slot)])
    case .badPointer: return .badPointer
    case .nullPointer: return .nullPointer
    case .family(let f): return .family(f)
    }
  }

  mutating func compile(_ block: [Statement], _ slots: [Slot]) {
    for (index, st) in block.enumerated() {
      var followed = false
      if index + 1 < block.count, case .expect = block[index + 1].kind { followed = true }
      func s(_ r: SocketRef) -> Slot { slots[Int(r.slot)] }
      switch st.kind {
      case .sock(let r, .socket(let kind, let nb, let host)):
        emit(
          .socket(s(r), kind, nonblocking: nb, host: host.map { hosts[Int($0.index)] } ?? 0), st,
          checked: followed)
      case .sock(let r, .descriptor(let n)): emit(.descriptor(s(r), n), st, checked: followed)
      case .sock(let r, .file(let path)):
        strings.append(path)
        emit(.openFile(s(r), path: Int32(strings.count - 1)), st, checked: followed)
      case .bind(let r, let a):
        addresses.append(a)
        emit(.bind(s(r), address: Int32(addresses.count - 1)), st, checked: followed)
      case .bindTo(let r, let other): emit(.bindSocket(s(r), s(other)), st, checked: followed)
      case .bindPortOf(let r, let a, let other):
        addresses.append(a)
        emit(.bindPortOf(s(r), address: Int32(addresses.count - 1), portOf: s(other)), st, checked: followed)
      case .listen(let r, let backlog):
        emit(.listen(s(r), backlog: backlog ?? Linux.defaultListenBacklog), st, checked: followed)
      case .connect(let r, let target, let o):
        emit(.connect(s(r), compile(target, slots), o), st, checked: followed)
      case .accept(let l, let into, let o): emit(.accept(s(l), into: s(into), o), st, checked: followed)
      case .socketPair(let a, let b, let kind, let nb):
        emit(.socketPair(s(a), s(b), kind, nonblocking: nb), st, checked: followed)
      case .dup(let r, let into, let at): emit(.dup(s(r), into: s(into), at: at ?? -1), st, checked: followed)
      case .set(let r, .nonblocking(let on)): emit(.setNonblocking(s(r), on), st, checked: followed)
      case .set(let r, .option(let o, let v)): emit(.setOption(s(r), o, v), st, checked: followed)
      case .get(let r, let o): emit(.getOption(s(r), o), st, checked: followed)
      case .set(let r, .optionNumber(let n, let v)): emit(.setOptionNumber(s(r), n, v), st, checked: followed)
      case .getNumber(let r, let n): emit(.getOptionNumber(s(r), n), st, checked: followed)
      case .set(let r, .closeOnExec(let on)): emit(.setCloseOnExec(s(r), on), st, checked: followed)
      case .getFlag(let r, let f): emit(.getFlag(s(r), f), st, checked: followed)
      case .poll(let r, let events, let timeout, let o):
        emit(.poll(s(r), events, timeout: timeout, o), st, checked: followed)
      case .peer(let r): emit(.peer(s(r)), st, checked: followed)
      case .local(let r): emit(.local(s(r)), st, checked: followed)
      case .shutdown(let r, let how): emit(.shutdown(s(r), how), st, checked: followed)
      case .close(let r): emit(.close(s(r)), st, checked: followed)
      case .sleep(let d, _): emit(.sleep(d), st, checked: followed)
      case .send(let call, let r, let data, let to, let flags, let o):
        payloads.append(data)
        let t = to.map { compile($0, slots) }
        emit(.send(s(r), call, data: Int32(payloads.count - 1), to: t, flags, o), st, checked: followed)
      case .receive(let call, let r, let max, let flags, let o):
        emit(.receive(s(r), call, max: max, flags, o), st, checked: followed)
      case .expect(let e):
        expectations.append(e)
        let index = Int32(expectations.count - 1)
        expectedSockets.append(e.sockets.map(s))
        checks.append(
          CompiledExpectation(
            ok: e.ok, timeout: e.timeout, errnos: e.errnos, within: e.within?.nanoseconds ?? .max,
            complex: !(e.events.isEmpty && e.numbers.isEmpty && e.addresses.isEmpty && e.sockets.isEmpty)
              || e.after != nil || e.on || e.off || !e.durations.isEmpty))
        emit(.expect(index), st, checked: false)
      case .net: emit(.applied, st, checked: false)
      case .topology(let t):
        topology.append(t.mapHosts { hosts[Int($0)] })
        emit(.topology(Int32(topology.count - 1)), st, checked: false)
      case .user(let u): emit(.user(u), st, checked: followed)
      case .drop(let u): emit(.drop(u), st, checked: followed)
      case .wait(let r): emit(.wait(s(r)), st, checked: followed)
      case .signal(let r): emit(.signal(s(r)), st, checked: false)
      case .landlock(let rules):
        landlocks.append(
          rules.mapPorts { (p: PortRef) -> CompiledPort in
            switch p {
            case .number(let n): return .number(n)
            case .portOf(let r): return .portOf(s(r))
            }
          })
        emit(.landlock(Int32(landlocks.count - 1)), st, checked: followed)
      case .pollSet(let targets, let timeout, let o):
        pollSets.append(targets.map { (s($0.socket), $0.events) })
        emit(.pollSet(Int32(pollSets.count - 1), timeout: timeout, o), st, checked: followed)
      case .file(let op):
        fileOperations.append(op)
        emit(.file(Int32(fileOperations.count - 1)), st, checked: followed)
      case .repeat(let count, let body):
        let start = code.count
        emit(.loop(count: count, exit: 0), st, checked: false)
        compile(body, slots)
        emit(.next(body: Int32(start + 1)), st, checked: false)
        code[start] = .loop(count: count, exit: Int32(code.count))
      }
    }
  }
}
