/// A function known at sorted points, linear between them and extended linearly past both ends
/// by its outermost segments (or held flat when `clampBelow` / `clampAbove`).
public struct PiecewiseLinear: Sendable, Hashable {
    public var xs: [Double]
    public var ys: [Double]
    public var clampBelow: Bool
    public var clampAbove: Bool

    /// Points are sorted by x; duplicates keep the first. `nondecreasing` replaces the ys by their
    /// least-squares nondecreasing fit (pool-adjacent-violators): measured times never shrink as
    /// the work grows, so a dip is noise, averaged with its neighbours.
    public init(points: [(Double, Double)], clampBelow: Bool = true, clampAbove: Bool = false, nondecreasing: Bool = false) {
        var sorted = points.sorted { $0.0 < $1.0 }
        sorted = sorted.enumerated().filter { $0.offset == 0 || $0.element.0 != sorted[$0.offset - 1].0 }.map(\.element)
        xs = sorted.map(\.0)
        ys = sorted.map(\.1)
        if nondecreasing { ys = Self.isotonic(ys) }
        self.clampBelow = clampBelow
        self.clampAbove = clampAbove
    }

    /// Pool-adjacent-violators: the nondecreasing sequence closest to `ys` in least squares.
    static func isotonic(_ ys: [Double]) -> [Double] {
        var blocks: [(mean: Double, count: Int)] = []
        for y in ys {
            blocks.append((y, 1))
            while blocks.count > 1 && blocks[blocks.count - 2].mean > blocks[blocks.count - 1].mean {
                let b = blocks.removeLast(), a = blocks.removeLast()
                let count = a.count + b.count
                blocks.append(((a.mean * Double(a.count) + b.mean * Double(b.count)) / Double(count), count))
            }
        }
        return blocks.flatMap { Array(repeating: $0.mean, count: $0.count) }
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
