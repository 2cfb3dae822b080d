import Core
import CostModel
import Optimizer
import Profiles
import Solver

/// Errors of a plan request that are not profile errors.
public enum PlanError: Error, CustomStringConvertible, Sendable {
    case infeasible(Infeasibility)
    case invalid(String)
    public var description: String {
        switch self {
        case .infeasible(let i): return "no feasible plan (\(i.bindingConstraint)): \(i.facts)"
        case .invalid(let s): return s
        }
    }
}

/// A resolved plan request: what to plan for and which decisions are fixed.
public struct PlanRequest: Sendable {
    public var hardware: Hardware
    public var model: ModelProfile
    public var workload: Workload
    public var engineName: String
    public var engine: EngineParameters
    /// The runtime GPU-only full attention is predicted on (a serving engine by default; the
    /// paper compared against MagicPIG's own eager runtime).
    public var baselineEngineName: String
    public var baselineEngine: EngineParameters
    /// Display names of the engines (for reports).
    public var engineDisplayNames: [String: String] = [:]
    public var space: SearchSpace
    public var sampledFractionOverride: Double?
    /// Quest baseline budget; nil matches the plan's sampled fraction.
    public var questBudgetFraction: Double?
    public var questPageSize: Int = 16
    public var calibrationShape: ModelShape?
    /// Other engines to predict the chosen configuration with (`--compare-engines`).
    public var comparisonEngines: [(String, EngineParameters)] = []
    /// Engines predicted as a what-if beside the chosen one (pigplan's own kernels beside the
    /// reference on a GPU system).
    public var whatIfEngines: [(String, EngineParameters)] = []
    /// The user fixed the attention (`--attention`, or K and L): only that kind may win.
    public var attentionFixed = false
    /// Quest pages may win the plan (its accuracy at a small budget is below LSH's on
    /// aggregation tasks, so only the `fast` quality tier lets it).
    public var questMayWin = false
    /// The quality side: metric, budget and estimates (nil only for requests built by hand).
    public var quality: QualityPlanning?
    /// Sampled fractions measured for given settings (a quality profile's), used as they are.
    public var measuredFractions: [LSHParameters: Double] = [:]
    /// Why the quality budget leaves no (K, L), when it does.
    public var qualityShortfall: Infeasibility.QualityShortfall?

    /// The engine a kind is predicted on: GPU-only on the baseline engine, every other kind on
    /// the request's.
    public func engineName(for kind: PlanKind) -> String { kind == .gpuOnly ? baselineEngineName : engineName }
    public func engine(for kind: PlanKind) -> EngineParameters { kind == .gpuOnly ? baselineEngine : engine }

    /// The machine's calibration fitted once for this request (`Planner.plan` fills it; the
    /// models of every kind and engine share it).
    public var fits: FittedCalibration? = nil

    public func costModel(engine: EngineParameters? = nil) -> DecodeCostModel {
        DecodeCostModel(hardware: hardware, workload: workload, engine: engine ?? self.engine,
                        fractions: SampledFractionModel(profile: model, override: sampledFractionOverride, exact: measuredFractions),
                        calibrationShape: calibrationShape, fits: fits)
    }

    /// This request with its calibration fitted (unchanged when already fitted for it).
    public func fitted() -> PlanRequest {
        if let fits, fits.serves(hardware: hardware, calibrationShape: calibrationShape, model: workload.model) { return self }
        var r = self
        r.fits = FittedCalibration(hardware: hardware, calibrationShape: calibrationShape, model: workload.model)
        return r
    }
}

/// Runs the optimizer for the plan and each baseline and assembles a `PlanReport`.
public enum Planner {
    /// The engine parameters `name` stands for on `hardware`: the engine profile, replaced by the
    /// host's fitted parameters for `pigplan` when `pigplan calibrate` measured them.
    public static func engine(named name: String, store: ProfileStore, hardware: Hardware) throws -> EngineParameters {
        let profile = try store.engine(name)
        if profile.fittedByCalibration, let fitted = hardware.calibration?.cpu?.engine { return fitted }
        return profile.parameters
    }

    /// The runtime GPU-only decoding is compared on unless told otherwise: what people serve
    /// with (`vllm`) on a system with a GPU when the profiles have it, else the plan's engine.
    public static func defaultBaselineEngine(store: ProfileStore, hardware: Hardware, planEngine: String) -> String {
        hardware.gpu != nil && store.names(of: .engine).contains("vllm") ? "vllm" : planEngine
    }

    /// The best plan of any kind: the LSH plan of the request's space, GPU-only dense attention,
    /// dense attention over a CPU KV cache, and (where the quality tier allows) Quest pages, each
    /// at its best batch; the fastest feasible one is the plan unless the request fixes the
    /// attention. The others stay in the report as rows (`bestByKind`).
    public static func plan(_ request: PlanRequest) throws -> PlanReport {
        let request = request.fitted()
        // The request's own plan is LSH, or the dense kind `--attention dense` fixes, on the
        // runtime that runs that kind.
        let ownKind: PlanKind = request.space.lsh ? .lsh : (request.hardware.gpu == nil ? .cpuKVDense : .gpuOnly)
        let model = request.costModel(engine: request.engine(for: ownKind))
        let lsh: Result<OptimizedPlan, Infeasibility>
        if let shortfall = request.qualityShortfall {
            lsh = .failure(Infeasibility(.qualityBudget(shortfall), hardwareName: request.hardware.name))
        } else {
            do { lsh = .success(try PlanOptimizer(model: model, space: request.space).optimize()) } catch { lsh = .failure(error) }
        }
        let lshRate = (try? lsh.get())?.cost

        var kinds: [(baseline: PlanReport.Baseline, plan: OptimizedPlan?)] = [
            baseline(request, name: .gpuOnly, description: "GPU-only full attention (KV cache in GPU memory)",
                     attention: .dense, device: .gpu),
            baseline(request, name: .cpuKVDense, description: "KV cache in CPU memory, dense CPU attention",
                     attention: .dense, device: .cpu),
        ]
        let questBudget = request.questBudgetFraction ?? lshRate?.sampledFraction ?? 0.05
        kinds.append(baseline(
            request, name: .quest, description: "Quest page selection on the GPU (page \(request.questPageSize))",
            attention: .quest(pageSize: request.questPageSize, budgetFraction: questBudget), device: .gpu))
        // Each kind's quality at this context; Quest's shortfall against a budget in its note.
        let quality = request.quality
        for i in kinds.indices {
            guard let plan = kinds[i].plan else {
                if kinds[i].baseline.name != .quest { kinds[i].baseline.quality = quality?.estimate(.dense) }
                continue
            }
            kinds[i].baseline.quality = quality?.estimate(plan.configuration.attention)
        }
        if let q = quality, q.maxLoss != nil, case .failure(let shortfall)? = q.questSetting(),
           let i = kinds.firstIndex(where: { $0.baseline.name == .quest }) {
            let note = "outside the quality budget: \(shortfall.facts)"
            kinds[i].baseline.note = kinds[i].baseline.note.map { $0 + "; " + note } ?? note
        }

        // The winner: the LSH plan, or a faster kind the request lets win.
        // The request's own plan is LSH unless the request fixed the attention to dense.
        var best: (name: PlanKind, plan: OptimizedPlan)? = (try? lsh.get()).map { (kind(of: $0.configuration), $0) }
        if !request.attentionFixed {
            for kind in kinds where kind.baseline.feasible && (kind.baseline.name != .quest || request.questMayWin) {
                guard let plan = kind.plan else { continue }
                if best.map({ plan.cost.tokensPerSecond > $0.plan.cost.tokensPerSecond }) ?? true { best = (kind.baseline.name, plan) }
            }
        }
        guard let best else {
            if case .failure(let error) = lsh { throw PlanError.infeasible(error) }
            throw PlanError.invalid("no feasible plan of any kind")
        }
        let config = best.plan.configuration
        let cost = best.plan.cost
        // The winner's own runtime (a GPU-only winner runs on the baseline engine).
        let winnerModel = best.name == ownKind ? model : request.costModel(engine: request.engine(for: best.name))

        let lshSummary: PlanReport.Baseline
        switch lsh {
        case .success(let p) where kind(of: p.configuration) != .lsh:
            lshSummary = .init(name: .lsh, description: "MagicPIG LSH sampling", feasible: false, budgetFraction: nil,
                               note: "not considered: the request fixes the attention to dense")
        case .success(let p):
            lshSummary = .init(name: .lsh, description: "MagicPIG LSH sampling, (K, L) = \(p.configuration.attention.lsh.map { "\($0)" } ?? "-")",
                               feasible: true, batch: p.configuration.batch, tokensPerSecond: p.cost.tokensPerSecond,
                               stepSeconds: p.cost.stepSeconds, budgetFraction: nil, note: nil, deployment: p.configuration.deployment,
                               quality: quality?.estimate(p.configuration.attention), engine: request.engineName)
        case .failure(let e):
            lshSummary = .init(name: .lsh, description: "MagicPIG LSH sampling", feasible: false, budgetFraction: nil, note: e.facts)
        }
        let byKind = [lshSummary] + kinds.map(\.baseline)
        // Rivals of the winner: every other feasible kind but Quest (a quality baseline).
        let rivals = byKind.filter { $0.name != best.name && $0.name != .quest && $0.feasible }.compactMap(\.tokensPerSecond)
        let speedup = rivals.max().map { cost.tokensPerSecond / $0 }

        func predicted(_ engines: [(String, EngineParameters)]) -> [PlanReport.EngineComparison] {
            engines.map { (name, engine) in
                let c = request.costModel(engine: engine).step(config, batch: Double(config.batch))
                return PlanReport.EngineComparison(engine: name, tokensPerSecond: c.tokensPerSecond, stepSeconds: c.stepSeconds,
                                                   breakdown: c.terms)
            }
        }
        let comparisons = predicted(request.comparisonEngines)
        let planQuality = quality?.estimate(config.attention)
        var qualityNote: String? = nil
        if let q = quality {
            if let budget = q.maxLoss, let metric = q.metric, let source = q.budgetSource {
                qualityNote = "budget: a loss of at most \(QualityMetric.lossText(budget, unit: metric.lossUnit)) of \(metric.name) (\(source))"
                if best.name != .lsh, let shortfall = request.qualityShortfall {
                    qualityNote! += "; LSH: " + shortfall.facts
                }
                // A measurement too noisy to tell the budget apart from zero says so.
                if let se = planQuality?.lossStandardError, 2 * se > budget {
                    qualityNote! += "; the measurement's standard error (\(QualityMetric.lossText(se, unit: metric.lossUnit))) is more than half the budget: settings within it are not told apart; measure more positions (`pigplan quality --positions`)"
                }
            } else if planQuality == nil && config.attention != .dense {
                qualityNote = q.unmeasuredNote(config.attention)
            }
            if planQuality == nil && config.attention != .dense && q.maxLoss != nil {
                qualityNote! += "; " + q.unmeasuredNote(config.attention)
            }
        }
        let whatIf = predicted(request.whatIfEngines)
        let hw = request.hardware
        let deployed = winnerModel.deployed(config.deployment)
        // Memory is one GPU's; the host's is that GPU's share times the GPUs sharing the host.
        let hostShare = Double(hw.gpu == nil ? 1 : hw.gpuCount)
        return PlanReport(
            context: .init(hardware: hw.name, gpu: hw.gpu?.name, cpu: hw.cpu.name, sockets: hw.sockets, threads: hw.threads,
                           model: request.workload.model.name, contextTokens: request.workload.contextTokens,
                           generatedTokens: request.workload.generatedTokens, calibrated: hw.calibration != nil,
                           bytesPerWeight: deployed.workload.model.bytesPerWeight, bytesPerKVElement: request.workload.model.bytesPerKVElement,
                           gpuCount: hw.gpu == nil ? 0 : hw.gpuCount),
            plan: .init(attention: config.attention.name, mode: config.attention, batch: config.batch, k: config.attention.lsh?.hashBitsPerTable,
                        l: config.attention.lsh?.tableCount, placement: config.placement, engine: request.engineName(for: best.name),
                        denseLayers: winnerModel.denseLayerCount(config), sparseLayers: winnerModel.sparseLayerCount(config), kind: best.name,
                        tensorParallel: config.deployment.tensorParallel, replicas: deployed.replicas,
                        weights: config.deployment.weights?.rawValue ?? PlanReport.weightName(bytes: request.workload.model.bytesPerWeight),
                        quality: planQuality, qualityNote: qualityNote),
            prediction: .init(tokensPerSecond: cost.tokensPerSecond, stepSeconds: cost.stepSeconds,
                              timeToFirstTokenSeconds: winnerModel.prefillSeconds(config, batch: Double(config.batch)),
                              schedule: cost.schedule, gpuSideSeconds: cost.gpuSideSeconds, cpuSideSeconds: cost.cpuSideSeconds,
                              breakdown: cost.terms,
                              sampledFraction: cost.sampledFraction,
                              sampledFractionSource: cost.sampledFraction == nil ? nil : (request.sampledFractionOverride != nil ? "override"
                                  : (config.attention.lsh.map { request.measuredFractions[$0] != nil } ?? false) ? "measured" : "model"),
                              keysPerQuery: cost.keysPerQuery),
            memory: .init(gpuBytes: cost.memory.gpuBytes, cpuBytes: cost.memory.cpuBytes * hostShare,
                          gpuAvailableBytes: hw.gpuMemoryBytes, cpuAvailableBytes: hw.cpuMemoryBytes, detail: cost.memory),
            baselines: kinds.map(\.baseline), speedupOverBestBaseline: speedup,
            solver: .init(status: best.plan.solver.status.rawValue, seconds: best.plan.solver.seconds, modelSeconds: best.plan.solver.modelSeconds,
                          method: best.plan.solver.method, iterations: best.plan.solver.iterations, options: best.plan.solver.options,
                          segments: best.plan.solver.segments, segmentsInProgram: best.plan.solver.segmentsInProgram,
                          variables: best.plan.solver.variables, constraints: best.plan.solver.constraints),
            engineComparison: comparisons.isEmpty ? nil : comparisons,
            whatIf: whatIf.isEmpty ? nil : whatIf,
            bestByKind: byKind, engines: request.engineDisplayNames.isEmpty ? nil : request.engineDisplayNames)
    }

    /// The kind a configuration is, as `bestByKind` names it.
    static func kind(of config: DecodeConfiguration) -> PlanKind {
        PlanKind(config.attention, kvDevice: config.placement.kvDevice)
    }

    /// A baseline: the same optimizer restricted to one attention mode and KV device, at the
    /// user's batch when one is fixed.
    static func baseline(_ request: PlanRequest, name: PlanKind, description: String, attention: AttentionMode,
                         device: Device) -> (baseline: PlanReport.Baseline, plan: OptimizedPlan?) {
        var space = SearchSpace()
        space.batch = request.space.batch
        space.maxBatch = request.space.maxBatch
        space.threads = request.space.threads
        space.maxStepSeconds = request.space.maxStepSeconds
        space.tensorParallelDegrees = request.space.tensorParallelDegrees
        space.weightFormats = request.space.weightFormats
        space.lsh = false
        space.dense = attention == .dense
        space.extraAttentionModes = attention == .dense ? [] : [attention]
        space.kvDevices = [device]
        let budget: Double? = { if case .quest(_, let f) = attention { return f } else { return nil } }()
        guard request.hardware.gpu != nil || device == .cpu else {
            return (.init(name: name, description: description, feasible: false, budgetFraction: budget,
                          note: "this system has no GPU"), nil)
        }
        let optimizer = PlanOptimizer(model: request.costModel(engine: request.engine(for: name)), space: space)
        let engine = request.engineName(for: name)
        do {
            let plan = try optimizer.optimize()
            return (.init(name: name, description: description, feasible: true, batch: plan.configuration.batch,
                          tokensPerSecond: plan.cost.tokensPerSecond, stepSeconds: plan.cost.stepSeconds,
                          budgetFraction: budget, note: nil, deployment: plan.configuration.deployment,
                          memory: plan.cost.memory, engine: engine), plan)
        } catch {
            let prefix = request.space.batch.map { "batch \($0) does not fit" } ?? "not even batch 1 fits"
            return (.init(name: name, description: description, feasible: false, budgetFraction: budget,
                          note: "\(prefix): \(error.facts)", engine: engine), nil)
        }
    }
}
