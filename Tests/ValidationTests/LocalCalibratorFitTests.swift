import Core
import CostModel
import Executor
import Testing
import Validation

/// `LocalCalibrator.fit` recovers known parameters: real (tiny) executor runs supply the
/// configurations and sampled fractions; their measured times are replaced by times the cost
/// model gives for known parameters; the fit must return those parameters.
@Suite(.serialized) struct LocalCalibratorFitTests {
    @Test func fitRecoversKnownParameters() throws {
        let shape = ModelShape(name: "tiny", layerCount: 3, hiddenSize: 128, intermediateSize: 256, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 32, vocabSize: 300, denseLayers: [0])
        let calibrator = LocalCalibrator(shape: shape, layers: 3, threads: 1, quick: true)
        var cache: Executor.LoadedWeights? = nil
        var dense: [ExecutorReport] = [], lsh: [ExecutorReport] = []
        for (batch, context) in [(1, 1024), (2, 1024), (4, 2048)] {
            dense.append(try Executor.run(calibrator.request(.dense, batch: batch, context: context, steps: 2), reusing: &cache))
        }
        for (k, l, batch) in [(6, 40, 1), (7, 60, 2), (6, 80, 4)] {
            let mode = AttentionMode.lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l))
            lsh.append(try Executor.run(calibrator.request(mode, batch: batch, context: 2048, steps: 2), reusing: &cache))
        }
        // The truth: bandwidths, per-byte linear rates and engine parameters.
        let readAll = 30e9, readOne = 16e9, otherPerElement = 2e-9, perCall = 5e-6
        let truth = EngineParameters(sampledAttentionBandwidthFraction: 0.3, denseAttentionBandwidthFraction: 0.7, gqaSharedReads: true,
                                     retrievalSecondsPerTableWalk: 80e-9, retrievalSecondsPerCandidate: 4e-9,
                                     roundTripOverheadSecondsPerLayer: 0, threadScalingEfficiency: 1, computesExactPart: true)
        let secondsPerByte: [Int: Double] = [1: 1 / 25e9, 2: 1 / 24e9, 4: 1 / 20e9]
        let cpu = CPUProfile(name: "local-cpu", displayName: "t", coresPerSocket: 1, maxSockets: 1,
                             dramBandwidthBytesPerSecondPerSocket: readAll / 0.8, streamEfficiency: 0.8, perCoreReadBytesPerSecond: readOne,
                             remoteBandwidthFraction: 0.33, defaultMemoryBytesPerSocket: 8e9, flopsPerSecondPerCore: 10e9,
                             vectorISA: [], source: "t")
        let costs = CPUKernelCosts(readBytesPerSecond: readAll, readBytesPerSecondOneThread: readOne, threads: 1)
        let hardware = Hardware(name: "local", gpu: nil, cpu: cpu, sockets: 1, threads: 1, cpuMemoryBytes: 8e9, gpuMemoryBytes: 0,
                                numaLocal: true, link: nil, calibration: Calibration(source: "t", cpu: costs))
        func synthesize(_ r: inout ExecutorReport) {
            let model = DecodeCostModel(hardware: hardware, workload: Workload(model: calibrator.runShape, contextTokens: r.promptTokens,
                                                                              generatedTokens: r.decodeSteps),
                                        engine: truth, fractions: SampledFractionModel(override: r.measured.sampledFraction?.mean))
            let config = DecodeConfiguration(batch: r.batch, attention: r.attention, placement: Placement(kvDevice: .cpu, cpuThreads: 1))
            let b = Double(r.batch)
            let shape = calibrator.runShape
            r.measured.breakdown[.linearLayers] = Double(shape.layerCount) * (7 * perCall + shape.linearBytesPerLayer * secondsPerByte[r.batch]!)
            r.measured.breakdown[.lmHead] = perCall + shape.lmHeadBytes * secondsPerByte[r.batch]!
            r.measured.breakdown[.overhead] = b * shape.otherElementsPerSequence * otherPerElement
            r.measured.breakdown[.cpuAttention] = model.cpuAttentionSeconds(config, batch: b)
            r.measured.breakdown[.sampledAttention] = model.sampledAttentionSeconds(config, batch: b)
            r.measured.breakdown[.retrieval] = model.retrievalSeconds(config, batch: b)
            r.measured.breakdown[.hashing] = model.hashingSeconds(config, batch: b)
        }
        for i in dense.indices { synthesize(&dense[i]) }
        for i in lsh.indices { synthesize(&lsh[i]) }
        let (fitted, system) = calibrator.fit(dense: dense, lsh: lsh, readAll: readAll, readOne: readOne, host: "test", memoryBytes: 8e9,
                                              prefillFlopsPerSecondPerCore: 41e9)
        let engine = try #require(system.calibration?.cpu?.engine)
        func close(_ a: Double, _ b: Double, _ what: String) {
            #expect(abs(a / b - 1) < 1e-6, "\(what): fitted \(a), true \(b)")
        }
        testLog("fitted: sampled \(engine.sampledAttentionBandwidthFraction), dense \(engine.denseAttentionBandwidthFraction), walk \(engine.retrievalSecondsPerTableWalk), candidate \(engine.retrievalSecondsPerCandidate), flops/core \(fitted.flopsPerSecondPerCore)")
        close(engine.sampledAttentionBandwidthFraction, 0.3, "sampled attention fraction")
        close(engine.denseAttentionBandwidthFraction, 0.7, "dense attention fraction")
        close(engine.retrievalSecondsPerTableWalk, 80e-9, "seconds per table walk")
        close(engine.retrievalSecondsPerCandidate, 4e-9, "seconds per candidate")
        close(fitted.flopsPerSecondPerCore, 10e9, "hashing FLOP/s per core")
        close(system.calibration?.cpu?.otherSecondsPerElement ?? 0, otherPerElement, "remainder per element")
        close(system.calibration?.cpu?.linearSecondsPerCall ?? 0, perCall, "linear seconds per call")
        for row in system.calibration?.cpu?.linearLayers ?? [] {
            close(row.secondsPerByte, secondsPerByte[row.batch]!, "linear seconds per byte at batch \(row.batch)")
        }
        #expect(system.calibration?.cpu?.syntheticSampledFractions?.count == 3)
        #expect(system.calibration?.cpu?.prefillFlopsPerSecondPerCore == 41e9)
        // With the per-call cost measured directly, it is taken as it is and the bytes get the
        // rest: the same truth comes back.
        let (_, measuredCall) = calibrator.fit(dense: dense, lsh: lsh, readAll: readAll, readOne: readOne, host: "test", memoryBytes: 8e9,
                                               linearCallSeconds: perCall, prefillFlopsPerSecondPerCore: 41e9)
        close(measuredCall.calibration?.cpu?.linearSecondsPerCall ?? 0, perCall, "measured seconds per call")
        for row in measuredCall.calibration?.cpu?.linearLayers ?? [] {
            close(row.secondsPerByte, secondsPerByte[row.batch]!, "seconds per byte at batch \(row.batch), call measured")
        }
    }

    /// With one-thread runs the fit takes what one thread of dense attention spends per row
    /// (streaming it, then per query head and dimension) and what one thread of sampled attention
    /// reaches (a fraction of one core's read) from them and, from the all-thread runs, how far
    /// two threads fall short of twice one: a known truth comes back, retrieval included.
    @Test func oneThreadRunsGiveRowsAndTheScaling() throws {
        let shape = ModelShape(name: "tiny", layerCount: 3, hiddenSize: 128, intermediateSize: 256, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 32, vocabSize: 300, denseLayers: [0])
        let calibrator = LocalCalibrator(shape: shape, layers: 3, threads: 2, quick: true)
        var cache: Executor.LoadedWeights? = nil
        var dense: [ExecutorReport] = [], lsh: [ExecutorReport] = []
        for (batch, context) in [(1, 1024), (2, 2048), (4, 2048)] {
            dense.append(try Executor.run(calibrator.request(.dense, batch: batch, context: context, steps: 2), reusing: &cache))
        }
        for (k, l, batch) in [(6, 40, 2), (7, 60, 4)] {
            let mode = AttentionMode.lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l))
            lsh.append(try Executor.run(calibrator.request(mode, batch: batch, context: 2048, steps: 2), reusing: &cache))
        }
        var single = LocalCalibrator.OneThreadRuns(
            dense: try Executor.run(calibrator.request(.dense, batch: 1, context: 2048, steps: 2, threads: 1), reusing: &cache),
            lsh: try Executor.run(calibrator.request(.lshSampled(LSHParameters(hashBitsPerTable: 6, tableCount: 40)), batch: 1,
                                                     context: 2048, steps: 2, threads: 1), reusing: &cache))
        var truth = EngineParameters(sampledAttentionBandwidthFraction: 1, denseAttentionBandwidthFraction: 1, gqaSharedReads: true,
                                     retrievalSecondsPerTableWalk: 80e-9, retrievalSecondsPerCandidate: 4e-9,
                                     roundTripOverheadSecondsPerLayer: 0, threadScalingEfficiency: 0.7, computesExactPart: true)
        truth.denseThreadReadFraction = 1
        truth.denseSecondsPerQueryHeadElement = 0.2e-9
        truth.sampledThreadReadFraction = 0.165
        let readAll = 30e9, readOne = 16e9
        let cpu = CPUProfile(name: "local-cpu", displayName: "t", coresPerSocket: 2, maxSockets: 1,
                             dramBandwidthBytesPerSecondPerSocket: readAll / 0.8, streamEfficiency: 0.8, perCoreReadBytesPerSecond: readOne,
                             remoteBandwidthFraction: 0.33, defaultMemoryBytesPerSocket: 8e9, flopsPerSecondPerCore: 10e9,
                             vectorISA: [], source: "t")
        func model(_ r: ExecutorReport) -> (DecodeCostModel, DecodeConfiguration) {
            let costs = CPUKernelCosts(readBytesPerSecond: readAll, readBytesPerSecondOneThread: readOne, threads: 2)
            let hardware = Hardware(name: "local", gpu: nil, cpu: cpu, sockets: 1, threads: r.threads, cpuMemoryBytes: 8e9, gpuMemoryBytes: 0,
                                    numaLocal: true, link: nil, calibration: Calibration(source: "t", cpu: costs))
            let m = DecodeCostModel(hardware: hardware, workload: Workload(model: calibrator.runShape, contextTokens: r.promptTokens,
                                                                          generatedTokens: r.decodeSteps),
                                    engine: truth, fractions: SampledFractionModel(override: r.measured.sampledFraction?.mean))
            return (m, DecodeConfiguration(batch: r.batch, attention: r.attention, placement: Placement(kvDevice: .cpu, cpuThreads: r.threads)))
        }
        func synthesize(_ r: inout ExecutorReport) {
            let (m, c) = model(r)
            let b = Double(r.batch)
            r.measured.breakdown[.cpuAttention] = m.cpuAttentionSeconds(c, batch: b)
            r.measured.breakdown[.sampledAttention] = m.sampledAttentionSeconds(c, batch: b)
            r.measured.breakdown[.retrieval] = m.retrievalSeconds(c, batch: b)
            r.measured.breakdown[.hashing] = m.hashingSeconds(c, batch: b)
        }
        for i in dense.indices { synthesize(&dense[i]) }
        for i in lsh.indices { synthesize(&lsh[i]) }
        synthesize(&single.dense)
        synthesize(&single.lsh)
        let (_, system) = calibrator.fit(dense: dense, lsh: lsh, readAll: readAll, readOne: readOne, host: "test", memoryBytes: 8e9,
                                         oneThread: single)
        let engine = try #require(system.calibration?.cpu?.engine)
        func close(_ a: Double?, _ b: Double, _ what: String) {
            #expect(abs((a ?? .nan) / b - 1) < 1e-6, "\(what): fitted \(a ?? .nan), true \(b)")
        }
        close(engine.denseThreadReadFraction, 1, "one dense thread streams at a core's read")
        close(engine.denseSecondsPerQueryHeadElement, 0.2e-9, "dense seconds per query head and dimension")
        close(engine.sampledThreadReadFraction, 0.165, "one sampled thread's fraction of a core's read")
        close(engine.threadScalingEfficiency, 0.7, "two threads against twice one")
        close(engine.denseAttentionBandwidthFraction, 1, "dense cap: the memory's read bandwidth")
        close(engine.sampledAttentionBandwidthFraction, 1, "sampled cap: the memory's read bandwidth")
        close(engine.retrievalSecondsPerTableWalk, 80e-9, "seconds per table walk")
        close(engine.retrievalSecondsPerCandidate, 4e-9, "seconds per candidate")
    }

    /// A CPU-only system's prefill is its FLOPs (projections, causal attention, the LM head once)
    /// at the calibrated prefill rate per thread, plus each token's vector work at the calibrated
    /// cost per element; at the CPU profile's FLOP/s without a calibration.
    @Test func cpuPrefillRunsAtTheCalibratedRate() {
        let shape = ModelShape(name: "tiny", layerCount: 3, hiddenSize: 128, intermediateSize: 256, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 32, vocabSize: 300, denseLayers: [0])
        let cpu = CPUProfile(name: "c", displayName: "c", coresPerSocket: 2, maxSockets: 1,
                             dramBandwidthBytesPerSecondPerSocket: 20e9, streamEfficiency: 0.8, perCoreReadBytesPerSecond: 10e9,
                             remoteBandwidthFraction: 0.33, defaultMemoryBytesPerSocket: 8e9, flopsPerSecondPerCore: 10e9,
                             vectorISA: [], source: "t")
        var costs = CPUKernelCosts(readBytesPerSecond: 16e9, readBytesPerSecondOneThread: 10e9, threads: 2)
        costs.prefillFlopsPerSecondPerCore = 50e9
        costs.otherSecondsPerElement = 3e-9
        let n = 1000.0, batch = 2.0
        let flops = 2 * batch * n * shape.linearParametersPerLayer * 3 + 2 * batch * shape.embeddingParameters
            + 3 * 2 * batch * Double(4 * 32) * n * n
        // Per token: 3 layers x (4 h + q + 3 kv + f) + 2 h elements (norms, RoPE, stores, residuals).
        let other = batch * n * (3 * (4 * 128 + 128 + 3 * 64 + 256) + 2 * 128) * 3e-9
        for (calibration, rate, vector) in [(Calibration(source: "t", cpu: costs), 50e9, other), (nil, 10e9, 0)] {
            let hardware = Hardware(name: "c", gpu: nil, cpu: cpu, sockets: 1, threads: 2, cpuMemoryBytes: 8e9, gpuMemoryBytes: 0,
                                    numaLocal: true, link: nil, calibration: calibration)
            let model = DecodeCostModel(hardware: hardware, workload: Workload(model: shape, contextTokens: 1000, generatedTokens: 1),
                                        engine: EngineParameters(sampledAttentionBandwidthFraction: 0.3, denseAttentionBandwidthFraction: 0.7,
                                                                 gqaSharedReads: true, retrievalSecondsPerTableWalk: 0,
                                                                 retrievalSecondsPerCandidate: 0, roundTripOverheadSecondsPerLayer: 0,
                                                                 threadScalingEfficiency: 1, computesExactPart: true),
                                        fractions: SampledFractionModel(override: nil))
            let config = DecodeConfiguration(batch: 2, attention: .dense, placement: Placement(kvDevice: .cpu, cpuThreads: 2))
            let seconds = model.prefillSeconds(config, batch: batch)
            #expect(abs(seconds / (flops / (2 * rate) + vector) - 1) < 1e-12, "rate \(rate): \(seconds) s")
        }
    }
}
