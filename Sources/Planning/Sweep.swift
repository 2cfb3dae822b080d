import Foundation
import Core
import CostModel
import Optimizer
import Profiles

/// The decision map: for one model, the best plan at every (hardware, context) point, with the
/// LSH plan's speedup over GPU-only decoding and where it breaks even.
public struct Sweep: Codable, Sendable {
    public struct Point: Codable, Sendable {
        public var hardware: String
        public var contextTokens: Int
        /// The winning kind (lsh, gpu-only, cpu-kv-dense, quest), nil when nothing fits.
        public var plan: PlanKind?
        public var tokensPerSecond: Double?
        public var batch: Int?
        /// The best LSH plan and the best GPU-only plan (nil where they do not fit).
        public var lshTokensPerSecond: Double?
        public var lshK: Int?
        public var lshL: Int?
        public var gpuOnlyTokensPerSecond: Double?
        /// LSH over GPU-only; nil where either does not fit.
        public var lshSpeedupOverGPUOnly: Double?
        /// Why nothing fits, when nothing does.
        public var note: String?

        /// A point not planned yet (every result nil).
        public init(hardware: String, contextTokens: Int) {
            self.hardware = hardware
            self.contextTokens = contextTokens
        }
    }
    public struct BreakEven: Codable, Sendable {
        public var hardware: String
        /// Context (tokens) from which the LSH plan beats GPU-only, interpolated in log context
        /// between the swept points; nil when it never (or always) does within the sweep.
        public var contextTokens: Double?
        /// The first swept context at which GPU-only no longer fits, if any.
        public var gpuOnlyStopsFittingAt: Int?
        /// LSH already wins (or GPU-only already does not fit) at the first swept context.
        public var fromFirstContext: Bool
    }
    public var model: String
    public var engine: String
    /// The runtime the GPU-only side is predicted on (nil: the plan's engine).
    public var baselineEngine: String? = nil
    public var points: [Point]
    public var breakEven: [BreakEven]

    /// Plans every point (the planner as `pigplan` runs it, the attention left to the optimizer).
    /// `request` makes the plan request of one (hardware, context); `progress` hears each point.
    public static func run(model: String, engine: String, hardware: [String], contexts: [Int],
                           request: (String, Int) throws -> PlanRequest,
                           progress: (Int, Int) -> Void = { _, _ in }) throws -> Sweep {
        var points: [Point] = []
        let total = hardware.count * contexts.count
        for hw in hardware {
            for ctx in contexts {
                progress(points.count, total)
                var point = Point(hardware: hw, contextTokens: ctx)
                do {
                    let report = try Planner.plan(try request(hw, ctx))
                    point.plan = report.plan.kind
                    point.tokensPerSecond = report.prediction.tokensPerSecond
                    point.batch = report.plan.batch
                    let lsh = report.bestByKind.first { $0.name == .lsh && $0.feasible }
                    let gpu = report.bestByKind.first { $0.name == .gpuOnly && $0.feasible }
                    point.lshTokensPerSecond = lsh?.tokensPerSecond
                    if report.plan.kind == .lsh { point.lshK = report.plan.k; point.lshL = report.plan.l }
                    point.gpuOnlyTokensPerSecond = gpu?.tokensPerSecond
                    if let a = lsh?.tokensPerSecond, let b = gpu?.tokensPerSecond, b > 0 { point.lshSpeedupOverGPUOnly = a / b }
                } catch let error as PlanError {
                    point.note = "\(error)"
                }
                points.append(point)
            }
        }
        progress(total, total)
        let breakEven = hardware.map { hw in
            let row = points.filter { $0.hardware == hw }.sorted { $0.contextTokens < $1.contextTokens }
            let first = row.first { $0.lshTokensPerSecond != nil }
            let fromFirst = first.map { ($0.lshSpeedupOverGPUOnly ?? 0) >= 1 || $0.gpuOnlyTokensPerSecond == nil } ?? false
            return BreakEven(hardware: hw, contextTokens: fromFirst ? nil : crossing(row),
                             gpuOnlyStopsFittingAt: row.first { $0.gpuOnlyTokensPerSecond == nil && $0.lshTokensPerSecond != nil }?.contextTokens,
                             fromFirstContext: fromFirst)
        }
        return Sweep(model: model, engine: engine, points: points, breakEven: breakEven)
    }

    /// Where the speedup first crosses 1 going up in context (log-log interpolation between the two
    /// points around it); the context where GPU-only stops fitting counts as a crossing there.
    public static func crossing(_ row: [Point]) -> Double? {
        var previous: Point?
        for p in row {
            guard let s = p.lshSpeedupOverGPUOnly else {
                if p.gpuOnlyTokensPerSecond == nil, p.lshTokensPerSecond != nil, let q = previous, (q.lshSpeedupOverGPUOnly ?? 0) < 1 {
                    return Double(p.contextTokens)
                }
                continue
            }
            if let q = previous, let r = q.lshSpeedupOverGPUOnly, r < 1, s >= 1 {
                let x0 = log(Double(q.contextTokens)), x1 = log(Double(p.contextTokens))
                let f = (0 - log(r)) / (log(s) - log(r))
                return exp(x0 + f * (x1 - x0))
            }
            if previous == nil, s >= 1 { return nil }
            previous = p
        }
        return nil
    }
}

/// Decode throughput against batch for fixed (K, L) settings on one system (the MagicPIG paper's
/// batch-size figure): each point is the planner's evaluation of that batch and (K, L), with the
/// reference's own placement (mandatory dense layers, serial), or why it does not fit.
public struct BatchCurve: Codable, Sendable {
    public struct Point: Codable, Sendable {
        public var k: Int
        public var l: Int
        public var batch: Int
        public var tokensPerSecond: Double?
        public var stepSeconds: Double?
        public var note: String?
    }
    public var hardware: String
    public var model: String
    public var contextTokens: Int
    public var engine: String
    public var points: [Point]

    public static func run(hardware: String, model: String, contextTokens: Int, engine: String,
                           settings: [LSHParameters], batches: [Int],
                           request: (LSHParameters, Int) throws -> PlanRequest) throws -> BatchCurve {
        var points: [Point] = []
        for p in settings {
            for batch in batches {
                var point = Point(k: p.hashBitsPerTable, l: p.tableCount, batch: batch)
                do {
                    let report = try Planner.plan(try request(p, batch))
                    point.tokensPerSecond = report.prediction.tokensPerSecond
                    point.stepSeconds = report.prediction.stepSeconds
                } catch let error as PlanError {
                    if case .infeasible(let i) = error { point.note = i.facts } else { point.note = "\(error)" }
                }
                points.append(point)
            }
        }
        return BatchCurve(hardware: hardware, model: model, contextTokens: contextTokens, engine: engine, points: points)
    }
}
