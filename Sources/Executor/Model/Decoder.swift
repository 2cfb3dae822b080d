import CKernels
import Core

/// The Llama forward pass over a KV cache: prefill of one sequence in chunks of rows (each chunk
/// through the linear layers as one matrix-matrix product, its causal attention in blocks of
/// keys), and batched decode steps whose attention goes through `DecodeAttention`.
///
/// Per block, for rows x: a = RMSNorm(x) w_attn; q = W_q a, k = W_k a, v = W_v a; RoPE on q, k
/// (adjacent pairs, angle pos theta^(-2i/d)); store k, v; o = attention; x += W_o o;
/// m = RMSNorm(x) w_mlp; x += W_down (silu(W_gate m) * (W_up m)). Logits = W_lm RMSNorm(x) w_final.
public final class Decoder: @unchecked Sendable {
    public let weights: ModelWeights
    public let shape: ModelShape
    public let cache: KVCache
    public let runner: ParallelRunner
    /// Rows per prefill chunk.
    public let chunkRows: Int
    /// Prefill attention: keys per block, and query rows that share one pass over the blocks.
    public let attentionBlockKeys: Int
    public let attentionBlockRows: Int
    /// Prompt rows per prefill chunk unless told otherwise: enough that the linear layers are
    /// matrix-matrix products (the weights are read once per 256 prompt tokens).
    public static let defaultChunkRows = 256
    /// Seconds spent in projections and the LM head (added to by prefill and decode).
    public var linearSeconds = 0.0
    /// Of the projections, the LM head's.
    public var lmHeadSeconds = 0.0
    /// Quantised weights get f32 inputs at every batch (no 8-bit rounding of the activations):
    /// slower, but a quality measurement then sees only the attention's approximation.
    public var exactActivations = false

    let rowsCapacity: Int
    let x, a, q, k, v, o, t, gate, up, rope: Buffer<Float>
    var logitsBuffer: Buffer<Float>

    public init(weights: ModelWeights, cache: KVCache, runner: ParallelRunner, maxBatch: Int,
                chunkRows: Int = Decoder.defaultChunkRows, attentionBlockKeys: Int = 128, attentionBlockRows: Int = 32) {
        self.attentionBlockKeys = max(1, attentionBlockKeys)
        self.attentionBlockRows = max(1, attentionBlockRows)
        self.weights = weights
        shape = weights.shape
        self.cache = cache
        self.runner = runner
        self.chunkRows = chunkRows
        rowsCapacity = max(maxBatch, chunkRows)
        let r = rowsCapacity, s = weights.shape
        x = Buffer(count: r * s.hiddenSize); a = Buffer(count: r * s.hiddenSize)
        q = Buffer(count: r * s.queryWidth); k = Buffer(count: r * s.kvWidth); v = Buffer(count: r * s.kvWidth)
        o = Buffer(count: r * s.queryWidth); t = Buffer(count: r * s.hiddenSize)
        gate = Buffer(count: r * s.intermediateSize); up = Buffer(count: r * s.intermediateSize)
        rope = Buffer(count: r * s.headDim)
        logitsBuffer = Buffer(count: maxBatch * s.vocabSize)
    }

    /// Bytes of activations for `rows` rows plus `logitRows` rows of logits.
    public static func activationBytes(shape s: ModelShape, rows: Int, logitRows: Int) -> Double {
        let perRow: Int = 3 * s.hiddenSize + 2 * s.queryWidth + 2 * s.kvWidth + 2 * s.intermediateSize + s.headDim
        return Double(rows * perRow) * 4 + Double(logitRows * s.vocabSize) * 4
    }

    /// y = W x for `rows` rows, its time added to `timer` (the layers' projections by default).
    func linear(_ m: WeightMatrix, _ input: UnsafePointer<Float>, rows: Int, _ output: UnsafeMutablePointer<Float>,
                timer: ReferenceWritableKeyPath<Decoder, Double> = \.linearSeconds) {
        linear([(m, output)], input, rows: rows, timer: timer)
    }

    /// Several projections of the same inputs (query, key and value; gate and up) in one call, so
    /// that quantised ones share the inputs' 8-bit rounding and one parallel pass.
    func linear(_ products: [(matrix: WeightMatrix, output: UnsafeMutablePointer<Float>)], _ input: UnsafePointer<Float>,
                rows: Int, timer: ReferenceWritableKeyPath<Decoder, Double> = \.linearSeconds) {
        let t0 = Clock.now()
        WeightMatrix.apply(products, input, ldx: products[0].matrix.columns, tokens: rows, runner: runner,
                           exactInputs: exactActivations)
        self[keyPath: timer] += Clock.now() - t0
    }

    func embed(_ tokens: [Int]) {
        let h = shape.hiddenSize
        for (r, tok) in tokens.enumerated() { weights.embedding.widenRow(tok, into: x.pointer + r * h) }
    }

    /// Norm, QKV, RoPE and KV store of `rows` rows at positions pos(r) of sequences seq(r).
    func attentionInputs(layer: Int, rows: Int, sequence: (Int) -> Int, position: (Int) -> Int) {
        let s = shape, L = weights.layers[layer]
        pp_rmsnorm(x.pointer, L.attentionNorm.pointer, a.pointer, rows, s.hiddenSize, Float(s.rmsNormEpsilon))
        linear([(L.query, q.pointer), (L.key, k.pointer), (L.value, v.pointer)], a.pointer, rows: rows)
        for r in 0..<rows {
            let cs = rope.pointer + r * s.headDim
            pp_rope(q.pointer + r * s.queryWidth, s.queryHeadCount, s.headDim, cs)
            pp_rope(k.pointer + r * s.kvWidth, s.kvHeadCount, s.headDim, cs)
            cache.store(layer: layer, sequence: sequence(r), position: position(r),
                        key: k.pointer + r * s.kvWidth, value: v.pointer + r * s.kvWidth)
        }
    }

    /// Output projection, residual and MLP of `rows` rows (attention output in `o`).
    func finishBlock(layer: Int, rows: Int) {
        let s = shape, L = weights.layers[layer]
        linear(L.output, o.pointer, rows: rows, t.pointer)
        pp_add(x.pointer, t.pointer, rows * s.hiddenSize)
        pp_rmsnorm(x.pointer, L.mlpNorm.pointer, a.pointer, rows, s.hiddenSize, Float(s.rmsNormEpsilon))
        linear([(L.gate, gate.pointer), (L.up, up.pointer)], a.pointer, rows: rows)
        pp_silu_mul(gate.pointer, up.pointer, rows * s.intermediateSize)
        linear(L.down, gate.pointer, rows: rows, t.pointer)
        pp_add(x.pointer, t.pointer, rows * s.hiddenSize)
    }

    /// Logits of `rows` rows of x (final norm + LM head) into `dst` (rows x V).
    func logits(rows: Int, into dst: UnsafeMutablePointer<Float>) {
        let s = shape
        pp_rmsnorm(x.pointer, weights.finalNorm.pointer, a.pointer, rows, s.hiddenSize, Float(s.rmsNormEpsilon))
        linear(weights.outputMatrix, a.pointer, rows: rows, dst, timer: \.lmHeadSeconds)
    }

    func ropeTables(rows: Int, position: (Int) -> Int) {
        for r in 0..<rows { pp_rope_table(rope.pointer + r * shape.headDim, shape.headDim, Double(position(r)), shape.ropeTheta) }
    }

    /// Runs `tokens` of sequence `sequence` at positions start..<start+count through the model with
    /// causal dense attention, filling the cache. Returns the logits of the rows listed in
    /// `logitRows` (indices into `tokens`), each V floats, in order. `onRows` hears the number of
    /// tokens done after each chunk.
    public func prefill(sequence: Int, tokens: [Int], start: Int = 0, logitRows: [Int] = [],
                        onRows: ((Int) -> Void)? = nil) -> [[Float]] {
        let s = shape, d = s.headDim
        var wanted: [Int: [Float]] = [:]
        let wantSet = Set(logitRows)
        var c0 = 0
        let scale = 1 / Float(d).squareRoot()
        while c0 < tokens.count {
            let rows = min(chunkRows, tokens.count - c0)
            embed(Array(tokens[c0..<(c0 + rows)]))
            let base = start + c0
            ropeTables(rows: rows) { base + $0 }
            for layer in 0..<s.layerCount {
                attentionInputs(layer: layer, rows: rows, sequence: { _ in sequence }, position: { base + $0 })
                for i in 0..<(rows * s.queryWidth) { q[i] *= scale }
                causalAttention(layer: layer, sequence: sequence, rows: rows, base: base)
                finishBlock(layer: layer, rows: rows)
            }
            let need = (0..<rows).filter { wantSet.contains(c0 + $0) }
            if !need.isEmpty {
                // Compact the wanted rows to the front of x, then one LM-head product.
                for (j, r) in need.enumerated() where j != r {
                    (x.pointer + j * s.hiddenSize).update(from: x.pointer + r * s.hiddenSize, count: s.hiddenSize)
                }
                let out = Buffer<Float>(count: need.count * s.vocabSize)
                logits(rows: need.count, into: out.pointer)
                for (j, r) in need.enumerated() {
                    wanted[c0 + r] = out.array((j * s.vocabSize)..<((j + 1) * s.vocabSize))
                }
            }
            c0 += rows
            onRows?(c0)
        }
        return logitRows.map { wanted[$0] ?? [] }
    }

    /// Causal attention of the chunk's `rows` query rows (positions base ..< base + rows, queries
    /// in `q`, scaled) over the cache's keys 0 ... position, into `o`, flash-attention style
    /// (`pp_causal_attention`): a work item is (KV head, block of `attentionBlockRows` rows); it
    /// walks the keys in blocks of `attentionBlockKeys`, so each key is read from memory once per
    /// row block rather than once per row, and no rows x keys matrix exists.
    func causalAttention(layer: Int, sequence: Int, rows: Int, base: Int) {
        let s = shape, G = s.groupSize, d = s.headDim, kvH = s.kvHeadCount, qw = s.queryWidth
        let blockRows = attentionBlockRows, blockKeys = attentionBlockKeys
        let rowBlocks = (rows + blockRows - 1) / blockRows
        let qp = SendablePointer(q.pointer), op = SendablePointer(o.pointer)
        runner.forEach(rowBlocks * kvH) { item, _ in
            // Later rows attend more keys: hand out the longest first.
            let rb = rowBlocks - 1 - item / kvH, head = item % kvH
            let r0 = rb * blockRows, r1 = min(rows, r0 + blockRows)
            let K = self.cache.keyRows(layer: layer, sequence: sequence, head: head)
            let V = self.cache.valueRows(layer: layer, sequence: sequence, head: head)
            let at = r0 * qw + head * G * d
            let rc = pp_causal_attention(qp.p + at, qw, r1 - r0, G, d, K, V, d, base + r0, blockKeys, op.p + at, qw)
            precondition(rc == 0, "prefill attention scratch (\(blockRows) rows x \(blockKeys) keys) could not be allocated")
        }
    }

    /// One decode step for the whole batch: token b of sequence b at `position`. Returns a pointer
    /// to the batch x V logits (valid until the next call).
    public func decode(tokens: [Int], position: Int, attention: DecodeAttention) -> UnsafeMutablePointer<Float> {
        let rows = tokens.count
        precondition(rows <= logitsBuffer.count / shape.vocabSize)
        embed(tokens)
        ropeTables(rows: rows) { _ in position }
        for layer in 0..<shape.layerCount {
            attentionInputs(layer: layer, rows: rows, sequence: { $0 }, position: { _ in position })
            attention.attend(layer: layer, query: q.pointer, position: position, cache: cache, output: o.pointer)
            finishBlock(layer: layer, rows: rows)
        }
        logits(rows: rows, into: logitsBuffer.pointer)
        return logitsBuffer.pointer
    }
}
