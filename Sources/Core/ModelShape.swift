/// The shape of a Llama-architecture decoder: everything the cost model and the executor need to
/// size weights, KV cache and hash tables. Key names follow the profile files
/// (Profiles/README.md); a Hugging Face `config.json` is read by `ModelProfile.fromHuggingFaceConfig` (Profiles).
public struct ModelShape: Codable, Sendable, Hashable {
    public var name: String
    /// Transformer blocks.
    public var layerCount: Int
    /// Residual stream width (h).
    public var hiddenSize: Int
    /// MLP inner width (f).
    public var intermediateSize: Int
    /// Query heads (H_q).
    public var queryHeadCount: Int
    /// Key/value heads (H_kv); H_q / H_kv is the GQA group size G.
    public var kvHeadCount: Int
    /// Per-head width (d).
    public var headDim: Int
    /// Vocabulary size (V).
    public var vocabSize: Int
    /// The LM head reuses the embedding matrix.
    public var tiedEmbeddings: Bool
    /// RoPE base frequency.
    public var ropeTheta: Double
    /// RMSNorm epsilon.
    public var rmsNormEpsilon: Double
    /// Bytes per weight parameter as served (2 for bf16/fp16).
    public var bytesPerWeight: Double
    /// Bytes per KV cache element (2 for bf16/fp16).
    public var bytesPerKVElement: Double
    /// Layers that keep full attention in MagicPIG (the paper: {0, 16} for 32-layer 8B models).
    public var denseLayers: [Int]
    /// Longest context the model was trained for, in tokens (informational; not a limit here).
    public var maxContextTokens: Int?

    public init(
        name: String, layerCount: Int, hiddenSize: Int, intermediateSize: Int,
        queryHeadCount: Int, kvHeadCount: Int, headDim: Int, vocabSize: Int,
        tiedEmbeddings: Bool = false, ropeTheta: Double = 10_000, rmsNormEpsilon: Double = 1e-5,
        bytesPerWeight: Double = 2, bytesPerKVElement: Double = 2, denseLayers: [Int]? = nil,
        maxContextTokens: Int? = nil
    ) {
        self.name = name
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.queryHeadCount = queryHeadCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabSize = vocabSize
        self.tiedEmbeddings = tiedEmbeddings
        self.ropeTheta = ropeTheta
        self.rmsNormEpsilon = rmsNormEpsilon
        self.bytesPerWeight = bytesPerWeight
        self.bytesPerKVElement = bytesPerKVElement
        self.denseLayers = denseLayers ?? Self.defaultDenseLayers(layerCount: layerCount)
        self.maxContextTokens = maxContextTokens
    }

    /// The dense layers that exist in this model, each once.
    /// MagicPIG's dense (full-attention) layers when a shape names none: {0, 16, 32, 48} for
    /// 80-layer models (the paper's 70B setting), otherwise {0, layers / 2} (the paper's {0, 16}
    /// for 32 layers). Profiles, config.json files and code-built shapes all default to it.
    public static func defaultDenseLayers(layerCount: Int) -> [Int] {
        if layerCount == 80 { return [0, 16, 32, 48] }
        if layerCount < 2 { return [0] }
        return [0, layerCount / 2]
    }

    var existingDenseLayers: Set<Int> { Set(denseLayers.filter { $0 >= 0 && $0 < layerCount }) }

    /// Distinct dense layers that exist in this model.
    public var mandatoryDenseLayerCount: Int { existingDenseLayers.count }

    /// The layers a plan keeps dense: the model's own plus the first `extra` others, in layer
    /// order (what the cost model counts as `mandatoryDenseLayerCount + extra`).
    public func denseLayers(extra: Int) -> [Int] {
        var dense = existingDenseLayers
        let target = dense.count + min(max(0, extra), layerCount - dense.count)
        var layer = 0
        while dense.count < target, layer < layerCount {
            dense.insert(layer)
            layer += 1
        }
        return dense.sorted()
    }

    /// G = H_q / H_kv.
    public var groupSize: Int { queryHeadCount / kvHeadCount }
    public var queryWidth: Int { queryHeadCount * headDim }
    public var kvWidth: Int { kvHeadCount * headDim }
    /// Output rows of one layer's projections: q, k, v, o, gate, up, down.
    public var projectionRowsPerLayer: Double {
        Double(queryWidth + 2 * kvWidth + hiddenSize + 2 * intermediateSize + hiddenSize)
    }
    /// Vector elements one decode step touches per sequence outside the projections and attention:
    /// per layer two RMSNorms and two residual adds (4 h), RoPE on q and k (q + kv widths), the K
    /// and V stores (2 kv), SiLU x up (f); per step the embedding and final norm (2 h) and the
    /// argmax over the vocabulary (V).
    public var otherElementsPerSequence: Double {
        Double(layerCount) * Double(4 * hiddenSize + queryWidth + 3 * kvWidth + intermediateSize)
            + Double(2 * hiddenSize + vocabSize)
    }

    /// Parameters of one block's four projections: q (h x H_q d), k and v (h x H_kv d each),
    /// o (H_q d x h), gate, up and down (3 h f). Norm vectors are counted in `normParameters`.
    public var linearParametersPerLayer: Double {
        let h = Double(hiddenSize)
        return h * Double(queryWidth) * 2 + h * Double(kvWidth) * 2
            + 3 * h * Double(intermediateSize)
    }
    /// Two RMSNorm weight vectors per block.
    public var normParametersPerLayer: Double { 2 * Double(hiddenSize) }
    /// V x h.
    public var embeddingParameters: Double { Double(vocabSize) * Double(hiddenSize) }
    /// V x h, or 0 when tied to the embedding.
    public var lmHeadParameters: Double { tiedEmbeddings ? 0 : embeddingParameters }
    /// All parameters: embedding + layers x (linear + norms) + final norm + untied LM head.
    public var parameterCount: Double {
        embeddingParameters + lmHeadParameters + Double(hiddenSize)
            + Double(layerCount) * (linearParametersPerLayer + normParametersPerLayer)
    }
    /// Total weight bytes = parameters x bytes per weight (Llama-3.1-8B bf16: 16.06 GB).
    public var weightBytes: Double { parameterCount * bytesPerWeight }
    /// Bytes of one block's linear layers, read once per decode step.
    public var linearBytesPerLayer: Double { linearParametersPerLayer * bytesPerWeight }
    /// Bytes the LM head reads per decode step (the embedding matrix when tied).
    public var lmHeadBytes: Double { embeddingParameters * bytesPerWeight }
    /// K and V of one token in one layer: 2 x H_kv x d x bytes.
    public var kvBytesPerTokenPerLayer: Double {
        2 * Double(kvWidth) * bytesPerKVElement
    }
    /// K and V of one token over all layers (Llama-3.1-8B: 128 KiB).
    public var kvBytesPerToken: Double { kvBytesPerTokenPerLayer * Double(layerCount) }
}

/// How the served weights are stored (`--weights`): bytes per parameter, with int4's group
/// scales (one binary16 scale per 128 weights, as GPTQ/AWQ-style kernels use) counted. The
/// quality of low precision is outside what pigplan predicts.
public enum WeightFormat: String, CaseIterable, Sendable, Codable {
    case bf16, fp8, int8, int4
    public var bytesPerWeight: Double {
        switch self {
        case .bf16: return 2
        case .fp8, .int8: return 1
        case .int4: return 0.5 + 2.0 / 128
        }
    }
}

/// How the KV cache is stored (`--kv-dtype`), on the GPU and in host memory alike.
public enum KVFormat: String, CaseIterable, Sendable, Codable {
    case bf16, fp8
    public var bytesPerElement: Double { self == .bf16 ? 2 : 1 }
}

/// What a weight format's decode kernels reach relative to bf16's on the same GPU: the share of
/// the bf16 kernels' bandwidth efficiency (dequantising in registers costs some), and the
/// FLOP/s of the matrix units they run on over bf16's.
public struct WeightFormatEfficiency: Codable, Sendable, Hashable {
    public var bandwidthFactor: Double
    public var flopsFactor: Double
    public init(bandwidthFactor: Double, flopsFactor: Double) {
        self.bandwidthFactor = bandwidthFactor
        self.flopsFactor = flopsFactor
    }
}

extension WeightFormat {
    /// Planning defaults, unless the GPU profile gives its own:
    /// - bf16: the reference (1, 1).
    /// - fp8 on a GPU with fp8 tensor cores (`denseFP8FlopsPerSecond`): weights read as they are
    ///   (bandwidth x 1) and multiplied at the fp8 rate; without them (A100) weight-only kernels
    ///   widen fp8 to bf16 in registers: bandwidth x 0.9, bf16 rate.
    /// - int8 and int4 weight-only (W8A16, W4A16 with group scales): widened to bf16 in
    ///   registers at the bf16 rate; bandwidth x 0.9 and x 0.85. The Marlin paper (Frantar et
    ///   al., 2024) reports close to the ideal 4x over fp16 for 4-bit weights at batch 1-16 on
    ///   Ampere; these factors are a conservative reading of it, not a fit.
    public func defaultEfficiency(on gpu: GPUProfile) -> WeightFormatEfficiency {
        switch self {
        case .bf16: return WeightFormatEfficiency(bandwidthFactor: 1, flopsFactor: 1)
        case .fp8:
            if let fp8 = gpu.denseFP8FlopsPerSecond {
                return WeightFormatEfficiency(bandwidthFactor: 1, flopsFactor: fp8 / gpu.denseBF16FlopsPerSecond)
            }
            return WeightFormatEfficiency(bandwidthFactor: 0.9, flopsFactor: 1)
        case .int8: return WeightFormatEfficiency(bandwidthFactor: 0.9, flopsFactor: 1)
        case .int4: return WeightFormatEfficiency(bandwidthFactor: 0.85, flopsFactor: 1)
        }
    }

    /// The GPU profile's figure for this format, else the default.
    public func efficiency(on gpu: GPUProfile) -> WeightFormatEfficiency {
        gpu.weightFormatEfficiency?[rawValue] ?? defaultEfficiency(on: gpu)
    }
}

extension ModelShape {
    /// One GPU's shard of the model under tensor parallelism over `tp` GPUs (Megatron-style:
    /// q, k, v, gate and up split by output rows, o and down by input columns, the embedding and
    /// LM head by vocabulary rows): H_q / tp query heads, max(1, H_kv / tp) KV heads (replicated
    /// when tp exceeds them, with their k and v projections), f / tp MLP width and
    /// ceil(V / tp) vocabulary rows; norms are whole on every GPU. tp = 1 is the model itself.
    public func shard(tensorParallel tp: Int) -> ModelShape {
        guard tp > 1 else { return self }
        var s = self
        s.queryHeadCount = queryHeadCount / tp
        s.kvHeadCount = max(1, kvHeadCount / tp)
        s.intermediateSize = intermediateSize / tp
        s.vocabSize = (vocabSize + tp - 1) / tp
        return s
    }

    /// One GPU's shard under `deployment`: `shard(tensorParallel:)` with the deployment's weight
    /// format's bytes (the profile's own when it names none).
    public func shard(_ deployment: Deployment) -> ModelShape {
        var s = shard(tensorParallel: deployment.tensorParallel)
        if let weights = deployment.weights { s.bytesPerWeight = weights.bytesPerWeight }
        return s
    }

    /// Tensor-parallel degrees this model splits evenly over: tp divides the query heads and the
    /// MLP width, and the KV heads divide by tp or tp by them (replication).
    public func splitsEvenly(tensorParallel tp: Int) -> Bool {
        tp >= 1 && queryHeadCount % tp == 0 && intermediateSize % tp == 0
            && (kvHeadCount % tp == 0 || tp % kvHeadCount == 0)
    }
}
