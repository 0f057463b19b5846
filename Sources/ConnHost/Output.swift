#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif

// Output, terminals and the environment: what the command line prints goes to the tool's own
// standard output and error (see StandardStreams: never the descriptors a scenario may touch).

/// The host: the operating system as the command line sees it. Its members are spread over the
/// files of this module, one concern each.
package enum Host {
  @discardableResult
  package static func writeAll(_ fd: Int32, _ s: String) -> Bool {
    var s = s
    return s.withUTF8 { b in writeAll(fd, UnsafeRawBufferPointer(b)) }
  }

  @discardableResult
  package static func writeAll(_ fd: Int32, _ b: UnsafeRawBufferPointer) -> Bool {
    var off = 0
    while off < b.count {
      let n = write(fd, b.baseAddress! + off, b.count - off)
      if n < 0 {
        if errno == EINTR { continue }
        return false
      }
      off += n
    }
    return true
  }

  package static func printOut(_ s: String) { writeAll(StandardStreams.output, s) }
  package static func printErr(_ s: String) { writeAll(StandardStreams.error, s) }

  package static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) != 0 }

  /// Is the tool's own standard output (or error, or input) a terminal?
  package static var outputIsTerminal: Bool { isTerminal(StandardStreams.output) }
  package static var errorIsTerminal: Bool { isTerminal(StandardStreams.error) }
  package static var inputIsTerminal: Bool { isTerminal(StandardStreams.input) }

  package static func environment(_ name: String) -> String? {
    guard let p = getenv(name) else { return nil }
    return String(cString: p)
  }

  /// Colour only on a terminal and never when NO_COLOR is set (https://no-color.org).
  package static func wantsColor(onError: Bool = false) -> Bool {
    if let v = environment("NO_COLOR"), !v.isEmpty { return false }
    if environment("TERM") == "dumb" { return false }
    return onError ? errorIsTerminal : outputIsTerminal
  }

  /// The user's home directory, from HOME.
  package static var homeDirectory: String? {
    guard let h = environment("HOME"), !h.isEmpty else { return nil }
    return h
  }
}
