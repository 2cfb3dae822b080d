/// Seconds spent per term of a decode step (summed over layers; averaged per step in reports).
public struct TimeBreakdown: Codable, Sendable, Hashable {
    /// All projections (QKV, O, MLP) and the LM head.
    public var linearSeconds: Double = 0
    /// Query SimHash codes (and q.mu, |q| for the correction), or Quest/TopK scoring setup.
    public var hashingSeconds: Double = 0
    /// Table walks with two-hit counting (LSH), top-k selection (TopK) or page ranking (Quest).
    public var retrievalSeconds: Double = 0
    /// Attention over the retrieved keys (gather K/V rows once per GQA group).
    public var sampledAttentionSeconds: Double = 0
    /// Attention over sinks, the local window and generated tokens, and the log-sum-exp merge.
    public var exactSeconds: Double = 0
    /// Full attention (dense mode, dense layers, spans too short to hash).
    public var denseAttentionSeconds: Double = 0
    /// Everything else: embedding, norms, RoPE, KV stores, residuals, argmax.
    public var otherSeconds: Double = 0

    public init() {}

    public var attentionSeconds: Double {
        hashingSeconds + retrievalSeconds + sampledAttentionSeconds + exactSeconds + denseAttentionSeconds
    }
    public var totalSeconds: Double { linearSeconds + attentionSeconds + otherSeconds }

    public static func + (a: TimeBreakdown, b: TimeBreakdown) -> TimeBreakdown {
        var r = TimeBreakdown()
        r.linearSeconds = a.linearSeconds + b.linearSeconds
        r.hashingSeconds = a.hashingSeconds + b.hashingSeconds
        r.retrievalSeconds = a.retrievalSeconds + b.retrievalSeconds
        r.sampledAttentionSeconds = a.sampledAttentionSeconds + b.sampledAttentionSeconds
        r.exactSeconds = a.exactSeconds + b.exactSeconds
        r.denseAttentionSeconds = a.denseAttentionSeconds + b.denseAttentionSeconds
        r.otherSeconds = a.otherSeconds + b.otherSeconds
        return r
    }
    public func scaled(_ f: Double) -> TimeBreakdown {
        var r = self
        r.linearSeconds *= f; r.hashingSeconds *= f; r.retrievalSeconds *= f
        r.sampledAttentionSeconds *= f; r.exactSeconds *= f; r.denseAttentionSeconds *= f; r.otherSeconds *= f
        return r
    }
}
