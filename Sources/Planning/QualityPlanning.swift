import Core
import Optimizer
import Profiles

/// The quality side of a plan request: which metric judges the settings, the loss budget (if
/// any), and each setting's quality at the requested context.
public struct QualityPlanning: Sendable {
    public var modelName: String
    /// The model's quality profile, when one exists.
    public var profile: QualityProfile?
    /// The metric a budget is read in (the profile's first unless `--quality-metric` names one).
    public var metric: QualityMetric?
    public var contextTokens: Int
    /// The largest loss allowed, in the metric's unit; nil: quality is reported, not bounded.
    public var maxLoss: Double?
    /// Where the budget came from, as printed: "--max-quality-loss 2" or "--quality balanced".
    public var budgetSource: String?
    /// Set when the quality tier could not be a loss budget (nothing measured near this
    /// context) and stays the sampled-fraction floor.
    public var proxyNote: String?

    public init(modelName: String, profile: QualityProfile?, metric: QualityMetric?, contextTokens: Int,
                maxLoss: Double?, budgetSource: String?) {
        self.modelName = modelName
        self.profile = profile
        self.metric = metric
        self.contextTokens = contextTokens
        self.maxLoss = maxLoss
        self.budgetSource = budgetSource
    }

    /// `mode`'s quality at the request's context (dense attention: the full-attention value).
    public func estimate(_ mode: AttentionMode) -> QualityEstimate? {
        metric?.estimate(mode, contextTokens: contextTokens)
    }

    /// Every setting of `method` the metric has near this context, with its estimate.
    func estimates(_ method: QualitySetting.Method) -> [(mode: AttentionMode, estimate: QualityEstimate)] {
        guard let metric else { return [] }
        return metric.settings.filter { $0.method == method }.compactMap { s in
            guard let mode = s.mode, let e = metric.estimate(mode, contextTokens: contextTokens) else { return nil }
            return (mode, e)
        }
    }

    /// The (K, L) settings within the budget (among those `keep` lets through, e.g. a fixed K),
    /// or why there are none.
    func allowedLSH(_ keep: (LSHParameters) -> Bool) -> Result<[LSHParameters], Infeasibility.QualityShortfall> {
        let all = estimates(.lsh).filter { keep($0.mode.lsh!) }
        guard let maxLoss, let metric else { return .success(all.map { $0.mode.lsh! }) }
        let allowed = all.filter { $0.estimate.loss <= maxLoss + 1e-9 }
        if !allowed.isEmpty { return .success(allowed.map { $0.mode.lsh! }) }
        let best = all.min { $0.estimate.loss < $1.estimate.loss }
        return .failure(.init(metric: metric.name, lossUnit: metric.lossUnit, budget: maxLoss, contextTokens: contextTokens,
                              best: best.map { "\($0.mode.lsh!)" }, bestLoss: best?.estimate.loss))
    }

    /// The Quest setting a budget allows at least cost (pages read: 1 / page size + budget), or
    /// the shortfall when the metric has Quest settings and none is within the budget; nil when
    /// the metric has none (Quest's quality is then unknown).
    func questSetting() -> Result<AttentionMode, Infeasibility.QualityShortfall>? {
        let all = estimates(.quest)
        guard !all.isEmpty, let metric else { return nil }
        func cost(_ m: AttentionMode) -> Double {
            if case .quest(let page, let f) = m { return 1 / Double(page) + f }
            return 1
        }
        let allowed = all.filter { e in maxLoss.map { e.estimate.loss <= $0 + 1e-9 } ?? true }
        if let cheapest = allowed.min(by: { cost($0.mode) < cost($1.mode) }) { return .success(cheapest.mode) }
        let best = all.min { $0.estimate.loss < $1.estimate.loss }!
        return .failure(.init(metric: metric.name, lossUnit: metric.lossUnit, budget: maxLoss ?? 0, contextTokens: contextTokens,
                              best: QualitySetting.label(of: best.mode), bestLoss: best.estimate.loss,
                              what: "Quest setting"))
    }

    /// Sampled fractions the profile measured for its LSH settings (used instead of the model,
    /// and to scale it for this model's keys): the budget metric's near this context first, then
    /// any other metric's.
    var measuredFractions: [LSHParameters: Double] {
        var out: [LSHParameters: Double] = [:]
        for (mode, e) in estimates(.lsh) { if let f = e.sampledFraction { out[mode.lsh!] = f } }
        for m in profile?.metrics ?? [] {
            for s in m.settings where s.method == .lsh {
                guard let p = s.mode?.lsh, out[p] == nil,
                      let f = s.values.compactMap(\.sampledFraction).first ?? s.sampledFraction else { continue }
                out[p] = f
            }
        }
        return out
    }

    /// What the report says when the chosen setting's quality is not known.
    public func unmeasuredNote(_ mode: AttentionMode) -> String {
        let ctx = TokenCount(contextTokens).description
        let command = "pigplan quality --gguf \(modelName).gguf --text TEXT --ctx \(ctx) --name \(modelName)"
        guard let metric else {
            return "quality unmeasured: \(modelName) has no quality profile; `\(command)` measures one" + (proxyNote.map { "; " + $0 } ?? "")
        }
        let what = mode.lsh.map { "\($0)" } ?? QualitySetting.label(of: mode)
        return "quality unmeasured: \(metric.name) has no value for \(what) near \(ctx); `\(command)` measures it"
            + (proxyNote.map { "; " + $0 } ?? "")
    }
}

extension QualityPlanning {
    /// The quality side for `decisions` on `model` at `contextTokens`: the profile from `store`,
    /// the metric named (or the first), and the budget: `--max-quality-loss`, else the tier's
    /// loss budget when the model has a profile and nothing more explicit was asked.
    public static func resolve(store: ProfileStore, model: String, contextTokens: Int,
                               decisions: PlanDecisions) throws -> QualityPlanning {
        let profile = store.quality(forModel: model)
        var metric: QualityMetric? = nil
        if let profile {
            metric = profile.metric(decisions.qualityMetric)
            if metric == nil, let name = decisions.qualityMetric {
                throw PlanError.invalid("--quality-metric \(name): \(model)'s quality profile has no such metric; use one of: \(profile.metrics.map(\.name).joined(separator: ", "))")
            }
        } else if let name = decisions.qualityMetric {
            throw PlanError.invalid("--quality-metric \(name): \(model) has no quality profile (`pigplan profiles list` shows them); measure one with `pigplan quality`")
        }
        let maxLoss = decisions.maxQualityLoss
        let source = maxLoss.map { "--max-quality-loss \(Format.plain($0))" }
        if maxLoss != nil, metric == nil {
            throw PlanError.invalid("--max-quality-loss needs a quality profile for \(model), and there is none; measure one with `pigplan quality --gguf \(model).gguf --text TEXT --ctx \(TokenCount(contextTokens)) --name \(model)`, or bound the sampled fraction instead (--min-sampled-fraction)")
        }
        let explicit = (decisions.hashBits != nil && decisions.tableCount != nil) || decisions.sampledFractionOverride != nil
            || decisions.minSampledFraction != nil || decisions.denseOnly
        var planning = QualityPlanning(modelName: model, profile: profile, metric: metric, contextTokens: contextTokens,
                                       maxLoss: maxLoss, budgetSource: source)
        // A tier becomes a loss budget only where the profile measured (K, L) near this context;
        // elsewhere it stays the sampled-fraction floor, a proxy, and the report says so.
        if maxLoss == nil, !explicit, let tier = decisions.tierLossBudget {
            if metric != nil, !planning.estimates(.lsh).isEmpty {
                planning.maxLoss = tier.loss
                planning.budgetSource = "--quality \(tier.name)"
            } else {
                planning.proxyNote = "--quality \(tier.name) is a proxy here: at least \(Format.number(decisions.tierFloor * 100))% of the keys sampled"
            }
        }
        return planning
    }
}

/// A named quality tier's loss budget (`--quality fast|balanced|accurate` on a model with a
/// quality profile): the same number of points (accuracy) or percent (perplexity).
public struct TierLossBudget: Sendable, Hashable {
    public var name: String
    public var loss: Double
    public init(name: String, loss: Double) {
        self.name = name
        self.loss = loss
    }
}
