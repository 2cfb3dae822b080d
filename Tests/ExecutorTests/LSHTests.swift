import CKernels
import Core
import Foundation
import Testing
@testable import Executor

@Suite struct LSHTests {
    /// SimHash codes at every SIMD level equal the definition: table t's code has bit b set when
    /// projection t K + b is > 0 (zero, -0 and NaN count as not positive); one row and groups of
    /// rows (written out table by table) alike.
    @Test(arguments: KernelTests.levels)
    func packedCodesMatchSigns(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var g = SplitMix64Test(seed: 8)
        for (K, L, rows) in [(1, 1, 1), (6, 40, 3), (10, 150, 70), (10, 150, 1), (16, 7, 33), (3, 23, 5)] {
            let n = K * L, ld = rows + 2
            let specials: [Float] = [0, -0.0, .nan, .infinity, -.infinity, .leastNonzeroMagnitude]
            let proj = (0..<(rows * n)).map { _ in g.next() % 7 == 0 ? specials[Int(g.next() % 6)] : Float(g.gaussian()) }
            var codes = [UInt16](repeating: 0xFFFF, count: L * ld)
            pp_pack_codes(proj, rows, K, L, &codes, ld)
            for r in 0..<rows {
                for t in 0..<L {
                    var want: UInt16 = 0
                    for b in 0..<K where proj[r * n + t * K + b] > 0 { want |= UInt16(1) << b }
                    #expect(codes[t * ld + r] == want, "K \(K) L \(L) row \(r) table \(t)")
                }
            }
        }
    }

    /// Collecting the sampled rows (non-zero head-mask bytes) at every SIMD level equals a plain
    /// scan, and leaves the mask cleared, at lengths around the 64-byte steps.
    @Test(arguments: KernelTests.levels)
    func collectMaskMatchesScan(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var g = SplitMix64Test(seed: 5)
        for n in [1, 63, 64, 65, 127, 1000, 4097] {
            var mask = (0..<n).map { _ in g.next() % 23 == 0 ? UInt8(1 + g.next() % 255) : 0 }
            let expected = mask.enumerated().filter { $0.element != 0 }
            var idx = [Int32](repeating: -1, count: n), out = [UInt8](repeating: 0, count: n)
            let count = pp_collect_mask(&mask, n, 100, &idx, &out)
            #expect(count == expected.count)
            #expect(Array(idx.prefix(count)) == expected.map { Int32(100 + $0.offset) })
            #expect(Array(out.prefix(count)) == expected.map(\.element))
            #expect(mask.allSatisfy { $0 == 0 })
        }
    }

    /// Table build + two-hit retrieval equal brute-force collision counting, over a grid of
    /// (K, L, n, G); one scratch is reused across all cases (its epochs must isolate them).
    @Test func retrievalEqualsBruteForceCollisionCounting() {
        var g = SplitMix64Test(seed: 17)
        let capacity = 1500
        let stamp = Buffer<UInt32>(count: capacity), mask = Buffer<UInt8>(count: capacity)
        // Epochs start just below the wrap, so the grid also crosses the reset of the stamps.
        var scratch = pp_retrieval_scratch(stamp: stamp.pointer, headMask: mask.pointer, epoch: 0x7FFF_FFF0, capacity: capacity)
        var cases = 0, emitted = 0
        for K in [1, 4, 8, 10] {
            for L in [1, 2, 7, 40] {
                for n in [1, 5, 300, 1500] {
                    for G in [1, 3, 8] {
                        let base: Int32 = 4
                        let buckets = 1 << K
                        // Skewed codes so buckets collide often: codes from a small pool.
                        let pool = max(1, min(buckets, 6))
                        let poolCodes = (0..<pool).map { _ in UInt16(g.next() % UInt64(buckets)) }
                        var codes = [UInt16](repeating: 0, count: L * n)
                        for i in 0..<(L * n) { codes[i] = g.next() % 4 == 0 ? UInt16(g.next() % UInt64(buckets)) : poolCodes[Int(g.next() % UInt64(pool))] }
                        var offsets = [Int32](repeating: 0, count: L * (buckets + 1)), entries = [Int32](repeating: 0, count: L * n)
                        for t in 0..<L {
                            codes.withUnsafeBufferPointer { c in
                                offsets.withUnsafeMutableBufferPointer { o in
                                    entries.withUnsafeMutableBufferPointer { e in
                                        pp_build_table(c.baseAddress! + t * n, n, K, base, o.baseAddress! + t * (buckets + 1), e.baseAddress! + t * n)
                                    }
                                }
                            }
                        }
                        let qcodes = (0..<(G * L)).map { _ in poolCodes[Int(g.next() % UInt64(pool))] }
                        var idx = [Int32](repeating: -1, count: n), masks = [UInt8](repeating: 0, count: n), perHead = [Int32](repeating: 0, count: G)
                        let count = pp_lsh_retrieve(qcodes, G, K, L, offsets, entries, n, n, base, &scratch, &idx, &masks, &perHead)
                        // Brute force.
                        var expIdx: [Int32] = [], expMask: [UInt8] = [], expPerHead = [Int32](repeating: 0, count: G)
                        for i in 0..<n {
                            var m: UInt8 = 0
                            for h in 0..<G {
                                var hits = 0
                                for t in 0..<L where codes[t * n + i] == qcodes[h * L + t] { hits += 1 }
                                if hits >= 2 { m |= UInt8(1 << h); expPerHead[h] += 1 }
                            }
                            if m != 0 { expIdx.append(base + Int32(i)); expMask.append(m) }
                        }
                        #expect(Array(idx.prefix(count)) == expIdx, "K \(K) L \(L) n \(n) G \(G)")
                        #expect(Array(masks.prefix(count)) == expMask, "K \(K) L \(L) n \(n) G \(G)")
                        #expect(perHead == expPerHead, "K \(K) L \(L) n \(n) G \(G)")
                        #expect((0..<capacity).allSatisfy { mask[$0] == 0 }, "head masks must be left clear")
                        cases += 1
                        emitted += count
                    }
                }
            }
        }
        testLog("retrieval vs brute force: \(cases) (K, L, n, G) cases, \(emitted) keys emitted, 0 differences (tolerance: exact)")
        #expect(scratch.epoch < 0x7FFF_FFF0, "the grid should have crossed the epoch wrap")
    }

    /// u = 1 - (1-p^K)^L - L p^K (1-p^K)^(L-1) with p = 1 - theta/pi against Monte Carlo over
    /// random Gaussian projections (tolerance: 4 binomial standard deviations + 0.005).
    @Test func samplingProbabilityMatchesMonteCarlo() {
        var g = SplitMix64Test(seed: 99)
        let d = 16, trials = 3000
        var worstSigma = 0.0
        for (K, L, theta) in [(2, 10, 1.0), (4, 20, 0.8), (3, 5, 1.4), (6, 50, 0.6), (8, 75, 0.3), (1, 3, 2.0)] {
            // Unit q and unit k at angle theta in the plane of e0, e1.
            var q = [Double](repeating: 0, count: d), k = q
            q[0] = 1
            k[0] = cos(theta); k[1] = sin(theta)
            var sampled = 0, bitAgree = 0, bits = 0
            for _ in 0..<trials {
                var hits = 0
                for _ in 0..<L {
                    var same = true
                    for _ in 0..<K {
                        var a = 0.0, b = 0.0
                        for j in 0..<d { let w = g.gaussian(); a += w * q[j]; b += w * k[j] }
                        let agree = (a > 0) == (b > 0)
                        bitAgree += agree ? 1 : 0; bits += 1
                        if !agree { same = false }
                    }
                    if same { hits += 1 }
                }
                if hits >= 2 { sampled += 1 }
            }
            let p = CollisionTheory.bitCollision(angle: theta)
            let u = CollisionTheory.samplingProbability(bitCollision: p, LSHParameters(hashBitsPerTable: K, tableCount: L))
            let mc = Double(sampled) / Double(trials)
            let sigma = (u * (1 - u) / Double(trials)).squareRoot()
            let pmc = Double(bitAgree) / Double(bits)
            testLog("u (K \(K), L \(L), theta \(theta)): theory \(u), Monte Carlo \(mc); bit p theory \(p) MC \(pmc)")
            #expect(abs(mc - u) <= 4 * sigma + 0.005)
            #expect(abs(pmc - p) <= 0.01)
            worstSigma = max(worstSigma, abs(mc - u) / max(sigma, 1e-9))
        }
        testLog("u vs Monte Carlo: worst deviation \(worstSigma) sigma")
    }

    @Test func correctionTableInterpolatesTheFormula() {
        var worst = 0.0
        for p in [LSHParameters(hashBitsPerTable: 8, tableCount: 75), LSHParameters(hashBitsPerTable: 10, tableCount: 150)] {
            let t = SamplingCorrectionTable(parameters: p)
            for i in 0...20_000 {
                let c = -1 + 2 * Double(i) / 20_000
                worst = max(worst, abs(t.interpolated(cos: c) - SamplingCorrectionTable.exact(cos: c, p)))
            }
        }
        testLog("log(u + 1e-4) table: max |interpolated - exact| = \(worst) (tolerance 2e-3)")
        #expect(worst < 2e-3)
    }

    /// A small attention layer over a synthetic cache: relative L2 error of a mode against dense.
    func layerError(_ mode: AttentionMode, prompt: Int = 1200, seed: UInt64 = 5) -> (error: Double, fraction: Double?) {
        let shape = ModelShape(name: "t", layerCount: 1, hiddenSize: 256, intermediateSize: 256, queryHeadCount: 8,
                               kvHeadCount: 2, headDim: 64, vocabSize: 16, denseLayers: [])
        let runner = ParallelRunner(threads: 2)
        let cache = KVCache(layerCount: 1, batch: 2, kvHeads: 2, headDim: 64, capacity: prompt + 1)
        cache.fillSynthetic(positions: 0..<(prompt + 1), seed: seed, keyOffsetScale: 1, runner: runner)
        // Queries correlated with a few keys so attention is peaked.
        var g = SplitMix64Test(seed: seed + 1)
        var q = [Float](repeating: 0, count: 2 * shape.queryWidth)
        for b in 0..<2 {
            for h in 0..<8 {
                let src = cache.keyRows(layer: 0, sequence: b, head: h / 4) + Int(g.next() % UInt64(prompt)) * 64
                for j in 0..<64 { q[b * shape.queryWidth + h * 64 + j] = 2.5 * pp_f16_to_f32_scalar(src[j]) + Float(g.gaussian()) }
            }
        }
        func run(_ m: AttentionMode) -> ([Float], Double?) {
            let a = DecodeAttention(shape: shape, mode: m, denseLayers: [], batch: 2, promptLength: prompt, runner: runner, seed: 11)
            a.buildIndex(layer: 0, cache: cache)
            var out = [Float](repeating: 0, count: q.count)
            a.attend(layer: 0, query: q, position: prompt, cache: cache, output: &out)
            return (out, a.statistics.meanFraction)
        }
        let (dense, _) = run(.dense)
        let (other, fraction) = run(mode)
        var num = 0.0, den = 0.0
        for (a, b) in zip(other, dense) { num += Double(a - b) * Double(a - b); den += Double(b) * Double(b) }
        return ((num / den).squareRoot(), fraction)
    }

    @Test func sampledAttentionApproachesDenseAsBudgetGrows() {
        var errors: [Double] = []
        for L in [4, 16, 64, 400] {
            let (e, f) = layerError(.lshSampled(LSHParameters(hashBitsPerTable: 3, tableCount: L)))
            testLog("LSH (3, \(L)): sampled \(String(format: "%.1f%%", 100 * (f ?? 0))), relative L2 error vs dense \(e)")
            errors.append(e)
        }
        let (e10, f10) = layerError(.lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150)))
        testLog("LSH (10, 150): sampled \(String(format: "%.2f%%", 100 * (f10 ?? 0))), relative L2 error vs dense \(e10)")
        // Error falls as the budget grows; at (3, 400) nearly every key is sampled with u ~ 1.
        #expect(errors[3] < errors[0])
        #expect(errors[3] < 1e-3, "tolerance 1e-3 at ~100% sampled")
        #expect(e10 < 0.5, "(10,150) on peaked synthetic queries stays below 0.5")
    }

    @Test func topKWithFullBudgetEqualsDense() {
        let (e, f) = layerError(.topK(budgetFraction: 1))
        testLog("TopK 100%: selected \(f ?? 0), relative L2 error vs dense \(e) (tolerance 1e-5)")
        #expect(e < 1e-5)
        #expect(f == 1)
        let (q, qf) = layerError(.quest(pageSize: 16, budgetFraction: 1))
        testLog("Quest 100%: selected \(qf ?? 0), relative L2 error vs dense \(q) (tolerance 1e-5)")
        #expect(q < 1e-5)
        let (t, tf) = layerError(.topK(budgetFraction: 0.05))
        let (qs, qsf) = layerError(.quest(pageSize: 16, budgetFraction: 0.05))
        testLog("TopK 5%: error \(t) (selected \(tf ?? 0)); Quest 5%: error \(qs) (selected \(qsf ?? 0))")
        // Isotropic synthetic keys give Quest's page bounds no locality to exploit, so only TopK
        // is held to a tight bound here; Quest must still select its budget.
        #expect(t < 0.05)
        #expect(qs < 1.2 && abs((qsf ?? 0) - 0.05) < 0.02)
    }

    /// Hash codes from the index equal codes computed in Double from the centred keys, except
    /// where a projection is within 1e-3 of zero (sign decided by rounding).
    @Test func tableCodesAreSignsOfCentredProjections() {
        let runner = ParallelRunner(threads: 2)
        let prompt = 400, d = 32
        let cache = KVCache(layerCount: 1, batch: 1, kvHeads: 1, headDim: d, capacity: prompt)
        cache.fillSynthetic(positions: 0..<prompt, seed: 3, keyOffsetScale: 2, runner: runner)
        let p = LSHParameters(hashBitsPerTable: 5, tableCount: 6)
        let span = HashedSpan(promptLength: prompt)
        let proj = SimHashProjection(parameters: p, headDim: d, seed: 1, layer: 0)
        let index = LSHLayerIndex(cache: cache, layer: 0, span: span, projection: proj, runner: runner)
        let K16 = cache.keyRows(layer: 0, sequence: 0, head: 0)
        var mu = [Double](repeating: 0, count: d)
        for r in span.start..<span.end { for j in 0..<d { mu[j] += Double(pp_f16_to_f32_scalar(K16[r * d + j])) / Double(span.count) } }
        var mismatches = 0, ambiguous = 0
        for r in span.start..<span.end {
            for t in 0..<p.tableCount {
                var code = 0, near = false
                for b in 0..<p.hashBitsPerTable {
                    var s = 0.0
                    for j in 0..<d { s += Double(proj.matrix[(t * p.hashBitsPerTable + b) * d + j]) * (Double(pp_f16_to_f32_scalar(K16[r * d + j])) - mu[j]) }
                    if s > 0 { code |= 1 << b }
                    if abs(s) < 1e-3 { near = true }
                }
                if index.bucket(unit: 0, table: t, of: r) != code { if near { ambiguous += 1 } else { mismatches += 1 } }
            }
        }
        testLog("table codes vs Double signs: \(mismatches) mismatches, \(ambiguous) near-zero ties (tolerance 0 mismatches)")
        #expect(mismatches == 0)
    }
}
