/// One descriptor's part of an alternative after a poll of several: the socket (its index in
/// the expectation's `sockets`) and the events that must all be there, or none at all.
package struct DescriptorEvents: Hashable, Sendable {
  package var socket: Int
  package var events: PollEvents
}

/// What an `expect` accepts: any one of its alternatives.
///
/// The alternatives live out of line, copy-on-write, and the parser shares one copy among all
/// the `expect`s of a script that accept the same things (most say `ok` or one errno): a
/// statement holds a reference and its own text range, so the syntax tree stays small and
/// copying an `expect` costs one retain.
package struct Expectation: Hashable, Sendable {
  /// The alternatives as plain values.
  struct Alternatives: Hashable {
    var ok = false
    var timeout = false
    var errnos = ErrnoSet()
    var events: [PollEvents] = []
    var numbers: [Int64] = []
    var addresses: [SocketAddress] = []
    var sockets: [SocketRef] = []
    /// For a socket written in place of a port (`[::ffff:127.0.0.1]:l`), by its index in
    /// `sockets`: the address written, whose port the socket's is to replace.
    var portTemplates: [Int: SocketAddress] = [:]
    /// After a poll of several descriptors: alternatives made of `NAME EVENT...` groups (each
    /// group's socket by its index in `sockets`; no events: `none`, nothing happened to it).
    var descriptorEvents: [[DescriptorEvents]] = []
    /// An option read by `get` is on / off (SO_LINGER: l_onoff; a flag: nonzero; a timeout: set).
    var on = false
    var off = false
    /// An option's value as a duration: SO_LINGER's seconds, SO_SNDTIMEO's and SO_RCVTIMEO's time.
    var durations: [TimeSpan] = []
    var within: TimeSpan?
    var after: TimeSpan?
    /// Bytes received, written as hex "..." or zeros N (a string reads as an address: a receive
    /// compares the bytes of its path).
    var data: [[UInt8]] = []
  }

  final class Storage: @unchecked Sendable {
    /// Changed only through a uniquely referenced `Expectation` (see `unique()`), so neither
    /// sharing nor the skipped run-time exclusivity check can let two parties see a change.
    @exclusivity(unchecked) var a: Alternatives
    init(_ a: Alternatives) { self.a = a }
  }

  private var storage: Storage
  /// The alternatives as written, for "expected ..." messages.
  package var textRange: SourceRange

  package init(textRange: SourceRange) {
    storage = Storage(Alternatives())
    self.textRange = textRange
  }

  /// The parser's constructor: `storage` may be shared with other expectations.
  init(storage: Storage, textRange: SourceRange) {
    self.storage = storage
    self.textRange = textRange
  }

  private mutating func unique() {
    if !isKnownUniquelyReferenced(&storage) { storage = Storage(storage.a) }
  }

  package var ok: Bool {
    get { storage.a.ok }
    set {
      unique()
      storage.a.ok = newValue
    }
  }
  package var timeout: Bool {
    get { storage.a.timeout }
    set {
      unique()
      storage.a.timeout = newValue
    }
  }
  package var errnos: ErrnoSet {
    get { storage.a.errnos }
    _modify {
      unique()
      yield &storage.a.errnos
    }
  }
  /// Each entry is one alternative; all its events must be present in the result.
  package var events: [PollEvents] {
    get { storage.a.events }
    _modify {
      unique()
      yield &storage.a.events
    }
  }
  package var numbers: [Int64] {
    get { storage.a.numbers }
    _modify {
      unique()
      yield &storage.a.numbers
    }
  }
  package var addresses: [SocketAddress] {
    get { storage.a.addresses }
    _modify {
      unique()
      yield &storage.a.addresses
    }
  }
  /// Sockets whose bound address (getsockname) is expected, as in `peer c; expect l`.
  package var sockets: [SocketRef] {
    get { storage.a.sockets }
    _modify {
      unique()
      yield &storage.a.sockets
    }
  }
  /// Alternatives of per-descriptor events, after a poll of several descriptors.
  package var descriptorEvents: [[DescriptorEvents]] { storage.a.descriptorEvents }
  /// Which of `sockets` stand for their port only, and the address written around each.
  package var portTemplates: [Int: SocketAddress] {
    get { storage.a.portTemplates }
    _modify {
      unique()
      yield &storage.a.portTemplates
    }
  }
  /// `on`: the option `get` read is on (SO_LINGER: l_onoff is 1; a flag: nonzero).
  package var on: Bool { storage.a.on }
  /// `off`: the option `get` read is off (SO_LINGER: l_onoff is 0; a flag or a timeout: 0).
  package var off: Bool { storage.a.off }
  /// Durations an option read by `get` may hold (`expect 5s` after `get s SO_LINGER`).
  package var durations: [TimeSpan] { storage.a.durations }
  /// Bytes a receive should give (hex "..." and zeros N alternatives).
  package var data: [[UInt8]] { storage.a.data }

  /// The previous statement must have taken at least this long.
  package var after: TimeSpan? {
    get { storage.a.after }
    set {
      unique()
      storage.a.after = newValue
    }
  }
  /// The previous statement must have taken at most this long.
  package var within: TimeSpan? {
    get { storage.a.within }
    set {
      unique()
      storage.a.within = newValue
    }
  }

  package var isEmpty: Bool {
    let s = storage.a
    return !s.ok && !s.timeout && s.errnos.isEmpty && s.events.isEmpty && s.numbers.isEmpty
      && s.addresses.isEmpty
      && s.sockets.isEmpty && s.data.isEmpty && !s.on && !s.off && s.durations.isEmpty
      && s.descriptorEvents.isEmpty
  }

  package static func == (l: Expectation, r: Expectation) -> Bool {
    l.textRange == r.textRange && (l.storage === r.storage || l.storage.a == r.storage.a)
  }

  package func hash(into h: inout Hasher) {
    h.combine(textRange)
    h.combine(storage.a)
  }
}
