import Core

/// Values used for keys a profile file leaves out (documented in Profiles/README.md). Datasheet
/// facts never have defaults; planning constants that calibration refines do.
enum ProfileDefaults {
    /// GPU kernel efficiencies (fractions of the datasheet peaks) when no measurement exists.
    /// Attention 0.9: decode attention over contiguous KV pages reached 94% of the H200's
    /// datasheet bandwidth once its blocks filled the GPU (shared/calibration/h200-host-kernels.json,
    /// batch 16 at 96k), a little less on GDDR parts.
    static let gpuEfficiency: [String: JSONValue] = [
        "linearBandwidth": .double(0.8),
        "matmulFlops": .double(0.6),
        "attentionBandwidth": .double(0.9),
        "gatherBandwidth": .double(0.3),
    ]
    /// Launching one layer's kernels on the GPU, seconds.
    static let launchOverheadSecondsPerLayer = 20e-6
    /// One thread block of a decode-attention kernel that gives each (sequence, KV head) one
    /// block: 45 GB/s, the least-squares slope of the batch-1 rows of the H200 host's measured
    /// FlashAttention decode (shared/calibration/h200-host-kernels.json: 8 blocks, 4k-128k).
    static let attentionBlockBytesPerSecond = 45e9
    /// CUDA context, allocator slack and workspace, bytes.
    static let reservedBytes = 1.5e9
    static let maxSockets = 2
    /// STREAM-like sustained fraction of the theoretical DRAM bandwidth.
    static let streamEfficiency = 0.8
    /// One Emerald Rapids core reading alone (shared/calibration/h200-host-kernels.json).
    static let perCoreReadBytesPerSecond = 11.4e9
    /// Reads over UPI / Infinity Fabric from the other socket, as a fraction of local.
    static let remoteBandwidthFraction = 0.33
    /// Remote over local DRAM latency across UPI (about 190 against 115 ns idle on Sapphire and
    /// Emerald Rapids two-socket hosts).
    static let remoteLatencyFactor = 1.6
    /// MagicPIG Table 9 over collision theory at p = 0.5 (geometric mean over its (K, L) settings).
    static let sampledFractionCorrection = 1.8

    /// The keys to add to a file of `kind` named `name` (its file name without `.json`), given
    /// what the file already holds.
    static func defaults(for kind: ProfileKind, name: String, document: JSONValue) -> [String: JSONValue] {
        let displayName = document.objectValue?["name"]?.stringValue ?? name
        switch kind {
        case .gpu:
            return [
                "name": .string(name), "displayName": .string(displayName),
                "efficiency": .object(gpuEfficiency),
                "launchOverheadSecondsPerLayer": .double(launchOverheadSecondsPerLayer),
                "attentionBlockBytesPerSecond": .double(attentionBlockBytesPerSecond),
                "reservedBytes": .double(reservedBytes),
            ]
        case .cpu:
            return [
                "name": .string(name), "displayName": .string(displayName),
                "maxSockets": .int(maxSockets),
                "streamEfficiency": .double(streamEfficiency),
                "perCoreReadBytesPerSecond": .double(perCoreReadBytesPerSecond),
                "remoteBandwidthFraction": .double(remoteBandwidthFraction),
                "remoteLatencyFactor": .double(remoteLatencyFactor),
            ]
        case .quality:
            return ["model": .string(name)]
        case .system:
            return ["name": .string(name), "displayName": .string(displayName), "sockets": .int(1)]
        case .engine:
            return ["name": .string(name), "displayName": .string(displayName),
                    "kinds": .array([PlanKind.lsh, .gpuOnly, .cpuKVDense, .quest].map { .string($0.rawValue) }),
                    "fittedByCalibration": .bool(false), "runsLocally": .bool(false),
                    "parameters": .object(["parallelOverQueryHeads": .bool(false), "samplesOnGPU": .bool(false), "pipelinesMicroBatches": .bool(true)])]
        case .model:
            var shape: [String: JSONValue] = [
                "name": .string(name),
                "tiedEmbeddings": .bool(false),
                "ropeTheta": .double(10_000),
                "rmsNormEpsilon": .double(1e-5),
                "bytesPerWeight": .double(2),
                "bytesPerKVElement": .double(2),
            ]
            if let layers = document.value(at: [Key("shape"), Key("layerCount")])?.intValue, layers > 0 {
                shape["denseLayers"] = .array(ModelShape.defaultDenseLayers(layerCount: layers).map { .int($0) })
            }
            return [
                "shape": .object(shape),
                "sampledFractionCorrection": .double(sampledFractionCorrection),
            ]
        }
    }

    /// A coding key for looking values up by name.
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
