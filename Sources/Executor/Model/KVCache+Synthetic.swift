import CKernels
import Core

extension KVCache {
    /// Fills positions `range` of every layer, sequence and KV head with seeded synthetic rows:
    ///   k_i = mu + z_i,  v_i = z'_i,  z, z' ~ N(0, I),  mu ~ N(0, keyOffsetScale^2 I)
    /// with one mu per (layer, KV head) shared by all positions and sequences: keys share a mean
    /// offset as real (post-RoPE) keys do, so centering matters for hashing, and after centering
    /// they are isotropic Gaussian (MagicPIG's "random centred keys" setting).
    public func fillSynthetic(positions range: Range<Int>, seed: UInt64, keyOffsetScale: Float = 1, runner: ParallelRunner) {
        let d = headDim, kvH = kvHeads, b = batch
        runner.forEach(layerCount * b * kvH) { item, _ in
            let layer = item / (b * kvH), seq = (item / kvH) % b, head = item % kvH
            var g = SplitMix64(seed: seed ^ (UInt64(layer * 1_000_003 + head + 1) &* 0x9E37_79B9_7F4A_7C15))
            var mu = [Float](repeating: 0, count: d)
            pp_fill_gaussian_f32(&mu, d, g.next(), 0, 0, keyOffsetScale)
            let unitSeed = g.next() ^ UInt64(seq + 1) &* 0xBF58_476D_1CE4_E5B9
            let kr = self.keyRows(layer: layer, sequence: seq, head: head)
            let vr = self.valueRows(layer: layer, sequence: seq, head: head)
            let start = UInt64(range.lowerBound * d)
            pp_fill_gaussian_f16(kr + range.lowerBound * d, range.count * d, unitSeed, start, 0, 1)
            pp_fill_gaussian_f16(vr + range.lowerBound * d, range.count * d, unitSeed ^ 0x5555, start, 0, 1)
            for r in range { pp_add_f16_row(kr + r * d, mu, d) }
        }
    }
}
