import Core
import Foundation

/// Predicts one decode step and the memory of a configuration, term by term.
///
/// Notation: B batch, n context tokens per sequence, g generated tokens (a step sees g/2 on
/// average), h hidden, d head dim, H_q / H_kv heads, G = H_q / H_kv, S sparse (hashed) layers,
/// D layers attended densely on the GPU, e = exact tokens = 4 sinks + 64 local + g/2,
/// f sampled fraction, kv = K and V bytes of one token in one layer = 2 H_kv d x 2 bytes.
/// Every function is pure; batch is a real number so the optimizer can read off slopes.
public struct DecodeCostModel: Sendable {
    public var hardware: Hardware
    public var workload: Workload
    public var engine: EngineParameters
    public var fractions: SampledFractionModel
    /// The model shape the calibration tables were measured with; GPU tables are scaled by the
    /// ratio of bytes moved (this model's over the reference's).
    public var calibrationShape: ModelShape?

    public init(hardware: Hardware, workload: Workload, engine: EngineParameters, fractions: SampledFractionModel,
                calibrationShape: ModelShape? = nil) {
        self.hardware = hardware
        self.workload = workload
        self.engine = engine
        self.fractions = fractions
        self.calibrationShape = calibrationShape
        mandatoryDenseLayers = engine.denseLayers.map { layers in Set(layers.filter { $0 >= 0 && $0 < workload.model.layerCount }).count }
            ?? workload.model.mandatoryDenseLayerCount
        if let gpu = hardware.gpu {
            let roofline = GPULinearTiming(gpu: gpu)
            gpuLinear = roofline
            let reference = calibrationShape ?? workload.model
            if let rows = hardware.calibration?.gpuLinearLayers, !rows.isEmpty, calibrationShape != nil {
                linearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.layerSeconds) }, nondecreasing: true)
                lmHeadTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.lmHeadSeconds) }, nondecreasing: true)
                gpuLinear = GPULinearTiming.fit(
                    rows: rows, callsPerLayer: Self.projectionCallsPerLayer, layerBytes: reference.linearBytesPerLayer,
                    layerParameters: reference.linearParametersPerLayer, lmHeadBytes: reference.lmHeadBytes,
                    lmHeadParameters: reference.embeddingParameters, fallback: roofline)
            }
            let attentionRoofline = GPUAttentionTiming(gpu: gpu)
            var attention = attentionRoofline
            if let rows = hardware.calibration?.gpuDecodeAttention, !rows.isEmpty {
                attention = GPUAttentionTiming.fit(
                    rows: rows, kvHeads: Double(reference.kvHeadCount), kvBytesPerToken: reference.kvBytesPerTokenPerLayer,
                    splitsKV: hardware.calibration?.gpuDecodeAttentionSplitsKV ?? false, fallback: attentionRoofline)
            }
            if let splits = engine.gpuAttentionSplitsKV { attention.splitsKV = splits }
            gpuAttention = attention
            gpuLinearBF16 = gpuLinear
        }
        if let rows = hardware.calibration?.pcie, !rows.isEmpty {
            hostToDevice = PiecewiseLinear(points: rows.map { ($0.bytes, $0.hostToDeviceSeconds) }, nondecreasing: true)
            deviceToHost = PiecewiseLinear(points: rows.map { ($0.bytes, $0.deviceToHostSeconds) }, nondecreasing: true)
        }
        if let rows = hardware.calibration?.cpu?.linearLayers, !rows.isEmpty {
            cpuLinearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.secondsPerByte) }, nondecreasing: true)
            let perRow = rows.compactMap { r in r.secondsPerRow.map { (Double(r.batch), $0) } }
            if !perRow.isEmpty { cpuLinearRowTable = PiecewiseLinear(points: perRow, clampAbove: true) }
        }
    }

    /// Matrix products per layer at decode: fused QKV, O, fused gate/up, down (as the GPU
    /// calibration measures them).
    public static let projectionCallsPerLayer = 4.0
    /// Matrix products per layer in the CPU executor (q, k, v, o, gate, up, down).
    public static let executorCallsPerLayer = 7.0

    /// Sampled fraction and per-table collision probability per (K, L), filled by `precompute`
    /// so the optimizer's many evaluations do not repeat the bisection.
    var lshCache: [LSHParameters: LSHStatistics] = [:]
    /// Models of other deployments, built by `prepare(_:)`.
    var variants: [Deployment: DecodeCostModel] = [:]

    public struct LSHStatistics: Sendable, Hashable {
        public var fraction: Double
        public var tableCollision: Double
    }

    public func lshStatistics(_ lsh: LSHParameters) -> LSHStatistics {
        if let cached = lshCache[lsh] { return cached }
        return LSHStatistics(fraction: fractions.fraction(lsh), tableCollision: fractions.tableCollision(lsh))
    }

    /// Computes the LSH statistics of `parameters` once.
    public mutating func precompute(_ parameters: [LSHParameters]) {
        for p in parameters where lshCache[p] == nil { lshCache[p] = lshStatistics(p) }
    }

    var linearTable: PiecewiseLinear?
    /// The model's dense layers (counted once: `denseLayerCount` runs in every evaluation).
    var mandatoryDenseLayers = 0
    var lmHeadTable: PiecewiseLinear?
    /// GPU projections: fitted to the calibration's rows (per call, bandwidth, matmul rate), or
    /// the GPU profile's roofline.
    public internal(set) var gpuLinear: GPULinearTiming?
    /// The same before a weight format's efficiency is applied: the calibration table's shape
    /// is bf16, so the table is carried to this model through this timing (`projectionSeconds`).
    var gpuLinearBF16: GPULinearTiming?
    /// Tensor parallelism and weight storage this model predicts (`deployed(_:)` makes one per
    /// deployment from the whole machine's model).
    public internal(set) var deployment = Deployment()
    /// GPU decode attention: thread blocks over the SMs, fitted to the calibration's rows, or the
    /// roofline.
    public internal(set) var gpuAttention: GPUAttentionTiming?
    var hostToDevice: PiecewiseLinear?
    var deviceToHost: PiecewiseLinear?
    var cpuLinearTable: PiecewiseLinear?
    var cpuLinearRowTable: PiecewiseLinear?

    var model: ModelShape { workload.model }
    var n: Double { Double(workload.contextTokens) }
    /// e = 4 + 64 + g/2: tokens attended exactly in every sparse layer.
    var exactTokens: Double {
        Double(ExactTokens.sinkCount + ExactTokens.localWindow) + Double(workload.generatedTokens) / 2
    }
    /// Keys in the hashed span: n - 4 - 64.
    var hashedTokens: Double { max(0, n - Double(ExactTokens.sinkCount + ExactTokens.localWindow)) }

    // MARK: - Layers

    /// The layers attended densely on the GPU: the model's mandatory dense layers plus the
    /// first `extra` others (LSH), or all layers (dense attention with the KV cache on the GPU).
    public func denseLayerCount(_ config: DecodeConfiguration) -> Int {
        switch config.attention {
        case .dense: return config.placement.kvDevice == .gpu && hardware.gpu != nil ? model.layerCount : 0
        case .lshSampled, .topK, .quest:
            return min(model.layerCount, mandatoryDenseLayers + config.placement.extraDenseLayers)
        }
    }
    /// S: layers whose long span is sampled (LSH/TopK/Quest) or attended on the CPU (dense, KV in CPU).
    public func sparseLayerCount(_ config: DecodeConfiguration) -> Int {
        model.layerCount - denseLayerCount(config)
    }

    // MARK: - Linear layers

    /// One group of matrix products: a layer's projections or the LM head.
    struct Projection {
        /// Products as the GPU calibration measures them (fused QKV and gate/up) and as the CPU
        /// executor runs them (one per matrix).
        var gpuCalls: Double, executorCalls: Double
        var bytes: Double, parameters: Double
        /// Output rows (each a new stream of weights).
        var rows: Double

        static func layer(_ s: ModelShape) -> Projection {
            Projection(gpuCalls: projectionCallsPerLayer, executorCalls: executorCallsPerLayer, bytes: s.linearBytesPerLayer,
                       parameters: s.linearParametersPerLayer, rows: s.projectionRowsPerLayer)
        }
        static func lmHead(_ s: ModelShape) -> Projection {
            Projection(gpuCalls: 1, executorCalls: 1, bytes: s.lmHeadBytes, parameters: s.embeddingParameters, rows: Double(s.vocabSize))
        }
    }

    /// Linear layers of all blocks: layers x one layer's projections (`projectionSeconds`).
    public func linearLayersSeconds(batch: Double) -> Double {
        Double(model.layerCount) * projectionSeconds(.layer(model), batch: batch, table: linearTable,
                                                     reference: calibrationShape.map(Projection.layer))
    }

    /// LM head: one V x h product by the same rule (table column `lmHeadSeconds`).
    public func lmHeadSeconds(batch: Double) -> Double {
        projectionSeconds(.lmHead(model), batch: batch, table: lmHeadTable, reference: calibrationShape.map(Projection.lmHead))
    }

    /// On a GPU, `GPULinearTiming` (calls x per call + max(bytes / BW, 2 B P / F)). With a
    /// calibration table of the reference shape, the table is exact for that shape and the unit
    /// model carries it to this one: table(B) x timing(this shape) / timing(reference shape), so a
    /// larger model does not scale the per-call cost by its bytes.
    /// CPU-only: executor calls x per call + W x secondsPerByte(B) (calibrated) or the CPU roofline.
    func projectionSeconds(_ p: Projection, batch: Double, table: PiecewiseLinear?, reference: Projection?) -> Double {
        if let timing = gpuLinear {
            let own = timing.seconds(calls: p.gpuCalls, bytes: p.bytes, parameters: p.parameters, batch: batch)
            if let table, let reference {
                let bf16 = gpuLinearBF16 ?? timing
                let ref = bf16.seconds(calls: reference.gpuCalls, bytes: reference.bytes, parameters: reference.parameters, batch: batch)
                return ref > 0 ? table(batch) * own / ref : own
            }
            return own
        }
        if let cpuLinearTable, let measured = hardware.calibration?.cpu {
            // The executor runs each projection (q, k, v, o, gate, up, down) as its own product:
            // per call, per output row (a new weight stream) and per byte, measured with the
            // calibration's threads; with other threads the bytes scale by the read bandwidth those
            // threads reach and the rows by the thread count.
            let perCall = measured.linearSecondsPerCall ?? 0
            let bandwidthRatio = cpuBandwidth(threads: measured.threads, sockets: hardware.sockets, fraction: 1)
                / cpuBandwidth(threads: hardware.threads, sockets: hardware.sockets, fraction: 1)
            let rowRatio = Double(measured.threads) / Double(hardware.threads)
            let perRow = cpuLinearRowTable.map { max(0, $0(batch)) } ?? 0
            return p.executorCalls * perCall + p.rows * perRow * rowRatio + p.bytes * cpuLinearTable(batch) * bandwidthRatio
        }
        let memory = p.bytes / cpuBandwidth(threads: hardware.threads, sockets: hardware.sockets, fraction: 0.8)
        let compute = 2 * batch * p.parameters / (Double(hardware.threads) * hardware.cpu.flopsPerSecondPerCore)
        return max(memory, compute)
    }

    // MARK: - Hashing

    /// Query hashing: S layers x max(2 B H_q d K L / (FLOPS eff_mm), d K L x 2 bytes / BW) on the
    /// GPU; on a CPU-only system 2 B H_q d K L / (threads x core FLOP/s).
    public func hashingSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard let lsh = config.attention.lsh else { return 0 }
        let kl = Double(lsh.hashBitsPerTable * lsh.tableCount)
        let flops = 2 * batch * Double(model.queryHeadCount * model.headDim) * kl
        let s = Double(sparseLayerCount(config))
        if let gpu = hardware.gpu {
            let compute = flops / (gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops)
            let memory = Double(model.headDim) * kl * 2 / gpu.memoryBandwidthBytesPerSecond
            return s * max(compute, memory)
        }
        return s * flops / (Double(hardware.threads) * hardware.cpu.flopsPerSecondPerCore)
    }

    // MARK: - GPU attention

    /// One layer's decode attention on the GPU over `tokens` per sequence: `GPUAttentionTiming`
    /// with blocks = B x H_kv (fitted per-block rate and bandwidth cap when calibrated, so an
    /// MHA model's 32 KV heads fill four times as many SMs as 8; the roofline otherwise).
    public func gpuAttentionLayerSeconds(batch: Double, tokens: Double) -> Double {
        guard let gpuAttention else { return 0 }
        return gpuAttention.seconds(batch: batch, tokens: tokens, kvHeads: Double(model.kvHeadCount),
                                    kvBytesPerToken: model.kvBytesPerTokenPerLayer)
    }

    /// Dense layers on the GPU: D x attention(B, n + g/2).
    public func gpuAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        Double(denseLayerCount(config))
            * gpuAttentionLayerSeconds(batch: batch, tokens: n + Double(workload.generatedTokens) / 2)
    }

    /// Exact part of the sparse layers: S x attention(B, e) on the GPU (or the CPU without one).
    /// Zero when the engine omits it.
    public func exactPartSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard config.attention != .dense, engine.computesExactPart else { return 0 }
        let s = Double(sparseLayerCount(config))
        if hardware.gpu != nil { return s * gpuAttentionLayerSeconds(batch: batch, tokens: exactTokens) }
        return s * cpuDenseLayerSeconds(config, batch: batch, tokens: exactTokens)
    }

    // MARK: - Transfers

    /// Bytes sent to the CPU per sparse layer and sequence: the query (H_q d x 2 bytes) and, for
    /// LSH, its codes (H_q L x 2 bytes).
    public func hostBoundBytesPerSequence(_ config: DecodeConfiguration) -> Double {
        let codes = config.attention.lsh.map { Double(model.queryHeadCount * $0.tableCount) * 2 } ?? 0
        return Double(model.queryHeadCount * model.headDim) * 2 + codes
    }
    /// Bytes returned per sparse layer and sequence: partial output (H_q d x 2) and log-sum-exp (H_q x 4).
    public func deviceBoundBytesPerSequence() -> Double {
        Double(model.queryHeadCount * model.headDim) * 2 + Double(model.queryHeadCount) * 4
    }

    /// CPU <-> GPU copies for layers attended on the CPU: S x (copy_D2H(B x host-bound bytes:
    /// the query and its codes) + copy_H2D(B x device-bound bytes: partial output and
    /// log-sum-exp)); calibrated copies interpolate the measured table, otherwise each copy
    /// costs latency + bytes / practical bandwidth.
    public func transferSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard hardware.gpu != nil, config.placement.kvDevice == .cpu else { return 0 }
        let s = Double(sparseLayerCount(config))
        let up = batch * hostBoundBytesPerSequence(config)
        let down = batch * deviceBoundBytesPerSequence()
        return s * (copySeconds(bytes: up, toDevice: false) + copySeconds(bytes: down, toDevice: true))
    }

    func copySeconds(bytes: Double, toDevice: Bool) -> Double {
        if let table = toDevice ? hostToDevice : deviceToHost { return table(bytes) }
        guard let link = hardware.link else { return 0 }
        return link.latencySeconds + bytes / link.practicalBandwidthBytesPerSecond
    }

    /// Fixed per-step costs: GPU launches (layers x launch, the engine's figure when it has one,
    /// else the GPU profile's) and the engine's CPU round trip
    /// (S x roundTrip) for layers attended on the CPU.
    /// On a CPU-only machine: layers x B x the calibrated per-layer, per-sequence remainder
    /// (embedding, norms, RoPE, KV stores).
    public func overheadSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        var seconds = 0.0
        if hardware.gpu == nil, let costs = hardware.calibration?.cpu {
            if let perElement = costs.otherSecondsPerElement {
                seconds += batch * model.otherElementsPerSequence * perElement
            } else if let other = costs.otherSecondsPerLayerPerSequence {
                seconds += Double(model.layerCount) * batch * other
            }
        }
        if hardware.gpu != nil {
            seconds += Double(model.layerCount) * launchSecondsPerLayer + (engine.hostSecondsPerStep ?? 0)
        }
        if hardware.gpu != nil, config.placement.kvDevice == .cpu {
            seconds += Double(sparseLayerCount(config)) * engine.roundTripOverheadSecondsPerLayer
        }
        return seconds
    }

    var launchSecondsPerLayer: Double {
        guard let gpu = hardware.gpu else { return 0 }
        return engine.gpuLaunchOverheadSecondsPerLayer ?? gpu.launchOverheadSecondsPerLayer
    }

    /// Host dispatch that the GPU's work does not hide: an eager engine issues each layer's
    /// launches (D seconds) while the GPU runs the previous ones, so a layer takes
    /// max(D, its GPU work); this term is the sum over layers of max(0, D - GPU work of the layer),
    /// with GPU work = its share of the linear layers, launches, and its attention (the dense
    /// layers' full attention, or the sparse layers' hashing and exact part).
    public func dispatchSeconds(_ config: DecodeConfiguration, batch: Double, terms t: StepTimes) -> Double {
        guard hardware.gpu != nil, let d = engine.hostDispatchSecondsPerLayer, d > 0 else { return 0 }
        let layers = Double(model.layerCount)
        let dense = Double(denseLayerCount(config)), sparse = Double(sparseLayerCount(config))
        let perLayer = t[.linearLayers] / layers + launchSecondsPerLayer
        var exposed = 0.0
        if dense > 0 { exposed += dense * max(0, d - perLayer - t[.gpuAttention] / dense) }
        if sparse > 0 { exposed += sparse * max(0, d - perLayer - (t[.hashing] + t[.exactPart]) / sparse) }
        return exposed
    }

    // MARK: - CPU side

    var perCoreReadBytesPerSecond: Double {
        hardware.calibration?.cpu?.readBytesPerSecondOneThread ?? hardware.cpu.perCoreReadBytesPerSecond
    }

    /// Where the CPU-side data sits: the engine's placement, else partitioned by socket on a
    /// NUMA-local system and interleaved otherwise.
    var memoryPlacement: MemoryPlacement {
        engine.memoryPlacement ?? (hardware.numaLocal ? .partitioned : .interleaved)
    }

    /// DRAM bandwidth of `sockets` sockets as `fraction` of what they read: a socket gives its
    /// STREAM bandwidth (measured on a calibrated host) when its threads read local memory;
    /// interleaved pages make (s - 1) / s of the reads remote, at remoteFraction of local.
    public func cpuSocketBandwidth(sockets: Int, fraction: Double) -> Double {
        let cpu = hardware.cpu
        var perSocket = cpu.dramBandwidthBytesPerSecondPerSocket * cpu.streamEfficiency
        if let measured = hardware.calibration?.cpu {
            let measuredSockets = max(1, min(hardware.sockets, Int((Double(measured.threads) / Double(cpu.coresPerSocket)).rounded(.up))))
            perSocket = measured.readBytesPerSecond / Double(measuredSockets)
        }
        // One GPU of a node shares its socket with the node's other GPUs on it.
        perSocket *= hardware.cpuBandwidthShare
        let s = Double(max(1, sockets))
        guard s > 1, memoryPlacement == .interleaved else { return s * perSocket * fraction }
        let remote = cpu.remoteBandwidthFraction
        return s * perSocket / (1 / s + (s - 1) / (s * remote)) * fraction
    }

    /// Bandwidth the CPU reaches with `threads` over `sockets`, as `fraction` of what it reads:
    /// min(threads x per-core x scaling, socket bandwidth) x fraction (scaling is the engine's
    /// thread-scaling efficiency, applied with more than one thread).
    public func cpuBandwidth(threads: Int, sockets: Int, fraction: Double) -> Double {
        min(Double(threads) * perCoreReadBytesPerSecond * scaling(threads) * fraction, cpuSocketBandwidth(sockets: sockets, fraction: fraction))
    }

    /// Per-thread slowdown of the latency-bound share of a CPU kernel by remote reads:
    /// 1 + remote share x (remote latency factor - 1) x latency share, where the remote share is
    /// (s - 1) / s for interleaved pages over s sockets and 0 when partitioned.
    func numaFactor(sockets: Int) -> Double {
        let s = Double(max(1, sockets))
        let remoteShare = memoryPlacement == .interleaved ? (s - 1) / s : 0
        return 1 + remoteShare * (hardware.cpu.remoteLatencyFactor - 1) * (engine.memoryLatencyShare ?? 1)
    }

    /// Work units per sequence of the CPU kernels: H_q (sequence, query head) units for engines
    /// that split by query head, else H_kv (sequence, KV head).
    var workUnitsPerSequence: Int { engine.parallelOverQueryHeads ? model.queryHeadCount : model.kvHeadCount }
    /// Query heads one unit serves.
    var headsPerUnit: Double { engine.parallelOverQueryHeads ? 1 : Double(model.groupSize) }
    /// The engine's thread-scaling efficiency with more than one thread.
    func scaling(_ threads: Int) -> Double { threads > 1 ? engine.threadScalingEfficiency : 1 }

    /// Threads of the engine's CPU loops: its compiled team, else the plan's threads.
    func loopThreads(_ config: DecodeConfiguration) -> Int { engine.compiledThreads ?? config.placement.cpuThreads }

    /// The retrieval loop: the engine's schedule (whole units unless it says otherwise) over the
    /// plan's threads.
    func retrievalKernel(_ config: DecodeConfiguration) -> CPUKernelTiming {
        CPUKernelTiming(threads: loopThreads(config), cores: config.placement.cpuThreads, schedule: engine.retrievalSchedule ?? .wholeUnits,
                        numaFactor: numaFactor(sockets: config.placement.cpuSockets),
                        oversubscriptionWorkShare: engine.oversubscriptionWorkShare ?? 0)
    }

    /// The sampled-attention loop: the engine's schedule (pieces unless it says otherwise), its
    /// per-call cost, and DRAM bandwidth x the engine's sampled fraction as the cap.
    func sampledKernel(_ config: DecodeConfiguration) -> CPUKernelTiming {
        CPUKernelTiming(threads: loopThreads(config), cores: config.placement.cpuThreads, schedule: engine.attentionSchedule ?? .pieces,
                        secondsPerCall: engine.sampledAttentionSecondsPerCall ?? 0,
                        numaFactor: numaFactor(sockets: config.placement.cpuSockets),
                        bandwidthCapBytesPerSecond: cpuSocketBandwidth(sockets: config.placement.cpuSockets,
                                                                       fraction: engine.sampledAttentionBandwidthFraction),
                        oversubscriptionWorkShare: engine.oversubscriptionWorkShare ?? 0)
    }

    /// Dense CPU attention (streams the cache): pieces of every unit over all threads, capped at
    /// DRAM bandwidth x the engine's dense fraction.
    func denseKernel(_ config: DecodeConfiguration) -> CPUKernelTiming {
        CPUKernelTiming(threads: loopThreads(config), cores: config.placement.cpuThreads, schedule: engine.attentionSchedule ?? .pieces,
                        numaFactor: numaFactor(sockets: config.placement.cpuSockets),
                        bandwidthCapBytesPerSecond: cpuSocketBandwidth(sockets: config.placement.cpuSockets,
                                                                       fraction: engine.denseAttentionBandwidthFraction))
    }

    /// Bytes per second one thread streams in dense attention: one core's read x scaling x dense fraction.
    func denseRatePerThread(_ config: DecodeConfiguration) -> Double {
        perCoreReadBytesPerSecond * scaling(config.placement.cpuThreads) * engine.denseAttentionBandwidthFraction
    }

    /// Retrieval: S x kernel(B x units per sequence, one unit = heads per unit x (L walk +
    /// L P n_h perCandidate)), where P is the per-table collision probability implied by the
    /// sampled fraction (see SampledFractionModel.tableCollision) and n_h the hashed span; the
    /// per-item costs are one thread's, divided by the engine's scaling with more threads.
    public func retrievalSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard let lsh = config.attention.lsh, config.placement.kvDevice == .cpu || hardware.gpu == nil else { return 0 }
        let l = Double(lsh.tableCount)
        let candidates = l * lshStatistics(lsh).tableCollision * hashedTokens
        let perQuery = l * engine.retrievalSecondsPerTableWalk + candidates * engine.retrievalSecondsPerCandidate
        let unit = headsPerUnit * perQuery / scaling(config.placement.cpuThreads)
        return Double(sparseLayerCount(config))
            * retrievalKernel(config).seconds(units: batch * Double(workUnitsPerSequence), unitSeconds: unit)
    }

    /// Bytes of one gathered row: K and V (2 d elements) and the key's norm.
    var sampledRowBytes: Double { Double(2 * model.headDim) * model.bytesPerKVElement + 4 }

    /// Rows one unit gathers per sparse layer: f n_h for a query-head unit; for a KV-head unit
    /// the union of its G heads' samples, (1 - (1 - f)^G) n_h, when the group reads each
    /// gathered row once, else G f n_h. The union takes the heads' samples as independent: each
    /// query head has its own query and so its own buckets. (Measured on SmolLM2, G = 3,
    /// (10, 150): 2.45 x f n_h rows against 2.90 for independent heads; synthetic isotropic
    /// keys, G = 4: 3.9 against 3.9.) It is still far from f n_h: sharing only saves the rows
    /// two heads pick alike.
    func sampledRowsPerUnit(_ config: DecodeConfiguration) -> Double {
        let f = min(1, sampledFraction(config) ?? 0)
        if engine.parallelOverQueryHeads { return f * hashedTokens }
        let G = Double(model.groupSize)
        return (engine.gqaSharedReads ? 1 - pow(1 - f, G) : G * f) * hashedTokens
    }

    /// Bytes the sampled attention reads: S x B x units x rows per unit x row bytes.
    public func sampledAttentionBytes(_ config: DecodeConfiguration, batch: Double) -> Double {
        Double(sparseLayerCount(config)) * batch * Double(workUnitsPerSequence) * sampledRowsPerUnit(config) * sampledRowBytes
    }

    /// One thread's seconds per gathered row: the engine's measured figure, or row bytes over
    /// what one core reads x scaling x the engine's sampled bandwidth fraction.
    func sampledRowSeconds(_ config: DecodeConfiguration) -> Double {
        if let row = engine.sampledRowSecondsPerThread { return row / scaling(config.placement.cpuThreads) }
        return sampledRowBytes / (perCoreReadBytesPerSecond * scaling(config.placement.cpuThreads) * engine.sampledAttentionBandwidthFraction)
    }

    /// Sampled attention on the CPU: S x kernel(B x units per sequence, one unit = its rows x one
    /// thread's cost per row), capped by the bytes over DRAM bandwidth x the sampled fraction;
    /// on the GPU (KV and tables in HBM): bytes / (BW x gather efficiency).
    public func sampledAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard config.attention != .dense else { return 0 }
        if case .quest(let pageSize, let f) = config.attention, config.placement.kvDevice == .gpu, let gpu = hardware.gpu {
            return questSeconds(pageSize: pageSize, budget: f, sparseLayers: sparseLayerCount(config), batch: batch, gpu: gpu)
        }
        if config.placement.kvDevice == .gpu, let gpu = hardware.gpu {
            return sampledAttentionBytes(config, batch: batch) / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.gatherBandwidth)
        }
        let s = Double(sparseLayerCount(config))
        guard s > 0 else { return 0 }
        let rows = sampledRowsPerUnit(config)
        return s * sampledKernel(config).seconds(units: batch * Double(workUnitsPerSequence), unitSeconds: rows * sampledRowSeconds(config),
                                                 bytes: sampledAttentionBytes(config, batch: batch) / s)
    }

    /// Quest on the GPU: per sparse layer, sequence and KV head, read every page summary
    /// (ceil(n_h / P) pages x min and max of d dims x 2 bytes) and the chosen pages' K and V
    /// (budget x n_h x 2 d x 2 bytes), both contiguous: bytes / (BW x eff_attn).
    func questSeconds(pageSize: Int, budget: Double, sparseLayers: Int, batch: Double, gpu: GPUProfile) -> Double {
        let d = Double(model.headDim)
        let pages = (hashedTokens / Double(pageSize)).rounded(.up)
        let perHead = pages * 2 * d * 2 + budget * hashedTokens * 2 * d * model.bytesPerKVElement
        let bytes = Double(sparseLayers) * batch * Double(model.kvHeadCount) * perHead
        return bytes / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.attentionBandwidth)
    }

    /// Dense attention over a KV cache in CPU memory: L_cpu x kernel(B x units, one unit = its
    /// share of (n + g/2) x kv bytes over one thread's dense rate), capped by DRAM bandwidth x the
    /// dense fraction; L_cpu is every layer for dense attention with the KV cache in CPU memory
    /// (the "KV in CPU memory" baseline) and, on a CPU-only machine, the dense layers of an LSH plan too.
    public func cpuAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        let layers: Int
        if hardware.gpu == nil {
            layers = config.attention == .dense ? model.layerCount : denseLayerCount(config)
        } else if config.attention == .dense && config.placement.kvDevice == .cpu {
            layers = sparseLayerCount(config)
        } else {
            return 0
        }
        guard layers > 0 else { return 0 }
        return Double(layers) * cpuDenseLayerSeconds(config, batch: batch, tokens: n + Double(workload.generatedTokens) / 2)
    }

    /// One layer's dense attention on the CPU over `tokens` per sequence: the dense loop over
    /// B x units, each streaming its share of the KV bytes at one thread's dense rate.
    func cpuDenseLayerSeconds(_ config: DecodeConfiguration, batch: Double, tokens: Double) -> Double {
        let bytes = batch * tokens * model.kvBytesPerTokenPerLayer
        let units = batch * Double(workUnitsPerSequence)
        guard units > 0 else { return 0 }
        return denseKernel(config).seconds(units: units, unitSeconds: bytes / units / denseRatePerThread(config), bytes: bytes)
    }

    // MARK: - Fractions

    /// f: the sampled fraction for LSH, the budget for TopK/Quest, nil for dense.
    public func sampledFraction(_ config: DecodeConfiguration) -> Double? {
        switch config.attention {
        case .dense: return nil
        case .lshSampled(let lsh): return lshStatistics(lsh).fraction
        case .topK(let f), .quest(_, let f): return f
        }
    }

    // MARK: - Step

    public func terms(_ config: DecodeConfiguration, batch: Double) -> StepTimes {
        var t = StepTimes()
        t[.linearLayers] = linearLayersSeconds(batch: batch)
        t[.lmHead] = lmHeadSeconds(batch: batch)
        t[.hashing] = hashingSeconds(config, batch: batch)
        t[.gpuAttention] = gpuAttentionSeconds(config, batch: batch)
        t[.exactPart] = exactPartSeconds(config, batch: batch)
        t[.transfers] = transferSeconds(config, batch: batch)
        t[.overhead] = overheadSeconds(config, batch: batch)
        t[.retrieval] = retrievalSeconds(config, batch: batch)
        t[.sampledAttention] = sampledAttentionSeconds(config, batch: batch)
        t[.cpuAttention] = cpuAttentionSeconds(config, batch: batch)
        t[.dispatch] = dispatchSeconds(config, batch: batch, terms: t)
        t[.tensorParallel] = tensorParallelSeconds(batch: batch)
        return t
    }

    /// Collectives of tensor parallelism over TP GPUs: per layer, two all-reduces of the batch's
    /// activations (after attention's output projection and after the MLP's down projection:
    /// B x h x 2 bytes each), and per step one gather of the LM head's vocabulary shards
    /// (B x V x 2 bytes) onto the GPU that samples; each over the node's interconnect
    /// (`GPUInterconnect.allReduceSeconds`, `gatherSeconds`). 0 with one GPU per instance.
    public func tensorParallelSeconds(batch: Double) -> Double {
        let tp = deployment.tensorParallel
        guard tp > 1, let link = hardware.interconnect else { return 0 }
        let activations = batch * Double(model.hiddenSize) * 2
        let logits = batch * Double(model.vocabSize * tp) * 2
        return Double(model.layerCount) * 2 * link.allReduceSeconds(bytes: activations, gpus: tp)
            + link.gatherSeconds(bytes: logits, gpus: tp)
    }

    /// Serial: T = GPU side + CPU side for the whole batch.
    /// Pipelined (two micro-batches of B/2, weights read twice): with g = GPU side(B/2) and
    /// c = CPU side(B/2), T = 2 max(g, c) + min(g, c) / S: each layer's CPU work of one
    /// micro-batch hides under the GPU work of the other; the pipeline fills once per step.
    public func step(_ config: DecodeConfiguration, batch: Double) -> StepCost {
        if config.deployment != deployment { return deployed(config.deployment).step(config, batch: batch) }
        let timing = stepTiming(config, batch: batch)
        return StepCost(replicas: Double(replicas),
            batch: batch, terms: timing.terms, gpuSideSeconds: timing.gpuSide, cpuSideSeconds: timing.cpuSide,
            schedule: config.placement.schedule, stepSeconds: timing.seconds, memory: memory(config, batch: batch),
            sampledFraction: sampledFraction(config), keysPerQuery: keysPerQuery(config))
    }

    /// Step seconds alone (what the optimizer evaluates many times).
    public func stepSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        if config.deployment != deployment { return deployed(config.deployment).stepSeconds(config, batch: batch) }
        return stepTiming(config, batch: batch).seconds
    }

    /// Terms (two micro-batches summed when pipelined), the two sides, and the step time.
    func stepTiming(_ config: DecodeConfiguration, batch: Double)
        -> (terms: StepTimes, gpuSide: Double, cpuSide: Double, seconds: Double)
    {
        guard config.placement.schedule == .pipelined else {
            let whole = terms(config, batch: batch)
            let g = whole.gpuSideSeconds, c = whole.cpuSideSeconds
            return (whole, g, c, g + c)
        }
        let half = terms(config, batch: batch / 2)
        let g = half.gpuSideSeconds, c = half.cpuSideSeconds
        let s = Double(max(1, sparseLayerCount(config)))
        return (half.scaled(by: 2), g, c, 2 * max(g, c) + min(g, c) / s)
    }

    /// Keys one query head attends in a sparse layer: f n_h + e (or n + g/2 when dense).
    public func keysPerQuery(_ config: DecodeConfiguration) -> Double {
        let all = n + Double(workload.generatedTokens) / 2
        guard let f = sampledFraction(config) else { return all }
        // Never more keys than the sequence has (a context shorter than sinks + local window).
        return min(all, f * hashedTokens + exactTokens)
    }
}
