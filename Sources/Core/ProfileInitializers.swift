// Public memberwise initializers for the profile value types, so that other modules (tests, the
// Hugging Face config reader) can build them in code. `schemaVersion` comes last with a default,
// which also keeps them distinct from the internal synthesized memberwise initializers.

extension GPUProfile {
    public init(name: String, displayName: String, memoryBytes: Double,
                memoryBandwidthBytesPerSecond: Double, denseBF16FlopsPerSecond: Double, link: HostLink,
                efficiency: GPUEfficiency, launchOverheadSecondsPerLayer: Double, reservedBytes: Double,
                defaultHost: String, source: String, attentionBlockBytesPerSecond: Double = 45e9, schemaVersion: Int = 1) {
        self.schemaVersion = schemaVersion
        self.name = name
        self.displayName = displayName
        self.memoryBytes = memoryBytes
        self.memoryBandwidthBytesPerSecond = memoryBandwidthBytesPerSecond
        self.denseBF16FlopsPerSecond = denseBF16FlopsPerSecond
        self.link = link
        self.efficiency = efficiency
        self.launchOverheadSecondsPerLayer = launchOverheadSecondsPerLayer
        self.attentionBlockBytesPerSecond = attentionBlockBytesPerSecond
        self.reservedBytes = reservedBytes
        self.defaultHost = defaultHost
        self.source = source
    }
}

extension CPUProfile {
    public init(name: String, displayName: String, coresPerSocket: Int, maxSockets: Int,
                dramBandwidthBytesPerSecondPerSocket: Double, streamEfficiency: Double,
                perCoreReadBytesPerSecond: Double, remoteBandwidthFraction: Double,
                defaultMemoryBytesPerSocket: Double, flopsPerSecondPerCore: Double, vectorISA: [String],
                source: String, schemaVersion: Int = 1) {
        self.schemaVersion = schemaVersion
        self.name = name
        self.displayName = displayName
        self.coresPerSocket = coresPerSocket
        self.maxSockets = maxSockets
        self.dramBandwidthBytesPerSecondPerSocket = dramBandwidthBytesPerSecondPerSocket
        self.streamEfficiency = streamEfficiency
        self.perCoreReadBytesPerSecond = perCoreReadBytesPerSecond
        self.remoteBandwidthFraction = remoteBandwidthFraction
        self.defaultMemoryBytesPerSocket = defaultMemoryBytesPerSocket
        self.flopsPerSecondPerCore = flopsPerSecondPerCore
        self.vectorISA = vectorISA
        self.source = source
    }
}

extension SystemProfile {
    public init(name: String, displayName: String, gpu: String?, cpu: String,
                sockets: Int, threads: Int? = nil, cpuMemoryBytes: Double? = nil, numaLocal: Bool? = nil,
                link: HostLink? = nil, calibration: Calibration? = nil, note: String? = nil, schemaVersion: Int = 1) {
        self.schemaVersion = schemaVersion
        self.name = name
        self.displayName = displayName
        self.gpu = gpu
        self.cpu = cpu
        self.sockets = sockets
        self.threads = threads
        self.cpuMemoryBytes = cpuMemoryBytes
        self.numaLocal = numaLocal
        self.link = link
        self.calibration = calibration
        self.note = note
    }
}

extension EngineProfile {
    public init(name: String, displayName: String, parameters: EngineParameters,
                derivation: String, kinds: [PlanKind] = [.lsh, .gpuOnly, .cpuKVDense, .quest],
                fittedByCalibration: Bool = false, runsLocally: Bool = false, schemaVersion: Int = 1) {
        self.schemaVersion = schemaVersion
        self.name = name
        self.displayName = displayName
        self.parameters = parameters
        self.kinds = kinds
        self.fittedByCalibration = fittedByCalibration
        self.runsLocally = runsLocally
        self.derivation = derivation
    }
}

extension ModelProfile {
    public init(shape: ModelShape, measuredSampledFractions: [SampledFractionPoint]? = nil,
                sampledFractionCorrection: Double, source: String, schemaVersion: Int = 1) {
        self.schemaVersion = schemaVersion
        self.shape = shape
        self.measuredSampledFractions = measuredSampledFractions
        self.sampledFractionCorrection = sampledFractionCorrection
        self.source = source
    }
}
