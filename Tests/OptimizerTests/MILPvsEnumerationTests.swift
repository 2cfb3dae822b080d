import Core
import CostModel
import Optimizer
import Solver
import Testing

/// The MILP's optimum must equal exhaustive enumeration of the same space (1e-9 relative).
struct MILPvsEnumerationTests {
    static let grids: [(String, [Int], [Int], Int, Int?, Double?)] = [
        // name, K values, L values, context, fixed batch, latency bound
        ("small grid 96k", [8, 10], [75, 150], 98_304, nil, nil),
        ("small grid 32k", [7, 9, 11], [50, 100, 200], 32_768, nil, nil),
        ("latency bound", [8, 10], [100, 150], 65_536, nil, 0.05),
        ("fixed batch", [9, 10], [120, 150], 98_304, 4, nil),
    ]

    @Test(arguments: 0..<grids.count, [true, false])
    func milpMatchesEnumeration(_ index: Int, pruned: Bool) throws {
        let (name, ks, ls, context, batch, latency) = Self.grids[index]
        var space = SearchSpace()
        space.hashBits = ks
        space.tableCounts = ls
        space.batch = batch
        space.maxBatch = 256
        space.maxStepSeconds = latency
        var optimizer = PlanOptimizer(model: Fixture.costModel(context: context), space: space)
        optimizer.pruneByBound = pruned
        let plan = try optimizer.optimize()
        let reference = try #require(BruteForceOptimizer(optimizer).optimize())
        let relative = abs(plan.cost.tokensPerSecond - reference.tokensPerSecond) / reference.tokensPerSecond
        print("\(name)\(pruned ? "" : " (unpruned)"): MILP \(plan.cost.tokensPerSecond) tok/s at \(plan.configuration.batch), enumeration \(reference.tokensPerSecond) at \(reference.configuration.batch); relative difference \(relative); \(plan.solver.iterations) iterations, \(plan.solver.segments) segments")
        #expect(relative <= 1e-9)
        #expect(plan.solver.status == .optimal)
        if let latency { #expect(plan.cost.stepSeconds <= latency * (1 + 1e-12)) }
    }
}
