@preconcurrency import CKernels
import Core

/// Chooses, per hashed layer and decode step, the keys of the hashed span that sampled attention
/// reads: for every unit (sequence, KV head) the ascending union of the rows its G heads keep,
/// with a head bit set per row. One type per attention mode; `DecodeAttention` gathers, attends
/// the exact part and merges whatever the selector chose.
///
/// Adding a mode: a new file with a type conforming to `KeySelector`, and its line in
/// `makeKeySelector`.
protocol KeySelector: AnyObject {
    /// Builds the per-layer state the selector reads (hash tables, page summaries) once the
    /// layer's prompt K/V are in the cache.
    func buildIndex(layer: Int, cache: KVCache)
    /// Bytes of every index built so far.
    var indexBytes: Int { get }
    /// Fills `out` for `layer` from the scaled queries (batch x H_q x d); adds its time to
    /// `breakdown` (hashing and retrieval).
    func select(layer: Int, queries: SendablePointer<Float>, cache: KVCache, into out: KeySelection,
                breakdown: inout StepTimes)
    /// Per-unit importance correction of the sampled rows (LSH), or nil for an exact selection.
    func corrections(layer: Int) -> Buffer<pp_sampling_correction>?
}

/// The selector of `mode`, or nil for dense attention (nothing to select).
func makeKeySelector(mode: AttentionMode, geometry: SelectionGeometry) -> (any KeySelector)? {
    switch mode {
    case .dense: return nil
    case .lshSampled(let p): return LSHKeySelector(parameters: p, geometry: geometry)
    case .topK(let fraction): return TopKKeySelector(budgetFraction: fraction, geometry: geometry)
    case .quest(let pageSize, let fraction): return QuestKeySelector(pageSize: pageSize, budgetFraction: fraction, geometry: geometry)
    }
}

/// The sizes every selector works with.
struct SelectionGeometry {
    let batch: Int
    let kvHeads: Int
    /// Query heads per KV head (G).
    let groupSize: Int
    let headDim: Int
    let span: HashedSpan
    let runner: ParallelRunner
    let seed: UInt64
    var units: Int { batch * kvHeads }
}

/// Where a selector writes its choice (buffers owned by `DecodeAttention`, sized for the span).
struct KeySelection {
    /// units x n: the chosen rows of each unit, ascending absolute positions.
    let rows: SendablePointer<Int32>
    /// units x n: per chosen row, the bit set of the heads that chose it.
    let headMasks: SendablePointer<UInt8>
    /// units: how many rows each unit chose.
    let rowCounts: SendablePointer<Int>
    /// units x G: how many keys each head chose.
    let selectedPerHead: SendablePointer<Int32>
    /// Per worker: retrieval scratch (a stamp array and a zeroed head-mask array of n entries).
    let workers: SendablePointer<pp_retrieval_scratch>
    /// Per worker: the same head-mask arrays, for selectors that set the bits themselves (the
    /// collection clears them again).
    let workerHeadMasks: [SendablePointer<UInt8>]
}
