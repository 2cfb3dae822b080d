import Core

extension Executor {
    /// The step terms a CPU run measures (a CPU run has no GPU attention, copies, dispatch or
    /// collectives): projections, LM head, hashing, retrieval, sampled attention, the exact part,
    /// dense attention, and the rest of the step (`overhead`: embedding, norms, RoPE, KV stores,
    /// residuals, argmax: the step's time less the timed terms).
    /// In `StepTerm.allCases` order.
    public static let measuredTerms: [StepTerm] = StepTerm.allCases.filter {
        ![.gpuAttention, .transfers, .dispatch, .tensorParallel].contains($0)
    }

    /// A breakdown with the measured terms present, each at 0 s.
    static func emptyBreakdown() -> StepTimes { StepTimes(terms: measuredTerms) }
}
