@preconcurrency import CKernels
import Core

/// Quest: the span cut into pages with per-channel key bounds; each head keeps the pages whose
/// upper-bound score ranks in the top `budgetFraction`, and reads every key of those pages.
final class QuestKeySelector: KeySelector {
    let pageSize: Int
    let budgetFraction: Double
    let geometry: SelectionGeometry
    var indices: [Int: QuestLayerIndex] = [:]
    /// Per worker: one score per page, and two n-entry index lists for the ranking.
    let scores: [Buffer<Float>]
    let work: [Buffer<Int32>]
    let chosen: [Buffer<Int32>]

    init(pageSize: Int, budgetFraction: Double, geometry: SelectionGeometry) {
        self.pageSize = pageSize
        self.budgetFraction = budgetFraction
        self.geometry = geometry
        let n = geometry.span.count, T = geometry.runner.threads
        scores = (0..<T).map { _ in Buffer(count: (n + pageSize - 1) / max(1, pageSize)) }
        work = (0..<T).map { _ in Buffer(count: n) }
        chosen = (0..<T).map { _ in Buffer(count: n) }
    }

    func buildIndex(layer: Int, cache: KVCache) {
        indices[layer] = QuestLayerIndex(cache: cache, layer: layer, span: geometry.span, pageSize: pageSize, runner: geometry.runner)
    }

    var indexBytes: Int { indices.values.reduce(0) { $0 + $1.bytes } }
    func corrections(layer: Int) -> Buffer<pp_sampling_correction>? { nil }

    func select(layer: Int, queries qs: SendablePointer<Float>, cache: KVCache, into out: KeySelection,
                breakdown: inout StepTimes) {
        if indices[layer] == nil { buildIndex(layer: layer, cache: cache) }
        guard let index = indices[layer] else { return }
        let G = geometry.groupSize, d = geometry.headDim, n = geometry.span.count
        let spanStart = Int32(geometry.span.start)
        let keepPages = max(1, min(index.pageCount, Int((budgetFraction * Double(index.pageCount)).rounded(.up))))
        let s = scores.map { SendablePointer($0.pointer) }
        let wi = work.map { SendablePointer($0.pointer) }, wc = chosen.map { SendablePointer($0.pointer) }
        let t0 = Clock.now()
        geometry.runner.forEach(geometry.units) { unit, w in
            let mask = out.workerHeadMasks[w].p
            for g in 0..<G {
                let k = index.select(unit: unit, query: qs.p + (unit * G + g) * d, pagesToKeep: keepPages,
                                     bit: UInt8(1 << g), mask: mask, scores: s[w].p, work: wi[w].p, chosen: wc[w].p)
                out.selectedPerHead.p[unit * G + g] = Int32(k)
            }
            out.rowCounts.p[unit] = pp_collect_mask(mask, n, spanStart, out.rows.p + unit * n, out.headMasks.p + unit * n)
        }
        breakdown[.retrieval] += Clock.now() - t0
    }
}
