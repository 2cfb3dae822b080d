import Foundation

/// How efficiently a runtime's kernels and orchestration use the hardware (Profiles/engines/).
/// `pigplan` is this project's executor; `magicpig` the reference implementation.
public struct EngineParameters: Codable, Sendable, Hashable {
    /// Sampled attention: fraction of the CPU read bandwidth reached over the bytes it touches.
    public var sampledAttentionBandwidthFraction: Double
    /// Dense CPU attention: fraction of the CPU read bandwidth reached.
    public var denseAttentionBandwidthFraction: Double
    /// A GQA group reads each gathered K/V row once (true) or once per query head (false).
    public var gqaSharedReads: Bool
    /// Retrieval: cost of walking one table's bucket for one query head (fixed part), seconds.
    public var retrievalSecondsPerTableWalk: Double
    /// Retrieval: cost per candidate index read and counted, seconds (one thread).
    public var retrievalSecondsPerCandidate: Double
    /// Per sparse layer and step: copies, synchronisation and launches around the CPU part, seconds.
    public var roundTripOverheadSecondsPerLayer: Double
    /// Parallel efficiency of the CPU kernels when all threads run (1 = perfect scaling).
    public var threadScalingEfficiency: Double
    /// The engine attends the exact part (sinks, local window, generated tokens).
    public var computesExactPart: Bool
    /// CPU work is split over (sequence, query head) units (true) or (sequence, KV head) units.
    public var parallelOverQueryHeads: Bool
    /// The engine can keep the hashed layers' KV and tables in GPU memory and sample there; when
    /// false, LSH plans keep them in CPU memory (as MagicPIG's design does).
    public var samplesOnGPU: Bool
    /// The engine can split a batch into two micro-batches and overlap CPU and GPU work.
    public var pipelinesMicroBatches: Bool
    /// GPU launch cost per layer and step under this engine (e.g. lower with CUDA graphs);
    /// nil uses the GPU profile's `launchOverheadSecondsPerLayer`.
    public var gpuLaunchOverheadSecondsPerLayer: Double?

    // Work x units x schedule (see CostModel/KernelTimings.swift). Absent keys keep the
    // bandwidth-fraction description above.

    /// How the CPU retrieval loop hands its units to threads; nil: whole units (one thread each).
    public var retrievalSchedule: CPUSchedule?
    /// How the CPU sampled (and dense) attention hands its units to threads; nil: pieces (every
    /// unit cut so that all threads share it).
    public var attentionSchedule: CPUSchedule?
    /// Sampled attention: seconds one thread spends per gathered row (K and V of one key for one
    /// work unit's query heads: the countable work); nil derives it from the bandwidth fraction:
    /// row bytes / (one core's read bandwidth x sampledAttentionBandwidthFraction).
    public var sampledRowSecondsPerThread: Double?
    /// Sampled attention: fixed cost of one call (per sparse layer and step), seconds.
    public var sampledAttentionSecondsPerCall: Double?
    /// Sampled and dense CPU attention: what one thread of the kernel reaches, as a fraction of
    /// one core's read bandwidth over the bytes it touches (measured apart from the all-thread
    /// cap by `pigplan calibrate`); nil: the kernel's bandwidth fraction, one number for both.
    public var sampledThreadReadFraction: Double?
    public var denseThreadReadFraction: Double?
    /// Dense CPU attention: seconds one thread spends per KV row, per query head of the group and
    /// per head dimension (the dot product, its softmax share and the weighted V sum), on top of
    /// streaming the row (`denseThreadReadFraction`); nil: 0 (the row's cost does not grow with
    /// the group).
    public var denseSecondsPerQueryHeadElement: Double?
    /// How the dense CPU attention hands its (sequence, KV head) units to threads; nil: as
    /// `attentionSchedule`.
    public var denseAttentionSchedule: CPUSchedule?
    /// OpenMP threads compiled into the engine's CPU kernels (the reference hard-codes 64); nil:
    /// the plan's thread count. With fewer cores the threads time-share them (OpenMP creates the
    /// team at the size asked whatever the cores), and their work is stretched by
    /// `oversubscriptionWorkShare` per extra thread per core.
    public var compiledThreads: Int?
    /// Extra work per unit of oversubscription (threads / cores - 1): threads that take turns on a
    /// core evict each other's cached rows and bucket lists, so a loop's work (not its fixed
    /// cost) grows by this share for each extra thread per core; nil: 0.
    public var oversubscriptionWorkShare: Double?
    /// Host-side dispatch per layer and step (eager kernel launches, a synchronisation), seconds.
    /// It runs alongside the GPU's work, so a layer takes the larger of the two.
    public var hostDispatchSecondsPerLayer: Double?
    /// The engine's GPU decode attention splits each sequence's KV over several thread blocks
    /// (flash-decoding), so even one sequence streams at the bandwidth cap; nil: as the GPU
    /// calibration's kernel was measured (or true without a calibration).
    public var gpuAttentionSplitsKV: Bool?
    /// Where the engine's CPU-side KV cache and tables live relative to the threads reading them;
    /// nil: partitioned by socket when the system is NUMA-local, else interleaved.
    public var memoryPlacement: MemoryPlacement?
    /// Share of the CPU kernels' per-thread time spent waiting on DRAM (what remote reads slow
    /// down); nil: 1.
    public var memoryLatencyShare: Double?
    /// Layers the runtime keeps dense by default, where the model has them (the MagicPIG
    /// reference's system code: 0, 16, 32, 48, 64); nil: the model profile's.
    public var denseLayers: [Int]?
    /// Share of GPU memory the engine lets itself use (vLLM's `gpu_memory_utilization`); the rest
    /// is held back, or the GPU profile's reserved bytes when those are more; nil: the profile's.
    public var gpuMemoryUtilization: Double?
    /// Bytes of one token index in a hash table; nil: int16 while the context fits 65536 tokens,
    /// else int32 (what the paper's Table 8 counts).
    public var tableIndexBytes: Double?
    /// Host time per decode step outside the layers (a serving engine's scheduler, input
    /// preparation, sampling and output processing), seconds, on systems with a GPU; nil: 0.
    public var hostSecondsPerStep: Double?

    public init(sampledAttentionBandwidthFraction: Double, denseAttentionBandwidthFraction: Double,
                gqaSharedReads: Bool, retrievalSecondsPerTableWalk: Double, retrievalSecondsPerCandidate: Double,
                roundTripOverheadSecondsPerLayer: Double, threadScalingEfficiency: Double, computesExactPart: Bool,
                parallelOverQueryHeads: Bool = false, samplesOnGPU: Bool = false,
                pipelinesMicroBatches: Bool = true, gpuLaunchOverheadSecondsPerLayer: Double? = nil) {
        self.sampledAttentionBandwidthFraction = sampledAttentionBandwidthFraction
        self.denseAttentionBandwidthFraction = denseAttentionBandwidthFraction
        self.gqaSharedReads = gqaSharedReads
        self.retrievalSecondsPerTableWalk = retrievalSecondsPerTableWalk
        self.retrievalSecondsPerCandidate = retrievalSecondsPerCandidate
        self.roundTripOverheadSecondsPerLayer = roundTripOverheadSecondsPerLayer
        self.threadScalingEfficiency = threadScalingEfficiency
        self.computesExactPart = computesExactPart
        self.parallelOverQueryHeads = parallelOverQueryHeads
        self.samplesOnGPU = samplesOnGPU
        self.pipelinesMicroBatches = pipelinesMicroBatches
        self.gpuLaunchOverheadSecondsPerLayer = gpuLaunchOverheadSecondsPerLayer
    }
}

/// How a CPU kernel's loop gives its work units (a (sequence, head) each) to threads.
public enum CPUSchedule: String, Codable, Sendable, Hashable, CaseIterable {
    /// Every unit is cut into pieces handed out to all threads: the kernel takes units / threads
    /// units' time whatever the count (the pigplan executor's attention).
    case pieces
    /// One thread runs a whole unit: threads beyond the units idle, and the last round is as long
    /// as a full one: ceil(units / threads) units' time (OpenMP static or dynamic, chunk 1).
    case wholeUnits
    /// Whole units, except that when the units are exactly half the threads each unit is split
    /// over two threads (the MagicPIG reference's 32-heads-on-64-threads path).
    case wholeUnitsPairSplit
}

/// Where CPU-side data sits relative to the threads that read it.
public enum MemoryPlacement: String, Codable, Sendable, Hashable, CaseIterable {
    /// Each socket's threads read their own node's memory (data partitioned by socket).
    case partitioned
    /// Pages spread evenly over the nodes in use: (s - 1) / s of every thread's reads are remote.
    case interleaved
}

public struct EngineProfile: Codable, Sendable, Hashable {
    public var schemaVersion: Int
    public var name: String
    public var displayName: String
    public var parameters: EngineParameters
    /// The kinds of plan this runtime runs (a serving engine: GPU-only full attention).
    public var kinds: [PlanKind]
    /// `pigplan calibrate` fits this engine's parameters on the host (they replace the profile's
    /// where the system has a calibration).
    public var fittedByCalibration: Bool
    /// Runs only in this package's executor (`pigplan run`), not as a server.
    public var runsLocally: Bool
    /// How the parameters were derived.
    public var derivation: String

    public func runs(_ kind: PlanKind) -> Bool { kinds.contains(kind) }
}
