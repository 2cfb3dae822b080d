import Core
import CostModel
import Testing
import Validation

/// The calibration fits recover known parameters from timings synthesised with the cost model.
struct CalibrationFitTests {
    @Test func twoTermLeastSquaresRecoversBothCosts() {
        // t = 50 ns x walks + 3 ns x candidates, with walks and candidates varying independently.
        let walks: [Double] = [1e4, 2e4, 4e4, 1e4, 3e4, 5e4]
        let candidates: [Double] = [1e6, 5e5, 2e6, 4e6, 1e6, 3e6]
        let t = zip(walks, candidates).map { 50e-9 * $0 + 3e-9 * $1 }
        let (a, b) = CalibrationFit.twoTerm(x: walks, y: candidates, t: t)
        testLog("recovered \(a) s per walk, \(b) s per candidate")
        #expect(abs(a - 50e-9) < 1e-15)
        #expect(abs(b - 3e-9) < 1e-16)
    }

    @Test func twoTermStaysNonnegative() {
        // Timings explained by walks alone (candidates are noise): b must not go negative.
        let (a, b) = CalibrationFit.twoTerm(x: [1, 2, 3, 4], y: [4, 1, 3, 2], t: [1.0, 2.0, 3.0, 4.0])
        #expect(b >= 0 && a > 0)
        #expect(abs(a - 1) < 1e-12 && b == 0)
    }

    @Test func bandwidthFractionIsTheMedianRatio() {
        // A kernel at 0.6 of the bandwidth: measured = basis / 0.6, with one outlier run.
        let basis: [Double] = [1e-3, 2e-3, 3e-3, 4e-3, 5e-3]
        var measured = basis.map { $0 / 0.6 }
        measured[2] *= 3
        #expect(abs(CalibrationFit.fraction(basis: basis, measured: measured) - 0.6) < 1e-12)
    }

    @Test func linearRowsAreMediansPerBatch() {
        let bytes = 1e9
        let samples: [(batch: Int, seconds: Double, bytes: Double)] = [
            (1, 0.040, bytes), (1, 0.042, bytes), (1, 0.080, bytes), (4, 0.050, bytes), (4, 0.052, bytes),
        ]
        let rows = CalibrationFit.linearRows(samples)
        #expect(rows.map(\.batch) == [1, 4])
        #expect(abs(rows[0].secondsPerByte - 0.042e-9) < 1e-20)
        #expect(abs(rows[1].secondsPerByte - 0.051e-9) < 1e-20)
    }

    /// End to end through the cost model: synthesise sampled-attention and retrieval times from
    /// known engine parameters on a CPU-only machine and recover them with the same bases the
    /// calibrator uses.
    @Test func recoversEngineParametersThroughTheCostModel() {
        let cpu = CPUProfile(name: "c", displayName: "c", coresPerSocket: 2, maxSockets: 1, dramBandwidthBytesPerSecondPerSocket: 40e9,
                             streamEfficiency: 0.8, perCoreReadBytesPerSecond: 15e9, remoteBandwidthFraction: 0.33,
                             defaultMemoryBytesPerSocket: 24e9, flopsPerSecondPerCore: 50e9, vectorISA: [], source: "test")
        let hw = Hardware(name: "local", gpu: nil, cpu: cpu, sockets: 1, threads: 2, cpuMemoryBytes: 24e9, gpuMemoryBytes: 0,
                          numaLocal: true, link: nil, calibration: Calibration(source: "t", cpu: CPUKernelCosts(readBytesPerSecond: 30e9, readBytesPerSecondOneThread: 16e9, threads: 2)))
        let truth = EngineParameters(sampledAttentionBandwidthFraction: 0.35, denseAttentionBandwidthFraction: 0.7, gqaSharedReads: true,
                                     retrievalSecondsPerTableWalk: 40e-9, retrievalSecondsPerCandidate: 5e-9,
                                     roundTripOverheadSecondsPerLayer: 0, threadScalingEfficiency: 1, computesExactPart: true)
        var unit = truth
        unit.sampledAttentionBandwidthFraction = 1
        unit.retrievalSecondsPerTableWalk = 1
        unit.retrievalSecondsPerCandidate = 0
        var candidateUnit = unit
        candidateUnit.retrievalSecondsPerTableWalk = 0
        candidateUnit.retrievalSecondsPerCandidate = 1
        let shape = ModelShape(name: "m", layerCount: 4, hiddenSize: 4096, intermediateSize: 14336, queryHeadCount: 32,
                               kvHeadCount: 8, headDim: 128, vocabSize: 1000, denseLayers: [0])
        var basisSampled: [Double] = [], basisWalk: [Double] = [], basisCandidate: [Double] = []
        var sampled: [Double] = [], retrieval: [Double] = []
        for (k, l, n, b, f) in [(8, 75, 8192, 1, 0.046), (10, 150, 16384, 4, 0.016), (9, 120, 8192, 2, 0.033), (10, 150, 4096, 8, 0.016)] {
            func model(_ e: EngineParameters) -> DecodeCostModel {
                DecodeCostModel(hardware: hw, workload: Workload(model: shape, contextTokens: n, generatedTokens: 8), engine: e,
                                fractions: SampledFractionModel(override: f))
            }
            let config = DecodeConfiguration(batch: b, attention: .lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l)),
                                             placement: Placement(kvDevice: .cpu, cpuThreads: 2))
            sampled.append(model(truth).sampledAttentionSeconds(config, batch: Double(b)))
            retrieval.append(model(truth).retrievalSeconds(config, batch: Double(b)))
            basisSampled.append(model(unit).sampledAttentionSeconds(config, batch: Double(b)))
            basisWalk.append(model(unit).retrievalSeconds(config, batch: Double(b)))
            basisCandidate.append(model(candidateUnit).retrievalSeconds(config, batch: Double(b)))
        }
        #expect(abs(CalibrationFit.fraction(basis: basisSampled, measured: sampled) - 0.35) < 1e-12)
        let (walk, candidate) = CalibrationFit.twoTerm(x: basisWalk, y: basisCandidate, t: retrieval)
        #expect(abs(walk / 40e-9 - 1) < 1e-6)
        #expect(abs(candidate / 5e-9 - 1) < 1e-6)
    }
}
