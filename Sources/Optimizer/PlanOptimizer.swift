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
    /// Why no option fits, with the amounts; the command line words the fix in its own flags.
    public enum Reason: Sendable, Hashable {
        /// No (K, L) of the grid samples the accuracy floor; the grid's most accurate option.
        case accuracyFloor(floor: Double, mostAccurate: LSHParameters?, mostAccurateFraction: Double?)
        /// The weights (plus the GPU's reserved bytes) alone exceed GPU memory, at every deployment
        /// allowed (`weightBytes`: the least one GPU holds); `wouldFit` gives, per weight format,
        /// the fewest such GPUs that would hold them.
        case weightsExceedGPUMemory(weightBytes: Double, reservedBytes: Double, availableBytes: Double, gpus: Int, wouldFit: [WeightFit])
        /// Every option needs more GPU memory at this batch.
        case gpuMemory(batch: Int, leastBytes: Double, availableBytes: Double)
        /// What does not grow with the context (weights on a CPU-only machine, the tables' bucket
        /// ranges) already exceeds CPU memory.
        case cpuMemoryWhateverTheContext(batch: Int, fixedBytes: Double, availableBytes: Double, weightsOnCPU: Bool, lsh: LSHParameters?)
        /// KV cache and tables exceed CPU memory; about `contextTokensThatFit` would fit.
        case cpuMemory(batch: Int, leastBytes: Double, availableBytes: Double, contextTokensThatFit: Int)
        /// The fastest fitting configuration is slower than the step-time bound.
        case latency(batch: Int, fastestSeconds: Double, boundSeconds: Double)
        /// No batch in the allowed range fits.
        case batch
        /// GLPK ended without a solution.
        case solver(String)
        /// No setting's measured loss is within the quality budget.
        case qualityBudget(QualityShortfall)
    }
    /// A quality budget no setting meets: the metric, the budget, and the best measured setting.
    public struct QualityShortfall: Error, Sendable, Hashable {
        public var metric: String
        public var lossUnit: String
        public var budget: Double
        public var contextTokens: Int
        /// The least-loss setting measured near this context, and its loss.
        public var best: String?
        public var bestLoss: Double?
        /// `(K, L)` for LSH; `setting` in general.
        public var what: String
        public init(metric: String, lossUnit: String, budget: Double, contextTokens: Int, best: String?, bestLoss: Double?, what: String = "(K, L)") {
            self.metric = metric
            self.lossUnit = lossUnit
            self.budget = budget
            self.contextTokens = contextTokens
            self.best = best
            self.bestLoss = bestLoss
            self.what = what
        }
        func amount(_ x: Double) -> String {
            QualityMetric.lossText(x, unit: lossUnit, singular: true)
        }
        public var facts: String {
            let ctx = TokenCount(contextTokens).description
            guard let best, let bestLoss else {
                return "no \(what) has \(metric) measured near \(ctx), so none can be held to a loss of at most \(amount(budget))"
            }
            return "no \(what) loses at most \(amount(budget)) of \(metric) at \(ctx); the best is \(best) at \(amount(bestLoss))"
        }
    }
    /// Weights in `weights` fit on `gpus` GPUs of the plan's kind, split by tensor parallelism.
    public struct WeightFit: Sendable, Hashable {
        public var weights: String
        public var gpus: Int
    }
    public var reason: Reason
    /// The system the plan was for.
    public var hardwareName: String
    /// Model weight bytes (for the weights case).
    public var modelWeightBytes: Double
    /// The GPU profile of the system, if any (to name GPU counts that would fit).
    public var gpuName: String?

    public init(_ reason: Reason, hardwareName: String, modelWeightBytes: Double = 0) {
        self.reason = reason
        self.hardwareName = hardwareName
        self.modelWeightBytes = modelWeightBytes
    }

    /// The constraint that excludes the most promising option.
    public var bindingConstraint: String {
        switch reason {
        case .accuracyFloor: return "accuracy floor"
        case .weightsExceedGPUMemory, .gpuMemory: return "GPU memory"
        case .cpuMemoryWhateverTheContext, .cpuMemory: return "CPU memory"
        case .latency: return "latency"
        case .batch: return "batch"
        case .solver: return "solver"
        case .qualityBudget: return "quality budget"
        }
    }

    /// What rules the plan out, with the amounts (no remedy: callers word that in their terms).
    public var facts: String {
        switch reason {
        case .accuracyFloor(let floor, let option, let fraction):
            let detail = option.map { "the most accurate option in the grid, \($0), samples \(Self.percent(fraction ?? 0))" } ?? "the (K, L) grid is empty"
            return "no (K, L) meets the accuracy floor of \(Self.percent(floor)) sampled: \(detail)"
        case .weightsExceedGPUMemory(let weights, let reserved, let available, let gpus, _):
            let whose = gpus > 1 ? "split as far as the allowed tensor-parallel degrees go, the model's weights need \(Format.bytes(weights)) on each GPU, which" : "the model's weights (\(Format.bytes(weights)))"
            return "\(whose) plus the GPU's reserved \(Format.bytes(reserved)) exceed the \(Format.bytes(available)) of GPU memory" + (gpus > 1 ? " each" : "") + " on \(hardwareName)"
        case .gpuMemory(let batch, let least, let available):
            return "at batch \(batch) every option needs at least \(Format.bytes(least)) of GPU memory (\(Format.bytes(available)) available)"
        case .cpuMemoryWhateverTheContext(let batch, let fixed, let available, let weightsOnCPU, let lsh):
            var parts: [String] = []
            if weightsOnCPU { parts.append("the model's weights (\(Format.bytes(modelWeightBytes)))") }
            if let lsh { parts.append("the hash tables' bucket ranges at (K, L) = \(lsh) (L x 2^K ranges per layer, KV head and sequence)") }
            let what = parts.isEmpty ? "what does not depend on the context" : parts.joined(separator: " and ")
            return "at batch \(batch) \(what) alone need \(Format.bytes(fixed)) of CPU memory, whatever the context, and \(hardwareName) has \(Format.bytes(available))"
        case .cpuMemory(let batch, let least, let available, _):
            return "at batch \(batch) the smallest option needs \(Format.bytes(least)) of CPU memory for KV cache and hash tables, and \(hardwareName) has \(Format.bytes(available))"
        case .latency(let batch, let fastest, _):
            return "the fastest configuration that fits takes \(Format.seconds(fastest)) per decode step at batch \(batch)"
                + (fastest.isFinite ? "" : " (none fits)")
        case .batch:
            return "no batch size in the allowed range fits"
        case .solver(let detail):
            return detail
        case .qualityBudget(let q):
            return q.facts
        }
    }

    public var description: String { facts }

    static func percent(_ x: Double) -> String { Format.number(x * 100) + "%" }
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
///   sum_j (g0_j y_j + g1_j B_j) <= 1     GPU memory, as shares of one GPU (linear in B)
///   sum_j (c0_j y_j + c1_j B_j) <= 1     CPU memory, as shares of that GPU's part of the host
///   sum_j (a_j y_j + b_j B_j) <= max step time    (when a latency bound is set)
///   maximize sum_j r_j B_j - lambda (a_j y_j + b_j B_j)
/// An option also carries a deployment (tensor-parallel degree, weight format): its memory is
/// one GPU's and its shares are of that GPU's capacities, and r_j, the model instances the node
/// runs (GPUs / TP), makes the rate the node's tokens/s, r B / T.
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
        self.model.prepare(deployments)
    }

    /// The deployments (tensor-parallel degree, weight format) of the space that the machine
    /// and model allow.
    public var deployments: [Deployment] { space.deployments(allowedDegrees: model.tensorParallelDegrees) }

    /// One option with the batch ranges where it fits in memory, and its linear pieces.
    struct Candidate {
        var configuration: DecodeConfiguration
        var maxBatch: Int
        var segments: [StepTimeSegment]
        /// Memory as shares of what each device has (one GPU, and that GPU's share of the host,
        /// under the option's deployment): s0 + s1 B <= 1.
        var gpuShare: (Double, Double)
        var cpuShare: (Double, Double)
        /// Model instances the node runs with this option (GPUs / tensor-parallel degree).
        var replicas: Double
    }

    public var options: [DecodeConfiguration] {
        space.options(on: model.hardware, model: model.workload.model, engine: model.engine, deployments: deployments) {
            model.lshStatistics($0).fraction
        }
    }

    /// Memory as m0 + m1 B (exactly linear in B), with the capacities it is checked against, as
    /// the option's deployment model `m` sees them (per GPU, and that GPU's share of the host).
    func memoryLine(_ config: DecodeConfiguration, on m: DecodeCostModel) -> MemoryLine {
        let m0 = m.memory(config, batch: 0), m1 = m.memory(config, batch: 1)
        return MemoryLine(gpu: (m0.gpuBytes, m1.gpuBytes - m0.gpuBytes), cpu: (m0.cpuBytes, m1.cpuBytes - m0.cpuBytes),
                          gpuCapacity: m.hardware.gpuMemoryBytes, cpuCapacity: m.hardware.cpuMemoryBytes,
                          hasGPU: m.hardware.gpu != nil)
    }

    struct MemoryLine {
        var gpu: (Double, Double), cpu: (Double, Double)
        var gpuCapacity: Double, cpuCapacity: Double
        var hasGPU: Bool
        /// The line as shares of capacity (0 for a device the machine does not have).
        var gpuShare: (Double, Double) { hasGPU ? (gpu.0 / gpuCapacity, gpu.1 / gpuCapacity) : (0, 0) }
        var cpuShare: (Double, Double) { (cpu.0 / cpuCapacity, cpu.1 / cpuCapacity) }
    }

    /// Largest batch that fits both memories (0 when not even one sequence fits), capped.
    func maxBatch(_ line: MemoryLine) -> Int {
        var limit = Double(space.batch ?? space.maxBatch)
        for (m0, m1, cap) in [(line.gpu.0, line.gpu.1, line.gpuCapacity),
                              (line.cpu.0, line.cpu.1, line.cpuCapacity)] where m0 + m1 > 0 {
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
            var line: MemoryLine
            /// The option's deployment model, resolved once for its many evaluations.
            var model: DecodeCostModel
        }
        var fitting: [Fitting] = []
        var incumbent = 0.0
        for option in options {
            let model = self.model.deployed(option.deployment)
            let line = memoryLine(option, on: model)
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
            incumbent = max(incumbent, Double(model.replicas) * Double(high) / model.stepSeconds(option, batch: Double(high)))
            fitting.append(Fitting(option: option, low: low, high: high, line: line, model: model))
        }
        var result: [Candidate] = []
        for f in fitting {
            let replicas = Double(f.model.replicas)
            if pruneByBound && replicas * Double(f.high) / f.model.stepSeconds(f.option, batch: Double(f.low)) < incumbent * (1 - 1e-9) {
                continue
            }
            let segments = linearSegments(from: f.low, to: f.high, kinks: f.model.batchKinks(f.option, maxBatch: Double(f.high))) { b in
                f.model.stepSeconds(f.option, batch: Double(b))
            }
            guard !segments.isEmpty else { continue }
            result.append(Candidate(configuration: f.option, maxBatch: f.high, segments: segments, gpuShare: f.line.gpuShare,
                                    cpuShare: f.line.cpuShare, replicas: replicas))
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
        func rate(_ pair: (Int, StepTimeSegment), _ batch: Int) -> Double {
            pool[pair.0].replicas * Double(batch) / pair.1.seconds(Double(batch))
        }

        // Incumbent: the best option at its largest batch within memory and latency (from
        // `candidates`). On a segment, B / (a + b B) is monotone in B, so its best rate is at an
        // end: segments whose better end cannot beat the incumbent are pruned before the MILP,
        // as branch-and-bound would (exact, not a heuristic).
        let pairs = !pruneByBound ? allPairs : allPairs.filter { pair in
            max(rate(pair, pair.1.lower), rate(pair, pair.1.upper)) >= incumbent * (1 - 1e-9)
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
                throw Infeasibility(.solver("the MILP solver ended with '\(result.status.rawValue)': \(result.message ?? "no detail")"),
                                    hardwareName: model.hardware.name)
            }
            status = result.status
            guard let chosen = pairs.indices.first(where: { result.values[yIndex[$0]] > 0.5 }) else { break }
            let batch = Int(result.values[bIndex[chosen]].rounded())
            best = (chosen, batch)
            // F(lambda) = max (r B - lambda T) >= 0; it is 0 exactly at the optimal rate.
            if objective <= 1e-9 * max(1, pool[pairs[chosen].0].replicas * Double(batch)) { break }
            lambda = rate(pairs[chosen], batch)
        }
        guard let best else {
            throw Infeasibility(.solver("the MILP solver found no solution"), hardwareName: model.hardware.name)
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
                                    objective: pool[pairs[j].0].replicas - lambda * s.slopeSecondsPerSequence)
            y.append(yj); b.append(bj)
            lp.addConstraint("lower\(j)", [(bj, 1), (yj, -Double(s.lower))], lower: 0)
            lp.addConstraint("upper\(j)", [(bj, 1), (yj, -Double(s.upper))], upper: 0)
        }
        lp.addConstraint("choose one", y.map { ($0, 1.0) }, lower: 1, upper: 1)
        if model.hardware.gpu != nil {
            let terms = pairs.enumerated().flatMap { (j, p) in [(y[j], pool[p.0].gpuShare.0), (b[j], pool[p.0].gpuShare.1)] }
            lp.addConstraint("GPU memory (share of each GPU)", terms, upper: 1)
        }
        let cpuTerms = pairs.enumerated().flatMap { (j, p) in [(y[j], pool[p.0].cpuShare.0), (b[j], pool[p.0].cpuShare.1)] }
        lp.addConstraint("CPU memory (share of the host)", cpuTerms, upper: 1)
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
