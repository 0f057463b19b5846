import ConnRuntime
import ConnSyntax

// Virtual time. The clock moves only when a scenario waits (sleep, poll, a blocking call), and
// then it jumps to the next event: a 127-second SYN timeout costs microseconds. Events due at
// the same time run in the order they were scheduled (as swift-nio's EmbeddedEventLoop does).

/// A SYN (re)transmission of a connect that has not been answered yet.
struct SynAttempt {
  let socket: Handle
  /// Which attempt of the socket this is (a socket that disconnected and connected again starts
  /// a new one; events of the old one are dropped when they come due).
  let attempt: UInt32
  let target: SocketAddress
  let start: Int64
  /// Which transmission this is (0 is the first SYN).
  var transmission: Int
  /// Not a SYN: the end of a neighbour resolution that got no answer (EHOSTUNREACH).
  var neighbourFailure = false
}

struct Event {
  var time: Int64
  var sequence: Int
  var syn: SynAttempt
}

/// A binary min-heap of events by (time, sequence).
struct EventQueue {
  private var heap: [Event] = []
  private var sequence = 0

  var isEmpty: Bool { heap.isEmpty }
  var first: Event? { heap.first }

  mutating func schedule(_ syn: SynAttempt, at time: Int64) {
    sequence += 1
    heap.append(Event(time: time, sequence: sequence, syn: syn))
    var i = heap.count - 1
    while i > 0 {
      let parent = (i - 1) / 2
      if !Self.before(heap[i], heap[parent]) { break }
      heap.swapAt(i, parent)
      i = parent
    }
  }

  mutating func removeFirst() -> Event {
    let top = heap[0]
    let last = heap.removeLast()
    if !heap.isEmpty {
      heap[0] = last
      var i = 0
      while true {
        let l = 2 * i + 1
        let r = l + 1
        var m = i
        if l < heap.count && Self.before(heap[l], heap[m]) { m = l }
        if r < heap.count && Self.before(heap[r], heap[m]) { m = r }
        if m == i { break }
        heap.swapAt(i, m)
        i = m
      }
    }
    return top
  }

  mutating func removeAll() {
    heap.removeAll(keepingCapacity: true)
    sequence = 0
  }

  private static func before(_ a: Event, _ b: Event) -> Bool {
    a.time != b.time ? a.time < b.time : a.sequence < b.sequence
  }
}

extension SimBackend {
  /// Runs every event due at or before `t`, in order, and moves the clock to `t`.
  @inline(__always)
  func advance(to t: Int64) {
    // Most calls find nothing pending: no scan.
    if events.isEmpty {
      if t > clock { clock = t }
      return
    }
    advanceThroughEvents(to: t)
  }

  private func advanceThroughEvents(to t: Int64) {
    while let e = nextLiveEvent(), e.time <= t {
      _ = events.removeFirst()
      if e.time > clock { clock = e.time }
      processSyn(e.syn)
    }
    if t > clock { clock = t }
  }

  /// The first event whose attempt is still under way (stale ones are dropped on the way).
  private func nextLiveEvent() -> Event? {
    while let e = events.first {
      if tcp.contains(e.syn.socket), tcp[e.syn.socket].attempt == e.syn.attempt,
        tcp[e.syn.socket].state == .synSent
      {
        return e
      }
      _ = events.removeFirst()
    }
    return nil
  }

  enum WaitResult { case ready, timeout, interrupted }

  /// When the next event that still matters happens (nil: none).
  var nextEventTime: Int64? { nextLiveEvent()?.time }

  /// Waits (in virtual time) until `ready()` holds, the optional `timeout` passes, the user's
  /// `interrupt` fires, or the call's limit is reached (then the call fails as timed out).
  func wait(
    until ready: () -> Bool, timeout: TimeSpan?, interrupt: TimeSpan?, limit: TimeSpan
  ) throws(BackendError) -> WaitResult {
    if ready() { return .ready }
    // Inside a call in the background: hand control back instead of moving the clock.
    if let p = runningCall {
      return try waitInBackground(p, until: ready, timeout: timeout, interrupt: interrupt, limit: limit)
    }
    let start = clock
    let timeoutAt = timeout.map { start + $0.nanoseconds }
    let interruptAt = interrupt.map { start + $0.nanoseconds }
    let limitAt = start + limit.nanoseconds
    while true {
      var stop = limitAt
      if let t = timeoutAt, t < stop { stop = t }
      if let i = interruptAt, i < stop { stop = i }
      if let e = nextLiveEvent(), e.time <= stop {
        advanceSettling(to: e.time)
        if ready() { return .ready }
        continue
      }
      advanceSettling(to: stop)
      if ready() { return .ready }
      // The earliest reason to stop wins; the user's timeout and interrupt before the limit.
      if let t = timeoutAt, t == stop { return .timeout }
      if let i = interruptAt, i == stop { return .interrupted }
      throw .timedOut(limit)
    }
  }
}
