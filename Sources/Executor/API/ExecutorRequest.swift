import Core

/// What to run: a model (GGUF file or synthetic weights), a prompt, a batch, a number of decode
/// steps and an attention mode. Every random choice derives from `seed`.
public struct ExecutorRequest: Codable, Sendable, Hashable {
    public enum Weights: Codable, Sendable, Hashable {
        /// A llama-architecture GGUF file (F32, F16, BF16, Q4_0, Q4_1, Q8_0 tensors).
        case gguf(path: String)
        /// Seeded random weights of `shape` (binary16), optionally only the first `layers` blocks.
        case synthetic(shape: ModelShape, layers: Int?, seed: UInt64)
    }
    public enum Prompt: Codable, Sendable, Hashable {
        /// Text, tokenised with the GGUF's tokenizer (GGUF weights only).
        case text(String)
        /// `count` uniformly random token ids per sequence (seeded, different per sequence).
        case syntheticTokens(count: Int)
    }
    /// How the prompt's KV cache is produced.
    public enum Prefill: String, Codable, Sendable, Hashable {
        /// Run the prompt through the model (causal dense attention, chunks of `Decoder.defaultChunkRows` rows).
        case model
        /// Skip the model: fill every layer's cache with seeded synthetic keys and values
        /// (`KVCache.fillSynthetic`). For timing decode at long contexts on big shapes where a real
        /// prefill would take hours; decode timing does not depend on how the cache was filled.
        case syntheticCache
    }

    public var weights: Weights
    public var prompt: Prompt
    /// Independent sequences decoded together (all with prompts of the same length).
    public var batch: Int
    /// Timed greedy decode steps; with `measureQuality` also the number of teacher-forced
    /// positions held out at the end of the prompt.
    public var decodeSteps: Int
    public var attention: AttentionMode
    /// Worker threads; nil means the cores available.
    public var threads: Int?
    public var seed: UInt64
    /// Refuse to run when the memory requirement exceeds this (bytes); physical memory
    /// (MemAvailable) is always checked too.
    public var memoryLimitBytes: Double?
    /// Measure attention error, next-token agreement and perplexity against dense.
    public var measureQuality: Bool
    /// nil: GGUF weights as stored (`.native`: quantised blocks kept), f16 for synthetic.
    public var weightPrecision: WeightPrecision?
    public var prefill: Prefill
    /// Layers kept dense; nil: the model's (`ModelShape.denseLayers`).
    public var denseLayers: [Int]?
    /// Parse control tokens such as `<|im_start|>` in text prompts.
    public var parseSpecialTokens: Bool
    /// Keep only the first tokens of a text prompt.
    public var maxPromptTokens: Int?
    /// Prefill quantised rows with exact f32 activations instead of 8-bit ones (the f32 GEMM:
    /// slower; on SmolLM2 the 8-bit prefill costs about +1% perplexity). Quality runs always do.
    public var exactPrefill: Bool

    public init(weights: Weights, prompt: Prompt, batch: Int = 1, decodeSteps: Int = 16,
                attention: AttentionMode = .dense, threads: Int? = nil, seed: UInt64 = 0,
                memoryLimitBytes: Double? = nil, measureQuality: Bool = false,
                weightPrecision: WeightPrecision? = nil, prefill: Prefill = .model, denseLayers: [Int]? = nil,
                parseSpecialTokens: Bool = false, maxPromptTokens: Int? = nil, exactPrefill: Bool = false) {
        self.weights = weights
        self.prompt = prompt
        self.batch = batch
        self.decodeSteps = decodeSteps
        self.attention = attention
        self.threads = threads
        self.seed = seed
        self.memoryLimitBytes = memoryLimitBytes
        self.measureQuality = measureQuality
        self.weightPrecision = weightPrecision
        self.prefill = prefill
        self.denseLayers = denseLayers
        self.parseSpecialTokens = parseSpecialTokens
        self.maxPromptTokens = maxPromptTokens
        self.exactPrefill = exactPrefill
    }
}
