import CKernels
import Core
import Foundation

/// Seeded random weights of any `ModelShape` (binary16), so that long-context runs at real head
/// and KV sizes need no checkpoint.
///
/// Distributions (element-wise independent, nearly Gaussian: sums of four uniforms with unit variance, see pp_fill_gaussian_f16; each matrix from its own seed derived from
/// the run seed, layer and role):
/// - embedding row t = mu + z_t, z_t ~ N(0, I) and one shared mu ~ N(0, I): every token carries
///   the same offset, so after RMSNorm the keys W_k x share a mean offset W_k mu / rms (before
///   RoPE; the low-frequency RoPE dimensions keep it at every position). This is the property of
///   real keys that makes MagicPIG's key centering matter.
/// - q, k, v, gate, up: N(0, 1/h); q is scaled by `queryGain` (2) so that scores q.k/sqrt(d) have a
///   standard deviation around 2 and attention is peaked rather than flat.
/// - o: N(0, 1/(H_q d)) and down: N(0, 1/f), both times 1/sqrt(2 L) so that the residual stream
///   grows slowly over layers.
/// - norms are 1; an untied LM head is N(0, 1/h).
public enum SyntheticWeights {
    public static let queryGain: Float = 2

    public static func make(shape full: ModelShape, layers: Int?, seed: UInt64, precision: WeightPrecision = .f16,
                            runner: ParallelRunner) -> ModelWeights {
        var shape = full
        if let n = layers { shape.layerCount = max(1, min(n, full.layerCount)) }
        let h = shape.hiddenSize, f = shape.intermediateSize, qw = shape.queryWidth, kw = shape.kvWidth
        let depthScale = 1 / Float(2 * shape.layerCount).squareRoot()

        func derive(_ a: UInt64, _ b: UInt64) -> UInt64 {
            var g = SplitMix64(seed: seed ^ (a &* 0x9E37_79B9_7F4A_7C15) ^ (b &* 0xC2B2_AE3D_27D4_EB4F))
            return g.next()
        }
        func matrix(rows: Int, cols: Int, std: Float, role: UInt64, layer: Int) -> WeightMatrix {
            let n = rows * cols
            let s = derive(UInt64(layer + 1), role)
            switch precision {
            case .f16, .native:
                let b = Buffer<UInt16>(count: n)
                let p = SendablePointer(b.pointer)
                runner.forRanges(n, grain: 1 << 16) { r, _ in
                    pp_fill_gaussian_f16(p.p + r.lowerBound, r.count, s, UInt64(r.lowerBound), 0, std)
                }
                return WeightMatrix(rows: rows, columns: cols, storage: .f16(b))
            case .f32:
                let b = Buffer<Float>(count: n)
                let p = SendablePointer(b.pointer)
                runner.forRanges(n, grain: 1 << 16) { r, _ in
                    pp_fill_gaussian_f32(p.p + r.lowerBound, r.count, s, UInt64(r.lowerBound), 0, std)
                }
                return WeightMatrix(rows: rows, columns: cols, storage: .f32(b))
            }
        }
        func ones(_ n: Int) -> Buffer<Float> {
            let b = Buffer<Float>(count: n)
            b.fill(1)
            return b
        }

        // Embedding: noise plus one shared offset row.
        let mu = Buffer<Float>(count: h)
        pp_fill_gaussian_f32(mu.pointer, h, derive(0, 99), 0, 0, 1)
        let embedding = matrix(rows: shape.vocabSize, cols: h, std: 1, role: 1, layer: -1)
        switch embedding.storage {
        case .f16(let b):
            let p = SendablePointer(b.pointer), m = SendablePointer(mu.pointer)
            runner.forRanges(shape.vocabSize, grain: 256) { r, _ in
                for row in r { pp_add_f16_row(p.p + row * h, m.p, h) }
            }
        case .f32(let b):
            let p = SendablePointer(b.pointer), m = SendablePointer(mu.pointer)
            runner.forRanges(shape.vocabSize, grain: 256) { r, _ in
                for row in r { pp_add(p.p + row * h, m.p, h) }
            }
        case .bf16, .quantized:
            preconditionFailure("synthetic weights are f32 or binary16")
        }
        withExtendedLifetime(mu) {}

        let inStd = 1 / Float(h).squareRoot()
        var blocks: [ModelWeights.Layer] = []
        for i in 0..<shape.layerCount {
            blocks.append(ModelWeights.Layer(
                attentionNorm: ones(h),
                query: matrix(rows: qw, cols: h, std: inStd * queryGain, role: 2, layer: i),
                key: matrix(rows: kw, cols: h, std: inStd, role: 3, layer: i),
                value: matrix(rows: kw, cols: h, std: inStd, role: 4, layer: i),
                output: matrix(rows: h, cols: qw, std: depthScale / Float(qw).squareRoot(), role: 5, layer: i),
                mlpNorm: ones(h),
                gate: matrix(rows: f, cols: h, std: inStd, role: 6, layer: i),
                up: matrix(rows: f, cols: h, std: inStd, role: 7, layer: i),
                down: matrix(rows: h, cols: f, std: depthScale / Float(f).squareRoot(), role: 8, layer: i)))
        }
        let lmHead = shape.tiedEmbeddings ? nil : matrix(rows: shape.vocabSize, cols: h, std: inStd, role: 9, layer: -1)
        return ModelWeights(shape: shape, embedding: embedding, layers: blocks, finalNorm: ones(h), lmHead: lmHead)
    }
}
