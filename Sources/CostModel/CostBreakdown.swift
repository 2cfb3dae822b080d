import Core

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
    public var terms: StepTimes
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
