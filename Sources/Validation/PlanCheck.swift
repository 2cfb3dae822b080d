import Core
import Executor
import Optimizer

extension Validator {
    /// The MILP's choice over the validated space at the largest validated context, run on the
    /// executor, against the best measured configuration at that context.
    public func planCheck(_ report: Validator.Report, steps: Int, repeats: Int,
                          reusing cache: inout Executor.LoadedWeights?) throws -> Validator.PlanCheck? {
        let same = report.rows.filter { !$0.transfer }
        guard let context = same.map(\.contextTokens).max() else { return nil }
        let rows = same.filter { $0.contextTokens == context }
        guard let best = rows.max(by: { $0.measuredTokensPerSecond < $1.measuredTokensPerSecond }) else { return nil }
        var space = SearchSpace()
        let settings = Set(rows.compactMap(\.attention.lsh))
        space.hashBits = Array(Set(settings.map(\.hashBitsPerTable))).sorted()
        space.tableCounts = Array(Set(settings.map(\.tableCount))).sorted()
        space.dense = rows.contains { $0.attention == .dense }
        space.maxBatch = rows.map(\.batch).max() ?? 8
        space.extraDenseLayers = [0]
        space.schedules = [.serial]
        space.kvDevices = [.cpu]
        // Only the validated (K, L) pairs.
        space.lsh = false
        space.extraAttentionModes = settings.map { .lshSampled($0) }
        let plan = try PlanOptimizer(model: costModel(context: context, steps: steps), space: space).optimize()
        let chosen = plan.configuration
        // Measured as often as each grid configuration, keeping the median run likewise (the
        // calibration's weights: the transfer targets ran after them).
        cache = nil
        let measured = try measure(chosen.attention, batch: chosen.batch, context: context, steps: steps,
                                             repeats: repeats, reusing: &cache)
        func name(_ a: AttentionMode, _ b: Int) -> String { "\(a.label) batch \(b)" }
        return .init(contextTokens: context, chosen: name(chosen.attention, chosen.batch),
                     chosenMeasuredTokensPerSecond: measured.measured.tokensPerSecond,
                     bestValidated: name(best.attention, best.batch), bestMeasuredTokensPerSecond: best.measuredTokensPerSecond,
                     ratio: measured.measured.tokensPerSecond / best.measuredTokensPerSecond)
    }
}
