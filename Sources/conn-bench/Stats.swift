// What a set of runs says: the median, the spread (quartiles and range), and whether a goal is
// met, missed, or cannot be told apart from the noise.

/// Several runs of one figure.
struct Samples {
  let values: [Double]
  let median: Double
  /// The lower and upper quartiles (nearest rank): half the runs lie between them.
  let q1: Double
  let q3: Double
  let min: Double
  let max: Double

  init(_ xs: [Double]) {
    values = xs
    let s = xs.filter { !$0.isNaN }.sorted()
    if s.isEmpty {
      (median, q1, q3, min, max) = (.nan, .nan, .nan, .nan, .nan)
      return
    }
    median = s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    q1 = s[(s.count - 1) / 4]
    q3 = s[s.count - 1 - (s.count - 1) / 4]
    min = s[0]
    max = s[s.count - 1]
  }

  var count: Int { values.count }

  /// "1.04x (quartiles 1.02x-1.07x, range 0.98x-1.15x, 7 runs)", in the figure's own format.
  func describe(_ format: (Double) -> String) -> String {
    if count <= 1 { return format(median) + " (1 run)" }
    return
      "\(format(median)) (quartiles \(format(q1))-\(format(q3)), range \(format(min))-\(format(max)), \(count) runs)"
  }

  /// The same figures for the JSON file.
  func figures(_ prefix: String) -> [(String, Double)] {
    [
      (prefix, median), (prefix + "_q1", q1), (prefix + "_q3", q3), (prefix + "_min", min),
      (prefix + "_max", max),
    ]
  }
}

/// A target: a figure at most or at least some value.
enum Goal {
  case atMost(Double)
  case atLeast(Double)

  var limit: Double {
    switch self {
    case .atMost(let v), .atLeast(let v): return v
    }
  }

  func holds(_ x: Double) -> Bool {
    switch self {
    case .atMost(let v): return x <= v
    case .atLeast(let v): return x >= v
    }
  }
}

/// The verdict on a goal: met only when the median meets it and so does every run between the
/// quartiles; missed only when they all miss it; otherwise the spread is larger than the margin
/// and the runs cannot tell.
struct Verdict {
  /// true: met; false: missed; nil: cannot tell.
  let met: Bool?
  let text: String

  /// All of several verdicts: missed if one is missed, else cannot tell if one cannot.
  init(all: [Verdict]) {
    if all.contains(where: { $0.met == false }) {
      met = false
    } else if all.contains(where: { $0.met == nil }) {
      met = nil
    } else {
      met = true
    }
    text = all.map(\.text).joined(separator: "; ")
  }

  init(_ s: Samples, _ goal: Goal, _ format: (Double) -> String) {
    let bound = format(goal.limit)
    let sign: String
    switch goal {
    case .atMost: sign = "<="
    case .atLeast: sign = ">="
    }
    if s.median.isNaN {
      met = nil
      text = "no figure"
      return
    }
    if goal.holds(s.q1) && goal.holds(s.q3) {
      met = true
      text = "met (\(sign) \(bound))"
    } else if !goal.holds(s.q1) && !goal.holds(s.q3) {
      met = false
      let by = abs(s.median - goal.limit) / goal.limit * 100
      text = "MISSED (\(sign) \(bound); the median is \(fixed(by, 0))% off)"
    } else {
      met = nil
      text = "cannot tell (\(sign) \(bound); the quartiles \(format(s.q1))-\(format(s.q3)) straddle it)"
    }
  }
}
