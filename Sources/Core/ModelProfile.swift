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
