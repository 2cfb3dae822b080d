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
    /// OpenMP threads compiled into the engine's CPU kernels (the reference hard-codes 64); nil:
    /// the plan's thread count. With fewer cores the threads time-share them, and each call
    /// pays `oversubscriptionSecondsPerCall` per extra thread per core.
    public var compiledThreads: Int?
    /// Cost of one call per unit of oversubscription (threads / cores - 1): threads descheduled
    /// at the loop's barriers, seconds.
    public var oversubscriptionSecondsPerCall: Double?
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
    /// How the parameters were derived.
    public var derivation: String
}
