import Core

/// Seconds spent per term of a decode step (summed over layers; averaged per step in reports),
/// named by the cost model's vocabulary (`StepTerm`) through `subscript(term:)`.
public struct TimeBreakdown: Codable, Sendable, Hashable {
    /// All layers' projections (QKV, O, MLP): `StepTerm.linearLayers`.
    public var linearSeconds: Double = 0
    /// The LM head: `StepTerm.lmHead`.
    public var lmHeadSeconds: Double = 0
    /// Query SimHash codes (and q.mu, |q| for the correction), or Quest/TopK scoring setup.
    public var hashingSeconds: Double = 0
    /// Table walks with two-hit counting (LSH), top-k selection (TopK) or page ranking (Quest).
    public var retrievalSeconds: Double = 0
    /// Attention over the retrieved keys (gather K/V rows once per GQA group).
    public var sampledAttentionSeconds: Double = 0
    /// Attention over sinks, the local window and generated tokens, and the log-sum-exp merge.
    public var exactSeconds: Double = 0
    /// Full attention (dense mode, dense layers, spans too short to hash): `StepTerm.cpuAttention`.
    public var denseAttentionSeconds: Double = 0
    /// Everything else: embedding, norms, RoPE, KV stores, residuals, argmax: `StepTerm.overhead`.
    public var otherSeconds: Double = 0

    public init() {}

    /// The executor's field for each term it measures (a CPU run has no GPU, copies or dispatch).
    static func path(_ term: StepTerm) -> WritableKeyPath<TimeBreakdown, Double>? {
        switch term {
        case .linearLayers: return \.linearSeconds
        case .lmHead: return \.lmHeadSeconds
        case .hashing: return \.hashingSeconds
        case .retrieval: return \.retrievalSeconds
        case .sampledAttention: return \.sampledAttentionSeconds
        case .exactPart: return \.exactSeconds
        case .cpuAttention: return \.denseAttentionSeconds
        case .overhead: return \.otherSeconds
        case .gpuAttention, .transfers, .dispatch, .tensorParallel: return nil
        }
    }

    /// The terms the executor measures, with their fields.
    nonisolated(unsafe) static let measured: [(term: StepTerm, path: WritableKeyPath<TimeBreakdown, Double>)] =
        StepTerm.allCases.compactMap { t in path(t).map { (t, $0) } }
    /// The terms the executor measures.
    public static let measuredTerms: [StepTerm] = measured.map(\.term)

    /// Seconds of `term`, nil when the executor does not measure it.
    public subscript(term term: StepTerm) -> Double? { Self.path(term).map { self[keyPath: $0] } }

    public var attentionSeconds: Double {
        hashingSeconds + retrievalSeconds + sampledAttentionSeconds + exactSeconds + denseAttentionSeconds
    }
    public var totalSeconds: Double { linearSeconds + lmHeadSeconds + attentionSeconds + otherSeconds }

    public static func + (a: TimeBreakdown, b: TimeBreakdown) -> TimeBreakdown {
        var r = a
        for m in measured { r[keyPath: m.path] += b[keyPath: m.path] }
        return r
    }
    public func scaled(_ f: Double) -> TimeBreakdown {
        var r = self
        for m in Self.measured { r[keyPath: m.path] *= f }
        return r
    }
}
