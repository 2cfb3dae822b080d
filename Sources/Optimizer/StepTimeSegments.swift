import Core
import CostModel

/// One option's step time on an integer batch range where it is linear:
/// T(B) = intercept + slope x B exactly at every integer B in lower...upper.
public struct StepTimeSegment: Sendable, Hashable {
    public var lower: Int
    public var upper: Int
    public var interceptSeconds: Double
    public var slopeSecondsPerSequence: Double
    public func seconds(_ batch: Double) -> Double { interceptSeconds + slopeSecondsPerSequence * batch }
}

/// Splits lower...maxBatch into integer ranges on which `stepSeconds` is linear: starts from the
/// cost model's kinks and bisects any range whose interior points leave the chord (relative
/// tolerance 1e-10), so the segments reproduce the cost model exactly at every integer batch.
func linearSegments(from lower: Int = 1, to maxBatch: Int, kinks: [Double], stepSeconds: (Int) -> Double) -> [StepTimeSegment] {
    guard maxBatch >= lower, lower >= 1 else { return [] }
    var cuts = Set<Int>([lower, maxBatch])
    for k in kinks where k > Double(lower) && k < Double(maxBatch) {
        cuts.insert(Int(k.rounded(.down)))
        cuts.insert(Int(k.rounded(.up)))
    }
    let points = cuts.sorted()
    var cache: [Int: Double] = [:]
    func t(_ b: Int) -> Double {
        if let v = cache[b] { return v }
        let v = stepSeconds(b)
        cache[b] = v
        return v
    }
    func isLinear(_ a: Int, _ b: Int) -> Bool {
        guard b - a >= 2 else { return true }
        let ta = t(a), tb = t(b)
        for probe in Set([a + (b - a) / 4, a + (b - a) / 2, a + 3 * (b - a) / 4, a + 1, b - 1]) where probe > a && probe < b {
            let chord = ta + (tb - ta) * Double(probe - a) / Double(b - a)
            if abs(chord - t(probe)) > 1e-10 * max(abs(chord), 1e-12) { return false }
        }
        return true
    }
    var segments: [StepTimeSegment] = []
    func add(_ a: Int, _ b: Int) {
        if isLinear(a, b) {
            let slope = b > a ? (t(b) - t(a)) / Double(b - a) : 0
            segments.append(StepTimeSegment(lower: a, upper: b, interceptSeconds: t(a) - slope * Double(a),
                                            slopeSecondsPerSequence: slope))
        } else {
            let mid = (a + b) / 2
            add(a, mid)
            add(mid + 1, b)
        }
    }
    // Single points between cut pairs are their own segments so ranges never overlap.
    var start = points[0]
    for p in points.dropFirst() {
        add(start, p)
        start = p + 1
    }
    if start <= maxBatch && (segments.last?.upper ?? 0) < maxBatch { add(start, maxBatch) }
    return segments
}
