// Where the instructions go: a callgrind output file read as self cost per function, summed by
// the part of the program the function belongs to (its Swift module, the Swift runtime's
// reference counting or allocation, the standard library, libc). The benchmark prints these
// shares beside a missed target, so that "why" is a measured figure, not a guess.

/// The parts of the program instructions are counted in, in the order they are printed.
enum CostPart: String, CaseIterable {
  case lexer = "lexer"
  case checker = "checker"
  case syntax = "ConnSyntax (parser, and copies of its values)"
  case interpreter = "ConnRuntime (interpreter)"
  case simulation = "ConnSim (simulation)"
  case kernelBackend = "ConnSystem and its C shims (kernel backend)"
  case commands = "ConnCommands and ConnHost"
  case referenceCounting = "reference counting"
  case exclusivity = "exclusivity checks"
  case allocation = "malloc and free"
  case standardLibrary = "Swift standard library"
  case libc = "libc, system call entry and the rest"

  /// A short name for the JSON file and `conn-bench parts`: the case's name.
  var key: String { String(describing: self) }

  private static let runtimeCounting = [
    "swift_retain", "swift_release", "swift_bridgeObject", "swift_isUniquelyReferenced",
    "swift_unknownObject", "swift_nonatomic", "bool swift::RefCounts", "swift::RefCounts",
  ]
  /// The allocator's entry points (whole names) and its insides (prefixes).
  private static let allocator = ["malloc", "free", "cfree", "calloc", "realloc", "posix_memalign"]
  private static let allocatorParts = [
    "_int_malloc", "_int_free", "_int_realloc", "sysmalloc", "malloc_consolidate", "tcache", "unlink_chunk",
    "swift_allocObject", "swift_slowAlloc", "swift_slowDealloc", "swift_deallocClassInstance",
    "swift_deallocObject", "_swift_release_dealloc", "swift_allocBox", "swift_deallocBox",
  ]

  /// The part a function (its raw, mangled symbol name) belongs to.
  static func of(_ name: Substring) -> CostPart {
    // Swift symbols of a module start with $s, the module name's length and the name; generic
    // code of the standard library specialized for conn's types starts with $ss or $sS.
    if name.hasPrefix("$s10ConnSyntax5Lexer") { return .lexer }
    if name.hasPrefix("$s10ConnSyntax7Checker") { return .checker }
    if name.hasPrefix("$s10ConnSyntax") { return .syntax }
    if name.hasPrefix("$s11ConnRuntime") { return .interpreter }
    if name.hasPrefix("$s7ConnSim") { return .simulation }
    if name.hasPrefix("$s10ConnSystem") || name.hasPrefix("conn_") { return .kernelBackend }
    if name.hasPrefix("$s12ConnCommands") || name.hasPrefix("$s8ConnHost") { return .commands }
    if name.hasPrefix("$ss") || name.hasPrefix("$sS") { return .standardLibrary }
    if runtimeCounting.contains(where: { name.hasPrefix($0) }) { return .referenceCounting }
    if name.hasPrefix("swift_beginAccess") || name.hasPrefix("swift_endAccess")
      || name.hasPrefix("swift::runtime::AccessSet") || name.hasPrefix("swift::runtime::SwiftTLSContext")
    {
      return .exclusivity
    }
    if allocator.contains(where: { name == $0 }) || allocatorParts.contains(where: { name.hasPrefix($0) }) {
      return .allocation
    }
    if name.hasPrefix("swift_") || name.hasPrefix("swift::") { return .standardLibrary }
    return .libc
  }
}

/// Self cost per part, read from a callgrind output file (one event: instructions).
struct CostProfile {
  var parts: [CostPart: Double] = [:]
  var total: Double { parts.values.reduce(0, +) }

  /// Reads callgrind's format: `fn=(id) name` starts a function (later only `fn=(id)`), cost
  /// lines are `position... cost`, and the cost line after a `calls=` line is the called function's
  /// inclusive cost, not the caller's own.
  init(callgrindOutput text: String) {
    var names: [Substring: Substring] = [:]
    var current = CostPart.libc
    var skipNext = false
    // Cost lines start with one column per position (`positions: line`, or `instr line` with
    // --dump-instr=yes).
    var positions = 1
    for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
      guard let first = line.utf8.first else { continue }
      if line.hasPrefix("positions:") {
        positions = max(1, line.split(separator: " ").count - 1)
        continue
      }
      if line.hasPrefix("fn=") {
        let rest = line.dropFirst(3)
        if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
          let id = rest[rest.startIndex...close]
          let name = rest[rest.index(after: close)...].drop { $0 == " " }
          if !name.isEmpty { names[id] = name }
          current = CostPart.of(names[id] ?? name)
        } else {
          current = CostPart.of(rest)
        }
        continue
      }
      if line.hasPrefix("cfn=") {
        // Name the function for later lines that give only its id.
        let rest = line.dropFirst(4)
        if rest.hasPrefix("("), let close = rest.firstIndex(of: ")") {
          let name = rest[rest.index(after: close)...].drop { $0 == " " }
          if !name.isEmpty { names[rest[rest.startIndex...close]] = name }
        }
        continue
      }
      if line.hasPrefix("calls=") {
        skipNext = true
        continue
      }
      // A cost line: a position (a number, +N, -N or *), then the cost.
      let isCost =
        (first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) || first == UInt8(ascii: "+")
        || first == UInt8(ascii: "-") || first == UInt8(ascii: "*")
      guard isCost else { continue }
      if skipNext {
        skipNext = false
        continue
      }
      let fields = line.split(separator: " ")
      guard fields.count > positions, let cost = Double(fields[positions]) else { continue }
      parts[current, default: 0] += cost
    }
  }

  init(parts: [CostPart: Double]) { self.parts = parts }

  /// (self - other) / n, part by part: the cost per iteration of two runs that differ by n.
  func perUnit(minus other: CostProfile, over n: Double) -> CostProfile {
    var out: [CostPart: Double] = [:]
    for p in CostPart.allCases {
      let v = ((parts[p] ?? 0) - (other.parts[p] ?? 0)) / n
      if v != 0 { out[p] = v }
    }
    return CostProfile(parts: out)
  }

  /// Each part's figure for the JSON file.
  func figures(_ prefix: String) -> [(String, Double)] {
    CostPart.allCases.compactMap { p in parts[p].map { ("\(prefix)_\(p.key)", $0) } }
  }

  /// The parts that count, largest first: "ConnSim 2,950 (57%), ...".
  func describe(decimals: Int = 0, minimumShare: Double = 0.02) -> String {
    let sum = total
    guard sum > 0 else { return "nothing counted" }
    let shown = parts.filter { $0.value / sum >= minimumShare }.sorted { $0.value > $1.value }
    let rest = sum - shown.reduce(0) { $0 + $1.value }
    var items = shown.map {
      "\($0.key.rawValue) \(fixed($0.value, decimals)) (\(Int(($0.value / sum * 100).rounded()))%)"
    }
    if rest > 0 { items.append("other \(fixed(rest, decimals))") }
    return items.joined(separator: ", ")
  }
}
