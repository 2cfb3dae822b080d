import Core

extension DecodeCostModel {
    /// The configuration's memory fits the machine: GPU bytes within usable GPU memory (when there
    /// is a GPU) and CPU bytes within usable host memory.
    public func fits(_ memory: MemoryBreakdown) -> Bool {
        (gpu.map { _ in memory.gpuBytes <= hardware.gpuMemoryBytes } ?? true) && memory.cpuBytes <= hardware.cpuMemoryBytes
    }

    /// Bytes of one table index: the engine's, else int16 while n <= 65536, else int32.
    public var tableIndexBytes: Double { resolved.tableIndexBytes }

    /// Hash tables of one layer, KV head and sequence: L x n_h token indices plus L x 2^K bucket
    /// ranges (start, end as int32: 8 bytes).
    public func hashTableBytesPerHead(_ lsh: LSHParameters) -> Double {
        let l = Double(lsh.tableCount)
        return l * hashedTokens * tableIndexBytes + l * Double(lsh.bucketsPerTable) * 8
    }

    /// Memory of a configuration at batch B, on each GPU of its deployment and its GPU's share of
    /// the host (tokens per sequence: n + g, the end of generation):
    /// - GPU: weights + reserved + D x B x (n + g) x kv (layers attended on the GPU)
    ///   + S x B x e_max x kv (exact buffers, e_max = 68 + g) + activations
    ///   B x (4 h + 2 f + V) x 4 bytes; LSH with KV on the GPU adds the hashed span there.
    /// - CPU: S x B x (n + g) x kv (hashed or CPU-attended layers' KV)
    ///   + S x B x H_kv x (L n_h idx + L 2^K x 8) (tables) + S x B x H_kv x n_h x 4 (key norms).
    /// A CPU-only system holds everything, weights included, in CPU memory.
    public func memory(_ config: DecodeConfiguration, batch: Double) -> MemoryBreakdown {
        if config.deployment != deployment { return deployed(config.deployment).memory(config, batch: batch) }
        var m = MemoryBreakdown()
        let kv = model.kvBytesPerTokenPerLayer
        let total = n + Double(workload.generatedTokens)
        let d = Double(denseLayerCount(config)), s = Double(sparseLayerCount(config))
        let heads = Double(model.kvHeadCount)
        var longSpanKV = 0.0, tables = 0.0, norms = 0.0
        switch config.attention {
        case .dense:
            longSpanKV = s * batch * total * kv
        case .lshSampled(let lsh):
            longSpanKV = s * batch * total * kv
            tables = s * batch * heads * hashTableBytesPerHead(lsh)
            norms = s * batch * heads * hashedTokens * 4
        case .topK:
            longSpanKV = s * batch * total * kv
        case .quest(let pageSize, _):
            longSpanKV = s * batch * total * kv
            // Page summaries: per page, min and max of every key dimension (2 d x 2 bytes).
            tables = s * batch * heads * (hashedTokens / Double(pageSize)).rounded(.up) * Double(2 * model.headDim) * 2
        }
        let exact = config.attention == .dense ? 0 : s * batch * (Double(ExactTokens.sinkCount + ExactTokens.localWindow) + Double(workload.generatedTokens)) * kv
        guard let gpu else {
            m.cpuWeightsBytes = model.weightBytes
            m.cpuKVCacheBytes = longSpanKV + d * batch * total * kv + exact
            m.cpuHashTableBytes = tables
            m.cpuKeyNormBytes = norms
            return m
        }
        m.gpuWeightsBytes = model.weightBytes
        m.gpuReservedBytes = max(gpu.gpu.reservedBytes, (1 - resolved.gpuMemoryUtilization) * hardware.gpuMemoryBytes)
        m.gpuKVCacheBytes = d * batch * total * kv
        m.gpuExactBufferBytes = exact
        m.gpuActivationBytes = batch * Double(4 * model.hiddenSize + 2 * model.intermediateSize + model.vocabSize) * 4
        if kvHome(config) == .gpu {
            m.gpuKVCacheBytes += longSpanKV
            m.gpuHashTableBytes = tables + norms
        } else {
            m.cpuKVCacheBytes = longSpanKV
            m.cpuHashTableBytes = tables
            m.cpuKeyNormBytes = norms
        }
        return m
    }
}
