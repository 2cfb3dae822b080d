import CKernels
import Core
@testable import Executor
import Testing

/// Quest page selection: the page bound and the ranking.
struct QuestTests {
    /// A cache with one layer of seeded Gaussian keys (plus a shared offset, as real keys have).
    func cache(tokens: Int, seed: UInt64, heads: Int = 2, d: Int = 32) -> KVCache {
        let cache = KVCache(layerCount: 1, batch: 1, kvHeads: heads, headDim: d, capacity: tokens)
        var rng = SplitMix64(seed: seed)
        let offset = (0..<d).map { _ in Float(rng.nextGaussian()) }
        for t in 0..<tokens {
            // Every head's key and value of position t, stored together.
            var k = [Float](), v = [Float]()
            for _ in 0..<heads {
                k += (0..<d).map { Float(rng.nextGaussian()) + offset[$0] }
                v += (0..<d).map { _ in Float(rng.nextGaussian()) }
            }
            cache.store(layer: 0, sequence: 0, position: t, key: k, value: v)
        }
        return cache
    }

    func keys(_ cache: KVCache, head: Int, tokens: Int) -> [[Float]] {
        let rows = cache.keyRows(layer: 0, sequence: 0, head: head)
        return (0..<tokens).map { r in
            var row = [Float](repeating: 0, count: cache.headDim)
            pp_f16_to_f32(rows + r * cache.headDim, &row, cache.headDim)
            return row
        }
    }

    @Test(arguments: [UInt64(1), 2, 3, 4, 5, 6, 7, 8])
    func pageBoundIsNeverBelowThePagesBestScore(_ seed: UInt64) {
        let tokens = 400, d = 32
        let c = cache(tokens: tokens, seed: seed, heads: 1, d: d)
        let span = HashedSpan(promptLength: tokens)
        let index = QuestLayerIndex(cache: c, layer: 0, span: span, pageSize: 16, runner: ParallelRunner(threads: 1))
        let all = keys(c, head: 0, tokens: tokens)
        var rng = SplitMix64(seed: seed &+ 100)
        var worstSlack = Float.infinity
        for _ in 0..<20 {
            let q = (0..<d).map { _ in Float(rng.nextGaussian()) }
            for page in 0..<index.pageCount {
                let lo = index.minima.pointer + page * d, hi = index.maxima.pointer + page * d
                var bound: Float = 0
                for j in 0..<d { bound += max(q[j] * lo[j], q[j] * hi[j]) }
                let r0 = span.start + page * 16, r1 = min(span.end, r0 + 16)
                let best = (r0..<r1).map { r in zip(q, all[r]).reduce(Float(0)) { $0 + $1.0 * $1.1 } }.max()!
                worstSlack = min(worstSlack, bound - best)
                #expect(bound >= best - 1e-4 * abs(best), "page \(page)")
            }
        }
        testLog("seed \(seed): smallest bound - best score \(worstSlack) (tolerance 1e-4 relative, float rounding)")
    }

    @Test func selectionEqualsBruteForceRanking() {
        let tokens = 600, d = 32
        let c = cache(tokens: tokens, seed: 11, heads: 1, d: d)
        let span = HashedSpan(promptLength: tokens)
        let index = QuestLayerIndex(cache: c, layer: 0, span: span, pageSize: 16, runner: ParallelRunner(threads: 1))
        var rng = SplitMix64(seed: 12)
        for keep in [1, 3, 10, index.pageCount] {
            let q = (0..<d).map { _ in Float(rng.nextGaussian()) }
            let scores = (0..<index.pageCount).map { page -> Float in
                let lo = index.minima.pointer + page * d, hi = index.maxima.pointer + page * d
                var s: Float = 0
                for j in 0..<d { s += max(q[j] * lo[j], q[j] * hi[j]) }
                return s
            }
            let expected = Set((0..<index.pageCount).sorted { scores[$0] > scores[$1] }.prefix(keep))
            var mask = [UInt8](repeating: 0, count: span.count)
            var work = [Float](repeating: 0, count: index.pageCount)
            var scratch = [Int32](repeating: 0, count: index.pageCount), chosen = [Int32](repeating: 0, count: index.pageCount)
            let selected = q.withUnsafeBufferPointer { qp in
                index.select(unit: 0, query: qp.baseAddress!, pagesToKeep: keep, bit: 1, mask: &mask, scores: &work, work: &scratch, chosen: &chosen)
            }
            let pages = Set((0..<index.pageCount).filter { p in mask[p * 16] & 1 != 0 })
            #expect(pages == expected, "keep \(keep)")
            #expect(selected == expected.reduce(0) { $0 + min(span.count, ($1 + 1) * 16) - $1 * 16 })
        }
    }
}
