import Core
import CostModel

extension PlanOptimizer {
    /// Names the constraint that rules out even the most forgiving option, with the amounts.
    func explainInfeasibility() -> Infeasibility {
        let all = options
        let hw = model.hardware
        let weightBytes = model.workload.model.weightBytes
        func infeasible(_ reason: Infeasibility.Reason) -> Infeasibility {
            var i = Infeasibility(reason, hardwareName: hw.name, modelWeightBytes: weightBytes)
            i.gpuName = hw.gpu?.name
            return i
        }
        guard !all.isEmpty else {
            let best = space.lshGrid.map { ($0, model.lshStatistics($0).fraction) }.max { $0.1 < $1.1 }
            return infeasible(.accuracyFloor(floor: space.minSampledFraction ?? 0, mostAccurate: best?.0, mostAccurateFraction: best?.1))
        }
        let batch = Double(space.batch ?? 1)
        let memories = all.map { model.memory($0, batch: batch) }
        if let gpu = hw.gpu {
            let perGPU = deployments.map { model.deployed($0).workload.model.weightBytes }
            if let least = perGPU.min(), least + gpu.reservedBytes > hw.gpuMemoryBytes {
                return infeasible(.weightsExceedGPUMemory(weightBytes: least, reservedBytes: gpu.reservedBytes, availableBytes: hw.gpuMemoryBytes,
                                                          gpus: hw.gpuCount, wouldFit: weightFits(gpu: gpu)))
            }
        }
        /// Each option's memory checked against its own deployment's capacities.
        func fitsGPU(_ option: DecodeConfiguration, _ m: MemoryBreakdown) -> Bool {
            hw.gpu == nil || m.gpuBytes <= model.deployed(option.deployment).hardware.gpuMemoryBytes
        }
        func fitsBoth(_ option: DecodeConfiguration, _ m: MemoryBreakdown) -> Bool {
            let d = model.deployed(option.deployment)
            return d.fits(m)
        }
        let gpuFits = zip(all, memories).filter { fitsGPU($0.0, $0.1) }.map(\.1)
        if gpuFits.isEmpty, let least = memories.min(by: { $0.gpuBytes < $1.gpuBytes }) {
            return infeasible(.gpuMemory(batch: Int(batch), leastBytes: least.gpuBytes, availableBytes: hw.gpuMemoryBytes))
        }
        let bothFit = zip(all, memories).filter { fitsBoth($0.0, $0.1) }
        if bothFit.isEmpty,
           let (option, least) = zip(all, memories).filter({ fitsGPU($0.0, $0.1) })
               .min(by: { $0.1.cpuBytes < $1.1.cpuBytes }) {
            // Split the CPU bytes into what grows with the context and what does not (the
            // tables' 2^K bucket ranges, a CPU-only machine's weights).
            var oneTokenWorkload = model.workload
            oneTokenWorkload.contextTokens = 1
            let oneToken = model.with(workload: oneTokenWorkload)
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
                .filter { fitsBoth($0.0, $0.1) }
                .map { model.stepSeconds($0.0, batch: Double(space.lowestBatch(for: $0.0))) }
                .min() ?? .infinity
            return infeasible(.latency(batch: Int(batch), fastestSeconds: fastest, boundSeconds: bound))
        }
        return infeasible(.batch)
    }
}

extension PlanOptimizer {
    /// For each weight format, the fewest GPUs of this kind whose shards hold the weights (plus
    /// each GPU's reserved bytes): powers of two up to 64 that split the model evenly.
    func weightFits(gpu: GPUProfile) -> [Infeasibility.WeightFit] {
        let shape = model.workload.model
        // The space's own format first (its first named one), then the others.
        let first = space.weightFormats.compactMap { $0 }.first
        let formats = (first.map { [$0] } ?? []) + WeightFormat.allCases.filter { $0 != first }
        return formats.compactMap { format in
            for gpus in [1, 2, 4, 8, 16, 32, 64] where shape.splitsEvenly(tensorParallel: gpus) {
                let perGPU = shape.shard(Deployment(tensorParallel: gpus, weights: format))
                if perGPU.weightBytes + gpu.reservedBytes < model.hardware.gpuMemoryBytes {
                    return Infeasibility.WeightFit(weights: format.rawValue, gpus: gpus)
                }
            }
            return nil
        }
    }
}
