// ConnHost is the operating system as the command line needs it: files and directories,
// terminals and output, processes and signals, the private directory. It imports the C library
// itself, plainly, in each file that calls it; nothing re-exports it.

#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#else
  #error("unsupported platform")
#endif

/// Why an operating-system call failed, as text (strerror).
package func systemErrorText(_ code: Int32) -> String {
  guard let p = strerror(code) else { return "errno \(code)" }
  return String(cString: p)
}

/// The calling thread's errno.
package var systemErrno: Int32 { errno }
