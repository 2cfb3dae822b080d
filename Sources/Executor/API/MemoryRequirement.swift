import Core

/// Bytes a run needs, by part, computed before anything large is allocated.
public struct MemoryRequirement: Codable, Sendable, Hashable {
    /// Weights as held after loading (f32 or f16 per weight).
    public var weightsBytes: Double
    /// K and V of all layers: 2 x layers x batch x H_kv x (prompt + steps) x d x 2 bytes.
    public var kvCacheBytes: Double
    /// Hash tables (LSH: L (n + 2^K + 1) x 4 + (n + d) x 4 per unit and hashed layer) or Quest
    /// page bounds (2 x pages x d x 4 per unit and hashed layer).
    public var indexBytes: Double
    /// Per-unit index lists, per-worker retrieval state and table-build scratch.
    public var scratchBytes: Double
    /// Activations and logits.
    public var activationBytes: Double

    public var totalBytes: Double { weightsBytes + kvCacheBytes + indexBytes + scratchBytes + activationBytes }
}
