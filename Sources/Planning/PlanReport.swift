import Core
import CostModel
import Optimizer
import Solver

/// Everything `pigplan` answers, as printed with `--format json` (schema: README, "JSON output").
public struct PlanReport: Codable, Sendable {
    public struct PlanSection: Codable, Sendable {
        public var attention: String
        /// The attention mode with its parameters (as in the plan file).
        public var mode: AttentionMode
        public var batch: Int
        /// K, or nil when dense.
        public var k: Int?
        /// L, or nil when dense.
        public var l: Int?
        public var placement: Placement
        public var engine: String
        public var denseLayers: Int
        public var sparseLayers: Int
        /// Which kind won: lsh, gpu-only, cpu-kv-dense or quest (a row of `bestByKind`).
        public var kind: PlanKind
        /// GPUs one model instance spans (tensor parallelism), and the instances the node runs.
        public var tensorParallel: Int = 1
        public var replicas: Int = 1
        /// Weight storage: bf16, fp8, int8 or int4.
        public var weights: String = "bf16"
        /// The chosen setting's quality at this context (a quality profile's), when known.
        public var quality: QualityEstimate? = nil
        /// The quality budget applied, or why the quality is unknown and how to measure it.
        public var qualityNote: String? = nil

        enum CodingKeys: String, CodingKey {
            case attention, mode, batch, k, l, placement, engine, denseLayers, sparseLayers, kind, tensorParallel, replicas, weights
            case quality, qualityNote
        }

        /// As synthesised, except that `k` and `l` are always written (null for dense plans): a
        /// reader finds the documented keys whatever the attention.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(attention, forKey: .attention)
            try c.encode(mode, forKey: .mode)
            try c.encode(batch, forKey: .batch)
            try c.encode(k, forKey: .k)
            try c.encode(l, forKey: .l)
            try c.encode(placement, forKey: .placement)
            try c.encode(engine, forKey: .engine)
            try c.encode(denseLayers, forKey: .denseLayers)
            try c.encode(sparseLayers, forKey: .sparseLayers)
            try c.encode(kind, forKey: .kind)
            try c.encode(tensorParallel, forKey: .tensorParallel)
            try c.encode(replicas, forKey: .replicas)
            try c.encode(weights, forKey: .weights)
            try c.encodeIfPresent(quality, forKey: .quality)
            try c.encodeIfPresent(qualityNote, forKey: .qualityNote)
        }
    }
    public struct Prediction: Codable, Sendable {
        public var tokensPerSecond: Double
        public var stepSeconds: Double
        public var timeToFirstTokenSeconds: Double
        public var schedule: Schedule
        /// GPU-side and CPU-side seconds (of one micro-batch when pipelined).
        public var gpuSideSeconds: Double
        public var cpuSideSeconds: Double
        /// Seconds per term of one step (two micro-batches summed when pipelined).
        public var breakdown: StepTimes
        public var sampledFraction: Double?
        /// Where the sampled fraction came from: "override", "model" (theory x correction).
        public var sampledFractionSource: String?
        public var keysPerQuery: Double
    }
    public struct MemorySection: Codable, Sendable {
        /// On each GPU (`detail` too).
        public var gpuBytes: Double
        /// On the whole host (on a node, each GPU's share in `detail` times the GPUs).
        public var cpuBytes: Double
        public var gpuAvailableBytes: Double
        public var cpuAvailableBytes: Double
        public var detail: MemoryBreakdown
    }
    public struct Baseline: Codable, Sendable {
        public var name: PlanKind
        public var description: String
        public var feasible: Bool
        public var batch: Int?
        public var tokensPerSecond: Double?
        public var stepSeconds: Double?
        /// Quest: the fraction of keys read per step.
        public var budgetFraction: Double?
        /// Why it is infeasible, or a remark.
        public var note: String?
        /// Tensor parallelism and weight storage of this kind's best plan.
        public var deployment: Deployment?
        /// Memory on each GPU (and its share of the host) of this kind's best plan.
        public var memory: MemoryBreakdown?
        /// This kind's quality at the context (full attention for the dense kinds), when known.
        public var quality: QualityEstimate? = nil
        /// The runtime this row is predicted for (an engine profile's name).
        public var engine: String? = nil
    }
    public struct SolverSection: Codable, Sendable {
        public var status: String
        public var seconds: Double
        /// Of `seconds`, the time spent evaluating the cost model to build the MILP.
        public var modelSeconds: Double
        public var method: String
        public var iterations: Int
        public var options: Int
        public var segments: Int
        public var segmentsInProgram: Int
        public var variables: Int
        public var constraints: Int
    }
    public struct Context: Codable, Sendable {
        public var hardware: String
        public var gpu: String?
        public var cpu: String
        public var sockets: Int
        public var threads: Int
        public var model: String
        public var contextTokens: Int
        public var generatedTokens: Int
        public var calibrated: Bool
        /// Bytes per weight and per KV element as planned (2 for bf16; `--weights`, `--kv-dtype`).
        public var bytesPerWeight: Double = 2
        public var bytesPerKVElement: Double = 2
        /// GPUs in the node (0 on a CPU-only machine).
        public var gpuCount: Int = 1
    }

    /// The weight format a byte count stands for (a profile's own bytes per weight).
    public static func weightName(bytes: Double) -> String {
        WeightFormat.allCases.first { abs($0.bytesPerWeight - bytes) < 1e-9 && $0 != .int8 } .map(\.rawValue) ?? "\(bytes) bytes"
    }

    public var context: Context
    public var plan: PlanSection
    public var prediction: Prediction
    public var memory: MemorySection
    public var baselines: [Baseline]
    /// The plan's tokens/s over the best feasible baseline's (GPU-only or KV-in-CPU dense); nil
    /// when no baseline is feasible.
    public var speedupOverBestBaseline: Double?
    public var solver: SolverSection
    /// Other engines' predictions for the same configuration (`--compare-engines`).
    public var engineComparison: [EngineComparison]?
    /// The same configuration with other kernels, as a what-if (pigplan's own beside the reference).
    public var whatIf: [EngineComparison]?
    /// The best plan of each kind (lsh first, then the baselines), feasible or with why not.
    public var bestByKind: [Baseline]
    /// Pipeline parallelism over several such nodes, on paper (`--nodes`).
    public var pipeline: PipelineEstimate?
    /// Each engine's display name (the runtime a row is predicted for).
    public var engines: [String: String]? = nil

    public struct EngineComparison: Codable, Sendable {
        public var engine: String
        public var tokensPerSecond: Double
        public var stepSeconds: Double
        public var breakdown: StepTimes
    }
}
