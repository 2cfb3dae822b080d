import Foundation
import PigPlanCommands
import Planning
import Testing

/// `pigplan sweep`: the decision map over hardware and context.
@Suite struct SweepTests {
    @Test func mapNamesTheWinnerAndTheBreakEven() throws {
        let command = try SweepCommand.parse(["--hw", "rtx4090,h200", "--ctx", "8k,64k"])
        let sweep = try command.sweep()
        #expect(sweep.points.count == 4 && sweep.engine == "magicpig")
        func point(_ hw: String, _ ctx: Int) throws -> Sweep.Point {
            try #require(sweep.points.first { $0.hardware == hw && $0.contextTokens == ctx })
        }
        // An 8B model at 64k does not fit a 24 GB GPU with full attention: LSH is the plan.
        let small = try point("rtx4090", 65_536)
        #expect(small.plan == .lsh && small.gpuOnlyTokensPerSecond == nil && small.lshSpeedupOverGPUOnly == nil)
        // On the H200 host GPU-only wins at both contexts, and its speedup is below 1.
        for ctx in [8192, 65_536] {
            let big = try point("h200", ctx)
            #expect(big.plan == .gpuOnly && (big.lshSpeedupOverGPUOnly ?? 9) < 1)
        }
        let rtx = try #require(sweep.breakEven.first { $0.hardware == "rtx4090" })
        #expect(rtx.gpuOnlyStopsFittingAt == 65_536)

        let table = SweepCommand.table(sweep)
        #expect(table.contains("LSH beats GPU-only from") && table.contains("rtx4090") && table.contains("lsh *"))
        let csv = SweepCommand.csv(sweep).split(separator: "\n")
        #expect(csv.count == 5 && csv[0].hasPrefix("hardware,contextTokens,plan"))
        let svg = SweepCommand.svg(sweep)
        #expect(svg.hasPrefix("<svg") && svg.contains("rtx4090") && svg.contains("h200") && svg.contains("break-even"))
        let decoded = try JSONDecoder().decode(Sweep.self, from: Data(try PlanRenderer.json(sweep).utf8))
        #expect(decoded.points.count == 4)
    }

    /// The break-even context is interpolated in log context and log speedup between the points
    /// around 1x: 0.5x at 8k and 2x at 32k cross at 16k.
    @Test func breakEvenInterpolatesBetweenPoints() {
        func p(_ ctx: Int, _ s: Double?, gpuFits: Bool = true) -> Sweep.Point {
            var point = Sweep.Point(hardware: "x", contextTokens: ctx)
            point.lshTokensPerSecond = 1
            point.gpuOnlyTokensPerSecond = gpuFits ? 1 : nil
            point.lshSpeedupOverGPUOnly = s
            return point
        }
        let c = Sweep.crossing([p(8192, 0.5), p(32_768, 2)])
        #expect(abs((c ?? 0) - 16_384) < 1)
        #expect(Sweep.crossing([p(8192, 0.5), p(32_768, 0.9)]) == nil)
        // GPU-only stops fitting while LSH was still slower: the crossing is where it stops.
        #expect(Sweep.crossing([p(8192, 0.5), p(32_768, nil, gpuFits: false)]) == 32_768)
    }

    @Test func badContextsAreNamed() {
        do { _ = try SweepCommand.parse(["--ctx", "8k,lots"]); Issue.record("accepted --ctx lots") } catch {
            #expect(SweepCommand.message(for: error).contains("--ctx lots"))
        }
    }
}

/// `pigplan sweep --batch-curve`: tokens/s against batch per (K, L) on one system.
@Suite struct BatchCurveTests {
    @Test func curveGrowsWithBatchUntilMemoryRunsOut() throws {
        let command = try SweepCommand.parse(["--batch-curve", "--hw", "rtx4090", "--ctx", "96k", "--max-batch", "64", "--kl", "10x150,8x75"])
        let curve = try command.curve()
        #expect(curve.points.count == 2 * 7 && curve.engine == "magicpig")
        for (k, l) in [(10, 150), (8, 75)] {
            let rates = curve.points.filter { $0.k == k && $0.l == l }.sorted { $0.batch < $1.batch }
            let fitting = rates.compactMap(\.tokensPerSecond)
            // Batch 1 fits; throughput grows with the batch while it fits; then GPU memory ends it.
            #expect(fitting.count >= 2 && fitting.count < rates.count, "(\(k), \(l))")
            #expect(zip(fitting, fitting.dropFirst()).allSatisfy { $0 < $1 }, "(\(k), \(l)): \(fitting)")
            #expect(rates.filter { $0.tokensPerSecond == nil }.allSatisfy { $0.note?.contains("GPU memory") == true })
        }
        let table = SweepCommand.table(curve)
        #expect(table.split(separator: "\n").count == 4) // title, header, two settings (blank lines are not counted)
        #expect(SweepCommand.svg(curve).contains("(K, L) = (8, 75)"))
    }

    @Test func curveNeedsOneSystemAndNoFixedDecisions() {
        for args in [["--batch-curve", "--ctx", "96k"], ["--batch-curve", "--hw", "rtx4090,h200", "--ctx", "96k"],
                     ["--batch-curve", "--hw", "rtx4090", "--ctx", "96k", "--batch", "4"], ["--kl", "10x1"]] {
            do { _ = try SweepCommand.parse(args); Issue.record("accepted \(args)") } catch {
                let message = SweepCommand.message(for: error)
                #expect(message.contains("--batch-curve") || message.contains("--kl"), "\(message)")
            }
        }
    }
}
