import Core
import CostModel

/// Hand-written hardware shared by the cost-model and optimizer tests: numbers chosen so that every expected value below can be computed by
/// hand from the formulas in DecodeCostModel's doc comments.
public enum Fixture {
    public static let llama8b = ModelShape(
        name: "llama-3.1-8b", layerCount: 32, hiddenSize: 4096, intermediateSize: 14336, queryHeadCount: 32,
        kvHeadCount: 8, headDim: 128, vocabSize: 128_256, ropeTheta: 500_000, denseLayers: [0, 16])

    public static let gpu = GPUProfile(
        name: "test-gpu", displayName: "Test GPU", memoryBytes: 24e9,
        memoryBandwidthBytesPerSecond: 1000e9, denseBF16FlopsPerSecond: 165e12,
        link: HostLink(generation: 4, lanes: 16, practicalBandwidthBytesPerSecond: 25e9, latencySeconds: 5e-6),
        efficiency: GPUEfficiency(linearBandwidth: 0.8, matmulFlops: 0.6, attentionBandwidth: 0.7, gatherBandwidth: 0.3),
        launchOverheadSecondsPerLayer: 20e-6, reservedBytes: 1.5e9, defaultHost: "test-cpu", source: "test")

    public static let cpu = CPUProfile(
        name: "test-cpu", displayName: "Test CPU", coresPerSocket: 32, maxSockets: 2,
        dramBandwidthBytesPerSecondPerSocket: 200e9, streamEfficiency: 0.8, perCoreReadBytesPerSecond: 10e9,
        remoteBandwidthFraction: 0.5, defaultMemoryBytesPerSocket: 512e9, flopsPerSecondPerCore: 100e9,
        vectorISA: ["avx512"], source: "test")

    public static let engine = EngineParameters(
        sampledAttentionBandwidthFraction: 0.5, denseAttentionBandwidthFraction: 0.8, gqaSharedReads: true,
        retrievalSecondsPerTableWalk: 50e-9, retrievalSecondsPerCandidate: 2e-9,
        roundTripOverheadSecondsPerLayer: 10e-6, threadScalingEfficiency: 1, computesExactPart: true)

    public static func hardware(sockets: Int = 1, numaLocal: Bool = true, gpu: GPUProfile? = gpu,
                                gpuMemory: Double = 24e9, cpuMemory: Double = 512e9) -> Hardware {
        Hardware(name: "test", gpu: gpu, cpu: cpu, sockets: sockets, threads: 32 * sockets, cpuMemoryBytes: cpuMemory,
                 gpuMemoryBytes: gpu == nil ? 0 : gpuMemory, numaLocal: numaLocal, link: gpu?.link, calibration: nil)
    }

    public static func model(context: Int = 98_304, generated: Int = 0, hardware: Hardware = hardware(),
                             fraction: Double? = nil) -> DecodeCostModel {
        DecodeCostModel(hardware: hardware, workload: Workload(model: llama8b, contextTokens: context, generatedTokens: generated),
                        engine: engine, fractions: SampledFractionModel(defaultCorrection: 1.5, override: fraction))
    }

    public static func lsh(_ k: Int, _ l: Int, batch: Int = 1, device: Device = .cpu, schedule: Schedule = .serial,
                           threads: Int = 32, sockets: Int = 1) -> DecodeConfiguration {
        DecodeConfiguration(batch: batch, attention: .lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l)),
                            placement: Placement(kvDevice: device, cpuThreads: threads, cpuSockets: sockets, schedule: schedule))
    }
}
