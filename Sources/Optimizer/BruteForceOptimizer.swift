import Core
import CostModel

/// Evaluates every option at every integer batch and keeps the best tokens/s: the reference the
/// MILP is tested against, and the baseline of the optimizer benchmark.
public struct BruteForceOptimizer: Sendable {
    public var optimizer: PlanOptimizer
    /// Stop an option's batch loop at the first batch that does not fit (memory grows with the
    /// batch); when false every batch of the space is evaluated and checked.
    public var stopAtMemoryLimit: Bool
    public init(_ optimizer: PlanOptimizer, stopAtMemoryLimit: Bool = true) {
        self.optimizer = optimizer
        self.stopAtMemoryLimit = stopAtMemoryLimit
    }

    public struct Result: Sendable {
        public var configuration: DecodeConfiguration
        public var tokensPerSecond: Double
        public var evaluations: Int
    }

    public func optimize() -> Result? {
        let space = optimizer.space
        var best: Result? = nil
        var evaluations = 0
        for option in optimizer.options {
            // The option's deployment model (one GPU's share of the node), once per option.
            let model = optimizer.model.deployed(option.deployment)
            let low = space.lowestBatch(for: option)
            let high = space.batch ?? space.maxBatch
            guard low <= high else { continue }
            for batch in low...high {
                if !model.fits(option, batch: Double(batch)) { if stopAtMemoryLimit { break } else { continue } }
                evaluations += 1
                let stepSeconds = model.stepSeconds(option, batch: Double(batch))
                if let bound = space.maxStepSeconds, stepSeconds > bound { continue }
                let rate = Double(model.replicas) * Double(batch) / stepSeconds
                if rate > (best?.tokensPerSecond ?? 0) {
                    var c = option
                    c.batch = batch
                    best = Result(configuration: c, tokensPerSecond: rate, evaluations: 0)
                }
            }
        }
        best?.evaluations = evaluations
        return best
    }
}
