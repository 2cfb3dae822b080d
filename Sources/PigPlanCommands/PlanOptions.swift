import ArgumentParser
import Core
import CostModel
import Optimizer
import Planning
import Profiles

/// The decisions a user may fix or bound, shared by `plan` and `export`.
public struct DecisionOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Fix the batch size.")
    public var batch: Int?
    @Option(parsing: .unconditional, help: "Fix K, the bits per hash table (default: choose in 6...12).")
    public var k: Int?
    @Option(parsing: .unconditional, help: "Fix L, the number of hash tables (default: choose in 50...400 by 25).")
    public var l: Int?
    @Option(help: "Fix the attention mode: lsh (MagicPIG) or dense (with the KV cache on the GPU: the GPU-only baseline).")
    public var attention: AttentionChoice?
    @Option(parsing: .unconditional, help: "Upper bound on the decode step time, e.g. 100ms.", transform: Parse.seconds)
    public var maxLatency: Double?
    @Option(parsing: .unconditional, help: "Accuracy floor: the least fraction of keys LSH must sample (e.g. 0.02).")
    public var minSampledFraction: Double?
    @Option(help: "Named quality tier. On a model with a quality profile (`pigplan profiles list`), a loss budget in its metric: fast 5, balanced 2, accurate 1 (points of accuracy, or percent of perplexity). Without one, a proxy: the least sampled fraction, fast 1%, balanced 2%, accurate 4%.")
    public var quality: QualityTier = .balanced
    @Option(parsing: .unconditional, help: "Largest quality loss allowed, in the quality profile's metric: points for accuracy (e.g. 2 for RULER), percent for perplexity. Only (K, L) and Quest settings measured within it are considered.")
    public var maxQualityLoss: Double?
    @Option(help: "The quality profile's metric a budget is read in (default: its first, e.g. ruler for llama-3.1-8b).")
    public var qualityMetric: String?
    @Option(help: "Runtime whose kernels will run the plan (see `pigplan profiles list`): magicpig (the reference implementation; the default with a GPU) or pigplan (this package's CPU kernels; the default on a CPU-only system, and a what-if beside magicpig).")
    public var engine: String?
    @Option(help: "Runtime the GPU-only full-attention plan is predicted on (default: vllm, a serving engine with CUDA graphs, where a GPU exists). magicpig gives the MagicPIG paper's comparison (its eager PyTorch runtime).")
    public var baselineEngine: String?
    @Option(parsing: .unconditional, help: "Use this sampled fraction instead of the model (measured on your model and data).")
    public var sampledFraction: Double?
    @Option(parsing: .unconditional, help: "Largest batch size considered.")
    public var maxBatch: Int = 1024
    @Option(parsing: .unconditional, help: "Quest baseline budget as a fraction of keys (default: the plan's sampled fraction).")
    public var questBudget: Double?
    @Option(parsing: .unconditional, help: "Fix the layers kept dense beyond the model's mandatory ones (default: choose 0, 2 or 4).")
    public var extraDenseLayers: Int?
    @Option(help: "Fix the schedule: serial or pipelined (two micro-batches overlapping CPU and GPU).")
    public var schedule: Schedule?
    @Flag(help: "Also predict the chosen configuration with every other engine.")
    public var compareEngines = false
    @Option(help: "Weight storage: bf16, fp8, int8 or int4 (with its group scales), or auto to let the optimizer choose; default: the model profile's (bf16). Quality is not predicted.")
    public var weights: WeightChoice?
    @Option(parsing: .unconditional, help: "Fix the tensor-parallel degree: GPUs per model instance on a multi-GPU system (default: choose among the divisors of the GPU count).")
    public var tp: Int?
    @Option(help: "KV cache storage: bf16 or fp8 (halves KV bytes on GPU and CPU, and the gathered bytes of sampled attention).")
    public var kvDtype: KVFormat?
    public init() {}

    /// Largest batch a plan may have: 2^20 sequences.
    public static let batchLimit = 1 << 20

    public func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch \(batch): the batch size must be at least 1") }
        if let batch, batch > Self.batchLimit {
            throw ValidationError("--batch \(batch): the planner considers at most \(Self.batchLimit) sequences per step (no GPU or host holds more); pass a smaller batch")
        }
        if maxBatch > Self.batchLimit {
            throw ValidationError("--max-batch \(maxBatch): the planner considers at most \(Self.batchLimit) sequences per step; pass a smaller bound")
        }
        if let e = extraDenseLayers, e > Limits.maxLayers { throw ValidationError("--extra-dense-layers \(e): more layers than any model has; pass at most the model's layer count") }
        if let problem = LSHParameters.rangeProblem(k: k, l: l) { throw ValidationError(problem) }
        if let x = maxQualityLoss, !(x.isFinite && x >= 0 && x <= 1000) {
            throw ValidationError("--max-quality-loss \(x): give a loss of 0 or more in the metric's unit (points of accuracy or percent of perplexity), e.g. 2")
        }
        if let f = minSampledFraction, !(0...1).contains(f) { throw ValidationError("--min-sampled-fraction \(f): give a fraction in [0, 1]") }
        if let f = sampledFraction, !(f > 0 && f <= 1) { throw ValidationError("--sampled-fraction \(f): give a fraction in (0, 1]") }
        if let f = questBudget, !(f > 0 && f <= 1) { throw ValidationError("--quest-budget \(f): give a fraction in (0, 1]") }
        if let e = extraDenseLayers, e < 0 { throw ValidationError("--extra-dense-layers \(e): cannot be negative") }
        if schedule == .pipelined, batch == 1 { throw ValidationError("--schedule pipelined needs --batch 2 or more (two micro-batches)") }
        if maxBatch < 1 { throw ValidationError("--max-batch \(maxBatch): must be at least 1") }
        if let tp, tp < 1 || tp > 64 { throw ValidationError("--tp \(tp): give a tensor-parallel degree between 1 and the system's GPU count") }
        if attention == .dense && (k != nil || l != nil) {
            throw ValidationError("--k / --l apply to LSH attention; drop them or use --attention lsh")
        }
    }
}

/// Everything a plan needs: machine, workload and decisions.
public struct PlanOptions: ParsableArguments {
    @OptionGroup(title: "Hardware") public var hardware: HardwareOptions
    @OptionGroup(title: "Workload") public var workload: WorkloadOptions
    @OptionGroup(title: "Decisions") public var decisions: DecisionOptions
    public init() {}

    /// The request the flags describe. The engine is `--engine`, else `defaultEngine`, else the
    /// runtime a user can run today: the MagicPIG reference (`magicpig`) on a system with a GPU,
    /// pigplan's own executor on a CPU-only one. With the reference chosen by default, pigplan's
    /// kernels are predicted beside it as a what-if.
    public func request(defaultEngine: String? = nil, lshOnly: Bool = false) throws -> PlanRequest {
        let store = try hardware.store()
        let hw = try hardware.resolve(store)
        let (profile, workload) = try self.workload.resolve(store)
        return try decisions.request(store: store, hardware: hw, model: profile, workload: workload,
                                     threads: hardware.threads, sockets: hardware.sockets,
                                     defaultEngine: defaultEngine, lshOnly: lshOnly)
    }
}

extension DecisionOptions {
    /// The engine a plan on `hw` is predicted for: `--engine`, else `defaultEngine`, else the
    /// runtime a user can run today: the MagicPIG reference (`magicpig`) on a system with a GPU,
    /// pigplan's own executor on a CPU-only one.
    func engineName(on hw: Hardware, defaultEngine: String? = nil) -> String {
        engine ?? defaultEngine ?? (hw.gpu != nil ? "magicpig" : "pigplan")
    }

    /// The request for these decisions on resolved hardware and model, for `engineName(on:)`. With
    /// the reference chosen by default, pigplan's kernels are predicted beside it as a what-if.
    func request(store: ProfileStore, hardware hw: Hardware, model: ModelProfile, workload: Workload,
                 threads: Int?, sockets: Int?, defaultEngine: String? = nil, lshOnly: Bool = false) throws -> PlanRequest {
        // Broken profile files are skipped when the profiles load; a plan that would read one
        // fails with its error instead of quietly planning without it: the model's quality
        // profile, and the default baseline engine on a GPU.
        if let problem = store.problem(of: .quality, named: model.shape.name) { throw problem }
        if hw.gpu != nil, baselineEngine == nil, let problem = store.problem(of: .engine, named: "vllm") { throw problem }
        if let extra = extraDenseLayers {
            // Beyond the sampled layers left, the flag would leave no layer to sample (or, without
            // LSH in the plan, be silently clipped): say how many there are.
            let sampled = model.shape.layerCount - model.shape.denseLayers(extra: 0).count
            guard extra < sampled else {
                throw ValidationError("--extra-dense-layers \(extra): \(model.shape.name) has \(sampled) sampled layers (\(model.shape.layerCount) in all, \(model.shape.layerCount - sampled) dense already); pass at most \(max(0, sampled - 1)) so that one is left to sample")
            }
        }
        var d = planDecisions(threads: threads, sockets: sockets)
        if lshOnly { d.lshOnly = true }
        var model = model, workload = workload
        if let kvDtype { model.shape.bytesPerKVElement = kvDtype.bytesPerElement }
        workload.model = model.shape
        let name = engineName(on: hw, defaultEngine: defaultEngine)
        if engine == nil, name == "magicpig" { d.whatIfEngines = ["pigplan"] }
        let request = try PlanRequest.resolve(store: store, hardware: hw, model: model, workload: workload,
                                              engineName: name, decisions: d)
        if let tp {
            let costModel = request.costModel()
            if let problem = costModel.deploymentProblem(Deployment(tensorParallel: tp)) {
                throw ValidationError("--tp \(tp): \(problem); use one of: \(costModel.tensorParallelDegrees.map(String.init).joined(separator: ", "))")
            }
        }
        return request
    }

    /// The flags as the planner's decisions.
    func planDecisions(threads: Int?, sockets: Int?) -> PlanDecisions {
        var d = PlanDecisions()
        d.batch = batch
        d.maxBatch = maxBatch
        d.hashBits = k
        d.tableCount = l
        d.denseOnly = attention == .dense
        d.maxStepSeconds = maxLatency
        d.minSampledFraction = minSampledFraction
        d.tierFloor = quality.minSampledFraction
        d.sampledFractionOverride = sampledFraction
        d.questBudgetFraction = questBudget
        d.extraDenseLayers = extraDenseLayers
        d.schedule = schedule
        d.threads = threads
        d.sockets = sockets
        d.compareEngines = compareEngines
        d.lshOnly = attention == .lsh
        d.questMayWin = quality == .fast && minSampledFraction == nil
        d.tensorParallel = tp
        d.baselineEngine = baselineEngine
        d.maxQualityLoss = maxQualityLoss
        d.qualityMetric = qualityMetric
        d.tierLossBudget = TierLossBudget(name: quality.rawValue, loss: quality.lossBudget)
        d.weightFormats = weights.map { $0.formats.map(Optional.some) } ?? [nil]
        return d
    }
}
