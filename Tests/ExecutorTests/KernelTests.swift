import CKernels
import Core
import Foundation
import Testing
@testable import Executor

/// C kernels against plain Swift references in Double, and the SIMD path against the portable one.
@Suite struct KernelTests {
    /// Portable C, AVX2, AVX-512 and AVX-512 VNNI + BF16, as far as this CPU goes
    /// (`levelsAboveThisCPU` shows the rest as skipped; scripts/check-avx512-kernels emulates them).
    static let levels: [Int32] = Array(0...pp_simd_level_supported())

    func gaussians(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var g = SplitMix64Test(seed: seed)
        return (0..<n).map { _ in Float(g.gaussian() * scale) }
    }

    @Test(arguments: levels)
    func halfConversionsAreExact(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var mismatches = 0
        for bits in 0...0xFFFF {
            let h = UInt16(bits)
            let f = pp_f16_to_f32_scalar(h)
            let swift = Float(Float16(bitPattern: h))
            if f.isNaN { if !swift.isNaN || !Float16(f).isNaN { mismatches += 1 }; continue }
            if f.bitPattern != swift.bitPattern || pp_f32_to_f16_scalar(f) != h { mismatches += 1 }
        }
        var g = SplitMix64Test(seed: 5)
        let xs: [Float] = (0..<20_000).map { i in
            let e = Double(Int(g.next() % 44) - 28)
            return Float((g.unit() * 2 - 1) * pow(2, e)) * (i % 7 == 0 ? 1e-3 : 1)
        } + [65504, 65519.99, 65520, -70000, 5.96e-8, 2.98e-8, 2.99e-8, 0, -0]
        for x in xs where pp_f32_to_f16_scalar(x) != Float16(x).bitPattern { mismatches += 1 }
        // This level's array paths equal the scalar conversions, both ways.
        var v = [UInt16](repeating: 0, count: xs.count)
        pp_f32_to_f16(xs, &v, xs.count)
        for (x, h) in zip(xs, v) where h != pp_f32_to_f16_scalar(x) { mismatches += 1 }
        let halves = (0...0xFFFF).map { UInt16($0) }
        var wide = [Float](repeating: 0, count: halves.count)
        pp_f16_to_f32(halves, &wide, halves.count)
        for (h, f) in zip(halves, wide) {
            let s = pp_f16_to_f32_scalar(h)
            if s.isNaN ? !f.isNaN : f.bitPattern != s.bitPattern { mismatches += 1 }
        }
        testLog("f16 conversions, level \(level): \(mismatches) mismatches over 65536 halves and \(xs.count) floats (tolerance 0)")
        #expect(mismatches == 0)
    }

    /// Linear layers on f32, binary16 and bfloat16 weights against a Double reference: shapes with
    /// ragged edges (rows not a multiple of the tile, inputs not a multiple of 8), inputs longer
    /// than one block of the GEMM (1024) and every batch 1 ... 64 on one shape; the packed GEMM
    /// for many tokens (48 and up) over several input blocks, with a partial last panel of 16
    /// outputs and more tokens than one pass (264).
    @Test(arguments: levels)
    func matmulMatchesReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0, worstSplitBF16 = 0.0
        var cases = [(16, 4, 4), (37, 9, 5), (64, 3, 1), (100, 17, 6), (576, 8, 3), (2100, 7, 9), (1024, 5, 2), (600, 21, 20), (1030, 35, 64), (0, 3, 17), (530, 33, 50), (261, 16, 48), (300, 7, 270)]
        cases += (1...64).map { (72, 5, $0) }
        for (inW, rows, m) in cases {
            let W = gaussians(rows * inW, seed: UInt64(inW * rows + m)), x = gaussians(m * inW, seed: 7)
            let W16 = W.map { pp_f32_to_f16_scalar($0) }
            let Wb = W.map { UInt16($0.bitPattern >> 16) }
            for kind in 0..<3 {
                var y = [Float](repeating: .nan, count: m * rows)
                switch kind {
                case 0: pp_matmul_f32(W, inW, x, inW, &y, rows, m, 0, rows)
                case 1: pp_matmul_f16(W16, inW, x, inW, &y, rows, m, 0, rows)
                default: pp_matmul_bf16(Wb, inW, x, inW, &y, rows, m, 0, rows)
                }
                // The weights as each kernel sees them, widened; f32 rounding scales with the sum of
                // |terms|, not with |sum|.
                let widened = kind == 0 ? W : kind == 1 ? W16.map { pp_f16_to_f32_scalar($0) } : Wb.map { Float(bitPattern: UInt32($0) << 16) }
                let e = worstF32Error(y, weights: widened, inputs: x, columns: inW, rows: rows, tokens: m, outputs: 0..<rows)
                // Level 3's bf16 tiles (under 48 tokens) split each input into two bf16 halves
                // (linear_avx512.c): about 2^-16 of the sum of |terms|, not f32's 2^-24.
                if kind == 2 && level >= 3 && m < Int(PP_PACKED_MIN_TOKENS) { worstSplitBF16 = max(worstSplitBF16, e) } else { worst = max(worst, e) }
            }
        }
        testLog("matmul level \(level): max error over (1 + sum of |terms|) \(worst) (tolerance 2e-6)"
                + (level >= 3 ? ", bf16 with split inputs \(worstSplitBF16) (tolerance 3e-5)" : ""))
        #expect(worst < 2e-6)
        #expect(worstSplitBF16 < 3e-5)
    }

    /// Prefill's causal attention (one KV head, a block of rows at positions p0 + r) against a
    /// Double softmax per query vector: head sizes that are and are not multiples of the 16-lane
    /// panels, GQA groups of 1-4, key blocks that cut the diagonal anywhere, a first block of rows
    /// (p0 = 0) and later ones. Scores of about 3 standard deviations, so that the softmax is peaked.
    @Test(arguments: levels)
    func causalAttentionMatchesReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        let cases = [(n: 32, G: 4, d: 128, p0: 300, blockKeys: 128), (n: 7, G: 3, d: 64, p0: 0, blockKeys: 5),
                     (n: 13, G: 1, d: 24, p0: 40, blockKeys: 16), (n: 32, G: 2, d: 72, p0: 97, blockKeys: 64),
                     (n: 1, G: 4, d: 128, p0: 0, blockKeys: 128)]
        for (c, t) in cases.enumerated() {
            let keys = t.p0 + t.n, ldq = t.G * t.d + 8
            let q = gaussians(t.n * ldq, seed: UInt64(10 + c), scale: 3 / Double(t.d).squareRoot())
            let K = gaussians(keys * t.d, seed: UInt64(20 + c)).map { pp_f32_to_f16_scalar($0) }
            let V = gaussians(keys * t.d, seed: UInt64(30 + c)).map { pp_f32_to_f16_scalar($0) }
            var out = [Float](repeating: .nan, count: t.n * ldq)
            #expect(pp_causal_attention(q, ldq, t.n, t.G, t.d, K, V, t.d, t.p0, t.blockKeys, &out, ldq) == 0)
            for r in 0..<t.n {
                for g in 0..<t.G {
                    let qi = r * ldq + g * t.d, seen = t.p0 + r + 1
                    let scores = (0..<seen).map { j in
                        (0..<t.d).reduce(0.0) { $0 + Double(q[qi + $1]) * Double(pp_f16_to_f32_scalar(K[j * t.d + $1])) }
                    }
                    let top = scores.max()!, weights = scores.map { exp($0 - top) }, total = weights.reduce(0, +)
                    for i in 0..<t.d {
                        let want = (0..<seen).reduce(0.0) { $0 + weights[$1] * Double(pp_f16_to_f32_scalar(V[$1 * t.d + i])) } / total
                        worst = max(worst, abs(Double(out[qi + i]) - want))
                    }
                }
                // The padding between rows is not written.
                #expect(out[(r * ldq + t.G * t.d)..<((r + 1) * ldq)].allSatisfy { $0.isNaN })
            }
        }
        testLog("causal attention level \(level): max abs error \(worst) (tolerance 2e-5; outputs are of order 1)")
        #expect(worst < 2e-5)
        #expect(pp_causal_attention(nil, 0, 4, 1, 8, nil, nil, 8, 0, 0, nil, 0) == -1)
        // "One block" of any length: the block is clamped to the keys there are.
        let q = gaussians(20 * 2 * 16, seed: 3), K = gaussians(30 * 16, seed: 4).map { pp_f32_to_f16_scalar($0) }
        let V = [UInt16](repeating: 0, count: 30 * 16)
        var zero = [Float](repeating: .nan, count: 20 * 2 * 16)
        #expect(pp_causal_attention(q, 32, 20, 2, 16, K, V, 16, 10, Int.max, &zero, 32) == 0)
        #expect(zero.allSatisfy { $0 == 0 }, "values all zero give outputs all zero")
    }

    /// Only the outputs o0 ..< o1 are written (threads split a product by output rows).
    @Test(arguments: levels)
    func matmulWritesOnlyItsOutputRange(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        let inW = 1500, rows = 20
        let W16 = gaussians(rows * inW, seed: 3).map { pp_f32_to_f16_scalar($0) }
        for m in [7, 50] { // the tiles and the packed GEMM
            let x = gaussians(m * inW, seed: 4)
            var y = [Float](repeating: .nan, count: m * rows)
            pp_matmul_f16(W16, inW, x, inW, &y, rows, m, 5, 13)
            for t in 0..<m {
                #expect((0..<rows).allSatisfy { (5..<13).contains($0) != y[t * rows + $0].isNaN })
            }
        }
    }

    /// Random GGUF blocks of `type` (scales of about 0.02, any nibble or int8 value).
    func quantizedBlocks(type: Int32, blocks: Int, seed: UInt64) -> [UInt8] {
        let bb = pp_ggml_block_bytes(type)
        var g = SplitMix64Test(seed: seed)
        var out = [UInt8](repeating: 0, count: blocks * bb)
        for b in 0..<blocks {
            for j in 0..<bb { out[b * bb + j] = UInt8(truncatingIfNeeded: g.next()) }
            let d = pp_f32_to_f16_scalar(Float(0.005 + 0.03 * g.unit()))
            out[b * bb] = UInt8(d & 0xFF); out[b * bb + 1] = UInt8(d >> 8)
            if type == PP_GGML_Q4_1 {
                let m = pp_f32_to_f16_scalar(Float(-0.15 * g.unit()))
                out[b * bb + 2] = UInt8(m & 0xFF); out[b * bb + 3] = UInt8(m >> 8)
            }
        }
        return out
    }

    /// Products on quantised weights (Q8_0, Q4_0, Q4_1) against two references in Double: (a) the
    /// dequantised weights times the inputs as quantised (the same arithmetic; tolerance 2e-6 of
    /// 1 + sum of |terms|, f32 rounding) and (b) the dequantised weights times the f32 inputs:
    /// there the error is the inputs' 8-bit rounding, at most sum_i |w_i| d_block(i) / 2 with
    /// d_block = max|x| / 127 over the input's block (tolerance: that bound + 1e-5).
    @Test(arguments: levels)
    func quantizedMatmulMatchesDequantizedReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worstExact = 0.0, worstOverBound = 0.0
        var cases = [(32, 1, 1), (64, 3, 4), (1088, 5, 6), (96, 7, 9), (2048, 2, 3)]
        cases += (1...64).map { (96, 3, $0) }
        // The integer GEMM of prefill chunks (48 tokens and up): several spans of 32 blocks, whole
        // and partial panels of 8 rows, token counts not a multiple of 4.
        cases += [(1088, 19, 50), (2080, 16, 48), (160, 9, 61)]
        for type in [PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1].map({ Int32($0) }) {
            for (inW, rows, m) in cases {
                let W = quantizedBlocks(type: type, blocks: rows * inW / 32, seed: UInt64(inW * 31 + rows * 7 + m) ^ UInt64(type))
                var Wf = [Float](repeating: 0, count: rows * inW)
                #expect(pp_dequantize(type, W, &Wf, rows * inW) == 0)
                let x = gaussians(m * inW, seed: UInt64(m + 3))
                let rowBytes = pp_q8x_row_bytes(inW)
                var xq = [UInt8](repeating: 0, count: m * rowBytes)
                x.withUnsafeBufferPointer { xp in
                    xq.withUnsafeMutableBytes { qp in
                        for t in 0..<m { pp_quantize_q8x(xp.baseAddress! + t * inW, inW, qp.baseAddress! + t * rowBytes) }
                    }
                }
                // The quantised inputs widened back: x-hat = q d, block by block.
                var xHat = [Double](repeating: 0, count: m * inW)
                xq.withUnsafeBytes { raw in
                    for t in 0..<m {
                        for b in 0..<(inW / 32) {
                            let blk = raw.baseAddress! + t * rowBytes + b * MemoryLayout<pp_q8x_block>.stride
                            let d = blk.load(as: Float.self)
                            for j in 0..<32 { xHat[t * inW + b * 32 + j] = Double(d) * Double(blk.load(fromByteOffset: 8 + j, as: Int8.self)) }
                        }
                    }
                }
                var y = [Float](repeating: .nan, count: m * rows)
                #expect(pp_matmul_q(type, W, inW, xq, &y, rows, m, 0, rows) == 0)
                for t in 0..<m {
                    for o in 0..<rows {
                        var exact = 0.0, magnitude = 0.0, full = 0.0, bound = 0.0
                        for b in 0..<(inW / 32) {
                            let xs = (0..<32).map { Double(x[t * inW + b * 32 + $0]) }
                            let d = xs.map(abs).max()! / 127
                            for j in 0..<32 {
                                let i = b * 32 + j, w = Double(Wf[o * inW + i])
                                exact += w * xHat[t * inW + i]
                                magnitude += abs(w * xHat[t * inW + i])
                                full += w * xs[j]
                                bound += abs(w) * d / 2
                            }
                        }
                        let got = Double(y[t * rows + o])
                        worstExact = max(worstExact, abs(got - exact) / (1 + magnitude))
                        worstOverBound = max(worstOverBound, abs(got - full) / (bound + 1e-5))
                    }
                }
            }
        }
        testLog("quantised matmul level \(level): vs quantised inputs \(worstExact) of 1 + sum |terms| (tolerance 2e-6); vs f32 inputs \(worstOverBound) of the rounding bound (tolerance 1)")
        #expect(worstExact < 2e-6)
        #expect(worstOverBound <= 1)
    }

    /// The largest error of `y` (tokens x rows) against the Double product of f32 `weights` (rows
    /// x columns) and `inputs` (tokens x columns) over `outputs`, relative to 1 + sum of |terms|.
    func worstF32Error(_ y: [Float], weights: [Float], inputs x: [Float], columns: Int, rows: Int, tokens: Int,
                       outputs: Range<Int>) -> Double {
        var worst = 0.0
        for t in 0..<tokens {
            for o in outputs {
                var sum = 0.0, magnitude = 0.0
                for i in 0..<columns {
                    let term = Double(weights[o * columns + i]) * Double(x[t * columns + i])
                    sum += term
                    magnitude += abs(term)
                }
                worst = max(worst, abs(Double(y[t * rows + o]) - sum) / (1 + magnitude))
            }
        }
        return worst
    }

    /// Inputs quantised straight into the integer GEMM's order (`pp_quantize_q8x_tiles`, by runs
    /// of tokens as threads share it) and multiplied by `pp_matmul_q_tiles` give the same bits as
    /// row inputs through `pp_matmul_q` from the GEMM's 48 tokens (the same kernel then): several
    /// spans of 32 blocks (one short), token counts with 0 to 3 left over after the groups of 4,
    /// and an output sub-range. Under 48 tokens pp_matmul_q takes the decode tiles, which add in
    /// another order: there the two agree within 1e-5 of the largest output. A type these kernels
    /// do not take is an error (-1).
    @Test(arguments: levels)
    func tiledInputsGiveTheRowProductBitForBit(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var mismatches = 0, compared = 0
        for type in [PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1].map({ Int32($0) }) {
            for (inW, rows, m) in [(2080, 19, 50), (1088, 9, 51), (1024, 8, 53), (96, 16, 64), (160, 5, 7)] {
                let W = quantizedBlocks(type: type, blocks: rows * inW / 32, seed: UInt64(inW + rows + m) ^ UInt64(type))
                let x = gaussians(m * inW, seed: UInt64(m * 5 + 1))
                let rowBytes = pp_q8x_row_bytes(inW)
                var rowsQ = [UInt8](repeating: 0, count: m * rowBytes), tiles = rowsQ
                x.withUnsafeBufferPointer { xp in
                    rowsQ.withUnsafeMutableBytes { qp in
                        for t in 0..<m { pp_quantize_q8x(xp.baseAddress! + t * inW, inW, qp.baseAddress! + t * rowBytes) }
                    }
                    tiles.withUnsafeMutableBytes { tp in
                        // In three runs, as threads would split it (starts at multiples of 4).
                        let cuts = [0, min(m, 8), min(m, 28), m]
                        for i in 0..<3 where cuts[i] < cuts[i + 1] {
                            pp_quantize_q8x_tiles(xp.baseAddress!, inW, inW, m, cuts[i], cuts[i + 1], tp.baseAddress!)
                        }
                    }
                }
                let o0 = rows > 8 ? 3 : 0
                var yRows = [Float](repeating: 0, count: m * rows), yTiles = [Float](repeating: .nan, count: m * rows)
                #expect(pp_matmul_q(type, W, inW, rowsQ, &yRows, rows, m, o0, rows) == 0)
                #expect(pp_matmul_q_tiles(type, W, inW, tiles, &yTiles, rows, m, o0, rows) == 0)
                let largest = yRows.map { abs(Double($0)) }.max() ?? 0
                for t in 0..<m {
                    for o in o0..<rows {
                        compared += 1
                        let a = yRows[t * rows + o], b = yTiles[t * rows + o]
                        let same = m >= Int(PP_PACKED_MIN_TOKENS) ? a.bitPattern == b.bitPattern
                                                                  : abs(Double(a) - Double(b)) <= 1e-5 * largest
                        if !same { mismatches += 1 }
                    }
                }
            }
        }
        testLog("tiled quantised inputs, level \(level): \(mismatches) of \(compared) outputs differ from the row path (bits from 48 tokens, 1e-5 of the largest below)")
        #expect(compared > 0)
        #expect(mismatches == 0)
        var y: Float = 0
        #expect(pp_matmul_q_tiles(Int32(PP_GGML_F16), nil, 64, nil, &y, 1, 1, 0, 1) == -1)
    }

    /// The many-token path on quantised weights (`pp_matmul_q_wide`, prefill chunks): the
    /// dequantised weights times the f32 inputs, so against that Double reference only f32
    /// rounding remains (tolerance 2e-6 of 1 + sum of |terms|); with several input blocks of 256,
    /// a partial last panel of rows, more tokens than one pass (264) and an output sub-range. Below
    /// AVX2 it declines (1); a type it does not take is an error (-1).
    @Test(arguments: levels)
    func wideQuantizedMatmulMatchesDequantizedReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        for type in [PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1].map({ Int32($0) }) {
            for (inW, rows, m, o0) in [(576, 37, 50, 0), (96, 16, 48, 3), (320, 5, 270, 1)] {
                let W = quantizedBlocks(type: type, blocks: rows * inW / 32, seed: UInt64(inW + rows + m) ^ UInt64(type))
                var Wf = [Float](repeating: 0, count: rows * inW)
                #expect(pp_dequantize(type, W, &Wf, rows * inW) == 0)
                let x = gaussians(m * inW, seed: UInt64(m + 5))
                var y = [Float](repeating: .nan, count: m * rows)
                let rc = pp_matmul_q_wide(type, W, inW, x, inW, &y, rows, m, o0, rows)
                if level == 0 { #expect(rc == 1); continue }
                #expect(rc == 0)
                for t in 0..<m { #expect((0..<o0).allSatisfy { y[t * rows + $0].isNaN }) }
                worst = max(worst, worstF32Error(y, weights: Wf, inputs: x, columns: inW, rows: rows, tokens: m, outputs: o0..<rows))
            }
        }
        testLog("wide quantised matmul level \(level): \(worst) of 1 + sum |terms| (tolerance 2e-6)")
        #expect(worst < 2e-6)
        #expect(pp_matmul_q_wide(Int32(PP_GGML_F16), nil, 64, nil, 64, nil, 1, 48, 0, 1) == -1)
        #expect(pp_matmul_q_wide(Int32(PP_GGML_Q8_0), nil, 40, nil, 40, nil, 1, 48, 0, 1) == -1)
    }

    /// Quantised weights with exact inputs (`exactInputs`, what quality passes use) at 1-64
    /// tokens, across pieces of several threads: the dequantised weights times the f32 inputs,
    /// only f32 rounding left (2e-6 of 1 + sum of |terms|), at every level (below AVX2 the wide
    /// path declines and the rows are dequantised into f32).
    @Test(arguments: levels)
    func exactInputsOnQuantizedWeightsMatchTheF32Reference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        for type in [PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1].map({ Int32($0) }) {
            for (inW, rows, m) in [(576, 300, 1), (96, 70, 3), (1536, 129, 5), (64, 33, 47), (128, 40, 64)] {
                let blocks = quantizedBlocks(type: type, blocks: rows * inW / 32, seed: UInt64(inW * 3 + rows + m) ^ UInt64(type))
                let buffer = Buffer<UInt8>(count: blocks.count)
                for (i, b) in blocks.enumerated() { buffer[i] = b }
                let matrix = WeightMatrix(rows: rows, columns: inW, storage: .quantized(type: type, buffer))
                var Wf = [Float](repeating: 0, count: rows * inW)
                #expect(pp_dequantize(type, blocks, &Wf, rows * inW) == 0)
                let x = gaussians(m * inW, seed: UInt64(m + 11))
                var y = [Float](repeating: .nan, count: m * rows)
                x.withUnsafeBufferPointer { xp in
                    y.withUnsafeMutableBufferPointer { yp in
                        matrix.apply(xp.baseAddress!, ldx: inW, tokens: m, into: yp.baseAddress!, ldy: rows,
                                     runner: ParallelRunner(threads: 2), exactInputs: true)
                    }
                }
                worst = max(worst, worstF32Error(y, weights: Wf, inputs: x, columns: inW, rows: rows, tokens: m, outputs: 0..<rows))
            }
        }
        #expect(worst < 2e-6, "exact-input quantised product at level \(level): \(worst) of 1 + sum |terms|")
    }

    /// Input quantisation: q d within d / 2 of x, |q| <= 127, s = d sum q; every level writes the
    /// portable path's bytes (ties, huge and tiny values included).
    @Test(arguments: levels)
    func inputQuantizationKeepsItsInvariants(level: Int32) {
        defer { pp_set_simd_level(99) }
        let x = gaussians(320, seed: 12) + [Float](repeating: 0, count: 32)
            + (0..<32).map { Float($0) - 15.5 } + (0..<32).map { $0 == 3 ? 1e30 : Float($0) * 1e-30 }
        var xq = [UInt8](repeating: 0, count: pp_q8x_row_bytes(x.count)), portable = xq
        pp_set_simd_level(0)
        pp_quantize_q8x(x, x.count, &portable)
        pp_set_simd_level(level)
        pp_quantize_q8x(x, x.count, &xq)
        #expect(xq == portable, "level \(level) quantises inputs differently from the portable path")
        var bad = 0
        xq.withUnsafeBytes { raw in
            for b in 0..<(x.count / 32) {
                let blk = raw.baseAddress! + b * 40
                let d = blk.load(as: Float.self), s = blk.load(fromByteOffset: 4, as: Float.self)
                var sum = 0
                for j in 0..<32 {
                    let q = Int(blk.load(fromByteOffset: 8 + j, as: Int8.self))
                    sum += q
                    if abs(Float(q) * d - x[b * 32 + j]) > d / 2 * 1.0001 || abs(q) > 127 { bad += 1 }
                }
                if abs(s - d * Float(sum)) > 1e-6 * (1 + abs(s)) { bad += 1 }
            }
        }
        #expect(MemoryLayout<pp_q8x_block>.stride == 40)
        #expect(bad == 0)
    }

    /// The SimHash projections' kernel: transposed weights (in x out), any output sub-range.
    @Test(arguments: levels)
    func transposedMatmulMatchesReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        for (inW, out, m, o0, o1) in [(16, 40, 1, 0, 40), (64, 1500, 3, 0, 1500), (128, 150, 5, 3, 71), (48, 33, 2, 32, 33)] {
            let Wt = gaussians(inW * out, seed: UInt64(inW + out)), x = gaussians(m * inW, seed: 8)
            var y = [Float](repeating: .nan, count: m * out)
            pp_matmul_t_f32(Wt, inW, out, x, inW, &y, out, m, o0, o1)
            for t in 0..<m {
                for o in o0..<o1 {
                    var s = 0.0
                    for i in 0..<inW { s += Double(Wt[i * out + o]) * Double(x[t * inW + i]) }
                    worst = max(worst, abs(Double(y[t * out + o]) - s) / (1 + abs(s)))
                }
                // Outputs outside o0 ..< o1 are left alone.
                #expect((0..<o0).allSatisfy { y[t * out + $0].isNaN } && (o1..<out).allSatisfy { y[t * out + $0].isNaN })
            }
        }
        testLog("transposed matmul level \(level): max relative error \(worst) (tolerance 1e-5)")
        #expect(worst < 1e-5)
    }

    /// Softmax attention in Double over rows `rows` with optional per-row bias.
    func referenceAttention(q: [Float], G: Int, d: Int, K: [UInt16], V: [UInt16], rows: [Int], heads: (Int, Int) -> Bool,
                            bias: (Int, Int, Double) -> Double) -> [Double] {
        var out = [Double](repeating: 0, count: G * d)
        for g in 0..<G {
            var scores: [(Int, Double)] = []
            for r in rows where heads(r, g) {
                var s = 0.0
                for j in 0..<d { s += Double(q[g * d + j]) * Double(pp_f16_to_f32_scalar(K[r * d + j])) }
                scores.append((r, s - bias(r, g, s)))
            }
            guard let mx = scores.map(\.1).max() else { continue }
            let z = scores.reduce(0) { $0 + exp($1.1 - mx) }
            for (r, s) in scores {
                let w = exp(s - mx) / z
                for j in 0..<d { out[g * d + j] += w * Double(pp_f16_to_f32_scalar(V[r * d + j])) }
            }
        }
        return out
    }

    /// One partial carried through `ranges` of the keys with pp_attend_range, finished: the
    /// attention output, G x d.
    func attendRanges(q: [Float], G: Int, d: Int, K: [UInt16], V: [UInt16], _ ranges: [Range<Int>]) -> [Float] {
        var m = [Float](repeating: 0, count: G), l = m, acc = [Float](repeating: 0, count: G * d)
        pp_partial_init(G, d, &m, &l, &acc)
        for r in ranges { pp_attend_range(q, G, d, K, V, d, r.lowerBound, r.upperBound, &m, &l, &acc) }
        var out = acc
        pp_partial_finish(G, d, l, acc, &out)
        return out
    }

    @Test(arguments: levels)
    func denseAttentionMatchesReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        for (G, d, n) in [(1, 16, 1), (3, 64, 37), (4, 128, 300), (2, 48, 17), (8, 32, 65), (5, 128, 77), (6, 128, 200), (2, 256, 50), (12, 64, 40), (3, 24, 50), (2, 40, 33)] {
            let q = gaussians(G * d, seed: UInt64(d), scale: 0.5)
            let K = gaussians(n * d, seed: 11).map { pp_f32_to_f16_scalar($0) }
            let V = gaussians(n * d, seed: 12).map { pp_f32_to_f16_scalar($0) }
            let out = attendRanges(q: q, G: G, d: d, K: K, V: V, [0..<n])
            let ref = referenceAttention(q: q, G: G, d: d, K: K, V: V, rows: Array(0..<n), heads: { _, _ in true }, bias: { _, _, _ in 0 })
            worst = max(worst, zip(out, ref).map { abs(Double($0) - $1) }.max()!)
        }
        testLog("dense attention level \(level): max |diff| \(worst) (tolerance 2e-5)")
        #expect(worst < 2e-5)
    }

    /// Two partial softmaxes over a split of the keys, merged by log-sum-exp, equal one pass.
    @Test func logSumExpMergeIsExact() {
        let G = 3, d = 64, n = 200
        let q = gaussians(G * d, seed: 3, scale: 0.7)
        let K = gaussians(n * d, seed: 4).map { pp_f32_to_f16_scalar($0) }
        let V = gaussians(n * d, seed: 5).map { pp_f32_to_f16_scalar($0) }
        func partial(_ r0: Int, _ r1: Int) -> ([Float], [Float], [Float]) {
            var m = [Float](repeating: 0, count: G), l = m, acc = [Float](repeating: 0, count: G * d)
            pp_partial_init(G, d, &m, &l, &acc)
            pp_attend_range(q, G, d, K, V, d, r0, r1, &m, &l, &acc)
            return (m, l, acc)
        }
        let (fm, fl, facc) = partial(0, n)
        var full = facc
        pp_partial_finish(G, d, fl, facc, &full)
        var worst: Float = 0
        for split in [0, 1, 57, 100, 199, 200] {
            var (m1, l1, a1) = partial(0, split)
            let (m2, l2, a2) = partial(split, n)
            pp_partial_merge(G, d, &m1, &l1, &a1, m2, l2, a2)
            var merged = a1
            pp_partial_finish(G, d, l1, a1, &merged)
            worst = max(worst, zip(merged, full).map { abs($0 - $1) }.max()!)
            for g in 0..<G { worst = max(worst, abs(m1[g] - fm[g])) }
        }
        testLog("log-sum-exp merge: max |merged - single pass| = \(worst) (tolerance 5e-6)")
        #expect(worst < 5e-6)
    }

    /// Gathered rows with per-row head masks and the MagicPIG correction, against the reference,
    /// over group sizes and head dimensions of every kernel variant. Masks leave some heads out of
    /// whole 16-row stretches (a head with nothing in a block, or nothing yet); some key norms are
    /// 0 (no correction for them); key norms are indexed from a non-zero offset; one gather is
    /// shorter than a block.
    @Test(arguments: levels)
    func gatheredAttentionWithMasksAndCorrectionMatchesReference(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        let lsh = Core.LSHParameters(hashBitsPerTable: 6, tableCount: 40)
        let table = SamplingCorrectionTable(parameters: lsh)
        var worst = 0.0, cases = 0
        for (G, d, n, every) in [(4, 64, 500, 3), (1, 48, 300, 2), (5, 128, 400, 3), (8, 128, 600, 4), (3, 24, 200, 2), (2, 64, 60, 12)] {
            let offset = 37 // rows below it are never gathered; norms are indexed row - offset
            let q = gaussians(G * d, seed: UInt64(21 + d), scale: 0.3)
            let K = gaussians(n * d, seed: 22).map { pp_f32_to_f16_scalar($0) }
            let V = gaussians(n * d, seed: 23).map { pp_f32_to_f16_scalar($0) }
            var g = SplitMix64Test(seed: UInt64(24 + G))
            var rows: [Int32] = [], masks: [UInt8] = []
            for r in offset..<n where g.next() % UInt64(every) == 0 {
                let stretch = rows.count / 16
                var mk = UInt8(truncatingIfNeeded: g.next()) & UInt8(truncatingIfNeeded: (1 << G) - 1)
                for h in 0..<G where (stretch + h) % 3 == 0 { mk &= ~UInt8(1 << h) } // head h absent here
                if mk != 0 { rows.append(Int32(r)); masks.append(mk) }
            }
            let norms = (offset..<n).map { _ in g.next() % 10 == 0 ? Float(0) : Float(0.5 + g.unit() * 8) }
            let qdm = (0..<G).map { _ in Float(g.gaussian()) }, qn = (0..<G).map { _ in Float(1 + g.unit() * 3) }
            for corrected in [false, true] {
                var m = [Float](repeating: 0, count: G), l = m, acc = [Float](repeating: 0, count: G * d)
                pp_partial_init(G, d, &m, &l, &acc)
                norms.withUnsafeBufferPointer { np in
                    qdm.withUnsafeBufferPointer { dp in
                        qn.withUnsafeBufferPointer { qp in
                            var c = pp_sampling_correction(lut: table.values.pointer, lutSize: Int32(table.size), keyNorm: np.baseAddress!,
                                                           normOffset: Int64(offset), queryDotMean: dp.baseAddress, queryNorm: qp.baseAddress)
                            if corrected {
                                pp_attend_gather(q, G, d, K, V, d, rows, masks, rows.count, &c, &m, &l, &acc)
                            } else {
                                pp_attend_gather(q, G, d, K, V, d, rows, masks, rows.count, nil, &m, &l, &acc)
                            }
                        }
                    }
                }
                var out = acc
                pp_partial_finish(G, d, l, acc, &out)
                let maskOf = Dictionary(uniqueKeysWithValues: zip(rows.map(Int.init), masks))
                let ref = referenceAttention(q: q, G: G, d: d, K: K, V: V, rows: rows.map(Int.init),
                                             heads: { r, h in (maskOf[r]! >> h) & 1 == 1 },
                                             bias: { r, h, s in
                                                 guard corrected else { return 0 }
                                                 let den = Double(qn[h]) * Double(norms[r - offset])
                                                 return table.interpolated(cos: den > 0 ? (s - Double(qdm[h])) / den : 0)
                                             })
                let finite = out.allSatisfy { $0.isFinite }
                #expect(finite)
                worst = max(worst, zip(out, ref).map { abs(Double($0) - $1) }.max()!)
                cases += 1
            }
        }
        testLog("gathered attention level \(level) (\(cases) cases: G 1-8, d 24-128, masks, correction on/off): max |diff| \(worst) (tolerance 5e-5)")
        #expect(worst < 5e-5)
    }

    /// One partial carried through two ranges, as the exact part does (sinks, then the local
    /// window): the second call starts from a non-empty state (finite m, l > 0).
    @Test(arguments: levels)
    func rangesContinueOnePartial(level: Int32) {
        defer { pp_set_simd_level(99) }
        pp_set_simd_level(level)
        var worst = 0.0
        for (G, d, n, a, b) in [(4, 128, 300, 4, 230), (3, 64, 100, 21, 40), (8, 32, 90, 1, 89), (2, 40, 70, 33, 34)] {
            let q = gaussians(G * d, seed: UInt64(d + a), scale: 0.5)
            let K = gaussians(n * d, seed: 31).map { pp_f32_to_f16_scalar($0) }
            let V = gaussians(n * d, seed: 32).map { pp_f32_to_f16_scalar($0) }
            let out = attendRanges(q: q, G: G, d: d, K: K, V: V, [0..<a, b..<n])
            let ref = referenceAttention(q: q, G: G, d: d, K: K, V: V, rows: Array(0..<a) + Array(b..<n),
                                         heads: { _, _ in true }, bias: { _, _, _ in 0 })
            worst = max(worst, zip(out, ref).map { abs(Double($0) - $1) }.max()!)
        }
        testLog("two ranges into one partial, level \(level): max |diff| \(worst) (tolerance 2e-5)")
        #expect(worst < 2e-5)
    }

    @Test func topSelectionMatchesSorting() {
        var g = SplitMix64Test(seed: 9)
        for n in [1, 2, 10, 1000] {
            // Values with ties.
            let s = (0..<n).map { _ in Float(Int(g.next() % 50)) }
            for k in [0, 1, n / 3, n] {
                var work = [Int32](repeating: 0, count: n), out = [Int32](repeating: 0, count: n)
                let got = pp_select_top(s, n, k, &work, &out)
                let expected = Set((0..<n).sorted { s[$0] > s[$1] || (s[$0] == s[$1] && $0 < $1) }.prefix(k).map(Int32.init))
                #expect(got == k && Set(out.prefix(got)) == expected, "n \(n) k \(k)")
            }
        }
    }

    /// The kernels the tests check are the optimised ones the binary ships (Package.swift builds
    /// CKernels at -O2 in debug too).
    /// The levels this CPU cannot run show as a skipped test, not as a pass: their kernels are
    /// checked here only by scripts/check-avx512-kernels, under SIMDe emulation (CI runs it).
    @Test(.enabled(if: pp_simd_level_supported() >= 3,
                   "this CPU runs up to level \(pp_simd_level_supported()) (\(String(cString: pp_simd_level_name(pp_simd_level_supported())))); levels above it are checked under emulation by scripts/check-avx512-kernels"))
    func levelsAboveThisCPU() {
        #expect(Self.levels == [0, 1, 2, 3])
        #expect(String(cString: pp_simd_level_name(3)) == "AVX-512 with VNNI and BF16")
    }

    @Test func kernelsAreCompiledOptimised() {
        #expect(pp_kernels_optimized() == 1)
    }
}
