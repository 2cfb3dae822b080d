import Core
import Foundation

/// Everything one `Executor.run` measured, with the resolved configuration (Codable).
public struct ExecutorReport: Codable, Sendable {
    public var modelName: String
    /// The shape as run (layerCount is the number of blocks actually loaded).
    public var shape: ModelShape
    public var attention: AttentionMode
    public var denseLayers: [Int]
    public var batch: Int
    public var promptTokens: Int
    /// Keys per (sequence, KV head) in the hashed span (prompt minus sinks and local window).
    public var hashedSpanTokens: Int
    public var decodeSteps: Int
    public var threads: Int
    public var seed: UInt64
    /// 0: portable C kernels, 2: AVX-512.
    public var simdLevel: Int
    public var weightPrecision: WeightPrecision
    public var prefill: ExecutorRequest.Prefill
    public var memory: MemoryRequirement
    public var measured: Measured
    public var quality: Quality?
    /// Per sequence: the greedy tokens (first from the prefill, then one per decode step).
    public var generatedTokens: [[Int]]
    /// Their text (GGUF models).
    public var generatedText: [String]?

    /// The sparse mode asked for ran on no layer: every layer is dense, or the prompt leaves no
    /// span to hash beyond the sinks and local window. The run was dense attention.
    public var nothingSampled: Bool {
        attention != .dense && (hashedSpanTokens <= 0 || denseLayers.count >= shape.layerCount)
    }

    public struct Measured: Codable, Sendable {
        /// batch x timed steps / their seconds (the first of two or more steps is a warm-up).
        public var tokensPerSecond: Double
        /// Mean seconds per decode step (whole batch).
        public var stepSeconds: Double
        /// Mean seconds per decode step by term.
        public var breakdown: StepTimes
        public var prefillSeconds: Double
        /// Whether the prefill fed quantised rows exact f32 activations (quality runs and
        /// `exactPrefill`) or 8-bit ones; nil without quantised rows (and in older reports).
        public var prefillExactActivations: Bool?
        /// Hash tables / Quest metadata for all hashed layers.
        public var indexBuildSeconds: Double
        /// Fraction of hashed-span keys sampled (LSH) or selected (TopK/Quest); nil for dense.
        public var sampledFraction: SampledFraction?
        /// Mean keys attended per query head in hashed layers: selected + exact.
        public var keysTouchedPerQuery: Double?
        /// Mean keys sampled/selected per query head in hashed layers.
        public var selectedKeysPerQuery: Double?
        /// Mean distinct rows gathered per (sequence, KV head) group in hashed layers.
        public var rowsGatheredPerGroup: Double?
        /// Bytes of hash tables / page metadata actually built.
        public var indexBytes: Int
    }

    public struct SampledFraction: Codable, Sendable {
        /// Per layer; nil for dense layers.
        public var perLayer: [Double?]
        public var mean: Double
    }

    /// Teacher-forced evaluation over the last `positions` prompt tokens (same prefill for all
    /// modes): each mode's greedy next token, log-likelihood of the true next token and attention
    /// output error against dense on the same inputs.
    public struct Quality: Codable, Sendable {
        public var positions: Int
        /// Quality passes feed f32 activations to every weight format (quantised rows are not
        /// given 8-bit inputs), so they measure the attention's approximation alone.
        public var exactActivations: Bool = true
        public var dense: ModeQuality
        /// The requested mode (absent when it is dense).
        public var mode: ModeQuality?
        /// Oracle TopK at the budget the LSH mode measured (LSH requests only).
        public var topKAtSameBudget: ModeQuality?

        /// The requested mode's numbers (dense's when dense was requested).
        public var attentionRelativeL2Error: Double? { (mode ?? dense).attentionRelativeL2Error }
        public var nextTokenAgreement: Double { (mode ?? dense).nextTokenAgreement }
    }

    public struct ModeQuality: Codable, Sendable {
        public var attention: AttentionMode
        /// exp(mean negative log-likelihood of the true next token), over positions - 1 targets.
        public var perplexity: Double
        /// Fraction of (sequence, position) whose greedy token equals dense's.
        public var nextTokenAgreement: Double
        /// Mean and max over (position, sequence, hashed layer) of |o - o_dense| / |o_dense|.
        public var attentionRelativeL2Error: Double?
        public var attentionRelativeL2ErrorMax: Double?
        public var sampledFraction: Double?
    }
}
