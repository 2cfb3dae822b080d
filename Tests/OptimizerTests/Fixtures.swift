@testable import Core
import CostModel

/// Hand-written hardware for tests that must not depend on the shipped profile values.
enum Fixture {
    static let llama8b = ModelShape(
        name: "llama-3.1-8b", layerCount: 32, hiddenSize: 4096, intermediateSize: 14336, queryHeadCount: 32,
        kvHeadCount: 8, headDim: 128, vocabSize: 128_256, ropeTheta: 500_000, denseLayers: [0, 16])

    static let gpu = GPUProfile(
        schemaVersion: 1, name: "test-gpu", displayName: "Test GPU", memoryBytes: 24e9,
        memoryBandwidthBytesPerSecond: 1000e9, denseBF16FlopsPerSecond: 165e12,
        link: HostLink(generation: 4, lanes: 16, practicalBandwidthBytesPerSecond: 25e9, latencySeconds: 5e-6),
        efficiency: GPUEfficiency(linearBandwidth: 0.8, matmulFlops: 0.6, attentionBandwidth: 0.7, gatherBandwidth: 0.3),
        launchOverheadSecondsPerLayer: 20e-6, reservedBytes: 1.5e9, defaultHost: "test-cpu", source: "test")

    static let cpu = CPUProfile(
        schemaVersion: 1, name: "test-cpu", displayName: "Test CPU", coresPerSocket: 32, maxSockets: 2,
        dramBandwidthBytesPerSecondPerSocket: 200e9, streamEfficiency: 0.8, perCoreReadBytesPerSecond: 11e9,
        remoteBandwidthFraction: 0.33, defaultMemoryBytesPerSocket: 512e9, flopsPerSecondPerCore: 100e9,
        vectorISA: ["avx512"], source: "test")

    static let engine = EngineParameters(
        sampledAttentionBandwidthFraction: 0.6, denseAttentionBandwidthFraction: 0.8, gqaSharedReads: true,
        retrievalSecondsPerTableWalk: 50e-9, retrievalSecondsPerCandidate: 2e-9,
        roundTripOverheadSecondsPerLayer: 10e-6, threadScalingEfficiency: 0.9, computesExactPart: true)

    static func hardware(gpuMemory: Double = 24e9, cpuMemory: Double = 512e9, sockets: Int = 1) -> Hardware {
        Hardware(name: "test", gpu: gpu, cpu: cpu, sockets: sockets, threads: 32 * sockets, cpuMemoryBytes: cpuMemory,
                 gpuMemoryBytes: gpuMemory, numaLocal: true, link: gpu.link, calibration: nil)
    }

    static func costModel(context: Int = 98_304, hardware: Hardware = hardware(), fraction: Double? = nil) -> DecodeCostModel {
        DecodeCostModel(hardware: hardware, workload: Workload(model: llama8b, contextTokens: context),
                        engine: engine, fractions: SampledFractionModel(defaultCorrection: 1.8, override: fraction))
    }
}
