import CKernels
import Core

/// MagicPIG hash tables of one layer for every (sequence, KV head) unit over the hashed span.
///
/// Build (per unit): mu = mean of the span's keys; centred keys c_i = k_i - mu; norms |c_i|;
/// codes of c_i in each table (SimHash signs); then per table a counting sort by code into
/// bucket offsets (2^K + 1 int32) and an entry array (n int32 absolute positions, ascending within
/// a bucket). Memory per unit: L (n + 2^K + 1) x 4 + (n + d) x 4 bytes.
public final class LSHLayerIndex: @unchecked Sendable {
    public let parameters: LSHParameters
    public let span: HashedSpan
    public let units: Int
    public let headDim: Int
    /// units x L x (2^K + 1)
    let offsets: Buffer<Int32>
    /// units x L x n
    let entries: Buffer<Int32>
    /// units x n: |k_i - mu|
    let keyNorms: Buffer<Float>
    /// units x d
    let means: Buffer<Float>

    /// Bytes of one layer's tables for `units` units over `n` keys.
    public static func bytes(_ p: LSHParameters, units: Int, keys n: Int, headDim d: Int) -> Double {
        Double(units) * (Double(p.tableCount) * Double(n + p.bucketsPerTable + 1) * 4 + Double(n + d) * 4)
    }
    /// Scratch one building worker needs: the codes (L n x 2 bytes) and a 256-row chunk.
    public static func buildScratchBytes(_ p: LSHParameters, keys n: Int, headDim d: Int) -> Double {
        Double(p.tableCount * n * 2) + 256 * Double(d + p.hashBitsPerTable * p.tableCount) * 4
    }

    var bucketStride: Int { parameters.bucketsPerTable + 1 }

    /// Builds the tables of `layer` for all units of the cache (units = batch x H_kv).
    public init(cache: KVCache, layer: Int, span: HashedSpan, projection: SimHashProjection, runner: ParallelRunner) {
        let p = projection.parameters
        parameters = p
        self.span = span
        units = cache.batch * cache.kvHeads
        headDim = cache.headDim
        let n = span.count, d = cache.headDim, K = p.hashBitsPerTable, L = p.tableCount
        let stride = p.bucketsPerTable + 1
        offsets = Buffer<Int32>(count: units * L * stride)
        entries = Buffer<Int32>(count: units * L * n)
        keyNorms = Buffer<Float>(count: units * n)
        means = Buffer<Float>(count: units * d)
        if n == 0 { return }
        let kvHeads = cache.kvHeads
        let off = SendablePointer(offsets.pointer), ent = SendablePointer(entries.pointer)
        let nrm = SendablePointer(keyNorms.pointer), mns = SendablePointer(means.pointer)
        let proj = SendablePointer(projection.transposed.pointer)
        let chunk = 256
        let spanStart = span.start, spanEnd = span.end
        runner.forEach(units) { unit, _ in
            let seq = unit / kvHeads, head = unit % kvHeads
            let K16 = cache.keyRows(layer: layer, sequence: seq, head: head)
            // mean over the span
            var sum = [Double](repeating: 0, count: d)
            pp_sum_keys(K16, d, d, spanStart, spanEnd, &sum)
            let mu = mns.p + unit * d
            for j in 0..<d { mu[j] = Float(sum[j] / Double(n)) }
            let codes = Buffer<UInt16>(count: L * n)
            let centred = Buffer<Float>(count: chunk * d)
            let projected = Buffer<Float>(count: chunk * K * L)
            var r0 = spanStart
            while r0 < spanEnd {
                let r1 = min(spanEnd, r0 + chunk)
                let rows = r1 - r0
                pp_center_keys(K16, d, d, r0, r1, mu, centred.pointer, nrm.p + unit * n + (r0 - spanStart))
                pp_matmul_t_f32(proj.p, d, K * L, centred.pointer, d, projected.pointer, K * L, rows, 0, K * L)
                pp_pack_codes(projected.pointer, rows, K, L, codes.pointer + (r0 - spanStart), n)
                r0 = r1
            }
            for t in 0..<L {
                pp_build_table(codes.pointer + t * n, n, K, Int32(spanStart),
                               off.p + (unit * L + t) * stride, ent.p + (unit * L + t) * n)
            }
        }
    }

    public var bytes: Int { offsets.bytes + entries.bytes + keyNorms.bytes + means.bytes }

    func offsets(unit: Int) -> UnsafeMutablePointer<Int32> { offsets.pointer + unit * parameters.tableCount * bucketStride }
    func entries(unit: Int) -> UnsafeMutablePointer<Int32> { entries.pointer + unit * parameters.tableCount * span.count }
    func keyNorms(unit: Int) -> UnsafeMutablePointer<Float> { keyNorms.pointer + unit * span.count }
    func mean(unit: Int) -> UnsafeMutablePointer<Float> { means.pointer + unit * headDim }

    /// Codes of one unit's key (local index i) in table t, recomputed from the tables (tests).
    public func bucket(unit: Int, table t: Int, of position: Int) -> Int? {
        let o = offsets(unit: unit) + t * bucketStride, e = entries(unit: unit) + t * span.count
        for b in 0..<parameters.bucketsPerTable {
            for x in Int(o[b])..<Int(o[b + 1]) where Int(e[x]) == position { return b }
        }
        return nil
    }
}
