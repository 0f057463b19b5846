// swift-tools-version:6.0
// The layering (docs/ARCHITECTURE.md): conn -> ConnCommands -> {ConnSystem, ConnSim, ConnHost};
// ConnSystem -> {ConnRuntime, ConnHost}; ConnSim -> ConnRuntime -> ConnSyntax. Libc is imported
// only in ConnHost and ConnSystem (and the C targets).
import PackageDescription

let package = Package(
  name: "conn",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "conn", targets: ["conn"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // Source text -> tokens -> AST -> checked script, and diagnostics. Pure Swift, no libc.
    .target(name: "ConnSyntax"),
    // Interpreter, outcomes, errno catalog, the Backend protocol. No libc.
    .target(name: "ConnRuntime", dependencies: ["ConnSyntax"]),
    // GNU-only calls the Glibc module does not expose.
    .target(name: "CConnShims"),
    // The operating system as the command line needs it: files, terminal, processes, signals,
    // the private directory.
    .target(name: "ConnHost", dependencies: ["CConnShims"]),
    // The kernel backend: socket calls, network namespaces.
    .target(name: "ConnSystem", dependencies: ["ConnRuntime", "ConnHost", "CConnShims"]),
    // The simulated backend: a deterministic model of Linux sockets.
    .target(name: "ConnSim", dependencies: ["ConnRuntime"]),
    .systemLibrary(name: "CReadline", providers: [.apt(["libreadline-dev"]), .brew(["readline"])]),
    // The command line as a library, so tests call commands in-process.
    .target(
      name: "ConnCommands",
      dependencies: [
        "ConnSyntax", "ConnRuntime", "ConnSystem", "ConnSim", "ConnHost", "CReadline",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .executableTarget(name: "conn", dependencies: ["ConnCommands"]),
    // Benchmarks (scripts/bench.sh builds it in release mode); never part of `swift test`.
    .executableTarget(name: "conn-bench", dependencies: ["ConnSyntax", "ConnRuntime", "ConnHost"]),
    // The front end under libFuzzer (scripts/fuzz.sh); built plainly, a replayer of saved inputs.
    .executableTarget(name: "conn-fuzz", dependencies: ["ConnSyntax", "ConnRuntime", "ConnHost"]),
    .testTarget(name: "ConnSyntaxTests", dependencies: ["ConnSyntax"], resources: [.copy("Fixtures")]),
    .testTarget(name: "ConnRuntimeTests", dependencies: ["ConnRuntime"]),
    .testTarget(name: "ConnHostTests", dependencies: ["ConnHost", "CConnShims"]),
    .testTarget(name: "ConnSystemTests", dependencies: ["ConnSystem", "ConnRuntime", "ConnHost"]),
    .testTarget(name: "ConnSimTests", dependencies: ["ConnSim", "ConnRuntime"]),
    .testTarget(
      name: "ConnCommandsTests",
      dependencies: ["ConnCommands", "ConnSyntax", "ConnRuntime", "ConnSystem", "ConnHost"]),
  ]
)
