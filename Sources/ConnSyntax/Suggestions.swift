// "Did you mean" hints: the closest known name by edit distance, offered only when it is
// plausibly a typo of the word written.

/// Edit distance for "did you mean" hints. Small inputs only.
package func closestName(to word: String, in candidates: [String], maxDistance: Int = 3) -> String? {
  let w = Array(word.uppercased().utf8)
  var best: (String, Int)?
  for c in candidates {
    let cb = Array(c.uppercased().utf8)
    if abs(cb.count - w.count) > maxDistance { continue }
    let d = editDistance(w, cb)
    if d <= maxDistance, d < (best?.1 ?? Int.max) { best = (c, d) }
  }
  // Only suggest when the suggestion is plausibly a typo, not a different word.
  guard let b = best, b.1 <= max(1, w.count / 3) else { return nil }
  return b.0
}

func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
  // Damerau-Levenshtein (optimal string alignment): a swapped pair counts as one edit.
  let n = a.count, m = b.count
  if n == 0 { return m }
  if m == 0 { return n }
  var d = [[Int]](repeating: [Int](repeating: 0, count: m + 1), count: n + 1)
  for i in 0...n { d[i][0] = i }
  for j in 0...m { d[0][j] = j }
  for i in 1...n {
    for j in 1...m {
      let cost = a[i - 1] == b[j - 1] ? 0 : 1
      d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
        d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
      }
    }
  }
  return d[n][m]
}
