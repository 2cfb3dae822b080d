import Core
import Fixtures
import CostModel
import Optimizer
import Profiles
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
        var optimizer = PlanOptimizer(model: Fixture.model(context: context, generated: 128), space: space)
        optimizer.pruneByBound = pruned
        let plan = try optimizer.optimize()
        let reference = try #require(BruteForceOptimizer(optimizer).optimize())
        let relative = abs(plan.cost.tokensPerSecond - reference.tokensPerSecond) / reference.tokensPerSecond
        testLog("\(name)\(pruned ? "" : " (unpruned)"): MILP \(plan.cost.tokensPerSecond) tok/s at \(plan.configuration.batch), enumeration \(reference.tokensPerSecond) at \(reference.configuration.batch); relative difference \(relative); \(plan.solver.iterations) iterations, \(plan.solver.segments) segments")
        #expect(relative <= 1e-9)
        #expect(plan.solver.status == .optimal)
        if let latency { #expect(plan.cost.stepSeconds <= latency * (1 + 1e-12)) }
    }
}

/// The same law on real profiles: calibrated tables (piecewise-linear in the batch) and a
/// two-socket host with interleaved memory.
struct MILPOnProfilesTests {
    @Test(arguments: [("h200", "96k"), ("a100-2s-8563c", "32k"), ("rtx4090-epyc", "64k")])
    func milpMatchesEnumeration(_ hw: String, _ ctx: String) throws {
        let store = try ProfileStore.builtIn()
        let hardware = try store.resolveHardware(name: hw)
        let model = try store.model("llama-3.1-8b")
        let context = try TokenCount.parse(ctx).value
        let cost = DecodeCostModel(
            hardware: hardware, workload: Workload(model: model.shape, contextTokens: context),
            engine: try store.engine("pigplan").parameters, fractions: SampledFractionModel(profile: model),
            calibrationShape: try hardware.calibration?.referenceModel.map { try store.model($0).shape })
        var space = SearchSpace()
        space.hashBits = [8, 9, 10]
        space.tableCounts = [75, 150, 300]
        space.maxBatch = 128
        for pruned in [true, false] {
            var optimizer = PlanOptimizer(model: cost, space: space)
            optimizer.pruneByBound = pruned
            let plan = try optimizer.optimize()
            let reference = try #require(BruteForceOptimizer(optimizer).optimize())
            let relative = abs(plan.cost.tokensPerSecond - reference.tokensPerSecond) / reference.tokensPerSecond
            testLog("\(hw) \(ctx)\(pruned ? "" : " (unpruned)"): MILP \(plan.cost.tokensPerSecond) vs enumeration \(reference.tokensPerSecond); relative difference \(relative)")
            #expect(relative <= 1e-9)
        }
    }
}

/// With tensor-parallel degree and weight format as decisions (a node, `--weights auto`), the
/// MILP still equals enumeration of every (option, deployment, batch).
struct MILPWithDeploymentsTests {
    @Test(arguments: [("8xh100", "llama-3.1-70b", "32k"), ("2xrtx4090", "llama-3.1-8b", "64k"), ("4xl40", "llama-3.1-8b", "96k")])
    func milpMatchesEnumeration(_ hw: String, _ modelName: String, _ ctx: String) throws {
        let store = try ProfileStore.builtIn()
        let hardware = try store.resolveHardware(name: hw)
        let model = try store.model(modelName)
        let cost = DecodeCostModel(
            hardware: hardware, workload: Workload(model: model.shape, contextTokens: try TokenCount.parse(ctx).value),
            engine: try store.engine("magicpig").parameters, fractions: SampledFractionModel(profile: model))
        var space = SearchSpace()
        space.hashBits = [8, 10]
        space.tableCounts = [75, 150]
        space.dense = true
        space.maxBatch = 64
        space.weightFormats = WeightFormat.allCases.map(Optional.some)
        let optimizer = PlanOptimizer(model: cost, space: space)
        #expect(optimizer.deployments.count > WeightFormat.allCases.count)  // more than one TP degree
        let plan = try optimizer.optimize()
        let reference = try #require(BruteForceOptimizer(optimizer).optimize())
        let relative = abs(plan.cost.tokensPerSecond - reference.tokensPerSecond) / reference.tokensPerSecond
        testLog("\(hw) \(modelName) \(ctx): MILP \(plan.cost.tokensPerSecond) tok/s (\(plan.configuration.deployment), batch \(plan.configuration.batch)), enumeration \(reference.tokensPerSecond) (\(reference.configuration.deployment), batch \(reference.configuration.batch))")
        #expect(relative <= 1e-9)
    }
}
