import Core
import Foundation

// The three places a decode step spends time, each built once per model from the machine, the
// engine (resolved) and the fitted calibration: the GPU (projections, hashing, attention of the
// layers whose KV lives in its memory, launches), the CPU (its read bandwidth and the loops of
// retrieval, sampled and dense attention; on a CPU-only machine also the projections and the
// rest of the step) and the link between them (copies). `DecodeCostModel` composes a step from
// them; what lives where is decided once per configuration (`KVHome`).

/// Where a configuration keeps the long span of its sparse (or CPU-attended) layers.
enum KVHome: Sendable {
    /// GPU memory: everything runs on the GPU.
    case gpu
    /// CPU memory behind a GPU: the CPU attends, copies and round trips connect the sides.
    case hostOfGPU
    /// A CPU-only machine: every term runs on its cores.
    case cpuOnly
}

/// One group of matrix products: a layer's projections or the LM head.
struct Projection {
    /// Products as the GPU calibration measures them (fused QKV and gate/up) and as the CPU
    /// executor runs them (one per matrix).
    var gpuCalls: Double, executorCalls: Double
    var bytes: Double, parameters: Double
    /// Output rows (each a new stream of weights).
    var rows: Double

    static func layer(_ s: ModelShape) -> Projection {
        Projection(gpuCalls: DecodeCostModel.projectionCallsPerLayer, executorCalls: DecodeCostModel.executorCallsPerLayer,
                   bytes: s.linearBytesPerLayer, parameters: s.linearParametersPerLayer, rows: s.projectionRowsPerLayer)
    }
    static func lmHead(_ s: ModelShape) -> Projection {
        Projection(gpuCalls: 1, executorCalls: 1, bytes: s.lmHeadBytes, parameters: s.embeddingParameters, rows: Double(s.vocabSize))
    }
}

/// The GPU's work: projections carried from the calibration's rows (or the roofline), hashing,
/// decode attention as thread blocks, gathers and page reads from HBM, launches.
struct GPUSide: Sendable {
    let gpu: GPUProfile
    /// Projections in this deployment's weight format, and the same in bf16 (the format the
    /// calibration's table was measured in).
    var linear: GPULinearTiming
    let linearBF16: GPULinearTiming
    let linearTable: PiecewiseLinear?
    let lmHeadTable: PiecewiseLinear?
    /// The calibration's reference shape (tables are carried from it), nil without tables.
    let reference: ModelShape?
    var attention: GPUAttentionTiming
    let launchSecondsPerLayer: Double

    init(gpu: GPUProfile, fits: FittedCalibration, engine: ResolvedEngine) {
        self.gpu = gpu
        linear = fits.gpuLinear ?? GPULinearTiming(gpu: gpu)
        linearBF16 = linear
        linearTable = fits.linearTable
        lmHeadTable = fits.lmHeadTable
        reference = fits.calibrationShape
        var attention = fits.gpuAttention ?? GPUAttentionTiming(gpu: gpu)
        if let splits = engine.parameters.gpuAttentionSplitsKV { attention.splitsKV = splits }
        self.attention = attention
        launchSecondsPerLayer = engine.gpuLaunchSecondsPerLayer
    }

    /// `GPULinearTiming` (calls x per call + max(bytes / BW, 2 B P / F)). With a calibration
    /// table of the reference shape, the table is exact for that shape and the unit model
    /// carries it to this one: table(B) x timing(this shape) / timing(reference shape), so a
    /// larger model does not scale the per-call cost by its bytes.
    func projectionSeconds(_ p: Projection, batch: Double, table: PiecewiseLinear?, reference: Projection?) -> Double {
        let own = linear.seconds(calls: p.gpuCalls, bytes: p.bytes, parameters: p.parameters, batch: batch)
        guard let table, let reference else { return own }
        let ref = linearBF16.seconds(calls: reference.gpuCalls, bytes: reference.bytes, parameters: reference.parameters, batch: batch)
        return ref > 0 ? table(batch) * own / ref : own
    }

    var matmulFlopsPerSecond: Double { gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops }

    /// One layer's query hashing: max(FLOPs / (FLOPS eff_mm), d K L x 2 bytes / BW).
    func hashingLayerSeconds(flops: Double, headDim: Int, kl: Double) -> Double {
        max(flops / matmulFlopsPerSecond, Double(headDim) * kl * 2 / gpu.memoryBandwidthBytesPerSecond)
    }

    /// The batch where hashing turns from reading the projections to multiply-adds.
    func hashingKnee(model: ModelShape, kl: Double) -> Double {
        let memory = Double(model.headDim) * kl * 2 / gpu.memoryBandwidthBytesPerSecond
        return memory / (2 * Double(model.queryHeadCount * model.headDim) * kl / matmulFlopsPerSecond)
    }

    /// One layer's decode attention over `tokens` per sequence (`GPUAttentionTiming`, blocks =
    /// B x H_kv).
    func attentionLayerSeconds(batch: Double, tokens: Double, model: ModelShape) -> Double {
        attention.seconds(batch: batch, tokens: tokens, kvHeads: Double(model.kvHeadCount), kvBytesPerToken: model.kvBytesPerTokenPerLayer)
    }

    /// Gathered rows from HBM: bytes / (BW x gather efficiency).
    func gatherSeconds(bytes: Double) -> Double { bytes / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.gatherBandwidth) }

    /// Contiguous page reads: bytes / (BW x attention efficiency).
    func streamSeconds(bytes: Double) -> Double { bytes / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.attentionBandwidth) }
}

/// The CPU's work: read bandwidth by threads and sockets, the engine's loops (retrieval, sampled
/// and dense attention), and on a CPU-only machine the projections and the rest of the step.
struct CPUSide: Sendable {
    let hardware: Hardware
    let engine: ResolvedEngine
    let model: ModelShape
    let perCoreReadBytesPerSecond: Double
    /// CPU-only executor calibration: per byte and per output row by batch.
    let linearTable: PiecewiseLinear?
    let linearRowTable: PiecewiseLinear?
    let linearStreamOneThread: PiecewiseLinear?
    let linearStreamAll: PiecewiseLinear?

    init(hardware: Hardware, engine: ResolvedEngine, model: ModelShape, fits: FittedCalibration) {
        self.hardware = hardware
        self.engine = engine
        self.model = model
        perCoreReadBytesPerSecond = Self.perCoreReadBytesPerSecond(hardware)
        linearTable = fits.cpuLinearTable
        linearRowTable = fits.cpuLinearRowTable
        linearStreamOneThread = fits.cpuLinearStreamOneThread
        linearStreamAll = fits.cpuLinearStreamAll
    }

    static func perCoreReadBytesPerSecond(_ hardware: Hardware) -> Double {
        hardware.calibration?.cpu?.readBytesPerSecondOneThread ?? hardware.cpu.perCoreReadBytesPerSecond
    }

    // MARK: Bandwidth

    /// DRAM bandwidth of `sockets` sockets as `fraction` of what they read: a socket gives its
    /// STREAM bandwidth (measured on a calibrated host) when its threads read local memory;
    /// interleaved pages make (s - 1) / s of the reads remote, at remoteFraction of local.
    func socketBandwidth(sockets: Int, fraction: Double) -> Double {
        let cpu = hardware.cpu
        var perSocket = cpu.dramBandwidthBytesPerSecondPerSocket * cpu.streamEfficiency
        if let measured = hardware.calibration?.cpu {
            let measuredSockets = max(1, min(hardware.sockets, Int((Double(measured.threads) / Double(cpu.coresPerSocket)).rounded(.up))))
            perSocket = measured.readBytesPerSecond / Double(measuredSockets)
        }
        // One GPU of a node shares its socket with the node's other GPUs on it.
        perSocket *= hardware.cpuBandwidthShare
        let s = Double(max(1, sockets))
        guard s > 1, engine.memoryPlacement == .interleaved else { return s * perSocket * fraction }
        let remote = cpu.remoteBandwidthFraction
        return s * perSocket / (1 / s + (s - 1) / (s * remote)) * fraction
    }

    /// min(threads x per-core x scaling, socket bandwidth) x fraction.
    func bandwidth(threads: Int, sockets: Int, fraction: Double) -> Double {
        min(Double(threads) * perCoreReadBytesPerSecond * engine.scaling(threads) * fraction, socketBandwidth(sockets: sockets, fraction: fraction))
    }

    /// Per-thread slowdown of the latency-bound share by remote reads: 1 + remote share x
    /// (remote latency factor - 1) x latency share, remote share (s - 1) / s when interleaved.
    func numaFactor(sockets: Int) -> Double {
        let s = Double(max(1, sockets))
        let remoteShare = engine.memoryPlacement == .interleaved ? (s - 1) / s : 0
        return 1 + remoteShare * (hardware.cpu.remoteLatencyFactor - 1) * engine.memoryLatencyShare
    }

    // MARK: Work units

    /// Work units per sequence: H_q (sequence, query head) units for engines that split by
    /// query head, else H_kv (sequence, KV head).
    var workUnitsPerSequence: Int { engine.parallelOverQueryHeads ? model.queryHeadCount : model.kvHeadCount }
    /// Query heads one unit serves.
    var headsPerUnit: Double { engine.parallelOverQueryHeads ? 1 : Double(model.groupSize) }

    // MARK: Loops

    /// The retrieval loop: the engine's schedule over its team on the plan's cores.
    func retrievalKernel(_ placement: Placement) -> CPUKernelTiming {
        CPUKernelTiming(threads: engine.loopThreads(planThreads: placement.cpuThreads), cores: placement.cpuThreads,
                        schedule: engine.retrievalSchedule, numaFactor: numaFactor(sockets: placement.cpuSockets),
                        oversubscriptionWorkShare: engine.oversubscriptionWorkShare)
    }

    /// The sampled-attention loop: the engine's schedule, its per-call cost, and DRAM bandwidth
    /// x the engine's sampled fraction as the cap.
    func sampledKernel(_ placement: Placement) -> CPUKernelTiming {
        CPUKernelTiming(threads: engine.loopThreads(planThreads: placement.cpuThreads), cores: placement.cpuThreads,
                        schedule: engine.attentionSchedule, secondsPerCall: engine.sampledAttentionSecondsPerCall,
                        numaFactor: numaFactor(sockets: placement.cpuSockets),
                        bandwidthCapBytesPerSecond: socketBandwidth(sockets: placement.cpuSockets,
                                                                    fraction: engine.sampledAttentionBandwidthFraction),
                        oversubscriptionWorkShare: engine.oversubscriptionWorkShare)
    }

    /// Dense attention (streams the cache): the engine's dense schedule, capped at DRAM
    /// bandwidth x the engine's dense fraction.
    func denseKernel(_ placement: Placement) -> CPUKernelTiming {
        CPUKernelTiming(threads: engine.loopThreads(planThreads: placement.cpuThreads), cores: placement.cpuThreads,
                        schedule: engine.denseAttentionSchedule, numaFactor: numaFactor(sockets: placement.cpuSockets),
                        bandwidthCapBytesPerSecond: socketBandwidth(sockets: placement.cpuSockets,
                                                                    fraction: engine.denseAttentionBandwidthFraction))
    }

    /// Retrieval of one sparse layer: kernel(B x units, one unit = heads per unit x (L walk +
    /// candidates x per candidate)) with one thread's costs over the engine's scaling.
    func retrievalLayerSeconds(_ placement: Placement, batch: Double, tables: Double, candidatesPerQuery: Double) -> Double {
        let perQuery = tables * engine.retrievalSecondsPerTableWalk + candidatesPerQuery * engine.retrievalSecondsPerCandidate
        let unit = headsPerUnit * perQuery / engine.scaling(placement.cpuThreads)
        return retrievalKernel(placement).seconds(units: batch * Double(workUnitsPerSequence), unitSeconds: unit)
    }

    /// Sampled attention of one sparse layer: kernel(B x units, one unit = its rows x one
    /// thread's cost per row), capped by `bytes` over the bandwidth cap.
    func sampledLayerSeconds(_ placement: Placement, batch: Double, rowsPerUnit: Double, bytes: Double) -> Double {
        let rowSeconds = engine.sampledRowSecondsPerThread / engine.scaling(placement.cpuThreads)
        return sampledKernel(placement).seconds(units: batch * Double(workUnitsPerSequence), unitSeconds: rowsPerUnit * rowSeconds, bytes: bytes)
    }

    /// One layer's dense attention over `tokens` per sequence: the dense loop over B x H_kv
    /// (sequence, KV head) units (every engine reads a KV row once for its group), one unit =
    /// tokens x (row + G x per query head) of one thread's time, capped by the KV bytes over the
    /// bandwidth cap. Without per-head figures the row is its bytes at one thread's dense rate.
    func denseLayerSeconds(_ placement: Placement, batch: Double, tokens: Double) -> Double {
        let bytes = batch * tokens * model.kvBytesPerTokenPerLayer
        let units = batch * Double(model.kvHeadCount)
        guard units > 0 else { return 0 }
        let row = (engine.denseRowSecondsPerThread + Double(model.groupSize) * engine.denseRowSecondsPerQueryHead)
            / engine.scaling(placement.cpuThreads)
        return denseKernel(placement).seconds(units: units, unitSeconds: tokens * row, bytes: bytes)
    }

    // MARK: CPU-only machine

    /// Projections on the CPU: with the executor's calibration, executor calls x per call +
    /// output rows x per row (scaled by the thread ratio) + bytes x per byte (scaled by the read
    /// bandwidth those threads reach); else max(bytes / (0.8 x bandwidth), 2 B P / FLOP/s).
    func projectionSeconds(_ p: Projection, batch: Double) -> Double {
        if let linearTable, let measured = hardware.calibration?.cpu {
            let perCall = hardware.threads == 1 ? measured.linearSecondsPerCallOneThread ?? measured.linearSecondsPerCall ?? 0
                : measured.linearSecondsPerCall ?? 0
            let bandwidthRatio = linearStreamRate(threads: measured.threads, batch: batch, measured)
                / linearStreamRate(threads: hardware.threads, batch: batch, measured)
            let rowRatio = Double(measured.threads) / Double(hardware.threads)
            let perRow = linearRowTable.map { max(0, $0(batch)) } ?? 0
            return p.executorCalls * perCall + p.rows * perRow * rowRatio + p.bytes * linearTable(batch) * bandwidthRatio
        }
        let memory = p.bytes / bandwidth(threads: hardware.threads, sockets: hardware.sockets, fraction: 0.8)
        let compute = 2 * batch * p.parameters / (Double(hardware.threads) * hardware.cpu.flopsPerSecondPerCore)
        return max(memory, compute)
    }

    /// Weight bytes per second the executor's product streams with `threads` at `batch`: with
    /// the measured one-thread rate r1 and all-thread rate rT (T threads) at that batch
    /// (interpolated), min(threads x r1, C), where C is rT when T threads already fell short of
    /// T x r1 (something they share binds) and otherwise the memory's read bandwidth; without
    /// them, the read bandwidth those threads reach.
    func linearStreamRate(threads: Int, batch: Double, _ measured: CPUKernelCosts) -> Double {
        guard let oneTable = linearStreamOneThread, let allTable = linearStreamAll else {
            return bandwidth(threads: threads, sockets: hardware.sockets, fraction: 1)
        }
        let one = oneTable(batch), all = allTable(batch)
        guard one > 0, all > 0 else { return bandwidth(threads: threads, sockets: hardware.sockets, fraction: 1) }
        let shared = all < 0.95 * Double(measured.threads) * one ? all : socketBandwidth(sockets: hardware.sockets, fraction: 1)
        return min(Double(threads) * one, max(shared, one))
    }

    /// Multiply-adds on all the machine's cores.
    func computeSeconds(flops: Double) -> Double { flops / (Double(hardware.threads) * hardware.cpu.flopsPerSecondPerCore) }

    /// The rest of a CPU-only step (embedding, norms, RoPE, KV stores, residuals, argmax) at its
    /// calibrated cost: per element of the step's vector work, or per layer and sequence.
    func remainderSeconds(batch: Double) -> Double {
        guard let costs = hardware.calibration?.cpu else { return 0 }
        if let perElement = costs.otherSecondsPerElement { return batch * model.otherElementsPerSequence * perElement }
        if let other = costs.otherSecondsPerLayerPerSequence { return Double(model.layerCount) * batch * other }
        return 0
    }
}

/// The link between host and GPU: the calibration's copy tables, else latency + bytes /
/// practical bandwidth of the link profile.
struct LinkSide: Sendable {
    let link: HostLink?
    let hostToDevice: PiecewiseLinear?
    let deviceToHost: PiecewiseLinear?

    init(link: HostLink?, fits: FittedCalibration) {
        self.link = link
        hostToDevice = fits.hostToDevice
        deviceToHost = fits.deviceToHost
    }

    func copySeconds(bytes: Double, toDevice: Bool) -> Double {
        if let table = toDevice ? hostToDevice : deviceToHost { return table(bytes) }
        guard let link else { return 0 }
        return link.latencySeconds + bytes / link.practicalBandwidthBytesPerSecond
    }

    /// Bytes per second of bulk copies (prefill's KV).
    var bulkBytesPerSecond: Double { link?.practicalBandwidthBytesPerSecond ?? .infinity }
}
