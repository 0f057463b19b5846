import ArgumentParser
import ConnHost
import ConnSystem

/// `conn clean`: remove what killed runs left behind.
package struct CleanCommand: ConsoleCommand {
  package static let configuration = CommandConfiguration(
    commandName: "clean",
    abstract: "Remove the private directories and cgroups of conn processes that are gone.",
    discussion: """
      A scenario's relative Unix paths live in a private directory (/tmp/conn-XXXXXX) that the \
      run removes at its end, also when it is stopped by SIGINT, SIGTERM or SIGHUP. Only a \
      process killed with SIGKILL leaves one behind. This command removes those whose process \
      is gone (each live run holds a lock on its own); `conn run` does the same when it starts. \
      Only directories of the user running it are looked at. The cgroups that `firewall HOST \
      connect` statements make (conn-PID-N in the cgroup v2 hierarchy) are removed the same way \
      when their process is gone.

      Exit codes: 0.
      """)

  package init() {}

  package func execute(_ console: Console) throws {
    let removed = PrivateDirectory.removeStale() + SystemBackend.removeStaleCgroups()
    for path in removed { console.out("removed \(path)\n") }
    if removed.isEmpty { console.out("nothing to remove\n") }
  }
}
