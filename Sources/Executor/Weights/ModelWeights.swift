import Core

/// The weights of a Llama-architecture decoder in the executor's layout.
///
/// Conventions (those of GGUF files converted from Llama checkpoints): each projection is
/// out x in row-major; RoPE rotates ADJACENT pairs (x[2i], x[2i+1]) of each head (GGUF q/k
/// weights are permuted to this order by the converters); the embedding is V x h row-major.
public struct ModelWeights: Sendable {
    public struct Layer: Sendable {
        public var attentionNorm: Buffer<Float>
        /// H_q d x h.
        public var query: WeightMatrix
        /// H_kv d x h.
        public var key: WeightMatrix
        public var value: WeightMatrix
        /// h x H_q d.
        public var output: WeightMatrix
        public var mlpNorm: Buffer<Float>
        /// f x h.
        public var gate: WeightMatrix
        public var up: WeightMatrix
        /// h x f.
        public var down: WeightMatrix

        public init(attentionNorm: Buffer<Float>, query: WeightMatrix, key: WeightMatrix, value: WeightMatrix,
                    output: WeightMatrix, mlpNorm: Buffer<Float>, gate: WeightMatrix, up: WeightMatrix,
                    down: WeightMatrix) {
            self.attentionNorm = attentionNorm
            self.query = query
            self.key = key
            self.value = value
            self.output = output
            self.mlpNorm = mlpNorm
            self.gate = gate
            self.up = up
            self.down = down
        }
    }

    /// The shape actually loaded (layerCount may be fewer than the model's for synthetic runs).
    public var shape: ModelShape
    /// V x h; also the LM head when `lmHead` is nil (tied embeddings).
    public var embedding: WeightMatrix
    public var layers: [Layer]
    public var finalNorm: Buffer<Float>
    /// V x h, nil when tied to the embedding.
    public var lmHead: WeightMatrix?

    public init(shape: ModelShape, embedding: WeightMatrix, layers: [Layer], finalNorm: Buffer<Float>, lmHead: WeightMatrix?) {
        self.shape = shape
        self.embedding = embedding
        self.layers = layers
        self.finalNorm = finalNorm
        self.lmHead = lmHead
    }

    /// The matrix the logits come from.
    public var outputMatrix: WeightMatrix { lmHead ?? embedding }

    /// Whether any layer matrix is kept block-quantised (and so takes 8-bit inputs unless exact).
    public var hasQuantizedLayerRows: Bool {
        layers.contains { l in
            [l.query, l.key, l.value, l.output, l.gate, l.up, l.down].contains {
                if case .quantized = $0.storage { return true } else { return false }
            }
        }
    }

    public var bytes: Int {
        var b = embedding.bytes + finalNorm.bytes + (lmHead?.bytes ?? 0)
        for l in layers {
            b += l.attentionNorm.bytes + l.mlpNorm.bytes
            for m in [l.query, l.key, l.value, l.output, l.gate, l.up, l.down] { b += m.bytes }
        }
        return b
    }
}
