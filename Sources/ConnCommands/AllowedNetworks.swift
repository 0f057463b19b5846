import ArgumentParser
import ConnHost
import ConnSyntax

// `--allow-net`: the destinations beyond loopback a run may reach on the host network. Each value
// is a prefix written as `net route` takes one (no bits past the length, no leading zeros); a
// prefix of length 0 would allow every destination, which needs its own spelling, `all`, and a
// warning.

package struct AllowedNetworks: Sendable, Equatable {
  package var prefixes: [IPPrefix] = []
  package var everything = false

  package init() {}

  /// What `--allow-net` values say, or a usage error naming the bad one.
  package init(_ values: [String]) throws {
    for v in values {
      if v == "all" {
        everything = true
        continue
      }
      switch Parser.networkPrefix(v) {
      case .failure(let why): throw ValidationError("--allow-net \(v): \(why.message)")
      case .success(let p):
        if p.length == 0 {
          throw ValidationError(
            "--allow-net \(v) would allow every destination on the host network; if that is what you mean, write --allow-net all"
          )
        }
        prefixes.append(p)
      }
    }
  }

  /// The prefixes the kernel backend checks.
  package var effective: [IPPrefix] {
    everything ? [.v4(.any, 0), .v6(.any, 0)] : prefixes
  }

  /// The command-line values that mean the same (for workers).
  package var arguments: [String] {
    (everything ? ["--allow-net", "all"] : []) + prefixes.flatMap { ["--allow-net", $0.description] }
  }

  package static let warning =
    "warning: --allow-net all: scenarios may connect to any address on the host network\n"
}
