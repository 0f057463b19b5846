// Who holds each port, per protocol (TCP and UDP each have one table): the sockets whose local
// address has that port, listeners and accepted sockets included. bind's conflict check, the
// listener lookup of a SYN and the 4-tuple check of connect look only at the sockets on one port;
// an ephemeral port is found in a bitmap of the ports in use, from a cursor that moves on after
// each pick (Linux too spreads its picks), so no lookup walks every socket.

struct PortTable {
  /// The sockets on each port (usually none or one).
  private var owners: [UInt16: [Handle]] = [:]
  /// Bit set: some socket holds the port.
  private var inUse = [UInt64](repeating: 0, count: 1024)
  /// Where the next ephemeral search starts, as an offset into the range.
  private var cursor = 0

  func holders(of port: UInt16) -> [Handle] { owners[port] ?? [] }

  func isTaken(_ port: UInt16) -> Bool { inUse[Int(port) >> 6] & (1 << UInt64(port & 63)) != 0 }

  mutating func add(_ h: Handle, port: UInt16) {
    guard port != 0 else { return }
    owners[port, default: []].append(h)
    inUse[Int(port) >> 6] |= 1 << UInt64(port & 63)
  }

  mutating func remove(_ h: Handle, port: UInt16) {
    guard port != 0, var list = owners[port], let i = list.firstIndex(of: h) else { return }
    list.remove(at: i)
    if list.isEmpty {
      owners[port] = nil
      inUse[Int(port) >> 6] &= ~(1 << UInt64(port & 63))
    } else {
      owners[port] = list
    }
  }

  /// The next port of `range` that no socket holds, searching on from the last pick; nil when
  /// every port of the range is taken.
  mutating func ephemeral(in range: ClosedRange<UInt16>) -> UInt16? {
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

  mutating func removeAll() {
    owners.removeAll(keepingCapacity: true)
    for i in inUse.indices { inUse[i] = 0 }
    cursor = 0
  }
}
