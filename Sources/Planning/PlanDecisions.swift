import Core
import CostModel
import Optimizer
import Profiles

/// The decisions a user fixes or bounds (the `plan` and `export` flags as plain values); the
/// rest is the optimizer's.
public struct PlanDecisions: Sendable, Hashable {
    public var batch: Int?
    public var maxBatch = 1024
    /// K and L, when fixed.
    public var hashBits: Int?
    public var tableCount: Int?
    /// Dense attention only (the GPU-only baseline when there is a GPU).
    public var denseOnly = false
    public var maxStepSeconds: Double?
    /// Accuracy floor on the sampled fraction; nil takes `tierFloor` unless (K, L) or the
    /// fraction is the user's own.
    public var minSampledFraction: Double?
    public var tierFloor = 0.02
    public var sampledFractionOverride: Double?
    public var questBudgetFraction: Double?
    public var extraDenseLayers: Int?
    public var schedule: Schedule?
    public var threads: Int?
    public var sockets: Int?
    public var compareEngines = false
    /// LSH only (`--attention lsh`); K or L fixed also means LSH.
    public var lshOnly = false
    /// Quest pages may win (the `fast` tier).
    public var questMayWin = false
    /// Engines predicted beside the chosen one as a what-if (pigplan's kernels on a GPU system).
    public var whatIfEngines: [String] = []
    /// The runtime GPU-only full attention is predicted on (`--baseline-engine`); nil: a serving
    /// engine (`vllm`) where the profiles have one, else the plan's engine.
    public var baselineEngine: String?
    /// Tensor-parallel degree, when fixed (`--tp`); else every degree the node allows.
    public var tensorParallel: Int?
    /// Weight formats the plan may use: one (`--weights bf16`...), all (`--weights auto`), or the
    /// model profile's own bytes (nil).
    public var weightFormats: [WeightFormat?] = [nil]
    /// The largest quality loss allowed (`--max-quality-loss`), in the quality metric's unit.
    public var maxQualityLoss: Double?
    /// The quality metric a budget is read in (`--quality-metric`); nil: the profile's first.
    public var qualityMetric: String?
    /// The named tier's loss budget, used when the model has a quality profile and nothing more
    /// explicit bounds the accuracy (otherwise `tierFloor`, a sampled-fraction proxy, applies).
    public var tierLossBudget: TierLossBudget?

    /// The user fixed the kind of attention.
    public var attentionFixed: Bool { denseOnly || lshOnly || hashBits != nil || tableCount != nil }

    public init() {}

    /// The optimizer's space for these decisions on `hardware`.
    public func searchSpace(on hardware: Hardware) -> SearchSpace {
        var space = SearchSpace()
        // Batch, K and L all fixed: evaluate that one configuration as MagicPIG runs it (its
        // mandatory dense layers only, serial) unless placement decisions say otherwise.
        if batch != nil && hashBits != nil && tableCount != nil {
            space.schedules = [.serial]
            space.extraDenseLayers = [0]
        }
        if let schedule { space.schedules = [schedule] }
        if let extraDenseLayers { space.extraDenseLayers = [extraDenseLayers] }
        if let hashBits { space.hashBits = [hashBits] }
        if let tableCount { space.tableCounts = [tableCount] }
        space.batch = batch
        space.maxBatch = max(maxBatch, batch ?? 1)
        space.maxStepSeconds = maxStepSeconds
        space.threads = threads
        space.sockets = sockets
        space.tensorParallelDegrees = tensorParallel.map { [$0] }
        space.weightFormats = weightFormats
        // An explicit (K, L) or fraction is the user's choice: the tier floor does not apply.
        let explicit = (hashBits != nil && tableCount != nil) || sampledFractionOverride != nil
        space.minSampledFraction = minSampledFraction ?? (explicit ? nil : tierFloor)
        if denseOnly {
            space.lsh = false
            space.dense = true
            space.kvDevices = hardware.gpu == nil ? [.cpu] : [.gpu]
        }
        return space
    }
}

extension PlanRequest {
    /// Puts the quality side into the request: with a budget, the (K, L) options are the
    /// profile's settings within it (the sampled-fraction floor, a proxy, no longer applies), and
    /// the profile's measured fractions replace the model's where it has them.
    mutating func apply(_ quality: QualityPlanning, decisions: PlanDecisions) {
        self.quality = quality
        guard quality.metric != nil else { return }
        measuredFractions = quality.measuredFractions
        guard quality.maxLoss != nil, !decisions.denseOnly else { return }
        space.minSampledFraction = decisions.minSampledFraction
        let k = decisions.hashBits, l = decisions.tableCount
        switch quality.allowedLSH({ p in (k.map { $0 == p.hashBitsPerTable } ?? true) && (l.map { $0 == p.tableCount } ?? true) }) {
        case .success(let settings):
            space.lshSettings = settings
        case .failure(let shortfall):
            space.lshSettings = []
            qualityShortfall = shortfall
        }
        // Quest may win when a setting of it is within the budget (and not when the metric has
        // Quest settings but none within it).
        switch quality.questSetting() {
        case .success(.quest(let page, let f))?:
            questPageSize = page
            if questBudgetFraction == nil { questBudgetFraction = f }
            questMayWin = true
        case .success?, .failure?:
            questMayWin = false
        case nil:
            break
        }
    }

    /// The request for `decisions` on resolved hardware and model, with the engine `engineName`
    /// and, when asked, every other engine of `store` to compare with.
    public static func resolve(store: ProfileStore, hardware: Hardware, model: ModelProfile, workload: Workload,
                               engineName: String, decisions: PlanDecisions) throws -> PlanRequest {
        let engine = try Planner.engine(named: engineName, store: store, hardware: hardware)
        let profile = try store.engine(engineName)
        let wanted: PlanKind = decisions.denseOnly ? (hardware.gpu == nil ? .cpuKVDense : .gpuOnly) : .lsh
        let servingOnly = !profile.runs(.lsh)
        /// The engines of `store` that run `kind`, for messages.
        func runners(_ kind: PlanKind) -> [String] { store.names(of: .engine).filter { (try? store.engine($0).runs(kind)) == true } }
        guard profile.runs(wanted) || (servingOnly && decisions.denseOnly) else {
            throw PlanError.invalid("--engine \(engineName): \(profile.displayName) does not run \(wanted) plans (it runs \(profile.kinds.map(\.rawValue).joined(separator: ", "))); use --engine \(runners(wanted).joined(separator: " or "))\(servingOnly ? ", or --attention dense to plan GPU-only decoding on it" : "")")
        }
        let baselineName = decisions.baselineEngine ?? Planner.defaultBaselineEngine(store: store, hardware: hardware, planEngine: engineName)
        let baselineProfile = try store.engine(baselineName)
        guard baselineProfile.runs(.gpuOnly) else {
            throw PlanError.invalid("--baseline-engine \(baselineName): \(baselineProfile.displayName) does not run GPU-only full attention; use one of: \(runners(.gpuOnly).joined(separator: ", "))")
        }
        // A serving engine named as the plan's engine runs the GPU-only plan itself.
        let baselineEngine = servingOnly ? engine : try Planner.engine(named: baselineName, store: store, hardware: hardware)
        let calibrationShape = try hardware.calibration?.referenceModel.map { try store.model($0).shape }
        let quality = try QualityPlanning.resolve(store: store, model: workload.model.name, contextTokens: workload.contextTokens,
                                                  decisions: decisions)
        var request = PlanRequest(
            hardware: hardware, model: model, workload: workload, engineName: engineName, engine: engine,
            baselineEngineName: servingOnly ? engineName : baselineName, baselineEngine: baselineEngine,
            space: decisions.searchSpace(on: hardware), sampledFractionOverride: decisions.sampledFractionOverride,
            questBudgetFraction: decisions.questBudgetFraction, calibrationShape: calibrationShape)
        for name in store.names(of: .engine) { request.engineDisplayNames[name] = try store.engine(name).displayName }
        request.attentionFixed = decisions.attentionFixed
        request.questMayWin = decisions.questMayWin
        request.apply(quality, decisions: decisions)
        func engines(_ names: [String]) throws -> [(String, EngineParameters)] {
            try names.filter { $0 != engineName }.map { ($0, try Planner.engine(named: $0, store: store, hardware: hardware)) }
        }
        if decisions.compareEngines { request.comparisonEngines = try engines(store.names(of: .engine)) }
        request.whatIfEngines = try engines(decisions.whatIfEngines)
        return request
    }
}
