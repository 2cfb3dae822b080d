import Core

extension DecodeCostModel {
    /// Time to first token for B prompts of n tokens:
    /// - GPU: linear layers 2 B n P_layers / (FLOPS eff_mm) + causal attention
    ///   layers x 2 x 2 B H_q d n^2 / 2 / (FLOPS eff_mm) + key hashing S x 2 B n H_kv d K L / (FLOPS eff_mm);
    /// - host side (LSH / KV in CPU): KV copy S B n kv / link bandwidth and table building
    ///   S B H_kv L n_h x 8 bytes (codes read, indices written) / CPU bandwidth;
    /// the host side of layer l overlaps the GPU prefill of layer l + 1, so
    /// TTFT = max(GPU, host) + host / S. A CPU-only system runs all of it on its cores, at the
    /// calibrated prefill FLOP/s per core where measured, plus each token's vector work.
    public func prefillSeconds(_ config: DecodeConfiguration, batch: Double) -> Double {
        if config.deployment != deployment { return deployed(config.deployment).prefillSeconds(config, batch: batch) }
        let layers = Double(model.layerCount), s = Double(sparseLayerCount(config))
        let linearFlops = 2 * batch * n * model.linearParametersPerLayer * layers + 2 * batch * model.embeddingParameters
        let attentionFlops = layers * 2 * batch * Double(model.queryHeadCount * model.headDim) * n * n
        var hashFlops = 0.0
        var buildBytes = 0.0
        if let lsh = config.attention.lsh {
            let kl = Double(lsh.hashBitsPerTable * lsh.tableCount)
            hashFlops = s * 2 * batch * n * Double(model.kvHeadCount * model.headDim) * kl
            buildBytes = s * batch * Double(model.kvHeadCount * lsh.tableCount) * hashedTokens * 8
        }
        let flops = linearFlops + attentionFlops + hashFlops
        guard let gpu else {
            // Compute-bound matrix products: at the rate calibration measured for a prefill chunk
            // on this machine, else at the CPU's datasheet FLOP/s.
            let rate = hardware.calibration?.cpu?.prefillFlopsPerSecondPerCore ?? hardware.cpu.flopsPerSecondPerCore
            let compute = flops / (Double(hardware.threads) * rate)
            // Per prompt token the vector work of a decode step (norms, RoPE, KV stores,
            // residuals) at its calibrated cost per element, without the step's argmax over the
            // vocabulary.
            let perElement = hardware.calibration?.cpu?.otherSecondsPerElement ?? 0
            let other = batch * n * (model.otherElementsPerSequence - Double(model.vocabSize)) * perElement
            return compute + other + buildBytes / cpu.bandwidth(threads: hardware.threads, sockets: hardware.sockets, fraction: 0.5)
        }
        let gpuSeconds = flops / gpu.matmulFlopsPerSecond
        guard kvHome(config) == .hostOfGPU, s > 0 else { return gpuSeconds }
        let copyBytes = s * batch * n * model.kvBytesPerTokenPerLayer
        let host = copyBytes / link.bulkBytesPerSecond
            + buildBytes / cpu.bandwidth(threads: config.placement.cpuThreads, sockets: config.placement.cpuSockets, fraction: 0.5)
        return max(gpuSeconds, host) + host / s
    }
}
