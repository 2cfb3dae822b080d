import Core
import CostModel
import Foundation
import PigPlanCommands
import Profiles
import Testing

/// Recomputes the magicpig engine's derivation (Profiles/README.md) from its documented inputs and
/// checks the shipped profile and the end-to-end prediction against them.
@Suite struct MagicPIGEngineTests {
    /// Reference kernel table (MAGICPIG.md): batch, context, (K, L), sampled, retrieval seconds.
    let retrievalRows: [(Double, Double, Int, Double, Double)] = [
        (1, 32_768, 150, 0.016, 0.03e-3), (1, 98_304, 150, 0.016, 0.12e-3), (4, 98_304, 150, 0.016, 0.66e-3),
        (1, 98_304, 75, 0.046, 0.28e-3), (8, 32_768, 150, 0.016, 0.62e-3),
    ]

    func perTableCollision(_ fraction: Double, _ l: Int) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<100 {
            let mid = (lo + hi) / 2
            if CollisionTheory.samplingProbability(tableCollision: mid, tableCount: l) < fraction { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }

    @Test func derivationReproducesTheShippedParameters() throws {
        // Step 1: least squares t x 16 threads = 32 B (L walk + candidates x c).
        var ata = [[0.0, 0.0], [0.0, 0.0]], atb = [0.0, 0.0]
        for (b, n, l, f, t) in retrievalRows {
            let candidates = Double(l) * perTableCollision(f, l) * (n - 68)
            let row = [32 * b * Double(l) / 16, 32 * b * candidates / 16]
            for i in 0..<2 { atb[i] += row[i] * t; for j in 0..<2 { ata[i][j] += row[i] * row[j] } }
        }
        let det = ata[0][0] * ata[1][1] - ata[0][1] * ata[1][0]
        let walk = (atb[0] * ata[1][1] - ata[0][1] * atb[1]) / det
        let perCandidate = (ata[0][0] * atb[1] - ata[1][0] * atb[0]) / det
        // Step 2: cold factor from the end-to-end CPU time.
        let f = 0.0157, nh = 98_304.0 - 68
        let retrieval = 32 * (150 * walk + 150 * perTableCollision(f, 150) * nh * perCandidate) / 16
        let sampled = 1.69e-3 * f / 0.016
        let cold = (69.7e-3 / 30) / (retrieval + sampled)
        // Step 3: bandwidth fraction over the bytes touched (per query head).
        let fraction = 32 * f * nh * 516 / (sampled * cold * 97.99e9)
        let engine = try ProfileStore.builtIn().engine("magicpig").parameters
        print("magicpig derivation: walk \(walk * cold), candidate \(perCandidate * cold), cold \(cold), fraction \(fraction)")
        #expect(abs(engine.retrievalSecondsPerTableWalk / (walk * cold) - 1) < 0.01)
        #expect(abs(engine.retrievalSecondsPerCandidate / (perCandidate * cold) - 1) < 0.01)
        #expect(abs(engine.sampledAttentionBandwidthFraction / fraction - 1) < 0.01)
        #expect(abs(engine.denseAttentionBandwidthFraction / (98_304 * 8 * 512 / 16.7e-3 / 97.99e9) - 1) < 0.01)
        #expect(!engine.gqaSharedReads && !engine.computesExactPart)
    }

    @Test func endToEndPointIsPredictedWithinTenPercent() throws {
        let request = try PlanOptions.parse([
            "--hw", "h200-host16", "--engine", "magicpig", "--model", "llama-3.1-8b", "--ctx", "98304", "--batch", "1",
            "--k", "10", "--l", "150", "--sampled-fraction", "0.0157", "--compare-engines",
        ]).request()
        let report = try Planner.plan(request)
        let error = abs(report.prediction.stepSeconds - 96.5e-3) / 96.5e-3
        print("magicpig end-to-end: predicted \(report.prediction.stepSeconds * 1e3) ms vs 96.5 ms measured (\(error * 100)%)")
        #expect(error < 0.10)
        // CPU kernels of the 30 sparse layers: 69.7 ms measured.
        #expect(abs(report.prediction.cpuSideSeconds - 69.7e-3) / 69.7e-3 < 0.05)
        #expect(report.plan.engine == "magicpig")
        #expect(report.prediction.sampledFractionSource == "override")
        // Our engine on the same host, side by side.
        let ours = try #require(report.engineComparison?.first { $0.engine == "pigplan" })
        #expect(ours.tokensPerSecond > report.prediction.tokensPerSecond)
    }
}
