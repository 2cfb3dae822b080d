import Core
import CostModel
import Solver

/// The best configuration found, with how it was found.
public struct OptimizedPlan: Sendable {
    public var configuration: DecodeConfiguration
    public var cost: StepCost
    public var solver: SolverReport
}

public struct SolverReport: Sendable, Hashable, Codable {
    public var status: SolveStatus
    public var seconds: Double
    /// Of `seconds`, the part spent evaluating the cost model to build the program.
    public var modelSeconds: Double
    /// Dinkelbach iterations (one MILP each).
    public var iterations: Int
    /// Options that fit in memory (and the latency bound), and those left after bounding.
    public var options: Int
    public var optionsInProgram: Int
    public var segments: Int
    /// Segments left after pruning by the incumbent's rate.
    public var segmentsInProgram: Int
    public var variables: Int
    public var constraints: Int
    public var method: String
}

/// Why nothing is feasible, in words a user can act on.
public struct Infeasibility: Error, Sendable, Hashable, CustomStringConvertible {
    /// The constraint that excludes the most promising option ("GPU memory", "CPU memory",
    /// "latency", "accuracy floor", "solver").
    public var bindingConstraint: String
    public var explanation: String
    public var description: String { explanation }
}

/// Chooses batch size, (K, L) and placement by maximizing decode tokens/s = B / T(B) over a
/// mixed-integer program solved with GLPK.
///
/// The ratio objective is solved exactly by Dinkelbach's method: for a trial rate lambda,
/// maximize sum_j (B_j - lambda T_j) over the MILP below; when the optimum is 0, lambda is the best
/// rate; otherwise lambda becomes B* / T(B*) of the new solution and the loop repeats (finitely many
/// integer solutions, each strictly better).
///
/// MILP, one (option o, segment s) pair j at a time, where an option is an attention mode and a
/// placement and a segment an integer batch range on which T_o(B) = a_j + b_j B exactly:
///   y_j in {0, 1}                         choose this option and batch range
///   B_j integer, lo_j y_j <= B_j <= hi_j y_j
///   sum_j y_j = 1                         exactly one choice
///   sum_j (g0_j y_j + g1_j B_j) <= GPU memory     (memory is linear in B)
///   sum_j (c0_j y_j + c1_j B_j) <= CPU memory
///   sum_j (a_j y_j + b_j B_j) <= max step time    (when a latency bound is set)
///   maximize sum_j B_j - lambda (a_j y_j + b_j B_j)
public struct PlanOptimizer: Sendable {
    public var model: DecodeCostModel
    public var space: SearchSpace
    public var solver: any LinearProgramSolver
    /// Drop segments whose best rate cannot beat the incumbent before building the MILP (exact;
    /// off only to measure the unpruned program).
    public var pruneByBound = true

    public init(model: DecodeCostModel, space: SearchSpace, solver: any LinearProgramSolver = GLPKSolver()) {
        self.model = model
        self.space = space
        self.solver = solver
        self.model.precompute((space.lsh ? space.lshGrid : []) + space.extraAttentionModes.compactMap(\.lsh))
    }

    /// One option with the batch ranges where it fits in memory, and its linear pieces.
    struct Candidate {
        var configuration: DecodeConfiguration
        var maxBatch: Int
        var segments: [StepTimeSegment]
        var gpuBytes: (Double, Double)
        var cpuBytes: (Double, Double)
    }

    public var options: [DecodeConfiguration] {
        space.options(on: model.hardware, model: model.workload.model, engine: model.engine) { model.lshStatistics($0).fraction }
    }

    /// Memory as m0 + m1 B (exactly linear in B).
    func memoryLine(_ config: DecodeConfiguration) -> (gpu: (Double, Double), cpu: (Double, Double)) {
        let m0 = model.memory(config, batch: 0), m1 = model.memory(config, batch: 1)
        return ((m0.gpuBytes, m1.gpuBytes - m0.gpuBytes), (m0.cpuBytes, m1.cpuBytes - m0.cpuBytes))
    }

    /// Largest batch that fits both memories (0 when not even one sequence fits), capped.
    func maxBatch(_ line: (gpu: (Double, Double), cpu: (Double, Double))) -> Int {
        var limit = Double(space.batch ?? space.maxBatch)
        for (m0, m1, cap) in [(line.gpu.0, line.gpu.1, model.hardware.gpuMemoryBytes),
                              (line.cpu.0, line.cpu.1, model.hardware.cpuMemoryBytes)] where m0 + m1 > 0 {
            if m0 > cap { return 0 }
            if m1 > 0 { limit = min(limit, ((cap - m0) / m1).rounded(.down)) }
        }
        return Int(max(0, limit))
    }

    /// Options that fit, each with its exact linear pieces. Every term of the step time grows
    /// with the batch, so an option can do no better than maxBatch / T(lowest batch); options
    /// whose bound is below the incumbent (the best option evaluated at its own largest batch)
    /// are dropped before their pieces are built (exact, as in branch and bound).
    func candidates() -> (pool: [Candidate], options: Int, incumbent: Double) {
        struct Fitting {
            var option: DecodeConfiguration
            var low: Int
            var high: Int
            var line: (gpu: (Double, Double), cpu: (Double, Double))
        }
        var fitting: [Fitting] = []
        var incumbent = 0.0
        for option in options {
            let line = memoryLine(option)
            var high = maxBatch(line)
            let low = space.lowestBatch(for: option)
            guard high >= low else { continue }
            if let bound = space.maxStepSeconds {
                guard model.stepSeconds(option, batch: Double(low)) <= bound * (1 + 1e-12) else { continue }
                // Largest batch within the bound (T is nondecreasing in B): bisection.
                if model.stepSeconds(option, batch: Double(high)) > bound {
                    var lo = low, hi = high
                    while hi - lo > 1 {
                        let mid = (lo + hi) / 2
                        if model.stepSeconds(option, batch: Double(mid)) <= bound { lo = mid } else { hi = mid }
                    }
                    high = lo
                }
            }
            incumbent = max(incumbent, Double(high) / model.stepSeconds(option, batch: Double(high)))
            fitting.append(Fitting(option: option, low: low, high: high, line: line))
        }
        var result: [Candidate] = []
        for f in fitting {
            if pruneByBound && Double(f.high) / model.stepSeconds(f.option, batch: Double(f.low)) < incumbent * (1 - 1e-9) {
                continue
            }
            let segments = linearSegments(from: f.low, to: f.high, kinks: model.batchKinks(f.option, maxBatch: Double(f.high))) { b in
                model.stepSeconds(f.option, batch: Double(b))
            }
            guard !segments.isEmpty else { continue }
            result.append(Candidate(configuration: f.option, maxBatch: f.high, segments: segments, gpuBytes: f.line.gpu, cpuBytes: f.line.cpu))
        }
        return (result, fitting.count, incumbent)
    }

    /// Solves the MILP with Dinkelbach iterations. Throws `Infeasibility` with the binding
    /// constraint when no option fits.
    public func optimize() throws(Infeasibility) -> OptimizedPlan {
        let clock = ContinuousClock()
        let started = clock.now
        let (pool, fittingOptions, incumbent) = candidates()
        let built = clock.now
        guard !pool.isEmpty else { throw explainInfeasibility() }
        var allPairs: [(Int, StepTimeSegment)] = []
        for (i, c) in pool.enumerated() { for s in c.segments { allPairs.append((i, s)) } }

        // Incumbent: the best option at its largest batch within memory and latency (from
        // `candidates`). On a segment, B / (a + b B) is monotone in B, so its best rate is at an
        // end: segments whose better end cannot beat the incumbent are pruned before the MILP,
        // as branch-and-bound would (exact, not a heuristic).
        let pairs = !pruneByBound ? allPairs : allPairs.filter { (_, s) in
            let bound = max(Double(s.lower) / s.seconds(Double(s.lower)), Double(s.upper) / s.seconds(Double(s.upper)))
            return bound >= incumbent * (1 - 1e-9)
        }
        var lambda = pruneByBound ? incumbent * (1 - 1e-6) : 0
        var best: (pair: Int, batch: Int)? = nil
        var iterations = 0
        var lastProgram = LinearProgram(sense: .maximize)
        var status: SolveStatus = .optimal
        while iterations < 50 {
            iterations += 1
            let (program, yIndex, bIndex) = buildProgram(pool: pool, pairs: pairs, lambda: lambda)
            lastProgram = program
            let result = solver.solve(program)
            guard result.status == .optimal || result.status == .feasible, let objective = result.objective else {
                status = result.status
                if best != nil { break }
                throw Infeasibility(bindingConstraint: "solver",
                                    explanation: "the MILP solver ended with '\(result.status.rawValue)': \(result.message ?? "no detail")")
            }
            status = result.status
            guard let chosen = pairs.indices.first(where: { result.values[yIndex[$0]] > 0.5 }) else { break }
            let batch = Int(result.values[bIndex[chosen]].rounded())
            let seconds = pairs[chosen].1.seconds(Double(batch))
            best = (chosen, batch)
            // F(lambda) = max (B - lambda T) >= 0; it is 0 exactly at the optimal rate.
            if objective <= 1e-9 * max(1, Double(batch)) { break }
            lambda = Double(batch) / seconds
        }
        guard let best else {
            throw Infeasibility(bindingConstraint: "solver", explanation: "the MILP solver found no solution")
        }
        let candidate = pool[pairs[best.pair].0]
        var configuration = candidate.configuration
        configuration.batch = best.batch
        let cost = model.step(configuration, batch: Double(best.batch))
        let report = SolverReport(
            status: status, seconds: (clock.now - started).seconds, modelSeconds: (built - started).seconds, iterations: iterations, options: fittingOptions, optionsInProgram: pool.count,
            segments: allPairs.count, segmentsInProgram: pairs.count, variables: lastProgram.variables.count, constraints: lastProgram.constraints.count,
            method: "GLPK branch-and-cut MILP, Dinkelbach iterations on tokens/s")
        return OptimizedPlan(configuration: configuration, cost: cost, solver: report)
    }

    func buildProgram(pool: [Candidate], pairs: [(Int, StepTimeSegment)], lambda: Double)
        -> (LinearProgram, [Int], [Int])
    {
        var lp = LinearProgram(sense: .maximize)
        var y: [Int] = [], b: [Int] = []
        for (j, (_, s)) in pairs.enumerated() {
            let yj = lp.addVariable("y\(j)", kind: .binary, objective: -lambda * s.interceptSeconds)
            let bj = lp.addVariable("B\(j)", kind: .integer, lower: 0, upper: Double(s.upper),
                                    objective: 1 - lambda * s.slopeSecondsPerSequence)
            y.append(yj); b.append(bj)
            lp.addConstraint("lower\(j)", [(bj, 1), (yj, -Double(s.lower))], lower: 0)
            lp.addConstraint("upper\(j)", [(bj, 1), (yj, -Double(s.upper))], upper: 0)
        }
        lp.addConstraint("choose one", y.map { ($0, 1.0) }, lower: 1, upper: 1)
        let gpuCap = model.hardware.gpuMemoryBytes
        if model.hardware.gpu != nil {
            let terms = pairs.enumerated().flatMap { (j, p) in [(y[j], pool[p.0].gpuBytes.0 / 1e9), (b[j], pool[p.0].gpuBytes.1 / 1e9)] }
            lp.addConstraint("GPU memory (GB)", terms, upper: gpuCap / 1e9)
        }
        let cpuTerms = pairs.enumerated().flatMap { (j, p) in [(y[j], pool[p.0].cpuBytes.0 / 1e9), (b[j], pool[p.0].cpuBytes.1 / 1e9)] }
        lp.addConstraint("CPU memory (GB)", cpuTerms, upper: model.hardware.cpuMemoryBytes / 1e9)
        if let bound = space.maxStepSeconds {
            let terms = pairs.enumerated().flatMap { (j, p) in [(y[j], p.1.interceptSeconds), (b[j], p.1.slopeSecondsPerSequence)] }
            lp.addConstraint("step time", terms, upper: bound)
        }
        return (lp, y, b)
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
