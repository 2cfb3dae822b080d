public enum Device: String, Codable, Sendable, Hashable, CaseIterable {
    case gpu, cpu
}

/// How the CPU part and the GPU part of a step are ordered.
public enum Schedule: String, Codable, Sendable, Hashable, CaseIterable {
    /// GPU, then CPU, then GPU again, layer after layer, for the whole batch.
    case serial
    /// The batch is split in two micro-batches; the CPU attention of one runs under the GPU work
    /// of the other.
    case pipelined
}

/// Where things live and run, beyond the attention mode.
public struct Placement: Codable, Sendable, Hashable {
    /// Where the KV cache of the long span lives and its attention runs: for dense attention the
    /// whole KV cache; for LSH the hashed layers' KV and hash tables. Weights and the exact part
    /// are always on the GPU when the system has one.
    public var kvDevice: Device
    /// Layers kept dense on the GPU beyond the model's mandatory dense layers (LSH only).
    public var extraDenseLayers: Int
    /// CPU threads used for CPU attention.
    public var cpuThreads: Int
    /// CPU sockets used (data is partitioned per socket when the system is NUMA-local).
    public var cpuSockets: Int
    public var schedule: Schedule

    public init(kvDevice: Device, extraDenseLayers: Int = 0, cpuThreads: Int, cpuSockets: Int = 1,
                schedule: Schedule = .serial) {
        self.kvDevice = kvDevice
        self.extraDenseLayers = extraDenseLayers
        self.cpuThreads = cpuThreads
        self.cpuSockets = cpuSockets
        self.schedule = schedule
    }
}

/// What the user serves: a model at a context length.
public struct Workload: Codable, Sendable, Hashable {
    public var model: ModelShape
    /// Prompt (context) tokens per sequence, n.
    public var contextTokens: Int
    /// Tokens generated per sequence; the exact part grows by one per step, so a step sees on
    /// average half of them.
    public var generatedTokens: Int
    public init(model: ModelShape, contextTokens: Int, generatedTokens: Int = 128) {
        self.model = model
        self.contextTokens = contextTokens
        self.generatedTokens = generatedTokens
    }
}

/// One candidate decode configuration: what the optimizer chooses and the executor runs.
public struct DecodeConfiguration: Codable, Sendable, Hashable {
    /// Sequences per model instance (per tensor-parallel group).
    public var batch: Int
    public var attention: AttentionMode
    public var placement: Placement
    /// Tensor parallelism and weight storage (one GPU, the model's bytes by default).
    public var deployment: Deployment
    public init(batch: Int, attention: AttentionMode, placement: Placement, deployment: Deployment = Deployment()) {
        self.batch = batch
        self.attention = attention
        self.placement = placement
        self.deployment = deployment
    }

    private enum CodingKeys: String, CodingKey { case batch, attention, placement, deployment }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        batch = try c.decode(Int.self, forKey: .batch)
        attention = try c.decode(AttentionMode.self, forKey: .attention)
        placement = try c.decode(Placement.self, forKey: .placement)
        deployment = try c.decodeIfPresent(Deployment.self, forKey: .deployment) ?? Deployment()
    }
}

extension AttentionMode: Codable {
    private enum CodingKeys: String, CodingKey { case mode, k, l, budgetFraction, pageSize }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let mode = try c.decode(String.self, forKey: .mode)
        switch mode {
        case "dense": self = .dense
        case "lsh":
            self = .lshSampled(LSHParameters(
                hashBitsPerTable: try c.decode(Int.self, forKey: .k), tableCount: try c.decode(Int.self, forKey: .l)))
        case "topk": self = .topK(budgetFraction: try c.decode(Double.self, forKey: .budgetFraction))
        case "quest":
            self = .quest(pageSize: try c.decode(Int.self, forKey: .pageSize),
                          budgetFraction: try c.decode(Double.self, forKey: .budgetFraction))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .mode, in: c, debugDescription: "unknown attention mode '\(mode)'; use dense, lsh, topk or quest")
        }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .mode)
        switch self {
        case .dense: break
        case .lshSampled(let p):
            try c.encode(p.hashBitsPerTable, forKey: .k)
            try c.encode(p.tableCount, forKey: .l)
        case .topK(let f): try c.encode(f, forKey: .budgetFraction)
        case .quest(let s, let f):
            try c.encode(s, forKey: .pageSize)
            try c.encode(f, forKey: .budgetFraction)
        }
    }
}
