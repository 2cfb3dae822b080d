@preconcurrency import CKernels
import Core
import Foundation

/// Decode-step attention of every layer for a batch, in the configured mode.
///
/// Work unit: one (sequence, KV head); the G = H_q / H_kv query heads of the unit share its K/V
/// rows, which are read once per group. Per hashed layer and step the phases are
/// 1. hashing: SimHash codes of the G queries (LSH), plus q.mu and |q| for the correction;
/// 2. retrieval: two-hit table walk (LSH), exact top-k by score (TopK) or page ranking (Quest),
///    giving per unit the ascending union of the heads' keys with per-row head bit sets
///    (phases 1 and 2 belong to the mode's `KeySelector`, Selectors/);
/// 3. sampled attention over the union (split into pieces when units are fewer than threads);
/// 4. exact attention over sinks, local window and generated tokens, merged by log-sum-exp.
/// Dense layers, dense mode and prompts too short to hash use full attention split into key
/// ranges. Queries arrive post-RoPE and are scaled by 1/sqrt(d) here.
public final class DecodeAttention: @unchecked Sendable {
    public let mode: AttentionMode
    public let denseLayers: Set<Int>
    public let layerCount: Int
    public let batch: Int
    public let kvHeads: Int
    public let groupSize: Int
    public let headDim: Int
    public let span: HashedSpan
    public let runner: ParallelRunner
    public let seed: UInt64
    public var breakdown = Executor.emptyBreakdown()
    public var statistics: AttentionStatistics
    /// When on, every hashed layer also computes dense attention on the same inputs and records
    /// the relative L2 error (not counted in `breakdown`).
    public var compareWithDense = false

    /// Chooses the keys of hashed layers (nil in dense mode): Selectors/.
    let selector: (any KeySelector)?

    // Scratch: what the selector chose, per unit; per-worker retrieval state; partial softmaxes.
    let units: Int
    let unitIndex: Buffer<Int32>
    let unitMask: Buffer<UInt8>
    let unitCount: Buffer<Int>
    let unitSelected: Buffer<Int32>
    let scaledQuery: Buffer<Float>
    let retrieval: Buffer<pp_retrieval_scratch>
    let retrievalStamps: [Buffer<UInt32>]
    let retrievalMasks: [Buffer<UInt8>]
    var partials: PartialSet
    let exactPartials: PartialSet
    let denseCompare: Buffer<Float>

    /// One (m, l, acc) per G heads for `slots` slots.
    struct PartialSet {
        let slots: Int
        let m: Buffer<Float>, l: Buffer<Float>, acc: Buffer<Float>
        let G: Int, d: Int
        init(slots: Int, G: Int, d: Int) {
            self.slots = slots; self.G = G; self.d = d
            m = Buffer(count: max(1, slots) * G); l = Buffer(count: max(1, slots) * G)
            acc = Buffer(count: max(1, slots) * G * d)
        }
        func m(_ s: Int) -> UnsafeMutablePointer<Float> { m.pointer + s * G }
        func l(_ s: Int) -> UnsafeMutablePointer<Float> { l.pointer + s * G }
        func acc(_ s: Int) -> UnsafeMutablePointer<Float> { acc.pointer + s * G * d }
    }

    /// Scratch bytes beyond the indices (per-unit index lists, per-worker retrieval state).
    public static func scratchBytes(shape: ModelShape, batch: Int, promptLength: Int, mode: AttentionMode, threads: Int) -> Double {
        let n = Double(HashedSpan(promptLength: promptLength).count)
        let units = Double(batch * shape.kvHeadCount)
        var b = units * n * 5 + Double(threads) * n * (4 + 1 + 4 * 2 + 4 * Double(shape.groupSize))
        if let p = mode.lsh { b += units * Double(shape.groupSize * p.tableCount * 2) }
        return b
    }

    public init(shape: ModelShape, mode: AttentionMode, denseLayers: Set<Int>, batch: Int, promptLength: Int,
                runner: ParallelRunner, seed: UInt64) {
        self.mode = mode
        self.denseLayers = denseLayers
        layerCount = shape.layerCount
        self.batch = batch
        kvHeads = shape.kvHeadCount
        groupSize = shape.groupSize
        headDim = shape.headDim
        span = HashedSpan(promptLength: promptLength)
        self.runner = runner
        self.seed = seed
        statistics = AttentionStatistics(layers: shape.layerCount)
        units = batch * kvHeads
        let n = mode == .dense ? 0 : span.count
        let G = groupSize, d = headDim
        unitIndex = Buffer(count: units * n)
        unitMask = Buffer(count: units * n)
        unitCount = Buffer(count: units)
        unitSelected = Buffer(count: units * G)
        scaledQuery = Buffer(count: batch * shape.queryWidth)
        let T = runner.threads
        retrieval = Buffer(count: T)
        retrievalStamps = (0..<T).map { _ in Buffer<UInt32>(count: n) }
        retrievalMasks = (0..<T).map { _ in Buffer<UInt8>(count: n) }
        for t in 0..<T {
            retrieval[t] = pp_retrieval_scratch(stamp: retrievalStamps[t].pointer, headMask: retrievalMasks[t].pointer,
                                                epoch: 0, capacity: n)
        }
        partials = PartialSet(slots: units * 4, G: G, d: d)
        exactPartials = PartialSet(slots: units, G: G, d: d)
        denseCompare = Buffer(count: batch * shape.queryWidth)
        selector = makeKeySelector(mode: mode, geometry: SelectionGeometry(
            batch: batch, kvHeads: kvHeads, groupSize: G, headDim: d, span: span, runner: runner, seed: seed))
    }

    /// Whether `layer` uses the mode's sparse attention (else dense).
    public func isHashed(_ layer: Int) -> Bool {
        selector != nil && !denseLayers.contains(layer) && !span.isEmpty
    }

    /// Builds the indices of `layer` once its prompt K/V are in the cache (after prefill).
    /// Returns the seconds spent.
    @discardableResult
    public func buildIndex(layer: Int, cache: KVCache) -> Double {
        guard isHashed(layer) else { return 0 }
        let t0 = Clock.now()
        selector?.buildIndex(layer: layer, cache: cache)
        return Clock.now() - t0
    }

    public var indexBytes: Int { selector?.indexBytes ?? 0 }

    /// Attention of one layer for the batch at decode position `position` (the new token's K/V
    /// are already stored there). q: batch x H_q x d (post-RoPE), out: same shape.
    public func attend(layer: Int, query q: UnsafePointer<Float>, position: Int, cache: KVCache,
                       output out: UnsafeMutablePointer<Float>) {
        let G = groupSize, d = headDim
        let qw = kvHeads * G * d
        let scale = 1 / Float(d).squareRoot()
        for i in 0..<(batch * qw) { scaledQuery[i] = q[i] * scale }
        if !isHashed(layer) {
            let t0 = Clock.now()
            dense(layer: layer, position: position, cache: cache, output: out)
            breakdown[.cpuAttention] += Clock.now() - t0
            return
        }
        guard let selector else { return }
        sparse(layer: layer, selector: selector, position: position, cache: cache, output: out)
        if compareWithDense {
            dense(layer: layer, position: position, cache: cache, output: denseCompare.pointer)
            for b in 0..<batch {
                var num = 0.0, den = 0.0
                for i in (b * qw)..<((b + 1) * qw) {
                    let e = Double(out[i] - denseCompare[i])
                    num += e * e
                    den += Double(denseCompare[i]) * Double(denseCompare[i])
                }
                let rel = den > 0 ? (num / den).squareRoot() : 0
                statistics.errorSum += rel
                statistics.errorMax = max(statistics.errorMax, rel)
                statistics.errorCount += 1
            }
        }
    }

    /// Pieces each unit's rows are cut into for the thread pool: about 16 per thread in all, at
    /// most the partial slots allow (4 per unit), each at least `minimumRows` long. The pool hands
    /// pieces out dynamically, so fine pieces keep both cores busy to the end when one of them is
    /// slowed (on a shared VM, 8 whole heads over 2 threads measured about 5% slower than 32
    /// pieces).
    func pieceCount(rows: Int, minimumRows: Int) -> Int {
        let target = max(1, (16 * runner.threads + units - 1) / units)
        return max(1, min(target, rows / minimumRows, partials.slots / units))
    }

    // MARK: dense

    func dense(layer: Int, position: Int, cache: KVCache, output out: UnsafeMutablePointer<Float>) {
        let G = groupSize, d = headDim, keys = position + 1
        let pieces = pieceCount(rows: keys, minimumRows: 512)
        let size = (keys + pieces - 1) / pieces
        let ps = partials, kvH = kvHeads
        let qs = SendablePointer(scaledQuery.pointer)
        runner.forEach(units * pieces) { item, _ in
            let unit = item / pieces, piece = item % pieces
            let seq = unit / kvH, head = unit % kvH
            let slot = unit * pieces + piece
            pp_partial_init(G, d, ps.m(slot), ps.l(slot), ps.acc(slot))
            let r0 = piece * size, r1 = min(keys, r0 + size)
            pp_attend_range(qs.p + (seq * kvH + head) * G * d, G, d,
                            cache.keyRows(layer: layer, sequence: seq, head: head),
                            cache.valueRows(layer: layer, sequence: seq, head: head), d, r0, r1,
                            ps.m(slot), ps.l(slot), ps.acc(slot))
        }
        for unit in 0..<units {
            let s0 = unit * pieces
            for p in 1..<max(1, pieces) {
                pp_partial_merge(G, d, ps.m(s0), ps.l(s0), ps.acc(s0), ps.m(s0 + p), ps.l(s0 + p), ps.acc(s0 + p))
            }
            pp_partial_finish(G, d, ps.l(s0), ps.acc(s0), out + unit * G * d)
        }
    }

    // MARK: sparse

    func sparse(layer: Int, selector: any KeySelector, position: Int, cache: KVCache, output out: UnsafeMutablePointer<Float>) {
        let G = groupSize, d = headDim, n = span.count, kvH = kvHeads
        let qs = SendablePointer(scaledQuery.pointer)
        let idx = SendablePointer(unitIndex.pointer), msk = SendablePointer(unitMask.pointer)
        let cnt = SendablePointer(unitCount.pointer)

        // 1 + 2: hashing and retrieval / selection
        selector.select(layer: layer, queries: qs, cache: cache, into: KeySelection(
            rows: idx, headMasks: msk, rowCounts: cnt, selectedPerHead: SendablePointer(unitSelected.pointer),
            workers: SendablePointer(retrieval.pointer), workerHeadMasks: retrievalMasks.map { SendablePointer($0.pointer) }),
            breakdown: &breakdown)

        // 3: attention over the selected rows, pieces of at least 256 rows
        let t3 = Clock.now()
        var maxCount = 0
        for u in 0..<units { maxCount = max(maxCount, unitCount[u]) }
        let pieces = pieceCount(rows: maxCount, minimumRows: 256)
        let ps = partials
        let corrections = selector.corrections(layer: layer) ?? Buffer<pp_sampling_correction>(count: 0)
        let corr = SendablePointer(corrections.pointer), useCorrection = corrections.count > 0
        runner.forEach(units * pieces) { item, _ in
            let unit = item / pieces, piece = item % pieces
            let seq = unit / kvH, head = unit % kvH
            let slot = unit * pieces + piece
            pp_partial_init(G, d, ps.m(slot), ps.l(slot), ps.acc(slot))
            let count = cnt.p[unit]
            let size = (count + pieces - 1) / pieces
            let j0 = min(count, piece * size), j1 = min(count, j0 + size)
            if j1 <= j0 { return }
            let kr = cache.keyRows(layer: layer, sequence: seq, head: head)
            let vr = cache.valueRows(layer: layer, sequence: seq, head: head)
            if !useCorrection {
                pp_attend_gather(qs.p + unit * G * d, G, d, kr, vr, d, idx.p + unit * n + j0, msk.p + unit * n + j0,
                                 j1 - j0, nil, ps.m(slot), ps.l(slot), ps.acc(slot))
            } else {
                pp_attend_gather(qs.p + unit * G * d, G, d, kr, vr, d, idx.p + unit * n + j0, msk.p + unit * n + j0,
                                 j1 - j0, corr.p + unit, ps.m(slot), ps.l(slot), ps.acc(slot))
            }
        }
        let t4 = Clock.now()
        breakdown[.sampledAttention] += t4 - t3
        withExtendedLifetime(corrections) {}

        // 4: exact part and merge
        let ex = exactPartials, outp = SendablePointer(out)
        let spanS = span.start, spanE = span.end
        runner.forEach(units) { unit, _ in
            let seq = unit / kvH, head = unit % kvH
            let kr = cache.keyRows(layer: layer, sequence: seq, head: head)
            let vr = cache.valueRows(layer: layer, sequence: seq, head: head)
            let q = qs.p + unit * G * d
            pp_partial_init(G, d, ex.m(unit), ex.l(unit), ex.acc(unit))
            pp_attend_range(q, G, d, kr, vr, d, 0, spanS, ex.m(unit), ex.l(unit), ex.acc(unit))
            pp_attend_range(q, G, d, kr, vr, d, spanE, position + 1, ex.m(unit), ex.l(unit), ex.acc(unit))
            for p in 0..<pieces {
                let s = unit * pieces + p
                pp_partial_merge(G, d, ex.m(unit), ex.l(unit), ex.acc(unit), ps.m(s), ps.l(s), ps.acc(s))
            }
            pp_partial_finish(G, d, ex.l(unit), ex.acc(unit), outp.p + unit * G * d)
        }
        breakdown[.exactPart] += Clock.now() - t4

        // statistics
        for unit in 0..<units {
            for g in 0..<G { statistics.selectedKeys[layer] += Double(unitSelected[unit * G + g]) }
            statistics.candidateKeys[layer] += Double(n * G)
            statistics.gatheredRows += Double(unitCount[unit])
        }
        statistics.groups += Double(units)
        statistics.queries += Double(units * G)
        statistics.exactKeys += Double(units * G * (spanS + position + 1 - spanE))
    }
}
