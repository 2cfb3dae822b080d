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
        kinks += gpu?.linearTable?.xs ?? []
        kinks += cpu.linearTable?.xs ?? []
        let units = Double(cpu.workUnitsPerSequence)
        kinks += cpu.retrievalKernel(config.placement).batchKinks(unitsPerSequence: units, maxBatch: maxBatch)
        kinks += cpu.sampledKernel(config.placement).batchKinks(unitsPerSequence: units, maxBatch: maxBatch)
        if let gpu {
            kinks.append(gpu.linear.knee(bytes: model.linearBytesPerLayer, parameters: model.linearParametersPerLayer))
            kinks.append(gpu.linear.knee(bytes: model.lmHeadBytes, parameters: model.embeddingParameters))
            if let knee = gpu.attention.knee(kvHeads: Double(model.kvHeadCount)) { kinks.append(knee) }
            if let lsh = config.attention.lsh {
                kinks.append(gpu.hashingKnee(model: model, kl: Double(lsh.hashBitsPerTable * lsh.tableCount)))
            }
            // Copies to the host carry the query; copies to the device carry the partial output.
            for bytes in link.deviceToHost?.xs ?? [] { kinks.append(bytes / hostBoundBytesPerSequence(config)) }
            for bytes in link.hostToDevice?.xs ?? [] { kinks.append(bytes / deviceBoundBytesPerSequence()) }
        }
        if config.placement.schedule == .pipelined { kinks = kinks.map { $0 * 2 } }
        return kinks.filter { $0.isFinite && $0 > 0 }
    }
}
