import CKernels
import Core
import Foundation
import Testing
@testable import Executor

/// The decoder against a plain, slow Swift implementation of the same Llama forward pass in
/// Double (weights read element by element; K and V rounded to binary16 as the cache stores them).
@Suite struct ReferenceModelTests {
    struct Reference {
        let w: ModelWeights
        var keys: [[[Double]]]  // layer -> position -> H_kv d
        var values: [[[Double]]]
        init(_ w: ModelWeights) {
            self.w = w
            keys = Array(repeating: [], count: w.shape.layerCount)
            values = keys
        }
        static func f16(_ x: Double) -> Double { Double(pp_f16_to_f32_scalar(pp_f32_to_f16_scalar(Float(x)))) }

        func matvec(_ m: WeightMatrix, _ x: [Double]) -> [Double] {
            (0..<m.rows).map { o in (0..<m.columns).reduce(0.0) { $0 + Double(m.value(o, $1)) * x[$1] } }
        }
        func norm(_ x: [Double], _ wt: Buffer<Float>) -> [Double] {
            let r = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(x.count) + w.shape.rmsNormEpsilon).squareRoot()
            return x.indices.map { x[$0] * r * Double(wt[$0]) }
        }
        func rope(_ x: [Double], heads: Int, pos: Int) -> [Double] {
            var y = x
            let d = w.shape.headDim
            for h in 0..<heads {
                for i in 0..<(d / 2) {
                    let a = Double(pos) * pow(w.shape.ropeTheta, -2 * Double(i) / Double(d))
                    let (u, v) = (x[h * d + 2 * i], x[h * d + 2 * i + 1])
                    y[h * d + 2 * i] = u * cos(a) - v * sin(a)
                    y[h * d + 2 * i + 1] = u * sin(a) + v * cos(a)
                }
            }
            return y
        }
        /// Logits after feeding `token` at the next position.
        mutating func step(_ token: Int) -> [Double] {
            let s = w.shape, d = s.headDim, G = s.groupSize
            var x = (0..<s.hiddenSize).map { Double(w.embedding.value(token, $0)) }
            for l in 0..<s.layerCount {
                let L = w.layers[l], pos = keys[l].count
                let a = norm(x, L.attentionNorm)
                let q = rope(matvec(L.query, a), heads: s.queryHeadCount, pos: pos)
                keys[l].append(rope(matvec(L.key, a), heads: s.kvHeadCount, pos: pos).map(Self.f16))
                values[l].append(matvec(L.value, a).map(Self.f16))
                var o = [Double](repeating: 0, count: s.queryWidth)
                for h in 0..<s.queryHeadCount {
                    let kh = h / G
                    let scores = keys[l].map { k in (0..<d).reduce(0.0) { $0 + q[h * d + $1] * k[kh * d + $1] } / Double(d).squareRoot() }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for (p, v) in zip(e, values[l]) { for j in 0..<d { o[h * d + j] += p / z * v[kh * d + j] } }
                }
                let proj = matvec(L.output, o)
                for i in x.indices { x[i] += proj[i] }
                let m = norm(x, L.mlpNorm)
                let g = matvec(L.gate, m), u = matvec(L.up, m)
                let act = g.indices.map { g[$0] / (1 + exp(-g[$0])) * u[$0] }
                let down = matvec(L.down, act)
                for i in x.indices { x[i] += down[i] }
            }
            return matvec(w.outputMatrix, norm(x, w.finalNorm))
        }
    }

    @Test(arguments: [WeightPrecision.f16, .f32], [false, true])
    func decoderMatchesSlowReference(precision: WeightPrecision, tied: Bool) {
        let shape = ModelShape(name: "tiny", layerCount: 2, hiddenSize: 64, intermediateSize: 96, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 16, vocabSize: 50, tiedEmbeddings: tied, ropeTheta: 10_000,
                               rmsNormEpsilon: 1e-5, denseLayers: [])
        let runner = ParallelRunner(threads: 2)
        let weights = SyntheticWeights.make(shape: shape, layers: nil, seed: 42, precision: precision, runner: runner)
        let prompt = [3, 17, 4, 49, 0, 22, 8, 31, 5, 12]
        let steps = [7, 7, 40, 1]
        let session = DecodeSession(weights: weights, batch: 1, promptLength: prompt.count, capacity: prompt.count + steps.count,
                                    denseLayers: [], runner: runner, seed: 0)
        // Prefill in chunks of 4 rows, attention in blocks of 3 keys x 2 rows, so that chunk and
        // block boundaries fall everywhere.
        let decoder = Decoder(weights: weights, cache: session.cache, runner: runner, maxBatch: 1, chunkRows: 4,
                              attentionBlockKeys: 3, attentionBlockRows: 2)
        let got = decoder.prefill(sequence: 0, tokens: prompt, logitRows: Array(prompt.indices))
        var ref = Reference(weights)
        var worst = 0.0
        for (i, t) in prompt.enumerated() {
            let r = ref.step(t)
            worst = max(worst, zip(got[i], r).map { abs(Double($0) - $1) }.max()!)
        }
        let attention = session.makeAttention(.dense)
        for (j, t) in steps.enumerated() {
            let logits = decoder.decode(tokens: [t], position: prompt.count + j, attention: attention)
            let r = ref.step(t)
            worst = max(worst, (0..<shape.vocabSize).map { abs(Double(logits[$0]) - r[$0]) }.max()!)
        }
        testLog("tiny model (\(precision), tied \(tied)): max |logit - reference| over \(prompt.count) prefill rows and \(steps.count) decode steps = \(worst) (tolerance 2e-3)")
        #expect(worst < 2e-3)
    }

    /// Chunked prefill (256-row chunks through the linear layers, attention in key blocks) gives
    /// the logits of row-by-row prefill, over a prompt that spans two chunks.
    @Test func chunkedPrefillEqualsRowByRow() {
        let shape = ModelShape(name: "tiny", layerCount: 2, hiddenSize: 64, intermediateSize: 96, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 16, vocabSize: 50, ropeTheta: 10_000, rmsNormEpsilon: 1e-5, denseLayers: [])
        let runner = ParallelRunner(threads: 2)
        let weights = SyntheticWeights.make(shape: shape, layers: nil, seed: 8, precision: .f32, runner: runner)
        let prompt = (0..<300).map { ($0 * 37 + 11) % 50 }
        func logits(_ make: (KVCache) -> Decoder) -> [[Float]] {
            let cache = KVCache(layerCount: 2, batch: 1, kvHeads: 2, headDim: 16, capacity: prompt.count)
            return make(cache).prefill(sequence: 0, tokens: prompt, logitRows: [0, 1, 127, 255, 256, 299])
        }
        let chunked = logits { Decoder(weights: weights, cache: $0, runner: runner, maxBatch: 1, attentionBlockKeys: 40, attentionBlockRows: 7) }
        let rowByRow = logits { Decoder(weights: weights, cache: $0, runner: runner, maxBatch: 1, chunkRows: 1, attentionBlockRows: 1) }
        let worst = zip(chunked, rowByRow).map { zip($0, $1).map { abs($0 - $1) }.max()! }.max()!
        testLog("chunked vs row-by-row prefill: max |logit difference| \(worst) (tolerance 1e-4)")
        #expect(worst < 1e-4)
    }

    /// Batched decoding equals decoding each sequence alone.
    @Test func batchRowsAreIndependent() throws {
        let shape = ModelShape(name: "tiny", layerCount: 2, hiddenSize: 64, intermediateSize: 96, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 16, vocabSize: 50, denseLayers: [])
        func run(batch: Int) throws -> [[Int]] {
            try Executor.run(ExecutorRequest(weights: .synthetic(shape: shape, layers: nil, seed: 1), prompt: .syntheticTokens(count: 150),
                                             batch: batch, decodeSteps: 6, attention: .lshSampled(LSHParameters(hashBitsPerTable: 4, tableCount: 12)),
                                             threads: 2, seed: 9)).generatedTokens
        }
        let three = try run(batch: 3)
        let one = try run(batch: 1)
        #expect(three[0] == one[0])
        #expect(three.count == 3 && three.allSatisfy { $0.count == 7 })
    }
}
