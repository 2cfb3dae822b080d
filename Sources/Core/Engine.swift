/// How efficiently a runtime's kernels and orchestration use the hardware (Profiles/engines/).
/// `pigplan` is this project's executor; `magicpig` the reference implementation.
public struct EngineParameters: Codable, Sendable, Hashable {
    /// Sampled attention: fraction of the CPU read bandwidth reached over the bytes it touches.
    public var sampledAttentionBandwidthFraction: Double
    /// Dense CPU attention: fraction of the CPU read bandwidth reached.
    public var denseAttentionBandwidthFraction: Double
    /// A GQA group reads each gathered K/V row once (true) or once per query head (false).
    public var gqaSharedReads: Bool
    /// Retrieval: cost of walking one table's bucket for one query head (fixed part), seconds.
    public var retrievalSecondsPerTableWalk: Double
    /// Retrieval: cost per candidate index read and counted, seconds (one thread).
    public var retrievalSecondsPerCandidate: Double
    /// Per sparse layer and step: copies, synchronisation and launches around the CPU part, seconds.
    public var roundTripOverheadSecondsPerLayer: Double
    /// Parallel efficiency of the CPU kernels when all threads run (1 = perfect scaling).
    public var threadScalingEfficiency: Double
    /// The engine attends the exact part (sinks, local window, generated tokens).
    public var computesExactPart: Bool
    /// CPU work is split over (sequence, query head) units (true) or (sequence, KV head) units.
    public var parallelOverQueryHeads: Bool
    /// The engine can keep the hashed layers' KV and tables in GPU memory and sample there; when
    /// false, LSH plans keep them in CPU memory (as MagicPIG's design does).
    public var samplesOnGPU: Bool
    /// The engine can split a batch into two micro-batches and overlap CPU and GPU work.
    public var pipelinesMicroBatches: Bool
    /// GPU launch cost per layer and step under this engine (e.g. lower with CUDA graphs);
    /// nil uses the GPU profile's `launchOverheadSecondsPerLayer`.
    public var gpuLaunchOverheadSecondsPerLayer: Double?

    public init(sampledAttentionBandwidthFraction: Double, denseAttentionBandwidthFraction: Double,
                gqaSharedReads: Bool, retrievalSecondsPerTableWalk: Double, retrievalSecondsPerCandidate: Double,
                roundTripOverheadSecondsPerLayer: Double, threadScalingEfficiency: Double, computesExactPart: Bool,
                parallelOverQueryHeads: Bool = false, samplesOnGPU: Bool = false,
                pipelinesMicroBatches: Bool = true, gpuLaunchOverheadSecondsPerLayer: Double? = nil) {
        self.sampledAttentionBandwidthFraction = sampledAttentionBandwidthFraction
        self.denseAttentionBandwidthFraction = denseAttentionBandwidthFraction
        self.gqaSharedReads = gqaSharedReads
        self.retrievalSecondsPerTableWalk = retrievalSecondsPerTableWalk
        self.retrievalSecondsPerCandidate = retrievalSecondsPerCandidate
        self.roundTripOverheadSecondsPerLayer = roundTripOverheadSecondsPerLayer
        self.threadScalingEfficiency = threadScalingEfficiency
        self.computesExactPart = computesExactPart
        self.parallelOverQueryHeads = parallelOverQueryHeads
        self.samplesOnGPU = samplesOnGPU
        self.pipelinesMicroBatches = pipelinesMicroBatches
        self.gpuLaunchOverheadSecondsPerLayer = gpuLaunchOverheadSecondsPerLayer
    }
}

public struct EngineProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var name: String
    public var displayName: String
    public var parameters: EngineParameters
    /// How the parameters were derived.
    public var derivation: String
}

/// A model profile file: the shape plus the sampled-fraction model inputs.
public struct ModelProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var shape: ModelShape
    /// Measured sampled fractions at given (K, L) (e.g. the paper's Table 9); used where present.
    public var measuredSampledFractions: [SampledFractionPoint]?
    /// The model's Hugging Face repository id (for commands that fetch it, e.g. MagicPIG's bench.py).
    public var huggingFaceId: String?
    /// Multiplier on the collision-theory fraction (p = 0.5) where no measurement exists: real
    /// keys are sampled 1.5-3x more often than isotropic theory predicts.
    public var sampledFractionCorrection: Double
    public var source: String
}

public struct SampledFractionPoint: Codable, Sendable, Hashable {
    public var k: Int
    public var l: Int
    public var fraction: Double
    public init(k: Int, l: Int, fraction: Double) { self.k = k; self.l = l; self.fraction = fraction }
}
