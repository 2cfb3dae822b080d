/// The CPU <-> GPU link: what one small copy costs (latency) and what a large one streams at.
public struct HostLink: Codable, Sendable, Hashable {
    /// PCIe generation (4, 5, ...).
    public var generation: Int
    /// Lanes (16 for a full slot).
    public var lanes: Int
    /// Sustained bytes per second per direction for large pinned copies.
    public var practicalBandwidthBytesPerSecond: Double
    /// Fixed cost of one copy (launch + DMA setup), seconds.
    public var latencySeconds: Double
    public init(generation: Int, lanes: Int, practicalBandwidthBytesPerSecond: Double, latencySeconds: Double) {
        self.generation = generation
        self.lanes = lanes
        self.practicalBandwidthBytesPerSecond = practicalBandwidthBytesPerSecond
        self.latencySeconds = latencySeconds
    }
}

/// Fractions of a GPU's peaks that its kernels reach (measured or fitted, never datasheet).
public struct GPUEfficiency: Codable, Sendable, Hashable {
    /// Decode GEMV/GEMM over weights: fraction of memory bandwidth.
    public var linearBandwidth: Double
    /// Fraction of dense bf16 FLOP/s reached by the projections once compute-bound.
    public var matmulFlops: Double
    /// Decode attention over a contiguous KV cache: fraction of memory bandwidth.
    public var attentionBandwidth: Double
    /// Scattered row gathers (sampled attention on the GPU): fraction of memory bandwidth.
    public var gatherBandwidth: Double
    public init(linearBandwidth: Double, matmulFlops: Double, attentionBandwidth: Double, gatherBandwidth: Double) {
        self.linearBandwidth = linearBandwidth
        self.matmulFlops = matmulFlops
        self.attentionBandwidth = attentionBandwidth
        self.gatherBandwidth = gatherBandwidth
    }
}

public struct GPUProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var name: String
    public var displayName: String
    /// Device memory, bytes (datasheet).
    public var memoryBytes: Double
    /// Peak memory bandwidth, bytes/s (datasheet).
    public var memoryBandwidthBytesPerSecond: Double
    /// Dense (not "with sparsity") bf16 tensor FLOP/s (datasheet).
    public var denseBF16FlopsPerSecond: Double
    public var link: HostLink
    public var efficiency: GPUEfficiency
    /// Fixed GPU cost per layer and decode step for launching its kernels, seconds.
    public var launchOverheadSecondsPerLayer: Double
    /// What one thread block of a decode-attention kernel that does not split the KV streams,
    /// bytes/s: the misses one SM keeps in flight over DRAM latency (Little's law), so it varies
    /// little between GPUs; the blocks (batch x KV heads) together stay under the bandwidth.
    public var attentionBlockBytesPerSecond: Double
    /// Memory held back from the planner (CUDA context, allocator slack, workspace), bytes.
    public var reservedBytes: Double
    /// The CPU profile paired with this GPU when `--hw` names the GPU alone.
    public var defaultHost: String
    /// Dense fp8 tensor FLOP/s (datasheet), for GPUs with fp8 tensor cores (Ada, Hopper).
    public var denseFP8FlopsPerSecond: Double?
    /// What each weight format's decode kernels reach on this GPU relative to bf16, replacing
    /// `WeightFormat.defaultEfficiency` (keys bf16, fp8, int8, int4).
    public var weightFormatEfficiency: [String: WeightFormatEfficiency]?
    /// Where the figures come from.
    public var source: String
}

public struct CPUProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var name: String
    public var displayName: String
    public var coresPerSocket: Int
    /// Sockets such hosts are sold with, at most.
    public var maxSockets: Int
    /// Theoretical DRAM bandwidth of one socket, bytes/s (channels x rate x 8 bytes).
    public var dramBandwidthBytesPerSecondPerSocket: Double
    /// Sustained (STREAM-like) fraction of the theoretical bandwidth.
    public var streamEfficiency: Double
    /// What one core alone can read, bytes/s (bounds bandwidth at low thread counts).
    public var perCoreReadBytesPerSecond: Double
    /// Bandwidth of reads from the other socket's memory, as a fraction of local.
    public var remoteBandwidthFraction: Double
    /// Latency of a read from the other socket's memory over a local one (applies to the
    /// latency-bound share of CPU kernels that read remote pages).
    public var remoteLatencyFactor: Double = 1.6
    /// DRAM a typical host of this kind carries per socket, bytes.
    public var defaultMemoryBytesPerSocket: Double
    /// Dense fp32 FLOP/s of one core (FMA units x width x clock), for CPU-side arithmetic.
    public var flopsPerSecondPerCore: Double
    public var vectorISA: [String]
    public var source: String
}

/// A GPU, a host CPU and how many of its sockets and cores pigplan may use.
public struct SystemProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var name: String
    public var displayName: String
    /// GPU profile name; nil for a CPU-only system (the local calibrated machine).
    public var gpu: String?
    /// CPU profile name.
    public var cpu: String
    public var sockets: Int
    /// Cores used for CPU attention; nil means every core of the used sockets.
    public var threads: Int?
    /// Host memory, bytes; nil means sockets x the CPU's default.
    public var cpuMemoryBytes: Double?
    /// Each socket's threads read their own NUMA node's memory (data partitioned by socket).
    public var numaLocal: Bool?
    /// Replaces the GPU's default link (e.g. a measured one).
    public var link: HostLink?
    /// Measured kernel timings; when present they replace the roofline terms they cover.
    public var calibration: Calibration?
    public var note: String?
    /// GPUs in the node, all of profile `gpu`; nil means 1.
    public var gpuCount: Int?
    /// How the GPUs reach each other (required with more than one).
    public var interconnect: GPUInterconnect?
    /// The socket (0-based) each GPU's PCIe link hangs off, one entry per GPU; nil spreads them
    /// evenly, the first half on socket 0.
    public var gpuSockets: [Int]?
}
