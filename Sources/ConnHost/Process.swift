#if canImport(Glibc)
  import Glibc
#elseif canImport(Musl)
  import Musl
#elseif canImport(Darwin)
  import Darwin
#endif
import CConnShims

// Worker processes for parallel runs. Each worker is this same executable in a worker mode,
// talking over two pipes. Processes (not threads) keep scenarios apart: a stale descriptor, a
// changed file-system identity or a crash in one scenario cannot reach another.

package final class Subprocess {
  package let pid: Int32
  /// Write end of the child's standard input.
  package let input: Int32
  /// Read end of the child's standard output.
  package let output: Int32
  private var buffer: [UInt8] = []
  package private(set) var finished = false

  /// The path of the running executable (to start workers of itself).
  package static var currentExecutable: String {
    #if os(Linux)
      var buf = [CChar](repeating: 0, count: 4096)
      let n = readlink("/proc/self/exe", &buf, buf.count - 1)
      if n > 0 { return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    #endif
    return CommandLine.arguments[0]
  }

  /// Starts `path` with `arguments`; its stderr is inherited, or joins stdout.
  package init?(path: String, arguments: [String], mergeStandardError: Bool = false) {
    var toChild: [Int32] = [0, 0]
    var fromChild: [Int32] = [0, 0]
    // Close-on-exec from the start, so a process spawned meanwhile by another thread cannot
    // inherit these ends (dup2 onto 0, 1, 2 clears the flag in the child).
    guard conn_pipe_cloexec(&toChild) == 0 else { return nil }
    guard conn_pipe_cloexec(&fromChild) == 0 else {
      _ = close(toChild[0])
      _ = close(toChild[1])
      return nil
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
    posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
    // The child's standard error: the pipe, or this tool's own (never the scenarios' /dev/null).
    posix_spawn_file_actions_adddup2(&actions, mergeStandardError ? fromChild[1] : StandardStreams.error, 2)
    // Workers start with no signal blocked and default handlers, whatever this thread has.
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    sigaddset(&defaults, SIGPIPE)  // this process ignores it; the child gets the default back
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    let argv = ([path] + arguments).map { strdup($0) } + [nil]
    defer { for p in argv { free(p) } }
    var child: Int32 = 0
    let rc = posix_spawn(&child, path, &actions, &attributes, argv, environ)
    _ = close(toChild[0])
    _ = close(fromChild[1])
    if rc != 0 {
      _ = close(toChild[1])
      _ = close(fromChild[0])
      return nil
    }
    pid = child
    input = toChild[1]
    output = fromChild[0]
    ReservedDescriptors.add(input, as: "a pipe to a worker process")
    ReservedDescriptors.add(output, as: "a pipe from a worker process")
  }

  /// Sends one line to the child.
  @discardableResult
  package func send(_ line: String) -> Bool { Host.writeAll(input, line + "\n") }

  /// Reads what is available (after poll said readable) and returns complete lines; nil at end
  /// of file (the child exited or closed its output).
  package func readLines() -> [String]? {
    var chunk = [UInt8](repeating: 0, count: 65536)
    let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
    if n < 0 { return errno == EINTR || errno == EAGAIN ? [] : nil }
    if n == 0 {
      finished = true
      return nil
    }
    buffer.append(contentsOf: chunk[0..<n])
    var lines: [String] = []
    var start = 0
    for i in 0..<buffer.count where buffer[i] == 0x0A {
      lines.append(String(decoding: buffer[start..<i], as: UTF8.self))
      start = i + 1
    }
    buffer.removeFirst(start)
    return lines
  }

  private var inputClosed = false

  /// Ends the child's input: it sees end of file.
  package func closeInput() {
    if inputClosed { return }
    inputClosed = true
    ReservedDescriptors.remove(input)
    _ = close(input)
  }

  private var reaped = false
  private var status: Int32 = 0

  /// Closes the child's input (it finishes and exits) and waits for it. Safe to call again.
  package func finish() -> Int32 {
    if reaped { return status }
    reaped = true
    closeInput()
    var st: Int32 = 0
    while waitpid(pid, &st, 0) < 0 && errno == EINTR {}
    ReservedDescriptors.remove(output)
    _ = close(output)
    status = st
    return st
  }

  deinit { _ = finish() }

  /// Asks the child to stop (SIGTERM).
  package func terminate() {
    if reaped { return }
    _ = sendSignal(pid, SIGTERM)
  }

  package func kill() {
    if reaped { return }  // the pid may belong to another process by now
    _ = sendSignal(pid, SIGKILL)
  }

  /// Waits until one of the subprocesses has output, at most `timeoutMilliseconds`; returns
  /// the indexes that are readable (or hung up).
  package static func waitReadable(_ procs: [Subprocess?], timeoutMilliseconds: Int32) -> [Int] {
    var fds: [pollfd] = []
    var index: [Int] = []
    for (i, p) in procs.enumerated() {
      if let p, !p.finished {
        fds.append(pollfd(fd: p.output, events: Int16(POLLIN), revents: 0))
        index.append(i)
      }
    }
    if fds.isEmpty { return [] }
    let rc = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
    if rc <= 0 { return [] }
    return fds.indices.filter { fds[$0].revents != 0 }.map { index[$0] }
  }
}

/// kill(2), out of the way of `Subprocess.kill`.
private func sendSignal(_ pid: Int32, _ sig: Int32) -> Int32 { kill(pid, sig) }
