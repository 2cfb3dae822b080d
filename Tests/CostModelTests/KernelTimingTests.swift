import Core
import CostModel
import Fixtures
import Profiles
import Testing

/// Each timing type against hand-computed cases, and the fits against tables they did not see.
struct KernelTimingTests {
    func close(_ a: Double, _ b: Double, _ tol: Double = 1e-9) -> Bool { abs(a - b) <= tol * max(abs(b), 1e-30) }

    // MARK: CPU loops

    @Test func piecesShareEveryUnitOverAllThreads() {
        let k = CPUKernelTiming(threads: 16, schedule: .pieces)
        // 8 units of 1 ms over 16 threads: every unit is cut, so 0.5 ms; 40 units: 2.5 ms.
        #expect(close(k.seconds(units: 8, unitSeconds: 1e-3), 0.5e-3))
        #expect(close(k.seconds(units: 40, unitSeconds: 1e-3), 2.5e-3))
        #expect(k.activeThreads(units: 8) == 16)
    }

    @Test func wholeUnitsLeaveThreadsIdleAndPayAFullLastRound() {
        let k = CPUKernelTiming(threads: 16, schedule: .wholeUnits)
        // 8 units on 16 threads: 8 idle threads, one unit's time.
        #expect(close(k.seconds(units: 8, unitSeconds: 1e-3), 1e-3))
        #expect(k.activeThreads(units: 8) == 8)
        // 16 units: still one round; 17 units: the 17th takes a second round alone.
        #expect(close(k.seconds(units: 16, unitSeconds: 1e-3), 1e-3))
        #expect(close(k.seconds(units: 17, unitSeconds: 1e-3), 2e-3))
        #expect(close(k.seconds(units: 32, unitSeconds: 1e-3), 2e-3))
        // Rounds change every 16 / units-per-sequence sequences.
        #expect(k.batchKinks(unitsPerSequence: 32, maxBatch: 2) == [0.5, 1, 1.5, 2])
    }

    @Test func pairSplitHalvesAUnitWhenUnitsAreHalfTheThreads() {
        let k = CPUKernelTiming(threads: 64, schedule: .wholeUnitsPairSplit)
        #expect(close(k.seconds(units: 32, unitSeconds: 1e-3), 0.5e-3))
        #expect(k.activeThreads(units: 32) == 64)
        // Otherwise whole units: 31 units and 64 units take one unit's time, 96 units two.
        #expect(close(k.seconds(units: 31, unitSeconds: 1e-3), 1e-3))
        #expect(close(k.seconds(units: 64, unitSeconds: 1e-3), 1e-3))
        #expect(close(k.seconds(units: 96, unitSeconds: 1e-3), 2e-3))
    }

    @Test func threadsBeyondTheCoresTakeTurnsAndStretchTheWork() {
        // A 64-thread team on 16 cores: 32 units keep 64 threads busy (pair split), four per core.
        let k = CPUKernelTiming(threads: 64, cores: 16, schedule: .wholeUnitsPairSplit, secondsPerCall: 10e-6,
                                oversubscriptionWorkShare: 0.1)
        // 0.5 round x 4 turns x 1 ms x (1 + (4 - 1) x 0.1) + 10 us: the stretch grows with the work.
        #expect(close(k.seconds(units: 32, unitSeconds: 1e-3), 2e-3 * 1.3 + 10e-6))
        #expect(close(k.seconds(units: 32, unitSeconds: 2e-3), 4e-3 * 1.3 + 10e-6))
        // 20 whole units: 20 threads on 16 cores: 1.25 turns.
        let w = CPUKernelTiming(threads: 64, cores: 16, schedule: .wholeUnits)
        #expect(close(w.seconds(units: 20, unitSeconds: 1e-3), 1.25e-3))
        // As many cores as threads: no turns, no oversubscription cost.
        let fit = CPUKernelTiming(threads: 64, cores: 64, schedule: .wholeUnitsPairSplit, secondsPerCall: 10e-6,
                                  oversubscriptionWorkShare: 0.1)
        #expect(close(fit.seconds(units: 32, unitSeconds: 1e-3), 0.5e-3 + 10e-6))
    }

    @Test func numaSlowsTheThreadsAndBandwidthOnlyCaps() {
        let k = CPUKernelTiming(threads: 8, schedule: .pieces, numaFactor: 1.2, bandwidthCapBytesPerSecond: 10e9)
        // 16 units of 1 ms on 8 threads, 20% slower: 2.4 ms; 10 MB at 10 GB/s (1 ms) does not bind.
        #expect(close(k.seconds(units: 16, unitSeconds: 1e-3, bytes: 10e6), 2.4e-3))
        // 100 MB would take 10 ms at the cap: it binds.
        #expect(close(k.seconds(units: 16, unitSeconds: 1e-3, bytes: 100e6), 10e-3))
    }

    @Test func interleavedPagesSlowTheLatencyBoundShare() {
        // Fixture CPU: remote latency 1.6; the engine's latency share is 1 (default).
        let local = Fixture.model(hardware: Fixture.hardware(sockets: 2, numaLocal: true), fraction: 0.02)
        let mixed = Fixture.model(hardware: Fixture.hardware(sockets: 2, numaLocal: false), fraction: 0.02)
        let config = Fixture.lsh(10, 150, batch: 8, threads: 64, sockets: 2)
        // Retrieval is latency-bound work: half the reads remote at 1.6x: 1.3x.
        #expect(close(mixed.retrievalSeconds(config, batch: 8) / local.retrievalSeconds(config, batch: 8), 1.3))
    }

    // MARK: GPU projections

    @Test func linearCallsPayAFixedCostThenBytesOrFlops() {
        let t = GPULinearTiming(secondsPerCall: 20e-6, bandwidthBytesPerSecond: 4e12, flopsPerSecond: 800e12)
        // 4 calls over 400 MB at batch 1: 80 us + 100 us.
        #expect(close(t.seconds(calls: 4, bytes: 400e6, parameters: 200e6, batch: 1), 180e-6))
        // Batch 2000: 2 x 2000 x 200e6 / 800e12 = 1 ms of multiply-adds beats the 100 us of bytes.
        #expect(close(t.seconds(calls: 4, bytes: 400e6, parameters: 200e6, batch: 2000), 80e-6 + 1e-3))
        // Knee: bytes F / (2 P BW) = 400e6 x 800e12 / (2 x 200e6 x 4e12) = 200.
        #expect(close(t.knee(bytes: 400e6, parameters: 200e6), 200))
    }

    @Test func linearFitRecoversPerCallCostFromTwoShapes() {
        let truth = GPULinearTiming(secondsPerCall: 20e-6, bandwidthBytesPerSecond: 4.5e12, flopsPerSecond: 700e12)
        let s = Fixture.llama8b
        let rows = [1, 2, 4, 8, 16, 64, 256, 512].map { b in
            Calibration.LinearLayerRow(
                batch: b, layerSeconds: truth.seconds(calls: 4, bytes: s.linearBytesPerLayer, parameters: s.linearParametersPerLayer, batch: Double(b)),
                lmHeadSeconds: truth.seconds(calls: 1, bytes: s.lmHeadBytes, parameters: s.embeddingParameters, batch: Double(b)))
        }
        let fit = GPULinearTiming.fit(rows: rows, callsPerLayer: 4, layerBytes: s.linearBytesPerLayer, layerParameters: s.linearParametersPerLayer,
                                      lmHeadBytes: s.lmHeadBytes, lmHeadParameters: s.embeddingParameters,
                                      fallback: GPULinearTiming(secondsPerCall: 0, bandwidthBytesPerSecond: 3.8e12, flopsPerSecond: 593e12))
        #expect(close(fit.secondsPerCall, 20e-6, 1e-6))
        #expect(close(fit.bandwidthBytesPerSecond, 4.5e12, 1e-6))
        #expect(close(fit.flopsPerSecond, 700e12, 1e-6))
    }

    /// The shipped H200 table has no 34B rows: the per-call model must not scale the 82 us of four
    /// calls by the 3.2x larger layer.
    @Test func largerShapesDoNotScaleTheFixedCost() throws {
        let store = try ProfileStore.builtIn()
        let hw = try store.resolveHardware(name: "h200")
        let small = try store.model("llama-3.1-8b").shape, big = try store.model("codellama-34b").shape
        func model(_ shape: ModelShape) -> DecodeCostModel {
            DecodeCostModel(hardware: hw, workload: Workload(model: shape, contextTokens: 4096, generatedTokens: 0),
                            engine: try! store.engine("pigplan").parameters, fractions: SampledFractionModel(override: 0.02),
                            calibrationShape: small)
        }
        let perLayerSmall = model(small).linearLayersSeconds(batch: 1) / 32
        let perLayerBig = model(big).linearLayersSeconds(batch: 1) / 48
        let bytesRatio = big.linearBytesPerLayer / small.linearBytesPerLayer
        testLog("H200 linear layer at batch 1: 8B \(perLayerSmall * 1e6) us, 34B \(perLayerBig * 1e6) us (bytes x \(bytesRatio))")
        #expect(perLayerBig / perLayerSmall < 0.75 * bytesRatio)
        #expect(perLayerBig / perLayerSmall > 0.5 * bytesRatio)
    }

    // MARK: GPU attention

    @Test func attentionBlocksFillTheGPUUpToTheCap() {
        let t = GPUAttentionTiming(fixedSeconds: 20e-6, perBlockBytesPerSecond: 45e9, bandwidthBytesPerSecond: 4.5e12, splitsKV: false)
        // Batch 1, 8 KV heads, 98304 tokens x 4096 bytes: 8 blocks x 45 GB/s = 360 GB/s.
        #expect(close(t.seconds(batch: 1, tokens: 98_304, kvHeads: 8, kvBytesPerToken: 4096), 20e-6 + 98_304 * 4096 / 360e9))
        // 32 KV heads (MHA), 4x the bytes and 4x the blocks: the same time.
        #expect(close(t.seconds(batch: 1, tokens: 98_304, kvHeads: 32, kvBytesPerToken: 16_384),
                      t.seconds(batch: 1, tokens: 98_304, kvHeads: 8, kvBytesPerToken: 4096)))
        // Batch 16 x 8 heads = 128 blocks x 45 GB/s > 4.5 TB/s: the cap binds.
        #expect(close(t.seconds(batch: 16, tokens: 98_304, kvHeads: 8, kvBytesPerToken: 4096), 20e-6 + 16 * 98_304 * 4096 / 4.5e12))
        #expect(close(t.knee(kvHeads: 8)!, 12.5))
        // A kernel that splits the KV streams at the cap from batch 1.
        var split = t
        split.splitsKV = true
        #expect(close(split.seconds(batch: 1, tokens: 98_304, kvHeads: 8, kvBytesPerToken: 4096), 20e-6 + 98_304 * 4096 / 4.5e12))
    }

    /// Fit on part of the shipped H200 attention table, predict the rest.
    @Test func h200AttentionFitOnPartPredictsTheRest() throws {
        let hw = try ProfileStore.builtIn().resolveHardware(name: "h200")
        let rows = try #require(hw.calibration?.gpuDecodeAttention)
        let isTraining = { (r: Calibration.AttentionRow) in
            (r.batch == 1 && (r.contextTokens == 4096 || r.contextTokens == 131_072)) || (r.batch == 16 && r.contextTokens == 98_304)
        }
        let fit = GPUAttentionTiming.fit(rows: rows.filter(isTraining), kvHeads: 8, kvBytesPerToken: 4096, splitsKV: false,
                                         fallback: GPUAttentionTiming(gpu: hw.gpu!))
        var worst = 0.0
        for r in rows where !isTraining(r) {
            let predicted = fit.seconds(batch: Double(r.batch), tokens: Double(r.contextTokens), kvHeads: 8, kvBytesPerToken: 4096)
            worst = max(worst, abs(predicted - r.seconds) / r.seconds)
        }
        testLog("H200 attention, fitted on 3 rows: worst error over the other \(rows.count - 3) rows \(worst)")
        #expect(worst < 0.12)
    }

    /// Fit on part of the shipped H200 linear table (batches 1-16 and 256), predict the rest.
    @Test func h200LinearFitOnPartPredictsTheRest() throws {
        let store = try ProfileStore.builtIn()
        let hw = try store.resolveHardware(name: "h200")
        let s = try store.model("llama-3.1-8b").shape
        let rows = try #require(hw.calibration?.gpuLinearLayers)
        let training: Set<Int> = [1, 2, 4, 8, 16, 256]
        let fit = GPULinearTiming.fit(rows: rows.filter { training.contains($0.batch) }, callsPerLayer: 4,
                                      layerBytes: s.linearBytesPerLayer, layerParameters: s.linearParametersPerLayer,
                                      lmHeadBytes: s.lmHeadBytes, lmHeadParameters: s.embeddingParameters,
                                      fallback: GPULinearTiming(gpu: hw.gpu!))
        var worst = 0.0
        for r in rows where !training.contains(r.batch) {
            let b = Double(r.batch)
            let layer = fit.seconds(calls: 4, bytes: s.linearBytesPerLayer, parameters: s.linearParametersPerLayer, batch: b)
            let head = fit.seconds(calls: 1, bytes: s.lmHeadBytes, parameters: s.embeddingParameters, batch: b)
            worst = max(worst, abs(layer - r.layerSeconds) / r.layerSeconds, abs(head - r.lmHeadSeconds) / r.lmHeadSeconds)
        }
        testLog("H200 linear layers, fitted on batches 1-16 and 256: per call \(fit.secondsPerCall * 1e6) us, \(fit.bandwidthBytesPerSecond / 1e12) TB/s, \(fit.flopsPerSecond / 1e12) TFLOP/s; worst error elsewhere \(worst)")
        #expect(fit.secondsPerCall > 10e-6 && fit.secondsPerCall < 30e-6)
        #expect(worst < 0.15)
    }

    // MARK: Host dispatch

    @Test func eagerDispatchHidesUnderLargerGPUWork() {
        var engine = Fixture.engine
        engine.hostDispatchSecondsPerLayer = 1e-3
        let m = DecodeCostModel(hardware: Fixture.hardware(), workload: Workload(model: Fixture.llama8b, contextTokens: 98_304, generatedTokens: 0),
                                engine: engine, fractions: SampledFractionModel(override: 0.02))
        let config = Fixture.lsh(10, 150)
        let t = m.terms(config, batch: 1)
        // A layer's GPU work: 436 MB / 800 GB/s = 545 us of projections + 20 us of launches; sparse
        // layers add their hashing and exact part, dense layers their full attention.
        let perLayer = 436_207_616 / 800e9 + 20e-6
        let sparse = 30 * max(0, 1e-3 - perLayer - (t[.hashing] + t[.exactPart]) / 30)
        let dense = 2 * max(0, 1e-3 - perLayer - t[.gpuAttention] / 2)
        #expect(close(t[.dispatch], sparse + dense))
        #expect(dense == 0)  // 98304 tokens x 4096 bytes / 700 GB/s = 575 us of attention hides it
        // Dispatch faster than the GPU: nothing exposed.
        engine.hostDispatchSecondsPerLayer = 100e-6
        let fast = DecodeCostModel(hardware: Fixture.hardware(), workload: Workload(model: Fixture.llama8b, contextTokens: 98_304, generatedTokens: 0),
                                   engine: engine, fractions: SampledFractionModel(override: 0.02))
        #expect(fast.terms(config, batch: 1)[.dispatch] == 0)
    }
}
