import Core

/// Seconds of one decode step, term by term (each term's formula is on the function that
/// computes it in `DecodeCostModel`).
public struct StepTerms: Codable, Sendable, Hashable {
    /// All layers' projections (QKV, O, gate/up, down) on the linear-layer device.
    public var linearLayersSeconds: Double = 0
    /// The LM head (V x h projection).
    public var lmHeadSeconds: Double = 0
    /// SimHash projections of the queries (K L d multiply-adds per query head and sparse layer).
    public var hashingSeconds: Double = 0
    /// Full attention of the layers whose KV lives on the GPU (dense layers, or all layers).
    public var gpuAttentionSeconds: Double = 0
    /// Exact attention over sinks, local window and generated tokens of the sparse layers.
    public var exactPartSeconds: Double = 0
    /// CPU <-> GPU copies: per-transfer latency and bytes.
    public var transferSeconds: Double = 0
    /// Fixed per-layer costs: kernel launches, synchronisation, engine round trips.
    public var overheadSeconds: Double = 0
    /// Host dispatch of an eager engine that the GPU's work of the same layer does not hide.
    public var dispatchSeconds: Double = 0
    /// Walking the query's bucket in each of L tables and counting hits.
    public var retrievalSeconds: Double = 0
    /// Gathering sampled K and V rows and the importance-weighted softmax.
    public var sampledAttentionSeconds: Double = 0
    /// Dense attention over a KV cache kept in CPU memory.
    public var cpuAttentionSeconds: Double = 0
    /// GPU-to-GPU collectives of tensor parallelism.
    public var tensorParallelSeconds: Double = 0

    public init() {}

    /// Where each term is stored.
    public static func path(_ term: StepTerm) -> WritableKeyPath<StepTerms, Double> {
        switch term {
        case .linearLayers: return \.linearLayersSeconds
        case .lmHead: return \.lmHeadSeconds
        case .hashing: return \.hashingSeconds
        case .gpuAttention: return \.gpuAttentionSeconds
        case .exactPart: return \.exactPartSeconds
        case .transfers: return \.transferSeconds
        case .overhead: return \.overheadSeconds
        case .dispatch: return \.dispatchSeconds
        case .retrieval: return \.retrievalSeconds
        case .sampledAttention: return \.sampledAttentionSeconds
        case .cpuAttention: return \.cpuAttentionSeconds
        case .tensorParallel: return \.tensorParallelSeconds
        }
    }

    public subscript(term term: StepTerm) -> Double {
        get { self[keyPath: Self.path(term)] }
        set { self[keyPath: Self.path(term)] = newValue }
    }

    /// Work on the GPU side (or the linear-layer device), including copies.
    public var gpuSideSeconds: Double { StepTerm.allCases.reduce(0) { $1.isCPUSide ? $0 : $0 + self[term: $1] } }
    /// Work on the CPU attention side.
    public var cpuSideSeconds: Double { StepTerm.allCases.reduce(0) { $1.isCPUSide ? $0 + self[term: $1] : $0 } }

    /// Named terms in display order.
    public var named: [(String, Double)] { StepTerm.allCases.map { ($0.rawValue, self[term: $0]) } }

    /// Every term multiplied by `k` (two micro-batches report twice the half-batch work).
    func scaled(by k: Double) -> StepTerms {
        var t = self
        for term in StepTerm.allCases { t[term: term] *= k }
        return t
    }
}

/// Bytes held on each device by one configuration.
public struct MemoryBreakdown: Codable, Sendable, Hashable {
    public var gpuWeightsBytes: Double = 0
    /// KV cache of the layers attended on the GPU.
    public var gpuKVCacheBytes: Double = 0
    /// KV of sinks, local window and generated tokens of the sparse layers.
    public var gpuExactBufferBytes: Double = 0
    public var gpuActivationBytes: Double = 0
    /// CUDA context, allocator slack and workspace (the GPU profile's `reservedBytes`).
    public var gpuReservedBytes: Double = 0
    /// Hash tables and key norms kept on the GPU (LSH with `kvDevice == .gpu`).
    public var gpuHashTableBytes: Double = 0
    public var cpuKVCacheBytes: Double = 0
    /// L x n token indices plus L x 2^K bucket ranges, per layer, KV head and sequence.
    public var cpuHashTableBytes: Double = 0
    /// One float32 norm per hashed key (per layer, KV head, sequence).
    public var cpuKeyNormBytes: Double = 0
    /// Weights held in CPU memory (CPU-only systems).
    public var cpuWeightsBytes: Double = 0
    public init() {}

    public var gpuBytes: Double {
        gpuWeightsBytes + gpuKVCacheBytes + gpuExactBufferBytes + gpuActivationBytes + gpuReservedBytes
            + gpuHashTableBytes
    }
    public var cpuBytes: Double { cpuKVCacheBytes + cpuHashTableBytes + cpuKeyNormBytes + cpuWeightsBytes }
}

/// The cost model's answer for one configuration at one batch size.
public struct StepCost: Codable, Sendable, Hashable {
    /// Model instances the node runs with this plan (GPUs / tensor-parallel degree), each with
    /// `batch` sequences; 1 on a single GPU.
    public var replicas: Double = 1
    /// Sequences per instance.
    public var batch: Double
    public var terms: StepTerms
    /// GPU side and CPU side of one micro-batch when pipelined (else of the whole batch).
    public var gpuSideSeconds: Double
    public var cpuSideSeconds: Double
    public var schedule: Schedule
    public var stepSeconds: Double
    public var memory: MemoryBreakdown
    /// Fraction of the hashed span's keys that the CPU attends (nil unless LSH/TopK/Quest).
    public var sampledFraction: Double?
    /// Keys attended per query head per sparse layer (exact part included).
    public var keysPerQuery: Double
    /// Tokens per second of the whole node: replicas x batch / step.
    public var tokensPerSecond: Double { replicas * batch / stepSeconds }
}
