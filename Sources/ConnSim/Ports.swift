// Who holds each port, per protocol (TCP and UDP each have one table): the sockets whose local
// address has that port, listeners and accepted sockets included. bind's conflict check, the
// listener lookup of a SYN and the 4-tuple check of connect look only at the sockets on one port;
// an ephemeral port is found in a bitmap of the ports in use, from a cursor that moves on after
// each pick (Linux too spreads its picks), so no lookup walks every socket.

/// A class: the simulation's methods read it from the backend (a class) on every connect, and
/// a struct of arrays read so is copied, a retain and a release per array. Each backend owns
/// its two tables; their fields skip the run-time exclusivity checks, as the backend's own do
/// (one thread at a time runs the simulation).
final class PortTable {
  /// For each port, the first node of its list of holders (nodes count from 1), valid where
  /// `inUse` says the port has holders (else 0: none). Never zeroed as a whole: a scenario touches a few ports,
  /// and zeroing 65,536 heads cost more than a small scenario's whole run (the allocator hands
  /// out a block this size as fresh pages, which cost nothing until written).
  @exclusivity(unchecked) private var head = [Int32](unsafeUninitializedCapacity: 65536) { _, n in n = 65536 }
  @exclusivity(unchecked) private var nodeHandle: [Handle] = [Handle(index: -1, generation: 0)]
  @exclusivity(unchecked) private var nodeNext: [Int32] = [0]
  @exclusivity(unchecked) private var freeNodes: [Int32] = []
  /// Bit set: some socket holds the port.
  @exclusivity(unchecked) private var inUse = [UInt64](repeating: 0, count: 1024)
  /// Where the next ephemeral search starts, as an offset into the range.
  @exclusivity(unchecked) private var cursor = 0
  /// Where the search for a free port starts, from the low end of the range.
  private let startOffset: Int

  init(startOffset: Int = 0) {
    self.startOffset = startOffset
    cursor = startOffset
  }

  /// The first holder node of `port` (0: none).
  @inline(__always)
  private func first(_ port: UInt16) -> Int32 {
    inUse[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0 ? head[Int(port)] : 0
  }

  @inline(__always)
  private func setFirst(_ port: UInt16, _ n: Int32) {
    head[Int(port)] = n
  }

  /// Calls `body` with each socket on `port`, until it returns false.
  @inline(__always)
  func forEachHolder(of port: UInt16, _ body: (Handle) -> Bool) {
    var n = first(port)
    while n != 0 {
      if !body(nodeHandle[Int(n)]) { return }
      n = nodeNext[Int(n)]
    }
  }

  /// The same walk without a closure, for the hot paths: the first node of a port's holders
  /// (0: none), a node's holder, the next node.
  @inline(__always) func firstNode(of port: UInt16) -> Int32 { first(port) }
  @inline(__always) func holder(_ n: Int32) -> Handle { nodeHandle[Int(n)] }
  @inline(__always) func nextNode(_ n: Int32) -> Int32 { nodeNext[Int(n)] }

  func isTaken(_ port: UInt16) -> Bool { inUse[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0 }

  func add(_ h: Handle, port: UInt16) {
    guard port != 0 else { return }
    let n: Int32
    if let f = freeNodes.popLast() {
      n = f
      nodeHandle[Int(n)] = h
    } else {
      n = Int32(nodeHandle.count)
      nodeHandle.append(h)
      nodeNext.append(0)
    }
    // Appended at the end, so holders are visited in the order they came (as a list would be).
    nodeNext[Int(n)] = 0
    if first(port) == 0 {
      setFirst(port, n)
    } else {
      var last = first(port)
      while nodeNext[Int(last)] != 0 { last = nodeNext[Int(last)] }
      nodeNext[Int(last)] = n
    }
    inUse[Int(port) >> 6] |= 1 << UInt64(port & 63)
  }

  func remove(_ h: Handle, port: UInt16) {
    guard port != 0 else { return }
    var previous: Int32 = 0
    var n = first(port)
    while n != 0 && nodeHandle[Int(n)] != h {
      previous = n
      n = nodeNext[Int(n)]
    }
    guard n != 0 else { return }
    if previous == 0 {
      setFirst(port, nodeNext[Int(n)])
    } else {
      nodeNext[Int(previous)] = nodeNext[Int(n)]
    }
    freeNodes.append(n)
    if first(port) == 0 { inUse[Int(port) >> 6] &= ~(1 << UInt64(port & 63)) }
  }

  /// The next port of `range` that no socket holds, searching on from the last pick; nil when
  /// every port of the range is taken.
  func ephemeral(in range: ClosedRange<UInt16>) -> UInt16? {
    let count = Int(range.upperBound) - Int(range.lowerBound) + 1
    var k = 0
    while k < count {
      let offset = (cursor + k) % count
      let p = Int(range.lowerBound) + offset
      let word = inUse[p >> 6]
      if word == .max {
        // A whole word of taken ports: skip to the next word (or to the end of the range).
        k += min(64 - (p & 63), Int(range.upperBound) - p + 1)
        continue
      }
      if word & (1 << UInt64(p & 63)) == 0 {
        cursor = (offset + 1) % count
        return UInt16(p)
      }
      k += 1
    }
    return nil
  }

  func removeAll() {
    // Nothing to clear when no port was ever held since the last time.
    if nodeHandle.count > 1 {
      for w in inUse.indices where inUse[w] != 0 { inUse[w] = 0 }
    }
    nodeHandle.removeSubrange(1...)
    nodeNext.removeSubrange(1...)
    freeNodes.removeAll(keepingCapacity: true)
    cursor = startOffset
  }
}
