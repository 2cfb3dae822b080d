import Core
import CostModel
import Fixtures
import Foundation
import Profiles
import Testing

/// Tensor parallelism in the cost model, against hand-computed cases.
@Suite struct TensorParallelTests {
    static let nvlink = GPUInterconnect(kind: .nvlink, generation: 4, bandwidthBytesPerSecond: 100e9, latencySecondsPerHop: 2e-6,
                                        peerToPeer: true, source: "test")

    /// Ring: 2 (p - 1) alpha + 2 (p - 1) / p x bytes / beta; tree: 2 ceil(log2 p) alpha + 2 bytes / beta;
    /// the faster one.
    @Test func allReduceTakesTheFasterAlgorithm() {
        let link = Self.nvlink
        // 8 GPUs, 1 MB: ring 28 us + 17.5 us = 45.5 us; tree 12 us + 20 us = 32 us.
        #expect(abs(link.allReduceSeconds(bytes: 1e6, gpus: 8) - 32e-6) < 1e-12)
        // 8 GPUs, 100 MB: ring 28 us + 1.75 ms beats tree 12 us + 2 ms.
        #expect(abs(link.allReduceSeconds(bytes: 100e6, gpus: 8) - (28e-6 + 1.75e-3)) < 1e-12)
        // 2 GPUs: ring 2 us x 2 + 1 MB / 100 GB/s = 14 us (tree sends twice the bytes).
        #expect(abs(link.allReduceSeconds(bytes: 1e6, gpus: 2) - 14e-6) < 1e-12)
        #expect(link.allReduceSeconds(bytes: 1e6, gpus: 1) == 0)
        // Gather of 1 MB over 4 GPUs: 3 alpha + 3/4 MB / beta = 6 us + 7.5 us.
        #expect(abs(link.gatherSeconds(bytes: 1e6, gpus: 4) - 13.5e-6) < 1e-12)
    }

    static func node(gpus: Int, sockets: Int = 2) -> Hardware {
        var hw = Fixture.hardware(sockets: sockets, cpuMemory: 1024e9)
        hw.gpuCount = gpus
        hw.interconnect = nvlink
        hw.gpuSockets = (0..<gpus).map { $0 * sockets / gpus }
        return hw
    }

    static func model(_ hardware: Hardware, context: Int = 32_768) -> DecodeCostModel {
        DecodeCostModel(hardware: hardware, workload: Workload(model: Fixture.llama8b, contextTokens: context, generatedTokens: 128),
                        engine: Fixture.engine, fractions: SampledFractionModel(override: 0.02))
    }

    /// The collectives term: layers x 2 all-reduces of B h 2 bytes + one gather of B V 2 bytes.
    @Test func tensorParallelTermByHand() {
        let m = Self.model(Self.node(gpus: 8)).deployed(Deployment(tensorParallel: 4))
        let b = 4.0
        let activations = b * 4096 * 2  // 32 KiB: latency-bound, the tree wins
        let allReduce = min(2 * 3 * 2e-6 + 2 * 3 / 4 * activations / 100e9, 2 * 2 * 2e-6 + 2 * activations / 100e9)
        let gather = 3 * 2e-6 + 0.75 * b * 128_256 * 2 / 100e9
        #expect(abs(m.tensorParallelSeconds(batch: b) - (32 * 2 * allReduce + gather)) < 1e-15)
        #expect(m.replicas == 2)
    }

    /// Per GPU: 1/TP of the projections, heads, MLP and vocabulary; the norms whole; KV heads split.
    @Test func perGPUMemoryByHand() {
        let m = Self.model(Self.node(gpus: 8))
        let config = DecodeConfiguration(batch: 2, attention: .dense, placement: Placement(kvDevice: .gpu, cpuThreads: 8),
                                         deployment: Deployment(tensorParallel: 8))
        let memory = m.memory(config, batch: 2)
        // Shard: 4 query heads (512 wide), 1 KV head (128), MLP 1792, vocabulary 16032.
        let linear = 4096.0 * 512 * 2 + 4096.0 * 128 * 2 + 3 * 4096.0 * 1792
        let embedding = 16_032.0 * 4096
        let parameters = 2 * embedding + 4096 + 32 * (linear + 2 * 4096)
        #expect(memory.gpuWeightsBytes == parameters * 2)
        // KV of all 32 layers on the GPU: 2 sequences x (32k + 128) tokens x (K and V of one head, 2 bytes).
        #expect(memory.gpuKVCacheBytes == 32 * 2 * Double(32_768 + 128) * 2 * 128 * 2)
    }

    /// Each GPU's CPU work runs on its socket with that socket's share of cores, bandwidth and memory.
    @Test func perGPUViewSharesTheSocket() {
        let view = Self.node(gpus: 8).perGPUView
        #expect(view.sockets == 1 && view.threads == 8)  // 32 cores per socket, 4 GPUs on it
        #expect(view.cpuMemoryBytes == 1024e9 / 8 && view.cpuBandwidthShare == 0.25)
    }

    /// TP = 1 on one GPU is the single-GPU model, bit for bit, and bf16 weights change nothing.
    @Test(arguments: ["rtx4090", "h200", "a100-2s-8563c"])
    func tensorParallelOneReproducesOneGPU(_ hw: String) throws {
        let store = try ProfileStore.builtIn()
        let hardware = try store.resolveHardware(name: hw)
        let profile = try store.model("llama-3.1-8b")
        let model = DecodeCostModel(
            hardware: hardware, workload: Workload(model: profile.shape, contextTokens: 65_536),
            engine: try store.engine("magicpig").parameters, fractions: SampledFractionModel(profile: profile),
            calibrationShape: try hardware.calibration?.referenceModel.map { try store.model($0).shape })
        let configs = [
            DecodeConfiguration(batch: 4, attention: .lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150)),
                                placement: Placement(kvDevice: .cpu, cpuThreads: hardware.threads)),
            DecodeConfiguration(batch: 2, attention: .dense, placement: Placement(kvDevice: .gpu, cpuThreads: hardware.threads)),
        ]
        for base in configs {
            for deployment in [Deployment(tensorParallel: 1), Deployment(tensorParallel: 1, weights: .bf16)] {
                var c = base
                c.deployment = deployment
                #expect(model.step(c, batch: 4) == model.step(base, batch: 4))
                #expect(model.step(c, batch: 4).terms[.tensorParallel] == 0)
            }
        }
        #expect(model.replicas == 1 && model.tensorParallelDegrees == [1])
    }

    /// Weight formats: int4 reads 0.516 bytes per weight at 0.85 of bf16's bandwidth efficiency.
    @Test func weightFormatScalesTheProjections() {
        let m = Self.model(Fixture.hardware())
        let bf16 = m.deployed(Deployment(weights: .bf16)).linearLayersSeconds(batch: 1)
        let int4 = m.deployed(Deployment(weights: .int4)).linearLayersSeconds(batch: 1)
        #expect(abs(int4 / bf16 - (0.5 + 2.0 / 128) / 2 / 0.85) < 1e-12)
    }
}
