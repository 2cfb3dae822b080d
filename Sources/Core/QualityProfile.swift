import Foundation

/// What a model loses in accuracy under each sparse-attention setting: published tables (the
/// MagicPIG paper) or what `pigplan quality` measured with the bundled executor. One file per
/// model in `Profiles/quality/`.
public struct QualityProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    /// The model profile's name (`Profiles/models/<model>.json`); equals the file's name.
    public var model: String
    public var source: String
    /// The first metric is the one a quality budget uses unless `--quality-metric` names another.
    public var metrics: [QualityMetric]

    public init(schemaVersion: Int = 1, model: String, source: String, metrics: [QualityMetric]) {
        self.schemaVersion = schemaVersion
        self.model = model
        self.source = source
        self.metrics = metrics
    }

    /// The metric called `name`, or the first one when `name` is nil.
    public func metric(_ name: String?) -> QualityMetric? {
        guard let name else { return metrics.first }
        return metrics.first { $0.name == name }
    }
}

/// One measure of quality (RULER accuracy, perplexity, ...) under full attention and under each
/// setting, per context length.
public struct QualityMetric: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable, CaseIterable {
        /// Higher is better; loss = full - value, in points.
        case accuracy
        /// Lower is better; loss = 100 (value / full - 1), in percent.
        case perplexity
    }
    public var name: String
    public var description: String
    public var kind: Kind
    public var source: String
    /// Full (dense) attention, per context; one value without a context applies at every context.
    public var full: [QualityValue]
    public var settings: [QualitySetting]

    public init(name: String, description: String, kind: Kind, source: String, full: [QualityValue], settings: [QualitySetting]) {
        self.name = name
        self.description = description
        self.kind = kind
        self.source = source
        self.full = full
        self.settings = settings
    }

    /// The unit of a loss in this metric, as printed: "points" or "%".
    public var lossUnit: String { kind == .accuracy ? "points" : "%" }

    /// Loss of `value` against `full` in this metric's unit (positive: worse than full attention).
    public func loss(value: Double, full: Double) -> Double {
        switch kind {
        case .accuracy: return full - value
        case .perplexity: return full > 0 ? 100 * (value / full - 1) : 0
        }
    }

    /// The setting that runs `mode`, if the metric has one.
    public func setting(_ mode: AttentionMode) -> QualitySetting? {
        settings.first { $0.mode == mode }
    }

    /// The full-attention value at `contextTokens` (context-free value, exact match, or nil).
    func fullValue(at contextTokens: Int?) -> Double? {
        if let free = full.first(where: { $0.contextTokens == nil }) { return free.value }
        return full.first { $0.contextTokens == contextTokens }?.value
    }

    /// How far beyond the metric's measured contexts a loss is carried (a factor on the context):
    /// beyond it a setting counts as unmeasured at that context.
    public static let extrapolationFactor = 2.0

    /// `mode`'s quality at `contextTokens`: interpolated in log context between the setting's
    /// measured contexts; beyond every context the metric measured, the nearest one's within
    /// `extrapolationFactor` (marked); nil when the metric has no such setting, or measured
    /// others at this context but not it, or nothing is near enough.
    public func estimate(_ mode: AttentionMode, contextTokens: Int) -> QualityEstimate? {
        if mode == .dense {
            guard let f = fullEstimate(contextTokens: contextTokens) else { return nil }
            return QualityEstimate(metric: name, description: description, kind: kind, contextTokens: contextTokens, value: f.value,
                                   fullValue: f.value, loss: 0, lossUnit: lossUnit, basis: f.basis, extrapolatedFromContextTokens: f.from,
                                   source: source, sampledFraction: nil)
        }
        guard let s = setting(mode) else { return nil }
        // (log2 context or nil, value, full value) of each measured point.
        let points: [(x: Double?, value: Double, full: Double, fraction: Double?)] = s.values.compactMap { v in
            guard let f = fullValue(at: v.contextTokens) else { return nil }
            return (v.contextTokens.map { log2(Double($0)) }, v.value, f, v.sampledFraction)
        }
        let standardError = s.values.compactMap(\.lossStandardError).max()
        guard !points.isEmpty else { return nil }
        let fraction = points.compactMap(\.fraction).first ?? s.sampledFraction
        func make(_ value: Double, _ full: Double, _ basis: QualityEstimate.Basis, from: Int? = nil) -> QualityEstimate {
            QualityEstimate(metric: name, description: description, kind: kind, contextTokens: contextTokens, value: value, fullValue: full,
                            loss: loss(value: value, full: full), lossUnit: lossUnit, basis: basis, extrapolatedFromContextTokens: from,
                            source: s.source ?? source, sampledFraction: fraction, lossStandardError: standardError)
        }
        if let free = points.first(where: { $0.x == nil }) { return make(free.value, free.full, .contextFree) }
        let sorted = points.sorted { $0.x! < $1.x! }
        let x = log2(Double(max(1, contextTokens)))
        switch Self.position(of: x, in: sorted.map { $0.x! }) {
        case .at(let i):
            return make(sorted[i].value, sorted[i].full, .measured)
        case .between(let i, let j, let t):
            let a = sorted[i], b = sorted[j]
            return make(a.value + t * (b.value - a.value), a.full + t * (b.full - a.full), .interpolated)
        case .beyond(let i, let distance):
            // A context the metric measured other settings at, but not this one: unmeasured.
            // Only beyond every measured context of the metric is the nearest value carried.
            let fullRange = full.compactMap(\.contextTokens).map { log2(Double($0)) }
            if let a = fullRange.min(), let b = fullRange.max(), x >= a - 1e-9 && x <= b + 1e-9 { return nil }
            guard distance <= log2(Self.extrapolationFactor) + 1e-9 else { return nil }
            return make(sorted[i].value, sorted[i].full, .extrapolated, from: Int(exp2(sorted[i].x!).rounded()))
        }
    }

    private func fullEstimate(contextTokens: Int) -> (value: Double, basis: QualityEstimate.Basis, from: Int?)? {
        if let free = full.first(where: { $0.contextTokens == nil }) { return (free.value, .contextFree, nil) }
        let sorted = full.compactMap { v in v.contextTokens.map { (x: log2(Double($0)), value: v.value) } }.sorted { $0.x < $1.x }
        guard !sorted.isEmpty else { return nil }
        switch Self.position(of: log2(Double(max(1, contextTokens))), in: sorted.map(\.x)) {
        case .at(let i): return (sorted[i].value, .measured, nil)
        case .between(let i, let j, let t): return (sorted[i].value + t * (sorted[j].value - sorted[i].value), .interpolated, nil)
        case .beyond(let i, let distance):
            guard distance <= log2(Self.extrapolationFactor) + 1e-9 else { return nil }
            return (sorted[i].value, .extrapolated, Int(exp2(sorted[i].x).rounded()))
        }
    }

    /// Where `x` (log2 of a context) falls among the measured `xs` (sorted, not empty): at one,
    /// between two (with the upper one's weight), or beyond them (the nearest, and how far).
    enum Position { case at(Int), between(Int, Int, Double), beyond(Int, distance: Double) }
    static func position(of x: Double, in xs: [Double]) -> Position {
        if x < xs[0] { return .beyond(0, distance: xs[0] - x) }
        if x > xs[xs.count - 1] { return .beyond(xs.count - 1, distance: x - xs[xs.count - 1]) }
        if let i = xs.firstIndex(where: { abs($0 - x) < 1e-9 }) { return .at(i) }
        let j = xs.firstIndex { $0 > x }!
        return .between(j - 1, j, (x - xs[j - 1]) / (xs[j] - xs[j - 1]))
    }

    /// The decimals a loss in `unit` is printed with: 2 for percent, 1 for points.
    public static func lossDigits(_ unit: String) -> Int { unit == "%" ? 2 : 1 }

    /// A loss as printed: "1.5 points", "0.43%" (`singular`: "1.0 point" at exactly one).
    public static func lossText(_ x: Double, unit: String, singular: Bool = false) -> String {
        Format.fixed(x, decimals: lossDigits(unit)) + (unit == "%" ? "%" : (singular && abs(x) == 1 ? " point" : " points"))
    }
}

/// A metric's value at one context length (none: the source states no length).
public struct QualityValue: Codable, Sendable, Hashable {
    public var contextTokens: Int?
    public var value: Double
    /// Fraction of the hashed span this setting attended at this context, where measured.
    public var sampledFraction: Double?
    /// Mean relative L2 error of the attention output against dense (measured profiles).
    public var attentionRelativeError: Double?
    /// Standard error of the loss, in the metric's loss unit (measured profiles): losses within
    /// about twice this of each other are not told apart by the measurement.
    public var lossStandardError: Double?

    public init(contextTokens: Int?, value: Double, sampledFraction: Double? = nil, attentionRelativeError: Double? = nil,
                lossStandardError: Double? = nil) {
        self.contextTokens = contextTokens
        self.value = value
        self.sampledFraction = sampledFraction
        self.attentionRelativeError = attentionRelativeError
        self.lossStandardError = lossStandardError
    }
}

/// One sparse-attention setting of a metric: its method and parameters, and its values.
public struct QualitySetting: Codable, Sendable, Hashable {
    public enum Method: String, Codable, Sendable, Hashable, CaseIterable {
        case lsh, quest, topk
    }
    public var method: Method
    /// LSH: K and L.
    public var k: Int?
    public var l: Int?
    /// Quest: keys per page.
    public var pageSize: Int?
    /// Quest and TopK: the fraction of keys (pages) selected.
    public var budgetFraction: Double?
    /// The fraction of keys this setting attends (the paper's Cost2, or measured), when known.
    public var sampledFraction: Double?
    public var values: [QualityValue]
    /// Where these values come from (a paper table, or the command that measured them); the
    /// metric's source when absent.
    public var source: String?

    public init(mode: AttentionMode, sampledFraction: Double? = nil, values: [QualityValue], source: String? = nil) {
        switch mode {
        case .lshSampled(let p): method = .lsh; k = p.hashBitsPerTable; l = p.tableCount
        case .quest(let ps, let f): method = .quest; pageSize = ps; budgetFraction = f
        case .topK(let f): method = .topk; budgetFraction = f
        case .dense: method = .topk; budgetFraction = 1
        }
        self.sampledFraction = sampledFraction
        self.values = values
        self.source = source
    }

    /// The attention mode this setting runs (nil when its parameters are missing).
    public var mode: AttentionMode? {
        switch method {
        case .lsh:
            guard let k, let l else { return nil }
            return .lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l))
        case .quest:
            guard let pageSize, let budgetFraction else { return nil }
            return .quest(pageSize: pageSize, budgetFraction: budgetFraction)
        case .topk:
            guard let budgetFraction else { return nil }
            return .topK(budgetFraction: budgetFraction)
        }
    }

    /// The label of the setting that runs `mode`.
    public static func label(of mode: AttentionMode) -> String { QualitySetting(mode: mode, values: []).label }

    /// `lsh (10, 150)`, `quest (16, 4%)`, `topk 2%`.
    public var label: String {
        switch method {
        case .lsh: return "lsh (\(k ?? 0), \(l ?? 0))"
        case .quest: return "quest (\(pageSize ?? 0), \(Format.number((budgetFraction ?? 0) * 100))%)"
        case .topk: return "topk \(Format.number((budgetFraction ?? 0) * 100))%"
        }
    }
}

/// A setting's quality at one context, as a plan reports it.
public struct QualityEstimate: Codable, Sendable, Hashable {
    public enum Basis: String, Codable, Sendable, Hashable {
        /// Measured at this context.
        case measured
        /// Between two measured contexts (linear in log context).
        case interpolated
        /// Beyond the metric's measured contexts: the nearest one's value
        /// (`extrapolatedFromContextTokens`).
        case extrapolated
        /// The source states no context length.
        case contextFree = "context-free"
    }
    /// How the value was obtained, in words.
    public var basisWords: String {
        switch basis {
        case .measured: return "measured at this context"
        case .interpolated: return "interpolated between measured contexts"
        case .extrapolated: return "extrapolated from \(TokenCount(extrapolatedFromContextTokens ?? contextTokens))"
        case .contextFree: return "no context length stated by the source"
        }
    }
    public var metric: String
    public var description: String
    public var kind: QualityMetric.Kind
    public var contextTokens: Int
    public var value: Double
    public var fullValue: Double
    /// Positive: worse than full attention, in `lossUnit`.
    public var loss: Double
    public var lossUnit: String
    public var basis: Basis
    public var extrapolatedFromContextTokens: Int?
    public var source: String
    public var sampledFraction: Double?
    /// The measurement's standard error of the loss, where the profile gives one.
    public var lossStandardError: Double? = nil

    /// `ruler 96k: 81.5 vs 83.0 full, -1.5 points (paper Table 3)`.
    public var summary: String {
        let ctx = basis == .contextFree ? "" : " \(TokenCount(contextTokens).description)"
        let digits = QualityMetric.lossDigits(lossUnit)
        let lossText = Format.fixed(loss, decimals: digits)
            + (lossStandardError.map { " ± " + Format.fixed($0, decimals: digits) } ?? "") + (lossUnit == "%" ? "%" : " points")
        let basisText = basis == .measured || basis == .contextFree ? "" : ", \(basisWords)"
        let shortSource = source.components(separatedBy: "; ").first ?? source
        return "\(metric)\(ctx): \(Format.fixed(value, decimals: kind == .accuracy ? 1 : 3)) vs \(Format.fixed(fullValue, decimals: kind == .accuracy ? 1 : 3)) full, loss \(lossText)\(basisText); \(shortSource)"
    }
}
