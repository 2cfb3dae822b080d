import Core
import Foundation
import Profiles
import Testing

@Suite struct ProfileOverrideTests {
    @Test func directoryFileReplacesTheBuiltInOne() throws {
        let directory = try TemporaryProfiles()
        let path = try directory.write("gpus/h100.json", gpuJSON(name: "h100", bandwidth: "3e12"))
        let store = try ProfileStore.load(directory: directory.path)
        #expect(try store.gpu("h100").memoryBandwidthBytesPerSecond == 3e12)
        #expect(store.origin(of: .gpu, named: "h100") == path)
        // The others stay built in.
        #expect(try store.gpu("h200").memoryBandwidthBytesPerSecond == 4.8e12)
    }

    @Test func environmentDirectoryIsUsedWhenNoFlag() throws {
        let directory = try TemporaryProfiles()
        try directory.write("gpus/mygpu.json", gpuJSON(name: "mygpu"))
        let store = try ProfileStore.load(directory: nil, environment: [ProfileStore.environmentVariable: directory.path])
        #expect(store.names(of: .gpu).contains("mygpu"))
    }

    @Test func flagWinsOverEnvironment() throws {
        let flag = try TemporaryProfiles()
        let environment = try TemporaryProfiles()
        try flag.write("gpus/fromflag.json", gpuJSON(name: "fromflag"))
        try environment.write("gpus/fromenv.json", gpuJSON(name: "fromenv"))
        let store = try ProfileStore.load(directory: flag.path, environment: [ProfileStore.environmentVariable: environment.path])
        #expect(store.names(of: .gpu).contains("fromflag"))
        #expect(!store.names(of: .gpu).contains("fromenv"))
    }

    @Test func defaultsFillOptionalKeys() throws {
        let directory = try TemporaryProfiles()
        try directory.write("gpus/plain.json", gpuJSON(name: "plain", extra: #", "_comment": "kept out of the profile""#))
        try directory.write("models/tiny.json", """
            {"schemaVersion": 1, "shape": {"layerCount": 6, "hiddenSize": 64, "intermediateSize": 128,
              "queryHeadCount": 4, "kvHeadCount": 2, "headDim": 16, "vocabSize": 100}, "source": "test"}
            """)
        let store = try ProfileStore.load(directory: directory.path)
        let gpu = try store.gpu("plain")
        #expect(gpu.efficiency == GPUEfficiency(linearBandwidth: 0.8, matmulFlops: 0.6, attentionBandwidth: 0.9, gatherBandwidth: 0.3))
        #expect(gpu.reservedBytes == 1.5e9)
        #expect(gpu.launchOverheadSecondsPerLayer == 20e-6)
        let model = try store.model("tiny")
        #expect(model.shape.name == "tiny")
        #expect(model.shape.denseLayers == [0, 3])
        #expect(model.shape.bytesPerWeight == 2)
        #expect(model.sampledFractionCorrection == 1.8)
        #expect(try store.json(of: .model, named: "tiny").contains("\"denseLayers\""))
    }

    @Test func enginesLoadFromTheDirectory() throws {
        let directory = try TemporaryProfiles()
        try directory.write("engines/test-engine.json", """
            {"schemaVersion": 1, "parameters": {"sampledAttentionBandwidthFraction": 0.15,
              "denseAttentionBandwidthFraction": 0.25, "gqaSharedReads": false,
              "retrievalSecondsPerTableWalk": 1e-7, "retrievalSecondsPerCandidate": 2e-9,
              "roundTripOverheadSecondsPerLayer": 30e-6, "threadScalingEfficiency": 0.9, "computesExactPart": true},
             "derivation": "test"}
            """)
        let store = try ProfileStore.load(directory: directory.path)
        let engine = try store.engine("test-engine")
        #expect(engine.displayName == "test-engine")
        #expect(engine.parameters.sampledAttentionBandwidthFraction == 0.15)
    }
}
