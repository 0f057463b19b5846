// "Did you mean" hints: the closest known name by edit distance, offered only when it is
// plausibly a typo of the word written.

/// Edit distance for "did you mean" hints. Small inputs only: the words are compared as
/// uppercase ASCII bytes, in place (this runs for every unknown word of a file or a session).
package func closestName(to word: String, in candidates: [String], maxDistance: Int = 3) -> String? {
  var w = Array(word.utf8)
  if w.count > 64 { return nil }
  for i in w.indices where w[i] >= 0x61 && w[i] <= 0x7A { w[i] -= 0x20 }
  var best: (String, Int)?
  var c: [UInt8] = []
  c.reserveCapacity(64)
  for candidate in candidates {
    c.removeAll(keepingCapacity: true)
    c.append(contentsOf: candidate.utf8)
    if abs(c.count - w.count) > maxDistance || c.count > 64 { continue }
    for i in c.indices where c[i] >= 0x61 && c[i] <= 0x7A { c[i] -= 0x20 }
    let d = editDistance(w, c)
    if d <= maxDistance, d < (best?.1 ?? Int.max) { best = (candidate, d) }
  }
  // Only suggest when the suggestion is plausibly a typo, not a different word.
  guard let b = best, b.1 <= max(1, w.count / 3) else { return nil }
  return b.0
}

/// Damerau-Levenshtein (optimal string alignment): a swapped pair counts as one edit. Three
/// rows of the table, on the stack.
func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  let n = a.count, m = b.count
  if n == 0 { return m }
  if m == 0 { return n }
  return withUnsafeTemporaryAllocation(of: Int.self, capacity: 3 * (m + 1)) { rows in
    var prev2 = 0, prev = m + 1, cur = 2 * (m + 1)
    for j in 0...m { rows[prev + j] = j }
    for i in 1...n {
      rows[cur] = i
      for j in 1...m {
        let cost = a[i - 1] == b[j - 1] ? 0 : 1
        var d = min(rows[prev + j] + 1, rows[cur + j - 1] + 1, rows[prev + j - 1] + cost)
        if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d = min(d, rows[prev2 + j - 2] + 1) }
        rows[cur + j] = d
      }
      (prev2, prev, cur) = (prev, cur, prev2)
    }
    return rows[prev + m]
  }
}
