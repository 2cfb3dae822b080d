/// A function known at sorted points, linear between them and extended linearly past both ends
/// by its outermost segments (or held flat when `clampBelow` / `clampAbove`).
public struct PiecewiseLinear: Sendable, Hashable {
    public var xs: [Double]
    public var ys: [Double]
    public var clampBelow: Bool
    public var clampAbove: Bool

    /// Points are sorted by x; duplicates keep the first. `nondecreasing` replaces each y by the
    /// largest y at or before it (measured times never shrink as the work grows; a dip is noise).
    public init(points: [(Double, Double)], clampBelow: Bool = true, clampAbove: Bool = false, nondecreasing: Bool = false) {
        var sorted = points.sorted { $0.0 < $1.0 }
        sorted = sorted.enumerated().filter { $0.offset == 0 || $0.element.0 != sorted[$0.offset - 1].0 }.map(\.element)
        xs = sorted.map(\.0)
        ys = sorted.map(\.1)
        if nondecreasing { for i in ys.indices.dropFirst() { ys[i] = max(ys[i], ys[i - 1]) } }
        self.clampBelow = clampBelow
        self.clampAbove = clampAbove
    }

    public func callAsFunction(_ x: Double) -> Double {
        guard let first = xs.first else { return 0 }
        if xs.count == 1 { return ys[0] }
        if x <= first && clampBelow { return ys[0] }
        if x >= xs[xs.count - 1] && clampAbove { return ys[ys.count - 1] }
        var i = 0
        if x >= xs[xs.count - 1] {
            i = xs.count - 2
        } else if x > first {
            // Last index with xs[i] <= x.
            var lo = 0, hi = xs.count - 1
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if xs[mid] <= x { lo = mid } else { hi = mid }
            }
            i = lo
        }
        let t = (x - xs[i]) / (xs[i + 1] - xs[i])
        return ys[i] + t * (ys[i + 1] - ys[i])
    }
}
