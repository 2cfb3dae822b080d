import Core
import CostModel

extension PlanOptimizer {
    /// Names the constraint that rules out even the most forgiving option, with the amounts.
    func explainInfeasibility() -> Infeasibility {
        let all = options
        let hw = model.hardware
        let weightBytes = model.workload.model.weightBytes
        func infeasible(_ reason: Infeasibility.Reason) -> Infeasibility {
            Infeasibility(reason, hardwareName: hw.name, modelWeightBytes: weightBytes)
        }
        guard !all.isEmpty else {
            let best = space.lshGrid.map { ($0, model.lshStatistics($0).fraction) }.max { $0.1 < $1.1 }
            return infeasible(.accuracyFloor(floor: space.minSampledFraction ?? 0, mostAccurate: best?.0, mostAccurateFraction: best?.1))
        }
        let batch = Double(space.batch ?? 1)
        let memories = all.map { model.memory($0, batch: batch) }
        if let gpu = hw.gpu, weightBytes + gpu.reservedBytes > hw.gpuMemoryBytes {
            return infeasible(.weightsExceedGPUMemory(weightBytes: weightBytes, reservedBytes: gpu.reservedBytes, availableBytes: hw.gpuMemoryBytes))
        }
        let gpuFits = memories.filter { $0.gpuBytes <= hw.gpuMemoryBytes || hw.gpu == nil }
        if gpuFits.isEmpty, let least = memories.min(by: { $0.gpuBytes < $1.gpuBytes }) {
            return infeasible(.gpuMemory(batch: Int(batch), leastBytes: least.gpuBytes, availableBytes: hw.gpuMemoryBytes))
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
            if fixed > hw.cpuMemoryBytes {
                return infeasible(.cpuMemoryWhateverTheContext(batch: Int(batch), fixedBytes: fixed, availableBytes: hw.cpuMemoryBytes,
                                                               weightsOnCPU: hw.gpu == nil, lsh: option.attention.lsh))
            }
            let perToken = (least.cpuBytes - fixed) / Double(model.workload.contextTokens)
            let fitTokens = Int((hw.cpuMemoryBytes - fixed) / max(perToken, 1))
            return infeasible(.cpuMemory(batch: Int(batch), leastBytes: least.cpuBytes, availableBytes: hw.cpuMemoryBytes,
                                         contextTokensThatFit: max(1, fitTokens / 1024 * 1024)))
        }
        if let bound = space.maxStepSeconds {
            let fastest = zip(all, memories)
                .filter { model.fits($0.1) }
                .map { model.stepSeconds($0.0, batch: Double(space.lowestBatch(for: $0.0))) }
                .min() ?? .infinity
            return infeasible(.latency(batch: Int(batch), fastestSeconds: fastest, boundSeconds: bound))
        }
        return infeasible(.batch)
    }
}
