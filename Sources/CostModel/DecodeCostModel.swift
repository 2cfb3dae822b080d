import Core

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
        mandatoryDenseLayers = workload.model.mandatoryDenseLayerCount
        if let rows = hardware.calibration?.gpuLinearLayers, !rows.isEmpty {
            linearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.layerSeconds) }, nondecreasing: true)
            lmHeadTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.lmHeadSeconds) }, nondecreasing: true)
        }
        if let rows = hardware.calibration?.gpuDecodeAttention, !rows.isEmpty {
            attentionFit = GPUAttentionFit(rows: rows, kvBytesPerTokenPerLayer: (calibrationShape ?? workload.model).kvBytesPerTokenPerLayer)
        }
        if let rows = hardware.calibration?.pcie, !rows.isEmpty {
            hostToDevice = PiecewiseLinear(points: rows.map { ($0.bytes, $0.hostToDeviceSeconds) }, nondecreasing: true)
            deviceToHost = PiecewiseLinear(points: rows.map { ($0.bytes, $0.deviceToHostSeconds) }, nondecreasing: true)
        }
        if let rows = hardware.calibration?.cpu?.linearLayers, !rows.isEmpty {
            cpuLinearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.secondsPerByte) }, nondecreasing: true)
        }
    }

    /// Sampled fraction and per-table collision probability per (K, L), filled by `precompute`
    /// so the optimizer's many evaluations do not repeat the bisection.
    var lshCache: [LSHParameters: LSHStatistics] = [:]

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
    var attentionFit: GPUAttentionFit?
    var hostToDevice: PiecewiseLinear?
    var deviceToHost: PiecewiseLinear?
    var cpuLinearTable: PiecewiseLinear?

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

    /// Linear layers of all blocks. Calibrated: layers x table(B) x (W_layer / W_ref).
    /// Roofline: layers x max(W_layer / (BW eff_lin), 2 B P_layer / (FLOPS eff_mm)).
    /// CPU-only: layers x W_layer x secondsPerByte(B) (calibrated) or the CPU roofline.
    public func linearLayersSeconds(batch: Double) -> Double {
        Double(model.layerCount) * projectionSeconds(
            bytes: model.linearBytesPerLayer, parameters: model.linearParametersPerLayer, batch: batch,
            table: linearTable, referenceBytes: calibrationShape?.linearBytesPerLayer)
    }

    /// LM head: the same rule with the V x h matrix (table column `lmHeadSeconds`).
    public func lmHeadSeconds(batch: Double) -> Double {
        projectionSeconds(bytes: model.lmHeadBytes, parameters: model.embeddingParameters, batch: batch,
                          table: lmHeadTable, referenceBytes: calibrationShape?.lmHeadBytes)
    }

    func projectionSeconds(bytes: Double, parameters: Double, batch: Double, table: PiecewiseLinear?,
                           referenceBytes: Double?) -> Double {
        if let gpu = hardware.gpu {
            if let table, let referenceBytes { return table(batch) * bytes / referenceBytes }
            let memory = bytes / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.linearBandwidth)
            let compute = 2 * batch * parameters / (gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops)
            return max(memory, compute)
        }
        if let cpuLinearTable { return bytes * cpuLinearTable(batch) }
        let memory = bytes / cpuBandwidth(threads: hardware.threads, sockets: hardware.sockets, fraction: 0.8)
        let compute = 2 * batch * parameters / (Double(hardware.threads) * hardware.cpu.flopsPerSecondPerCore)
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

    /// One layer's decode attention on the GPU over `tokens` per sequence.
    /// Calibrated: max(a0 + alpha t, B t kv / BW_fit) x kv / kv_ref, fitted to the measured table
    /// (small batches leave the GPU idle: a per-sequence floor; large ones are bandwidth-bound).
    /// Roofline: B t kv / (BW eff_attn).
    public func gpuAttentionLayerSeconds(batch: Double, tokens: Double) -> Double {
        guard let gpu = hardware.gpu else { return 0 }
        let kv = model.kvBytesPerTokenPerLayer
        if let attentionFit {
            return attentionFit.seconds(batch: batch, tokens: tokens, kvBytesPerTokenPerLayer: kv)
        }
        return batch * tokens * kv / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.attentionBandwidth)
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
        let bytes = s * batch * exactTokens * model.kvBytesPerTokenPerLayer
        return bytes / cpuBandwidth(threads: hardware.threads, sockets: hardware.sockets,
                                    fraction: engine.denseAttentionBandwidthFraction)
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
        if hardware.gpu == nil, let other = hardware.calibration?.cpu?.otherSecondsPerLayerPerSequence {
            seconds += Double(model.layerCount) * batch * other
        }
        if let gpu = hardware.gpu {
            seconds += Double(model.layerCount) * (engine.gpuLaunchOverheadSecondsPerLayer ?? gpu.launchOverheadSecondsPerLayer)
        }
        if hardware.gpu != nil, config.placement.kvDevice == .cpu {
            seconds += Double(sparseLayerCount(config)) * engine.roundTripOverheadSecondsPerLayer
        }
        return seconds
    }

    // MARK: - CPU side

    /// Bandwidth the CPU reaches with `threads` over `sockets`, as `fraction` of what it reads:
    /// min(threads x per-core x scaling, sockets x socket) x fraction (scaling is the engine's
    /// thread-scaling efficiency, applied with more than one thread), where a socket gives its
    /// STREAM bandwidth when NUMA-local, and with interleaved pages a 1/s local, (s-1)/s remote
    /// mix at remoteFraction. Calibrated hosts use the measured read bandwidths instead of the
    /// datasheet ones.
    public func cpuBandwidth(threads: Int, sockets: Int, fraction: Double) -> Double {
        let cpu = hardware.cpu
        var perCore = cpu.perCoreReadBytesPerSecond
        var perSocket = cpu.dramBandwidthBytesPerSecondPerSocket * cpu.streamEfficiency
        if let measured = hardware.calibration?.cpu {
            perCore = measured.readBytesPerSecondOneThread
            let measuredSockets = max(1, min(hardware.sockets, Int((Double(measured.threads) / Double(cpu.coresPerSocket)).rounded(.up))))
            perSocket = measured.readBytesPerSecond / Double(measuredSockets)
        }
        let s = Double(max(1, sockets))
        let socketBandwidth: Double
        if s == 1 || hardware.numaLocal {
            socketBandwidth = s * perSocket
        } else {
            let remote = cpu.remoteBandwidthFraction
            socketBandwidth = s * perSocket / (1 / s + (s - 1) / (s * remote))
        }
        let scaling = threads > 1 ? engine.threadScalingEfficiency : 1
        return min(Double(threads) * perCore * scaling, socketBandwidth) * fraction
    }

    /// Threads that have work: min(threads, B x H_kv) work units of (sequence, KV head), or
    /// B x H_q for engines that split by query head.
    func activeThreads(_ config: DecodeConfiguration, batch: Double) -> Double {
        min(Double(config.placement.cpuThreads), batch * Double(workUnitsPerSequence))
    }
    var workUnitsPerSequence: Int { engine.parallelOverQueryHeads ? model.queryHeadCount : model.kvHeadCount }

    /// Retrieval: S x B x H_q x (L x walk + L x P x n_h x perCandidate) / active threads, where P is
    /// the per-table collision probability implied by the sampled fraction (see
    /// SampledFractionModel.tableCollision) and n_h the hashed span.
    public func retrievalSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard let lsh = config.attention.lsh, config.placement.kvDevice == .cpu || hardware.gpu == nil else { return 0 }
        let l = Double(lsh.tableCount)
        let candidates = l * lshStatistics(lsh).tableCollision * hashedTokens
        let perQuerySeconds = l * engine.retrievalSecondsPerTableWalk + candidates * engine.retrievalSecondsPerCandidate
        let work = Double(sparseLayerCount(config)) * batch * Double(model.queryHeadCount) * perQuerySeconds
        let threads = activeThreads(config, batch: batch)
        let scaling = threads > 1 ? engine.threadScalingEfficiency : 1
        return work / (threads * scaling)
    }

    /// Bytes the sampled attention reads: S x B x H_kv x rows x (2 d x 2 bytes + 4 (norm)), where
    /// rows per KV head is G f n_h when each query head gathers its own rows, and the union of the
    /// G heads' samples, (1 - (1 - f)^G) n_h, when a GQA group reads each gathered row once. The
    /// union takes the heads' samples as independent: each query head has its own query and so
    /// its own buckets. (Measured on SmolLM2, G = 3, (10, 150): 2.45 x f n_h rows against 2.90
    /// for independent heads; synthetic isotropic keys, G = 4: 3.9 against 3.9.) It is still
    /// far from f n_h: sharing only saves the rows two heads pick alike.
    public func sampledAttentionBytes(_ config: DecodeConfiguration, batch: Double) -> Double {
        let f = sampledFraction(config) ?? 0
        let row = Double(2 * model.headDim) * model.bytesPerKVElement + 4
        let G = Double(model.groupSize)
        let rowsFraction = engine.gqaSharedReads ? 1 - pow(1 - min(1, f), G) : G * f
        return Double(sparseLayerCount(config)) * batch * Double(model.kvHeadCount) * rowsFraction * hashedTokens * row
    }

    /// Sampled attention: bytes / (CPU bandwidth with the active threads x engine fraction);
    /// on the GPU (KV and tables in HBM): bytes / (BW x gather efficiency).
    public func sampledAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard config.attention != .dense else { return 0 }
        if case .quest(let pageSize, let f) = config.attention, config.placement.kvDevice == .gpu, let gpu = hardware.gpu {
            return questSeconds(pageSize: pageSize, budget: f, sparseLayers: sparseLayerCount(config), batch: batch, gpu: gpu)
        }
        let bytes = sampledAttentionBytes(config, batch: batch)
        if config.placement.kvDevice == .gpu, let gpu = hardware.gpu {
            return bytes / (gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.gatherBandwidth)
        }
        let threads = activeThreads(config, batch: batch)
        return bytes / cpuBandwidthForActive(threads: threads, config: config, fraction: engine.sampledAttentionBandwidthFraction)
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

    /// Dense attention over a KV cache in CPU memory: L_cpu x B x (n + g/2) x kv / (CPU
    /// bandwidth x dense fraction), where L_cpu is every layer for dense attention with the KV
    /// cache in CPU memory (the "KV in CPU memory" baseline) and, on a CPU-only machine, the
    /// dense layers of an LSH plan too.
    public func cpuAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        let layers: Int
        if hardware.gpu == nil {
            layers = config.attention == .dense ? model.layerCount : denseLayerCount(config)
        } else if config.attention == .dense && config.placement.kvDevice == .cpu {
            layers = sparseLayerCount(config)
        } else {
            return 0
        }
        let bytes = Double(layers) * batch * (n + Double(workload.generatedTokens) / 2) * model.kvBytesPerTokenPerLayer
        let threads = activeThreads(config, batch: batch)
        return bytes / cpuBandwidthForActive(threads: threads, config: config, fraction: engine.denseAttentionBandwidthFraction)
    }

    /// Bandwidth with a real-valued number of active threads: linear in the threads below the
    /// socket ceiling (so the step time stays piecewise linear in B).
    func cpuBandwidthForActive(threads: Double, config: DecodeConfiguration, fraction: Double) -> Double {
        let full = cpuBandwidth(threads: config.placement.cpuThreads, sockets: config.placement.cpuSockets, fraction: fraction)
        let one = cpuBandwidth(threads: 1, sockets: config.placement.cpuSockets, fraction: fraction)
        let scaling = threads > 1 ? engine.threadScalingEfficiency : 1
        return min(full, threads * one * scaling)
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

    public func terms(_ config: DecodeConfiguration, batch: Double) -> StepTerms {
        var t = StepTerms()
        t.linearLayersSeconds = linearLayersSeconds(batch: batch)
        t.lmHeadSeconds = lmHeadSeconds(batch: batch)
        t.hashingSeconds = hashingSeconds(config, batch: batch)
        t.gpuAttentionSeconds = gpuAttentionSeconds(config, batch: batch)
        t.exactPartSeconds = exactPartSeconds(config, batch: batch)
        t.transferSeconds = transferSeconds(config, batch: batch)
        t.overheadSeconds = overheadSeconds(config, batch: batch)
        t.retrievalSeconds = retrievalSeconds(config, batch: batch)
        t.sampledAttentionSeconds = sampledAttentionSeconds(config, batch: batch)
        t.cpuAttentionSeconds = cpuAttentionSeconds(config, batch: batch)
        return t
    }

    /// Serial: T = GPU side + CPU side for the whole batch.
    /// Pipelined (two micro-batches of B/2, weights read twice): with g = GPU side(B/2) and
    /// c = CPU side(B/2), T = 2 max(g, c) + min(g, c) / S: each layer's CPU work of one
    /// micro-batch hides under the GPU work of the other; the pipeline fills once per step.
    public func step(_ config: DecodeConfiguration, batch: Double) -> StepCost {
        let timing = stepTiming(config, batch: batch)
        return StepCost(
            batch: batch, terms: timing.terms, gpuSideSeconds: timing.gpuSide, cpuSideSeconds: timing.cpuSide,
            schedule: config.placement.schedule, stepSeconds: timing.seconds, memory: memory(config, batch: batch),
            sampledFraction: sampledFraction(config), keysPerQuery: keysPerQuery(config))
    }

    /// Step seconds alone (what the optimizer evaluates many times).
    public func stepSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        stepTiming(config, batch: batch).seconds
    }

    /// Terms (two micro-batches summed when pipelined), the two sides, and the step time.
    func stepTiming(_ config: DecodeConfiguration, batch: Double)
        -> (terms: StepTerms, gpuSide: Double, cpuSide: Double, seconds: Double)
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
        guard let f = sampledFraction(config) else { return n + Double(workload.generatedTokens) / 2 }
        return f * hashedTokens + exactTokens
    }
}
