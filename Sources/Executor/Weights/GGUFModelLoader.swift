import CKernels
import Core

/// Reads a Llama-architecture GGUF (general.architecture = "llama") into `ModelWeights`:
/// tensors `token_embd`, `output_norm`, optional `output` (absent: tied embeddings) and per block
/// `blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}`,
/// each dequantised at load, or with `.native` precision kept as stored.
public enum GGUFModelLoader {
    /// The model shape from the metadata (no tensor data is read). MagicPIG's dense layers are
    /// layer 0 and every 16th layer after it ({0, 16} for 32 layers), unless overridden later.
    public static func shape(of file: GGUFFile) throws(GGUFError) -> ModelShape {
        let arch = try file.string("general.architecture")
        guard arch == "llama" else {
            throw .invalid(path: file.path, offset: 0, field: "metadata 'general.architecture'",
                           reason: "'\(arch)' is not supported (only llama-architecture models are)")
        }
        let layers = try file.int("llama.block_count")
        let hidden = try file.int("llama.embedding_length")
        let heads = try file.int("llama.attention.head_count")
        let kvHeads = (try? file.int("llama.attention.head_count_kv")) ?? heads
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, hidden % heads == 0 else {
            throw .invalid(path: file.path, offset: 0, field: "attention head counts",
                           reason: "\(heads) query heads over \(kvHeads) KV heads with width \(hidden)")
        }
        let headDim = (try? file.int("llama.attention.key_length")) ?? hidden / heads
        if let ropeDims = try? file.int("llama.rope.dimension_count"), ropeDims != headDim {
            throw .invalid(path: file.path, offset: 0, field: "metadata 'llama.rope.dimension_count'",
                           reason: "partial rotary embeddings (\(ropeDims) of \(headDim)) are not supported")
        }
        let embd = try file.tensor("token_embd.weight")
        let vocab = (try? file.int("llama.vocab_size")) ?? embd.dimensions.last ?? 0
        let ffn = try file.int("llama.feed_forward_length")
        let trainedContext = try? file.int("llama.context_length") // optional
        // Header values are checked against each other and the tensors before anything is sized
        // from them (a block count of 2^32 must not drive an allocation or a loop).
        let counts = [("llama.block_count", layers, 1...4096), ("llama.embedding_length", hidden, 1...(1 << 20)),
                      ("llama.attention.head_count", heads, 1...4096), ("llama.feed_forward_length", ffn, 1...(1 << 22)),
                      ("llama.vocab_size", vocab, 2...(1 << 24)), ("llama.attention.key_length", headDim, 1...4096)]
            + (trainedContext.map { [("llama.context_length", $0, 1...(1 << 24))] } ?? [])
        for (field, value, range) in counts {
            guard range.contains(value) else {
                throw .invalid(path: file.path, offset: 0, field: "metadata '\(field)'",
                               reason: "\(value) is outside \(range.lowerBound)...\(range.upperBound)")
            }
        }
        // The rotary base and the norm's epsilon feed every position and every row: NaN, zero or
        // a negative value would make the whole run NaN (or divide by zero) without an error.
        let ropeTheta = (try? file.double("llama.rope.freq_base")) ?? 10_000
        let rmsEpsilon = (try? file.double("llama.attention.layer_norm_rms_epsilon")) ?? 1e-5
        for (field, value) in [("llama.rope.freq_base", ropeTheta), ("llama.attention.layer_norm_rms_epsilon", rmsEpsilon)] {
            guard value.isFinite, value > 0 else {
                throw .invalid(path: file.path, offset: 0, field: "metadata '\(field)'",
                               reason: "\(value) is not a positive finite number")
            }
        }
        guard file.tensors["blk.\(layers - 1).attn_q.weight"] != nil, file.tensors["blk.\(layers).attn_q.weight"] == nil else {
            throw .invalid(path: file.path, offset: 0, field: "metadata 'llama.block_count'",
                           reason: "\(layers) blocks, but the file's tensors blk.N.attn_q.weight do not run from 0 to \(layers - 1)")
        }
        return ModelShape(
            name: (try? file.string("general.name")) ?? "gguf",
            layerCount: layers, hiddenSize: hidden,
            intermediateSize: ffn,
            queryHeadCount: heads, kvHeadCount: kvHeads, headDim: headDim, vocabSize: vocab,
            tiedEmbeddings: file.tensors["output.weight"] == nil,
            ropeTheta: ropeTheta, rmsNormEpsilon: rmsEpsilon,
            bytesPerWeight: 2, bytesPerKVElement: 2,
            denseLayers: Array(stride(from: 0, to: layers, by: 16)),
            maxContextTokens: trainedContext)
    }

    /// Loads the first `layers` blocks (all when nil).
    public static func load(_ file: GGUFFile, precision: WeightPrecision, layers: Int? = nil,
                            runner: ParallelRunner) throws(GGUFError) -> ModelWeights {
        var shape = try shape(of: file)
        if let n = layers { shape.layerCount = min(n, shape.layerCount) }
        let h = shape.hiddenSize, f = shape.intermediateSize
        let qw = shape.queryWidth, kw = shape.kvWidth

        func vector(_ name: String, _ n: Int) throws(GGUFError) -> Buffer<Float> {
            let t = try file.tensor(name)
            guard t.elementCount == n else { throw .shapeMismatch(path: file.path, tensor: name, expected: [n], found: t.dimensions) }
            let b = Buffer<Float>(count: n)
            try file.dequantize(name, into: b.pointer)
            return b
        }
        func matrix(_ name: String, rows: Int, cols: Int) throws(GGUFError) -> WeightMatrix {
            let t = try file.tensor(name)
            guard t.dimensions.count == 2, t.dimensions[0] == cols, t.dimensions[1] == rows else {
                throw .shapeMismatch(path: file.path, tensor: name, expected: [cols, rows], found: t.dimensions)
            }
            if precision == .native, let kept = try file.storedMatrix(name, rows: rows, columns: cols) { return kept }
            let b = Buffer<Float>(uninitializedCount: rows * cols)
            try file.dequantize(name, into: b.pointer)
            switch precision {
            case .f32, .native: return WeightMatrix(rows: rows, columns: cols, storage: .f32(b))
            case .f16:
                let hb = Buffer<UInt16>(uninitializedCount: rows * cols)
                pp_f32_to_f16(b.pointer, hb.pointer, rows * cols)
                return WeightMatrix(rows: rows, columns: cols, storage: .f16(hb))
            }
        }

        let embedding = try matrix("token_embd.weight", rows: shape.vocabSize, cols: h)
        var blocks: [ModelWeights.Layer] = []
        for i in 0..<shape.layerCount {
            let p = "blk.\(i)."
            blocks.append(ModelWeights.Layer(
                attentionNorm: try vector(p + "attn_norm.weight", h),
                query: try matrix(p + "attn_q.weight", rows: qw, cols: h),
                key: try matrix(p + "attn_k.weight", rows: kw, cols: h),
                value: try matrix(p + "attn_v.weight", rows: kw, cols: h),
                output: try matrix(p + "attn_output.weight", rows: h, cols: qw),
                mlpNorm: try vector(p + "ffn_norm.weight", h),
                gate: try matrix(p + "ffn_gate.weight", rows: f, cols: h),
                up: try matrix(p + "ffn_up.weight", rows: f, cols: h),
                down: try matrix(p + "ffn_down.weight", rows: h, cols: f)))
        }
        let lmHead = shape.tiedEmbeddings ? nil : try matrix("output.weight", rows: shape.vocabSize, cols: h)
        return ModelWeights(shape: shape, embedding: embedding, layers: blocks,
                            finalNorm: try vector("output_norm.weight", h), lmHead: lmHead)
    }
}
