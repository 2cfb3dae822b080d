import Core
import Optimizer
import Planning

extension Infeasibility {
    /// What would lift the constraint, in this command line's flags.
    var remedy: String {
        switch reason {
        case .accuracyFloor:
            return "Lower --min-sampled-fraction (or --quality), or allow smaller K / larger L with --k / --l."
        case .weightsExceedGPUMemory(_, _, _, let gpus, let fits):
            guard !fits.isEmpty else {
                return "Use a GPU with more memory, raise --gpu-memory if it was capped, or plan a smaller model."
            }
            let kind = gpuName ?? "such GPUs"
            // The flags that would get there on this system: a larger --tp where the node has the
            // GPUs, another --weights for every format but the plan's own (listed first).
            let words = fits.enumerated().map { i, fit in
                let what = "\(fit.gpus) x \(kind)"
                var flags: [String] = []
                if fit.gpus <= gpus {
                    if fit.gpus > 1 { flags.append("--tp \(fit.gpus)") }
                    if i > 0 { flags.append("--weights \(fit.weights)") }
                }
                let flag = flags.isEmpty ? "" : " (\(flags.joined(separator: " ")))"
                return i == 0 ? "\(fit.weights) weights need at least \(what)\(flag)" : "with \(fit.weights) weights \(what)\(flag)"
            }
            return "The " + words.joined(separator: "; ") + ". Plan on a system with that many GPUs (`pigplan profiles list` shows the nodes, e.g. --hw 8xh100), store the weights in fewer bytes, or raise --gpu-memory if it was capped."
        case .gpuMemory:
            return "Lower --ctx or --batch, or use a GPU with more memory."
        case .cpuMemoryWhateverTheContext:
            return "Use a smaller K or L (--k / --l), or raise --cpu-memory if the host has more."
        case .cpuMemory(_, _, _, let fit):
            return "Lower --ctx to about \(TokenCount(fit)) or below, raise --cpu-memory if the host has more, or use more sockets."
        case .latency(_, let fastest, let bound):
            return "That is above --max-latency \(Format.seconds(bound)). Raise --max-latency to at least \(Format.seconds(fastest)), shorten --ctx, or use faster hardware."
        case .batch:
            return "Check --batch and --max-batch."
        case .solver:
            return "Report this with the command line: the solver should always find the incumbent."
        case .qualityBudget(let q):
            if let loss = q.bestLoss {
                // Rounded up at the printed digits, so the flag admits the loss it names.
                let digits = QualityMetric.lossDigits(q.lossUnit)
                let budget = Format.fixed(loss + (digits == 2 ? 0.005 : 0.05) - 1e-9, decimals: digits)
                return "Allow that loss (--max-quality-loss \(budget)), plan dense attention (--attention dense), or measure more settings near this context (`pigplan quality`)."
            }
            return "Measure the model's quality at this context (`pigplan quality --gguf MODEL.gguf --text TEXT --ctx \(TokenCount(q.contextTokens))`), or drop --max-quality-loss."
        }
    }

    /// The whole message a command prints.
    var commandLineMessage: String { "no feasible plan (\(bindingConstraint)): \(facts). \(remedy)" }
}

extension PlanCommand {
    /// The planner's report for `request`; infeasibility is worded in the command line's flags.
    public static func report(for request: PlanRequest) throws -> PlanReport {
        do { return try Planner.plan(request) } catch PlanError.infeasible(let infeasibility) {
            throw PlanError.invalid(infeasibility.commandLineMessage)
        }
    }
}
