import Core

/// An engine's parameters with every default resolved for one machine and workload, so that no
/// term of the cost model decides a fallback: built once per model (`DecodeCostModel.init`).
public struct ResolvedEngine: Sendable, Hashable {
    /// The profile's parameters as given (kept for what the optimizer reads: micro-batching,
    /// sampling on the GPU).
    public let parameters: EngineParameters

    public let sampledAttentionBandwidthFraction: Double
    public let denseAttentionBandwidthFraction: Double
    public let gqaSharedReads: Bool
    public let retrievalSecondsPerTableWalk: Double
    public let retrievalSecondsPerCandidate: Double
    public let roundTripOverheadSecondsPerLayer: Double
    public let threadScalingEfficiency: Double
    public let computesExactPart: Bool
    public let parallelOverQueryHeads: Bool

    /// Who runs the CPU loops: the engine's compiled OpenMP team, or the plan's threads.
    public enum LoopTeam: Sendable, Hashable {
        case planThreads
        case compiled(threads: Int)
    }
    public let loopTeam: LoopTeam
    public let retrievalSchedule: CPUSchedule
    public let attentionSchedule: CPUSchedule
    /// Seconds one thread spends per gathered row, before thread scaling: the engine's measured
    /// figure, or row bytes / (one core's read x the sampled bandwidth fraction).
    public let sampledRowSecondsPerThread: Double
    public let sampledAttentionSecondsPerCall: Double
    /// Dense CPU attention: one thread's seconds per KV row (streaming it, whatever the group)
    /// and per KV row and query head (at this model's head dimension), before thread scaling;
    /// its schedule.
    public let denseRowSecondsPerThread: Double
    public let denseRowSecondsPerQueryHead: Double
    public let denseAttentionSchedule: CPUSchedule
    public let oversubscriptionWorkShare: Double
    public let memoryPlacement: MemoryPlacement
    public let memoryLatencyShare: Double
    /// Host dispatch per layer of an eager engine (0: none exposed).
    public let hostDispatchSecondsPerLayer: Double
    /// Host time per step outside the layers (0 without a GPU).
    public let hostSecondsPerStep: Double
    /// GPU launches per layer and step (0 without a GPU).
    public let gpuLaunchSecondsPerLayer: Double
    /// Share of GPU memory the engine lets itself use.
    public let gpuMemoryUtilization: Double
    /// Bytes of one token index in a hash table at this context.
    public let tableIndexBytes: Double
    /// Layers kept dense by default (the engine's list within the model, else the model's).
    public let mandatoryDenseLayers: Int

    /// Resolves `e` for `workload` on `hardware`; `perCoreReadBytesPerSecond` is what one core
    /// of that machine reads (calibrated or datasheet).
    public init(_ e: EngineParameters, hardware: Hardware, workload: Workload, perCoreReadBytesPerSecond: Double) {
        parameters = e
        sampledAttentionBandwidthFraction = e.sampledAttentionBandwidthFraction
        denseAttentionBandwidthFraction = e.denseAttentionBandwidthFraction
        gqaSharedReads = e.gqaSharedReads
        retrievalSecondsPerTableWalk = e.retrievalSecondsPerTableWalk
        retrievalSecondsPerCandidate = e.retrievalSecondsPerCandidate
        roundTripOverheadSecondsPerLayer = e.roundTripOverheadSecondsPerLayer
        threadScalingEfficiency = e.threadScalingEfficiency
        computesExactPart = e.computesExactPart
        parallelOverQueryHeads = e.parallelOverQueryHeads
        loopTeam = e.compiledThreads.map { .compiled(threads: $0) } ?? .planThreads
        retrievalSchedule = e.retrievalSchedule ?? .wholeUnits
        attentionSchedule = e.attentionSchedule ?? .pieces
        sampledRowSecondsPerThread = e.sampledRowSecondsPerThread
            ?? DecodeCostModel.sampledRowBytes(workload.model)
            / (perCoreReadBytesPerSecond * (e.sampledThreadReadFraction ?? e.sampledAttentionBandwidthFraction))
        sampledAttentionSecondsPerCall = e.sampledAttentionSecondsPerCall ?? 0
        denseRowSecondsPerThread = workload.model.kvBytesPerTokenPerLayer / Double(workload.model.kvHeadCount)
            / (perCoreReadBytesPerSecond * (e.denseThreadReadFraction ?? e.denseAttentionBandwidthFraction))
        denseRowSecondsPerQueryHead = Double(workload.model.headDim) * (e.denseSecondsPerQueryHeadElement ?? 0)
        denseAttentionSchedule = e.denseAttentionSchedule ?? e.attentionSchedule ?? .pieces
        oversubscriptionWorkShare = e.oversubscriptionWorkShare ?? 0
        memoryPlacement = e.memoryPlacement ?? (hardware.numaLocal ? .partitioned : .interleaved)
        memoryLatencyShare = e.memoryLatencyShare ?? 1
        hostDispatchSecondsPerLayer = hardware.gpu == nil ? 0 : max(0, e.hostDispatchSecondsPerLayer ?? 0)
        hostSecondsPerStep = hardware.gpu == nil ? 0 : e.hostSecondsPerStep ?? 0
        gpuLaunchSecondsPerLayer = hardware.gpu.map { e.gpuLaunchOverheadSecondsPerLayer ?? $0.launchOverheadSecondsPerLayer } ?? 0
        gpuMemoryUtilization = e.gpuMemoryUtilization ?? 1
        tableIndexBytes = e.tableIndexBytes ?? (workload.contextTokens <= 65_536 ? 2 : 4)
        let model = workload.model
        mandatoryDenseLayers = e.denseLayers.map { layers in Set(layers.filter { $0 >= 0 && $0 < model.layerCount }).count }
            ?? model.mandatoryDenseLayerCount
    }

    /// Threads of the CPU loops for a plan of `planThreads` threads.
    public func loopThreads(planThreads: Int) -> Int {
        switch loopTeam {
        case .planThreads: return planThreads
        case .compiled(let threads): return threads
        }
    }

    /// The engine's thread-scaling efficiency with more than one thread.
    public func scaling(_ threads: Int) -> Double { threads > 1 ? threadScalingEfficiency : 1 }
}
