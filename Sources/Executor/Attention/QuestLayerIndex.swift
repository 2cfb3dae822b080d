import CKernels

/// Quest page metadata of one layer: the hashed span cut into pages of `pageSize` keys, and per
/// page and dimension the minimum and maximum key value. A query q scores page P with the upper
/// bound  sum_d max(q_d min_d(P), q_d max_d(P))  >= max_{k in P} q.k.
public final class QuestLayerIndex: @unchecked Sendable {
    public let pageSize: Int
    public let span: HashedSpan
    public let units: Int
    public let headDim: Int
    public let pageCount: Int
    /// units x pages x d
    let minima: Buffer<Float>
    let maxima: Buffer<Float>

    public static func bytes(pageSize: Int, units: Int, keys n: Int, headDim d: Int) -> Double {
        Double(units) * Double((n + pageSize - 1) / pageSize) * Double(d) * 8
    }

    public init(cache: KVCache, layer: Int, span: HashedSpan, pageSize: Int, runner: ParallelRunner) {
        self.pageSize = max(1, pageSize)
        self.span = span
        units = cache.batch * cache.kvHeads
        headDim = cache.headDim
        let d = headDim, ps = self.pageSize
        pageCount = (span.count + ps - 1) / ps
        minima = Buffer<Float>(count: units * pageCount * d)
        maxima = Buffer<Float>(count: units * pageCount * d)
        let kvHeads = cache.kvHeads, pages = pageCount, start = span.start, end = span.end
        let mn = SendablePointer(minima.pointer), mx = SendablePointer(maxima.pointer)
        runner.forEach(units) { unit, _ in
            let K16 = cache.keyRows(layer: layer, sequence: unit / kvHeads, head: unit % kvHeads)
            var row = [Float](repeating: 0, count: d)
            for pg in 0..<pages {
                let lo = mn.p + (unit * pages + pg) * d, hi = mx.p + (unit * pages + pg) * d
                for j in 0..<d { lo[j] = .infinity; hi[j] = -.infinity }
                let r0 = start + pg * ps, r1 = min(end, r0 + ps)
                for r in r0..<r1 {
                    pp_f16_to_f32(K16 + r * d, &row, d)
                    for j in 0..<d { lo[j] = min(lo[j], row[j]); hi[j] = max(hi[j], row[j]) }
                }
            }
        }
    }

    public var bytes: Int { minima.bytes + maxima.bytes }

    /// Marks in `mask` (local indices over the span, bit `bit`) the keys of the top
    /// `budget` pages for query q (scaled), using `scores`/`work`/`chosen` scratch (pages each).
    func select(unit: Int, query q: UnsafePointer<Float>, pagesToKeep: Int, bit: UInt8, mask: UnsafeMutablePointer<UInt8>,
                scores: UnsafeMutablePointer<Float>, work: UnsafeMutablePointer<Int32>, chosen: UnsafeMutablePointer<Int32>) -> Int {
        let d = headDim
        for pg in 0..<pageCount {
            let lo = minima.pointer + (unit * pageCount + pg) * d, hi = maxima.pointer + (unit * pageCount + pg) * d
            var s: Float = 0
            for j in 0..<d { s += max(q[j] * lo[j], q[j] * hi[j]) }
            scores[pg] = s
        }
        let k = pp_select_top(scores, pageCount, pagesToKeep, work, chosen)
        var keys = 0
        for i in 0..<k {
            let pg = Int(chosen[i])
            let r0 = pg * pageSize, r1 = min(span.count, r0 + pageSize)
            for r in r0..<r1 { mask[r] |= bit }
            keys += r1 - r0
        }
        return keys
    }
}
