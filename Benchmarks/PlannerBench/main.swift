// planner-bench: timings of the planner, printed as ratios measured in one run (not a test).
//   swift build -c release && .build/release/planner-bench
// 1. Whole-process time of `pigplan --hw rtx4090 --ctx 96k` (the binary beside this one), median
//    of 15 runs; target under 100 ms.
// 2. The MILP (with and without bound pruning) vs brute-force enumeration over the default space;
//    target at least 10x faster, same optimum to 1e-9.
import Core
import CostModel
import Foundation
import Optimizer
import PigPlanCommands
import Profiles

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
}

let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pigplan")
if FileManager.default.isExecutableFile(atPath: binary.path) {
    var runs: [Double] = []
    for _ in 0..<15 {
        runs.append(try seconds {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["--hw", "rtx4090", "--ctx", "96k"]
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
        })
    }
    print("pigplan --hw rtx4090 --ctx 96k: whole process \(Format.seconds(median(runs))) (median of 15; target < 100 ms): \(median(runs) < 0.1 ? "met" : "MISSED")")
} else {
    print("pigplan binary not found beside planner-bench; build it with `swift build -c release` first")
}

for (hw, ctx) in [("rtx4090", "96k"), ("h200", "128k"), ("a100-2s-8563c", "64k")] {
    let request = try PlanOptions.parse(["--hw", hw, "--ctx", ctx]).request()
    var pruned = PlanOptimizer(model: request.costModel(), space: request.space)
    var full = pruned
    full.pruneByBound = false
    pruned.pruneByBound = true
    var plan: OptimizedPlan? = nil
    var fullPlan: OptimizedPlan? = nil
    var brute: BruteForceOptimizer.Result? = nil
    let prunedSeconds = median((0..<5).map { _ in seconds { plan = try? pruned.optimize() } })
    let fullSeconds = median((0..<3).map { _ in seconds { fullPlan = try? full.optimize() } })
    let bruteSeconds = seconds { brute = BruteForceOptimizer(pruned).optimize() }
    let wholeSpaceSeconds = seconds { _ = BruteForceOptimizer(pruned, stopAtMemoryLimit: false).optimize() }
    guard let plan, let fullPlan, let brute else { print("\(hw) \(ctx): infeasible"); continue }
    let gap = abs(plan.cost.tokensPerSecond - brute.tokensPerSecond) / brute.tokensPerSecond
    let gapFull = abs(fullPlan.cost.tokensPerSecond - brute.tokensPerSecond) / brute.tokensPerSecond
    print("""
        \(hw) --ctx \(ctx): \(plan.solver.options) options, \(brute.evaluations) brute-force evaluations
          MILP (bound-pruned, \(plan.solver.optionsInProgram) options, \(plan.solver.segmentsInProgram) segments): \(Format.seconds(prunedSeconds)), \(Format.number(bruteSeconds / prunedSeconds))x faster than memory-stopped brute force; optimum gap \(gap)
          MILP (no bounding, \(fullPlan.solver.variables) variables): \(Format.seconds(fullSeconds)); optimum gap \(gapFull)
          enumeration of the whole space (every option x batch 1...\(request.space.maxBatch)): \(Format.seconds(wholeSpaceSeconds)); bound-pruned MILP is \(Format.number(wholeSpaceSeconds / prunedSeconds))x faster
          brute force (stopping each option at its memory limit): \(Format.seconds(bruteSeconds)); best \(Format.number(brute.tokensPerSecond)) tokens/s at batch \(brute.configuration.batch)
        """)
}
