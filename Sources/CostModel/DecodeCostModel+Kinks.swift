import Core

extension DecodeCostModel {
    /// Batch sizes at which some term of `step(config, batch:)` may change slope, each from the
    /// timing type that owns the term: calibration-table rows, the CPU loops' rounds (threads
    /// per work units), the projections' roofline knee, the attention blocks reaching the
    /// bandwidth cap, the hashing roofline and copy-table rows. Pipelined steps evaluate terms
    /// at B/2, so their kinks double. The optimizer also verifies linearity between kinks, so this
    /// list speeds it up rather than defining correctness.
    public func batchKinks(_ config: DecodeConfiguration, maxBatch: Double = 4096) -> [Double] {
        if config.deployment != deployment { return deployed(config.deployment).batchKinks(config, maxBatch: maxBatch) }
        var kinks: [Double] = []
        kinks += linearTable?.xs ?? []
        kinks += cpuLinearTable?.xs ?? []
        let units = Double(workUnitsPerSequence)
        kinks += retrievalKernel(config).batchKinks(unitsPerSequence: units, maxBatch: maxBatch)
        kinks += sampledKernel(config).batchKinks(unitsPerSequence: units, maxBatch: maxBatch)
        if let timing = gpuLinear {
            kinks.append(timing.knee(bytes: model.linearBytesPerLayer, parameters: model.linearParametersPerLayer))
            kinks.append(timing.knee(bytes: model.lmHeadBytes, parameters: model.embeddingParameters))
        }
        if let knee = gpuAttention?.knee(kvHeads: Double(model.kvHeadCount)) { kinks.append(knee) }
        if let gpu = hardware.gpu {
            if let lsh = config.attention.lsh {
                let kl = Double(lsh.hashBitsPerTable * lsh.tableCount)
                let memory = Double(model.headDim) * kl * 2 / gpu.memoryBandwidthBytesPerSecond
                let perBatch = 2 * Double(model.queryHeadCount * model.headDim) * kl
                    / (gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops)
                kinks.append(memory / perBatch)
            }
            // Copies to the host carry the query; copies to the device carry the partial output.
            for bytes in deviceToHost?.xs ?? [] { kinks.append(bytes / hostBoundBytesPerSequence(config)) }
            for bytes in hostToDevice?.xs ?? [] { kinks.append(bytes / deviceBoundBytesPerSequence()) }
        }
        if config.placement.schedule == .pipelined { kinks = kinks.map { $0 * 2 } }
        return kinks.filter { $0.isFinite && $0 > 0 }
    }
}
