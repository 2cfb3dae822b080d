/// The terms of one decode step: one vocabulary for what the cost model predicts and what the
/// executor measures (`validate` reports the error of each term both have).
public enum StepTerm: String, CaseIterable, Codable, Sendable, Hashable {
    /// All layers' projections (QKV, O, gate/up, down) on the linear-layer device.
    case linearLayers
    /// The LM head (V x h projection).
    case lmHead
    /// SimHash projections of the queries (K L d multiply-adds per query head and sparse layer).
    case hashing
    /// Full attention of the layers whose KV lives on the GPU (dense layers, or all layers).
    case gpuAttention
    /// Exact attention over sinks, local window and generated tokens of the sparse layers.
    case exactPart
    /// CPU <-> GPU copies: per-transfer latency and bytes.
    case transfers
    /// Fixed per-layer costs: kernel launches, synchronisation, engine round trips; on a CPU-only
    /// machine the rest of a step (embedding, norms, RoPE, KV stores, residuals).
    case overhead
    /// Host dispatch of an eager engine that the GPU's work of the same layer does not hide.
    case dispatch
    /// Walking the query's bucket in each of L tables and counting hits.
    case retrieval
    /// Gathering sampled K and V rows and the importance-weighted softmax.
    case sampledAttention
    /// Dense attention over a KV cache kept in CPU memory.
    case cpuAttention
    /// GPU-to-GPU collectives of tensor parallelism (all-reduces per layer, the logits' gather).
    case tensorParallel

    /// Work on the CPU attention side (else the GPU side, or the linear-layer device's).
    public var isCPUSide: Bool {
        switch self {
        case .retrieval, .sampledAttention, .cpuAttention: return true
        default: return false
        }
    }
}
