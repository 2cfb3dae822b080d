@preconcurrency import CKernels
import Core

/// Oracle TopK: every key of the span scored exactly, the `budgetFraction` best kept per head
/// (the quality ceiling of any selection at that budget, at dense-attention cost).
final class TopKKeySelector: KeySelector {
    let budgetFraction: Double
    let geometry: SelectionGeometry
    /// Per worker: G x n scores, and two n-entry index lists for the selection.
    let scores: [Buffer<Float>]
    let work: [Buffer<Int32>]
    let chosen: [Buffer<Int32>]

    init(budgetFraction: Double, geometry: SelectionGeometry) {
        self.budgetFraction = budgetFraction
        self.geometry = geometry
        let n = geometry.span.count, T = geometry.runner.threads
        scores = (0..<T).map { _ in Buffer(count: geometry.groupSize * n) }
        work = (0..<T).map { _ in Buffer(count: n) }
        chosen = (0..<T).map { _ in Buffer(count: n) }
    }

    func buildIndex(layer: Int, cache: KVCache) {}
    var indexBytes: Int { 0 }
    func corrections(layer: Int) -> Buffer<pp_sampling_correction>? { nil }

    func select(layer: Int, queries qs: SendablePointer<Float>, cache: KVCache, into out: KeySelection,
                breakdown: inout StepTimes) {
        let G = geometry.groupSize, d = geometry.headDim, n = geometry.span.count, kvH = geometry.kvHeads
        let span = geometry.span
        let keep = max(1, min(n, Int((budgetFraction * Double(n)).rounded(.up))))
        let s = scores.map { SendablePointer($0.pointer) }
        let wi = work.map { SendablePointer($0.pointer) }, wc = chosen.map { SendablePointer($0.pointer) }
        let t0 = Clock.now()
        geometry.runner.forEach(geometry.units) { unit, w in
            let seq = unit / kvH, head = unit % kvH
            pp_scores_range(qs.p + unit * G * d, G, d, cache.keyRows(layer: layer, sequence: seq, head: head), d,
                            span.start, span.end, s[w].p, n)
            let mask = out.workerHeadMasks[w].p
            for g in 0..<G {
                let k = pp_select_top(s[w].p + g * n, n, keep, wi[w].p, wc[w].p)
                for i in 0..<k { mask[Int(wc[w].p[i])] |= UInt8(1 << g) }
                out.selectedPerHead.p[unit * G + g] = Int32(k)
            }
            out.rowCounts.p[unit] = pp_collect_mask(mask, n, Int32(span.start), out.rows.p + unit * n, out.headMasks.p + unit * n)
        }
        breakdown[.retrieval] += Clock.now() - t0
    }
}
