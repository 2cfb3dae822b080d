import Core

extension DecodeCostModel {
    /// Batch sizes at which some term of `step(config, batch:)` may change slope: calibration
    /// rows, the batch where every CPU thread gets a (sequence, KV head) unit, roofline and
    /// attention-floor crossovers, and copy-table rows. Pipelined steps evaluate terms at B/2, so
    /// their kinks double. The optimizer also verifies linearity between kinks, so this list
    /// speeds it up rather than defining correctness.
    public func batchKinks(_ config: DecodeConfiguration) -> [Double] {
        var kinks: [Double] = []
        kinks += linearTable?.xs ?? []
        kinks += cpuLinearTable?.xs ?? []
        kinks.append(Double(config.placement.cpuThreads) / Double(workUnitsPerSequence))
        if let gpu = hardware.gpu {
            // 2 B P / (F e) = W / (BW e): B = W F e_mm / (2 P BW e_lin) = bytesPerWeight F e_mm / (2 BW e_lin).
            kinks.append(model.bytesPerWeight * gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops
                / (2 * gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.linearBandwidth))
            if let fit = attentionFit {
                for tokens in [n + Double(workload.generatedTokens) / 2, exactTokens] {
                    let floor = (fit.floorIntercept + fit.floorSecondsPerToken * tokens)
                        * model.kvBytesPerTokenPerLayer / fit.referenceKVBytesPerTokenPerLayer
                    let perBatch = tokens * model.kvBytesPerTokenPerLayer / fit.bandwidthBytesPerSecond
                    if perBatch > 0 { kinks.append(floor / perBatch) }
                }
            }
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
