import Core
import CostModel

extension PlanOptimizer {
    /// Names the constraint that rules out even the most forgiving option, and what would lift it.
    func explainInfeasibility() -> Infeasibility {
        let all = options
        let hw = model.hardware
        guard !all.isEmpty else {
            let fractions = space.lshGrid.map { ($0, model.lshStatistics($0).fraction) }
            let best = fractions.max { $0.1 < $1.1 }
            let detail = best.map { "the most accurate option in the grid, \($0.0), samples \(percent($0.1))" } ?? "the (K, L) grid is empty"
            return Infeasibility(
                bindingConstraint: "accuracy floor",
                explanation: "no (K, L) meets the accuracy floor of \(percent(space.minSampledFraction ?? 0)) sampled: \(detail). Lower --min-sampled-fraction (or --quality), or allow smaller K / larger L with --k / --l.")
        }
        let batch = Double(space.batch ?? 1)
        let memories = all.map { model.memory($0, batch: batch) }
        if hw.gpu != nil {
            let weights = model.workload.model.weightBytes + (hw.gpu?.reservedBytes ?? 0)
            if weights > hw.gpuMemoryBytes {
                return Infeasibility(
                    bindingConstraint: "GPU memory",
                    explanation: "the model's weights (\(Format.bytes(model.workload.model.weightBytes))) plus the GPU's reserved \(Format.bytes(hw.gpu?.reservedBytes ?? 0)) exceed the \(Format.bytes(hw.gpuMemoryBytes)) of GPU memory on \(hw.name). Use a GPU with more memory, raise --gpu-memory if it was capped, or plan a smaller model.")
            }
        }
        let gpuFits = memories.filter { $0.gpuBytes <= hw.gpuMemoryBytes || hw.gpu == nil }
        if gpuFits.isEmpty, let least = memories.min(by: { $0.gpuBytes < $1.gpuBytes }) {
            return Infeasibility(
                bindingConstraint: "GPU memory",
                explanation: "at batch \(Int(batch)) every option needs at least \(Format.bytes(least.gpuBytes)) of GPU memory (\(Format.bytes(hw.gpuMemoryBytes)) available). Lower --ctx or --batch, or use a GPU with more memory.")
        }
        let bothFit = memories.filter(model.fits)
        if bothFit.isEmpty,
           let (option, least) = zip(all, memories).filter({ $0.1.gpuBytes <= hw.gpuMemoryBytes || hw.gpu == nil })
               .min(by: { $0.1.cpuBytes < $1.1.cpuBytes }) {
            // Split the CPU bytes into what grows with the context and what does not (the
            // tables' 2^K bucket ranges, a CPU-only machine's weights).
            var oneToken = model
            oneToken.workload.contextTokens = 1
            let fixed = oneToken.memory(option, batch: batch).cpuBytes
            let available = Format.bytes(hw.cpuMemoryBytes)
            if fixed > hw.cpuMemoryBytes {
                var parts: [String] = []
                if hw.gpu == nil { parts.append("the model's weights (\(Format.bytes(model.workload.model.weightBytes)))") }
                if let lsh = option.attention.lsh {
                    parts.append("the hash tables' bucket ranges at (K, L) = \(lsh) (L x 2^K ranges per layer, KV head and sequence)")
                }
                let what = parts.isEmpty ? "what does not depend on the context" : parts.joined(separator: " and ")
                return Infeasibility(
                    bindingConstraint: "CPU memory",
                    explanation: "at batch \(Int(batch)) \(what) alone need \(Format.bytes(fixed)) of CPU memory, whatever the context, and \(hw.name) has \(available). Use a smaller K or L (--k / --l), or raise --cpu-memory if the host has more.")
            }
            let perToken = (least.cpuBytes - fixed) / Double(model.workload.contextTokens)
            let fitTokens = Int((hw.cpuMemoryBytes - fixed) / max(perToken, 1))
            return Infeasibility(
                bindingConstraint: "CPU memory",
                explanation: "at batch \(Int(batch)) the smallest option needs \(Format.bytes(least.cpuBytes)) of CPU memory for KV cache and hash tables, and \(hw.name) has \(available). Lower --ctx to about \(TokenCount(max(1, fitTokens / 1024 * 1024))) or below, raise --cpu-memory if the host has more, or use more sockets.")
        }
        if let bound = space.maxStepSeconds {
            let fastest = zip(all, memories)
                .filter { model.fits($0.1) }
                .map { model.stepSeconds($0.0, batch: Double(space.lowestBatch(for: $0.0))) }
                .min() ?? .infinity
            return Infeasibility(
                bindingConstraint: "latency",
                explanation: "the fastest configuration that fits takes \(Format.seconds(fastest)) per decode step at batch \(Int(batch)), above --max-latency \(Format.seconds(bound)). Raise --max-latency to at least \(Format.seconds(fastest)), shorten --ctx, or use faster hardware.")
        }
        return Infeasibility(bindingConstraint: "batch", explanation: "no batch size in the allowed range fits; check --batch.")
    }

    func percent(_ x: Double) -> String { Format.number(x * 100) + "%" }
}
