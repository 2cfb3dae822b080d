import Core
import CostModel
import Optimizer

/// `pigplan sweep --pareto`: for one system, model and context, every setting of every method
/// the model's quality profile measured near that context, at its best batch, against its
/// quality loss; the settings no other beats on both are the front.
public struct ParetoFront: Codable, Sendable {
    public struct Point: Codable, Sendable {
        public var kind: PlanKind
        /// `lsh (10, 150)`, `quest (16, 4%)`, `gpu-only`.
        public var setting: String
        public var mode: AttentionMode
        public var quality: QualityEstimate
        public var feasible: Bool
        public var batch: Int?
        public var tokensPerSecond: Double?
        public var sampledFraction: Double?
        public var note: String?
        /// No other feasible point is at least as fast with at most the same loss (one strictly).
        public var onFront: Bool
    }
    public var hardware: String
    public var model: String
    public var contextTokens: Int
    public var engine: String
    public var metric: String
    public var lossUnit: String
    public var points: [Point]

    /// Plans each setting of `base`'s quality metric near its context with everything else as
    /// `base` asks (batch chosen, placement chosen), plus the two full-attention kinds.
    public static func run(_ base: PlanRequest) throws -> ParetoFront {
        guard let quality = base.quality, let metric = quality.metric else {
            throw PlanError.invalid("--pareto needs a quality profile for \(base.workload.model.name) (`pigplan profiles list` shows them); measure one with `pigplan quality`")
        }
        var points: [Point] = []
        func add(kind: PlanKind, setting: String, mode: AttentionMode, estimate: QualityEstimate, plan: Result<OptimizedPlan, Error>) {
            switch plan {
            case .success(let p):
                points.append(.init(kind: kind, setting: setting, mode: mode, quality: estimate, feasible: true, batch: p.configuration.batch,
                                    tokensPerSecond: p.cost.tokensPerSecond, sampledFraction: p.cost.sampledFraction, note: nil, onFront: false))
            case .failure(let e):
                let note = (e as? Infeasibility)?.facts ?? "\(e)"
                points.append(.init(kind: kind, setting: setting, mode: mode, quality: estimate, feasible: false, batch: nil,
                                    tokensPerSecond: nil, sampledFraction: nil, note: note, onFront: false))
            }
        }
        let model = base.costModel()
        for (mode, estimate) in quality.estimates(.lsh) {
            var space = base.space
            space.lshSettings = [mode.lsh!]
            space.minSampledFraction = nil
            space.lsh = true
            space.dense = false
            add(kind: .lsh, setting: QualitySetting.label(of: mode), mode: mode, estimate: estimate,
                plan: Result { try PlanOptimizer(model: model, space: space).optimize() })
        }
        let kinds: [(PlanKind, AttentionMode, Device, AttentionMode)] =
            quality.estimates(.quest).map { (PlanKind.quest, $0.mode, Device.gpu, $0.mode) }
            + [(.gpuOnly, .dense, .gpu, .dense), (.cpuKVDense, .dense, .cpu, .dense)]
        for (kind, mode, device, qualityMode) in kinds {
            guard let estimate = quality.estimate(qualityMode) else { continue }
            let b = Planner.baseline(base, name: kind, description: kind.rawValue, attention: mode, device: device)
            let setting = kind == .quest ? QualitySetting.label(of: mode) : kind.rawValue
            if let plan = b.plan { add(kind: kind, setting: setting, mode: mode, estimate: estimate, plan: .success(plan)) } else {
                points.append(.init(kind: kind, setting: setting, mode: mode, quality: estimate, feasible: false, batch: nil,
                                    tokensPerSecond: nil, sampledFraction: nil, note: b.baseline.note, onFront: false))
            }
        }
        for i in points.indices where points[i].feasible {
            let a = points[i]
            points[i].onFront = !points.contains { b in
                guard b.feasible, let rb = b.tokensPerSecond, let ra = a.tokensPerSecond else { return false }
                return b.quality.loss <= a.quality.loss && rb >= ra && (b.quality.loss < a.quality.loss || rb > ra)
            }
        }
        points.sort { ($0.quality.loss, -($0.tokensPerSecond ?? 0)) < ($1.quality.loss, -($1.tokensPerSecond ?? 0)) }
        return ParetoFront(hardware: base.hardware.name, model: base.workload.model.name, contextTokens: base.workload.contextTokens,
                           engine: base.engineName, metric: metric.name, lossUnit: metric.lossUnit, points: points)
    }
}
