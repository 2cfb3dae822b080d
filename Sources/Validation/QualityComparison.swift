import Core
import Executor
import Foundation

/// `pigplan run --compare`: dense, LSH, oracle TopK and Quest side by side on the same prompt and
/// model, TopK and Quest at the key budget the LSH run measured.
public struct QualityComparison: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var mode: String
        public var attention: AttentionMode
        /// Fraction of the hashed span attended (sampled or selected); nil for dense.
        public var keyFraction: Double?
        public var perplexity: Double
        public var nextTokenAgreement: Double
        public var attentionRelativeL2Error: Double?
        /// Keys attended per query head in hashed layers (exact part included).
        public var keysPerQuery: Double?
        /// Bytes read per query head in hashed layers: keys x K and V rows (2 d x 2 bytes), plus
        /// Quest's page summaries (min and max rows, ceil(n / page) x 2 d x 2 bytes).
        public var bytesPerQuery: Double?
        public var tokensPerSecond: Double
    }
    public var model: String
    public var promptTokens: Int
    public var positions: Int
    public var seed: UInt64
    public var rows: [Row]

    /// Runs LSH at `lsh` (with dense and oracle TopK at its budget measured on the way), then
    /// Quest at `budgetFraction` (default: what LSH sampled) with `pageSize`, on the requests
    /// `request` makes for each mode (same weights, prompt and seed); `stage` names each run.
    public static func run(lsh parameters: LSHParameters, budgetFraction: Double?, pageSize: Int,
                           request: (AttentionMode) throws -> ExecutorRequest,
                           progress: ExecutorProgressHandler? = nil, stage: (String) -> Void = { _ in }) throws -> QualityComparison {
        var cache: Executor.LoadedWeights? = nil
        stage("run 1/2 (LSH, dense, TopK)")
        let lsh = try Executor.run(try request(.lshSampled(parameters)), reusing: &cache, progress: progress)
        guard let q = lsh.quality, let lshQuality = q.mode else {
            throw ExecutorError.invalidRequest(field: "quality", reason: "the LSH run measured no quality (prompt too short to hash?)")
        }
        let budget = budgetFraction ?? lsh.measured.sampledFraction?.mean ?? 0.02
        guard budget > 0 else {
            throw ExecutorError.invalidRequest(
                field: "budget",
                reason: "LSH (K, L) = (\(parameters.hashBitsPerTable), \(parameters.tableCount)) sampled no keys, so Quest at the same budget would attend none; pass --budget F (e.g. 0.02), or a smaller K or a larger L")
        }
        stage("run 2/2 (Quest)")
        let quest = try Executor.run(try request(.quest(pageSize: pageSize, budgetFraction: budget)), reusing: &cache, progress: progress)
        let d = Double(lsh.shape.headDim)
        let rowBytes = 2 * d * 2
        let span = Double(lsh.hashedSpanTokens)
        let exact = (lsh.measured.keysTouchedPerQuery ?? 0) - (lsh.measured.selectedKeysPerQuery ?? 0)
        func row(_ name: String, _ m: ExecutorReport.ModeQuality, keys: Double?, extraBytes: Double = 0, rate: Double) -> Row {
            Row(mode: name, attention: m.attention, keyFraction: m.sampledFraction, perplexity: m.perplexity,
                nextTokenAgreement: m.nextTokenAgreement, attentionRelativeL2Error: m.attentionRelativeL2Error,
                keysPerQuery: keys, bytesPerQuery: keys.map { $0 * rowBytes + extraBytes }, tokensPerSecond: rate)
        }
        var rows = [row("dense", q.dense, keys: span + exact, rate: Double.nan)]
        rows.append(row("lsh", lshQuality, keys: lsh.measured.keysTouchedPerQuery, rate: lsh.measured.tokensPerSecond))
        if let topK = q.topKAtSameBudget {
            rows.append(row("topk", topK, keys: (topK.sampledFraction ?? budget) * span + exact, rate: Double.nan))
        }
        if let questQuality = quest.quality?.mode {
            let pages = (span / Double(pageSize)).rounded(.up)
            rows.append(row("quest", questQuality, keys: quest.measured.keysTouchedPerQuery, extraBytes: pages * rowBytes,
                            rate: quest.measured.tokensPerSecond))
        }
        return QualityComparison(model: lsh.modelName, promptTokens: lsh.promptTokens, positions: q.positions, seed: lsh.seed, rows: rows)
    }
}
