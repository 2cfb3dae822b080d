import Core

/// The decisions the optimizer may take, and the user's constraints on them.
public struct SearchSpace: Sendable, Hashable {
    /// Candidate K values (bits per table). Default 6...12.
    public var hashBits: [Int] = Array(6...12)
    /// Candidate L values (tables). Default 50, 75, ..., 400.
    public var tableCounts: [Int] = Array(stride(from: 50, through: 400, by: 25))
    /// Attention families to consider: LSH by default; dense for `--attention dense`.
    public var lsh: Bool = true
    public var dense: Bool = false
    /// Further fixed modes to consider as they are (TopK or Quest baselines).
    public var extraAttentionModes: [AttentionMode] = []
    /// Where the long span's KV may live; nil means every device the hardware has.
    public var kvDevices: [Device]? = nil
    /// Extra dense layers beyond the model's mandatory ones.
    public var extraDenseLayers: [Int] = [0, 2, 4]
    public var schedules: [Schedule] = Schedule.allCases
    /// Fixed batch (`--batch`), or nil to choose one in 1...maxBatch.
    public var batch: Int? = nil
    public var maxBatch: Int = 1024
    /// Fixed CPU thread count (`--threads`); nil uses every core of the sockets used.
    public var threads: Int? = nil
    /// Fixed socket count; nil lets the optimizer choose 1...hardware.sockets.
    public var sockets: Int? = nil
    /// Step-time bound (`--max-latency`), seconds.
    public var maxStepSeconds: Double? = nil
    /// Accuracy floor: LSH options whose sampled fraction is below it are excluded.
    public var minSampledFraction: Double? = nil
    /// Tensor-parallel degrees to consider (`--tp`); nil: every degree the node and model allow.
    public var tensorParallelDegrees: [Int]? = nil
    /// Weight formats to consider (`--weights`, all four for `auto`); nil keeps the model's bytes.
    public var weightFormats: [WeightFormat?] = [nil]

    public init() {}

    /// The (K, L) settings a quality budget allows (those a quality profile measured within
    /// it); when set they replace the grid.
    public var lshSettings: [LSHParameters]? = nil

    /// The (K, L) pairs of the grid, or the settings a quality budget allows.
    public var lshGrid: [LSHParameters] {
        lshSettings ?? hashBits.flatMap { k in tableCounts.map { LSHParameters(hashBitsPerTable: k, tableCount: $0) } }
    }

    /// The lowest batch an option may run: the fixed batch, and two micro-batches when pipelined.
    public func lowestBatch(for option: DecodeConfiguration) -> Int {
        max(batch ?? 1, option.placement.schedule == .pipelined ? 2 : 1)
    }

    /// The deployments of this space among those the machine allows (`allowedDegrees`).
    public func deployments(allowedDegrees: [Int]) -> [Deployment] {
        let degrees = tensorParallelDegrees.map { wanted in allowedDegrees.filter(wanted.contains) } ?? allowedDegrees
        return degrees.flatMap { tp in weightFormats.map { Deployment(tensorParallel: tp, weights: $0) } }
    }

    /// Every (attention, placement, deployment) option of this space on `hardware` that `engine`
    /// can run: LSH keeps its tables in GPU memory only for engines that sample there, pipelining
    /// only for engines that split micro-batches, and Quest reads its pages from GPU memory. On a
    /// multi-GPU node each GPU's CPU work runs on its own socket's share of the cores
    /// (`Hardware.perGPUView`), so sockets and threads follow from the node.
    public func options(on hardware: Hardware, model: ModelShape, engine: EngineParameters, deployments: [Deployment] = [Deployment()],
                        fraction: (LSHParameters) -> Double) -> [DecodeConfiguration] {
        let node = hardware.gpu != nil && hardware.gpuCount > 1
        let base = options(on: node ? hardware.perGPUView : hardware, model: model, engine: engine, fixedThreads: node ? nil : threads,
                           fixedSockets: node ? nil : sockets, fraction: fraction)
        return deployments.flatMap { d in base.map { var c = $0; c.deployment = d; return c } }
    }

    func options(on hardware: Hardware, model: ModelShape, engine: EngineParameters, fixedThreads threads: Int?, fixedSockets sockets: Int?,
                 fraction: (LSHParameters) -> Double) -> [DecodeConfiguration] {
        let devices = (kvDevices ?? (hardware.gpu == nil ? [.cpu] : [.cpu, .gpu]))
            .filter { hardware.gpu != nil || $0 == .cpu }
        let socketChoices = sockets.map { [$0] } ?? Array(1...max(1, hardware.sockets))
        var modes: [AttentionMode] = []
        if dense { modes.append(.dense) }
        if lsh {
            for p in lshGrid where minSampledFraction.map({ fraction(p) >= $0 }) ?? true {
                modes.append(.lshSampled(p))
            }
        }
        modes += extraAttentionModes
        var result: [DecodeConfiguration] = []
        let coresPerSocket = max(1, hardware.threads / max(1, hardware.sockets))
        for mode in modes {
            for device in devices {
                if mode.lsh != nil && device == .gpu && !engine.samplesOnGPU { continue }
                if case .quest = mode, device != .gpu { continue }
                let extras = mode.lsh == nil ? [0] : extraDenseLayers.filter { $0 >= 0 && $0 + model.mandatoryDenseLayerCount < model.layerCount }
                for extra in extras {
                    let usedSockets = device == .gpu && hardware.gpu != nil ? [socketChoices[0]] : socketChoices
                    for socketCount in usedSockets {
                        let threadCount = threads ?? min(hardware.threads, coresPerSocket * socketCount)
                        let pipelines = device == .cpu && hardware.gpu != nil && engine.pipelinesMicroBatches
                        let scheduleChoices = pipelines ? schedules : [.serial]
                        for schedule in scheduleChoices {
                            let placement = Placement(kvDevice: device, extraDenseLayers: extra, cpuThreads: threadCount,
                                                      cpuSockets: socketCount, schedule: schedule)
                            result.append(DecodeConfiguration(batch: 0, attention: mode, placement: placement))
                        }
                    }
                }
            }
        }
        return result
    }
}
