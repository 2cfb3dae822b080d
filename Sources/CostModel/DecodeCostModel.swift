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
    public private(set) var hardware: Hardware
    public private(set) var workload: Workload
    /// The engine's parameters as given; `resolved` holds them with every default settled.
    public private(set) var engine: EngineParameters
    public var fractions: SampledFractionModel
    /// The model shape the calibration tables were measured with; GPU tables are scaled by the
    /// ratio of bytes moved (this model's over the reference's).
    public private(set) var calibrationShape: ModelShape?
    public let resolved: ResolvedEngine
    /// The sides a step is composed of (see Sides.swift): the GPU's (nil on a CPU-only
    /// machine), the CPU's, and the link between them.
    var gpu: GPUSide?
    let cpu: CPUSide
    let link: LinkSide

    /// `fits`: the calibration fitted once for the request (fitted here when absent or made for
    /// another machine or reference shape).
    public init(hardware: Hardware, workload: Workload, engine: EngineParameters, fractions: SampledFractionModel,
                calibrationShape: ModelShape? = nil, fits: FittedCalibration? = nil) {
        self.hardware = hardware
        self.workload = workload
        self.engine = engine
        self.fractions = fractions
        self.calibrationShape = calibrationShape
        let fitted = fits.flatMap { $0.serves(hardware: hardware, calibrationShape: calibrationShape, model: workload.model) ? $0 : nil }
            ?? FittedCalibration(hardware: hardware, calibrationShape: calibrationShape, model: workload.model)
        let resolved = ResolvedEngine(engine, hardware: hardware, workload: workload,
                                      perCoreReadBytesPerSecond: CPUSide.perCoreReadBytesPerSecond(hardware))
        self.resolved = resolved
        gpu = hardware.gpu.map { GPUSide(gpu: $0, fits: fitted, engine: resolved) }
        cpu = CPUSide(hardware: hardware, engine: resolved, model: workload.model, fits: fitted)
        link = LinkSide(link: hardware.link, fits: fitted)
    }

    /// The same model at another context (and generated tokens), everything rebuilt that
    /// depends on it.
    public func with(workload: Workload) -> DecodeCostModel {
        var m = DecodeCostModel(hardware: hardware, workload: workload, engine: engine, fractions: fractions,
                                calibrationShape: calibrationShape)
        m.deployment = deployment
        return m
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

    /// GPU projections (fitted to the calibration's rows, or the roofline); nil without a GPU.
    public var gpuLinear: GPULinearTiming? { gpu?.linear }
    /// GPU decode attention as this engine runs it; nil without a GPU.
    public var gpuAttention: GPUAttentionTiming? { gpu?.attention }
    /// Tensor parallelism and weight storage this model predicts (`deployed(_:)` makes one per
    /// deployment from the whole machine's model).
    public internal(set) var deployment = Deployment()

    var model: ModelShape { workload.model }
    var n: Double { Double(workload.contextTokens) }
    /// e = 4 + 64 + g/2: tokens attended exactly in every sparse layer.
    var exactTokens: Double {
        Double(ExactTokens.sinkCount + ExactTokens.localWindow) + Double(workload.generatedTokens) / 2
    }
    /// Keys in the hashed span: n - 4 - 64.
    var hashedTokens: Double { max(0, n - Double(ExactTokens.sinkCount + ExactTokens.localWindow)) }
    /// Tokens of the whole sequence a step attends on average: n + g/2.
    var attendedTokens: Double { n + Double(workload.generatedTokens) / 2 }

    /// Where the configuration keeps the long span: the one place the KV device is read.
    func kvHome(_ config: DecodeConfiguration) -> KVHome {
        guard gpu != nil else { return .cpuOnly }
        return config.placement.kvDevice == .gpu ? .gpu : .hostOfGPU
    }

    // MARK: - Layers

    /// The layers attended densely on the GPU: the model's mandatory dense layers plus the
    /// first `extra` others (LSH), or all layers (dense attention with the KV cache on the GPU).
    public func denseLayerCount(_ config: DecodeConfiguration) -> Int {
        switch config.attention {
        case .dense: return kvHome(config) == .gpu ? model.layerCount : 0
        case .lshSampled, .topK, .quest:
            return min(model.layerCount, resolved.mandatoryDenseLayers + config.placement.extraDenseLayers)
        }
    }
    /// S: layers whose long span is sampled (LSH/TopK/Quest) or attended on the CPU (dense, KV in CPU).
    public func sparseLayerCount(_ config: DecodeConfiguration) -> Int {
        model.layerCount - denseLayerCount(config)
    }

    // MARK: - Linear layers

    /// Linear layers of all blocks: layers x one layer's projections, on the GPU
    /// (`GPUSide.projectionSeconds`) or the CPU (`CPUSide.projectionSeconds`).
    public func linearLayersSeconds(batch: Double) -> Double {
        guard let gpu else { return Double(model.layerCount) * cpu.projectionSeconds(.layer(model), batch: batch) }
        return Double(model.layerCount) * gpu.projectionSeconds(.layer(model), batch: batch, table: gpu.linearTable,
                                                                reference: gpu.reference.map(Projection.layer))
    }

    /// LM head: one V x h product by the same rule (table column `lmHeadSeconds`).
    public func lmHeadSeconds(batch: Double) -> Double {
        guard let gpu else { return cpu.projectionSeconds(.lmHead(model), batch: batch) }
        return gpu.projectionSeconds(.lmHead(model), batch: batch, table: gpu.lmHeadTable, reference: gpu.reference.map(Projection.lmHead))
    }

    // MARK: - Hashing

    /// Query hashing: S layers x max(2 B H_q d K L / (FLOPS eff_mm), d K L x 2 bytes / BW) on the
    /// GPU; on a CPU-only system 2 B H_q d K L / (threads x core FLOP/s).
    public func hashingSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard let lsh = config.attention.lsh else { return 0 }
        let kl = Double(lsh.hashBitsPerTable * lsh.tableCount)
        let flops = 2 * batch * Double(model.queryHeadCount * model.headDim) * kl
        let s = Double(sparseLayerCount(config))
        guard let gpu else { return s * cpu.computeSeconds(flops: flops) }
        return s * gpu.hashingLayerSeconds(flops: flops, headDim: model.headDim, kl: kl)
    }

    // MARK: - GPU attention

    /// One layer's decode attention on the GPU over `tokens` per sequence: `GPUAttentionTiming`
    /// with blocks = B x H_kv (fitted per-block rate and bandwidth cap when calibrated, so an
    /// MHA model's 32 KV heads fill four times as many SMs as 8; the roofline otherwise).
    public func gpuAttentionLayerSeconds(batch: Double, tokens: Double) -> Double {
        gpu?.attentionLayerSeconds(batch: batch, tokens: tokens, model: model) ?? 0
    }

    /// Dense layers on the GPU: D x attention(B, n + g/2).
    public func gpuAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        Double(denseLayerCount(config)) * gpuAttentionLayerSeconds(batch: batch, tokens: attendedTokens)
    }

    /// Exact part of the sparse layers: S x attention(B, e) on the GPU (or the CPU without one).
    /// Zero when the engine omits it.
    public func exactPartSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard config.attention != .dense, resolved.computesExactPart else { return 0 }
        let s = Double(sparseLayerCount(config))
        guard let gpu else { return s * cpu.denseLayerSeconds(config.placement, batch: batch, tokens: exactTokens) }
        return s * gpu.attentionLayerSeconds(batch: batch, tokens: exactTokens, model: model)
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
    /// log-sum-exp)) over the link (`LinkSide.copySeconds`).
    public func transferSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard kvHome(config) == .hostOfGPU else { return 0 }
        let s = Double(sparseLayerCount(config))
        let up = batch * hostBoundBytesPerSequence(config)
        let down = batch * deviceBoundBytesPerSequence()
        return s * (link.copySeconds(bytes: up, toDevice: false) + link.copySeconds(bytes: down, toDevice: true))
    }

    /// Fixed per-step costs: GPU launches (layers x launch, the engine's figure when it has one,
    /// else the GPU profile's), the engine's per-step host time, and its CPU round trip
    /// (S x roundTrip) for layers attended on the CPU.
    /// On a CPU-only machine: the calibrated remainder of the step (`CPUSide.remainderSeconds`).
    public func overheadSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        switch kvHome(config) {
        case .cpuOnly:
            return cpu.remainderSeconds(batch: batch)
        case .gpu:
            return Double(model.layerCount) * resolved.gpuLaunchSecondsPerLayer + resolved.hostSecondsPerStep
        case .hostOfGPU:
            return Double(model.layerCount) * resolved.gpuLaunchSecondsPerLayer + resolved.hostSecondsPerStep
                + Double(sparseLayerCount(config)) * resolved.roundTripOverheadSecondsPerLayer
        }
    }

    /// Host dispatch that the GPU's work does not hide: an eager engine issues each layer's
    /// launches (D seconds) while the GPU runs the previous ones, so a layer takes
    /// max(D, its GPU work); this term is the sum over layers of max(0, D - GPU work of the layer),
    /// with GPU work = its share of the linear layers, launches, and its attention (the dense
    /// layers' full attention, or the sparse layers' hashing and exact part).
    public func dispatchSeconds(_ config: DecodeConfiguration, batch: Double, terms t: StepTimes) -> Double {
        let d = resolved.hostDispatchSecondsPerLayer
        guard d > 0 else { return 0 }
        let layers = Double(model.layerCount)
        let dense = Double(denseLayerCount(config)), sparse = Double(sparseLayerCount(config))
        let perLayer = t[.linearLayers] / layers + resolved.gpuLaunchSecondsPerLayer
        var exposed = 0.0
        if dense > 0 { exposed += dense * max(0, d - perLayer - t[.gpuAttention] / dense) }
        if sparse > 0 { exposed += sparse * max(0, d - perLayer - (t[.hashing] + t[.exactPart]) / sparse) }
        return exposed
    }

    // MARK: - CPU side

    /// DRAM bandwidth of `sockets` sockets as `fraction` of what they read (`CPUSide.socketBandwidth`).
    public func cpuSocketBandwidth(sockets: Int, fraction: Double) -> Double { cpu.socketBandwidth(sockets: sockets, fraction: fraction) }

    /// Bandwidth the CPU reaches with `threads` over `sockets` (`CPUSide.bandwidth`).
    public func cpuBandwidth(threads: Int, sockets: Int, fraction: Double) -> Double {
        cpu.bandwidth(threads: threads, sockets: sockets, fraction: fraction)
    }

    /// Retrieval: S x the retrieval loop over B x units, one unit = heads per unit x (L walk +
    /// L P n_h perCandidate), where P is the per-table collision probability implied by the
    /// sampled fraction (see SampledFractionModel.tableCollision) and n_h the hashed span.
    public func retrievalSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard let lsh = config.attention.lsh, kvHome(config) != .gpu else { return 0 }
        let l = Double(lsh.tableCount)
        let candidates = l * lshStatistics(lsh).tableCollision * hashedTokens
        return Double(sparseLayerCount(config))
            * cpu.retrievalLayerSeconds(config.placement, batch: batch, tables: l, candidatesPerQuery: candidates)
    }

    /// Bytes of one gathered row: K and V (2 d elements) and the key's norm.
    static func sampledRowBytes(_ model: ModelShape) -> Double { Double(2 * model.headDim) * model.bytesPerKVElement + 4 }

    /// Rows one unit gathers per sparse layer: f n_h for a query-head unit; for a KV-head unit
    /// the union of its G heads' samples, (1 - (1 - f)^G) n_h, when the group reads each
    /// gathered row once, else G f n_h. The union takes the heads' samples as independent: each
    /// query head has its own query and so its own buckets. (Measured on SmolLM2, G = 3,
    /// (10, 150): 2.45 x f n_h rows against 2.90 for independent heads; synthetic isotropic
    /// keys, G = 4: 3.9 against 3.9.) It is still far from f n_h: sharing only saves the rows
    /// two heads pick alike.
    func sampledRowsPerUnit(_ config: DecodeConfiguration) -> Double {
        let f = min(1, sampledFraction(config) ?? 0)
        if resolved.parallelOverQueryHeads { return f * hashedTokens }
        let G = Double(model.groupSize)
        return (resolved.gqaSharedReads ? 1 - pow(1 - f, G) : G * f) * hashedTokens
    }

    /// Bytes the sampled attention reads: S x B x units x rows per unit x row bytes.
    public func sampledAttentionBytes(_ config: DecodeConfiguration, batch: Double) -> Double {
        Double(sparseLayerCount(config)) * batch * Double(cpu.workUnitsPerSequence) * sampledRowsPerUnit(config)
            * Self.sampledRowBytes(model)
    }

    /// Sampled attention on the CPU: S x the sampled loop over B x units, one unit = its rows x
    /// one thread's cost per row, capped by the bytes over DRAM bandwidth x the sampled
    /// fraction; on the GPU (KV and tables in HBM): bytes / (BW x gather efficiency), and Quest
    /// pages as contiguous reads (`questBytes`).
    public func sampledAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        guard config.attention != .dense else { return 0 }
        if kvHome(config) == .gpu, let gpu {
            if case .quest(let pageSize, let f) = config.attention {
                return gpu.streamSeconds(bytes: questBytes(pageSize: pageSize, budget: f, sparseLayers: sparseLayerCount(config), batch: batch))
            }
            return gpu.gatherSeconds(bytes: sampledAttentionBytes(config, batch: batch))
        }
        let s = Double(sparseLayerCount(config))
        guard s > 0 else { return 0 }
        return s * cpu.sampledLayerSeconds(config.placement, batch: batch, rowsPerUnit: sampledRowsPerUnit(config),
                                           bytes: sampledAttentionBytes(config, batch: batch) / s)
    }

    /// Quest's reads per step: per sparse layer, sequence and KV head every page summary
    /// (ceil(n_h / P) pages x min and max of d dims x 2 bytes) and the chosen pages' K and V
    /// (budget x n_h x 2 d x 2 bytes).
    func questBytes(pageSize: Int, budget: Double, sparseLayers: Int, batch: Double) -> Double {
        let d = Double(model.headDim)
        let pages = (hashedTokens / Double(pageSize)).rounded(.up)
        let perHead = pages * 2 * d * 2 + budget * hashedTokens * 2 * d * model.bytesPerKVElement
        return Double(sparseLayers) * batch * Double(model.kvHeadCount) * perHead
    }

    /// Dense attention over a KV cache in CPU memory: L_cpu x `CPUSide.denseLayerSeconds` over
    /// n + g/2 tokens; L_cpu is every layer for dense attention with the KV cache in CPU memory
    /// (the "KV in CPU memory" baseline) and, on a CPU-only machine, the dense layers of an LSH plan too.
    public func cpuAttentionSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        let layers: Int
        switch kvHome(config) {
        case .cpuOnly: layers = config.attention == .dense ? model.layerCount : denseLayerCount(config)
        case .hostOfGPU: layers = config.attention == .dense ? sparseLayerCount(config) : 0
        case .gpu: layers = 0
        }
        guard layers > 0 else { return 0 }
        return Double(layers) * cpu.denseLayerSeconds(config.placement, batch: batch, tokens: attendedTokens)
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
        let all = attendedTokens
        guard let f = sampledFraction(config) else { return all }
        // Never more keys than the sequence has (a context shorter than sinks + local window).
        return min(all, f * hashedTokens + exactTokens)
    }
}
