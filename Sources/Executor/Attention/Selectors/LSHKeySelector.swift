@preconcurrency import CKernels
import Core

/// MagicPIG: SimHash codes of the G queries, then the two-hit walk of the layer's L tables; the
/// sampled rows are importance-corrected by the collision probability (`corrections`).
final class LSHKeySelector: KeySelector {
    let parameters: LSHParameters
    let geometry: SelectionGeometry
    var indices: [Int: LSHLayerIndex] = [:]
    var projections: [Int: SimHashProjection] = [:]
    let correction: SamplingCorrectionTable
    /// units x G x L codes; units x G q.mu and |q|; batch x H_q x K L projections.
    let queryCodes: Buffer<UInt16>
    let queryDotMean: Buffer<Float>
    let queryNorm: Buffer<Float>
    let queryProjections: Buffer<Float>

    init(parameters: LSHParameters, geometry: SelectionGeometry) {
        self.parameters = parameters
        self.geometry = geometry
        let rows = geometry.units * geometry.groupSize
        queryCodes = Buffer(count: rows * parameters.tableCount)
        queryDotMean = Buffer(count: rows)
        queryNorm = Buffer(count: rows)
        queryProjections = Buffer(count: rows * parameters.hashBitsPerTable * parameters.tableCount)
        correction = SamplingCorrectionTable(parameters: parameters)
    }

    func buildIndex(layer: Int, cache: KVCache) {
        let projection = SimHashProjection(parameters: parameters, headDim: geometry.headDim, seed: geometry.seed, layer: layer)
        projections[layer] = projection
        indices[layer] = LSHLayerIndex(cache: cache, layer: layer, span: geometry.span, projection: projection, runner: geometry.runner)
    }

    var indexBytes: Int { indices.values.reduce(0) { $0 + $1.bytes } }

    /// The layer's tables and projection, built now if `buildIndex` was not called for it.
    func index(_ layer: Int, _ cache: KVCache) -> (LSHLayerIndex, SimHashProjection) {
        if let index = indices[layer], let projection = projections[layer] { return (index, projection) }
        buildIndex(layer: layer, cache: cache)
        return index(layer, cache)
    }

    func select(layer: Int, queries qs: SendablePointer<Float>, cache: KVCache, into out: KeySelection,
                breakdown: inout StepTimes) {
        let (index, projection) = index(layer, cache)
        let G = geometry.groupSize, d = geometry.headDim, n = geometry.span.count, units = geometry.units
        let runner = geometry.runner
        let K = parameters.hashBitsPerTable, L = parameters.tableCount, KL = K * L
        let codes = SendablePointer(queryCodes.pointer)
        let qdm = SendablePointer(queryDotMean.pointer), qn = SendablePointer(queryNorm.pointer)
        let spanStart = Int32(geometry.span.start)
        let t0 = Clock.now()
        // All B H_q queries against the layer's K L directions in one product (the projection
        // matrix is read once), then sign packing and q.mu, |q| per unit.
        let rows = units * G
        let pr = SendablePointer(queryProjections.pointer)
        let grain = max(64, (KL / (runner.threads * 2) + 63) / 64 * 64)
        runner.forEach((KL + grain - 1) / grain) { i, _ in
            pp_matmul_t_f32(projection.transposed.pointer, d, KL, qs.p, d, pr.p, KL, rows, i * grain, min(KL, (i + 1) * grain))
        }
        runner.forEach(units) { unit, _ in
            let q = qs.p + unit * G * d
            let mu = index.mean(unit: unit)
            for g in 0..<G {
                pp_pack_codes(pr.p + (unit * G + g) * KL, 1, K, L, codes.p + (unit * G + g) * L, 1)
                var dm: Float = 0, nn: Float = 0
                for j in 0..<d { dm += q[g * d + j] * mu[j]; nn += q[g * d + j] * q[g * d + j] }
                qdm.p[unit * G + g] = dm
                qn.p[unit * G + g] = nn.squareRoot()
            }
        }
        let t1 = Clock.now()
        runner.forEach(units) { unit, w in
            out.rowCounts.p[unit] = pp_lsh_retrieve(codes.p + unit * G * L, G, K, L, index.offsets(unit: unit),
                                                    index.entries(unit: unit), n, n, spanStart, out.workers.p + w,
                                                    out.rows.p + unit * n, out.headMasks.p + unit * n,
                                                    out.selectedPerHead.p + unit * G)
        }
        breakdown[.hashing] += t1 - t0
        breakdown[.retrieval] += Clock.now() - t1
    }

    func corrections(layer: Int) -> Buffer<pp_sampling_correction>? {
        guard let index = indices[layer] else { return nil }
        let G = geometry.groupSize
        let table = Buffer<pp_sampling_correction>(count: geometry.units)
        for unit in 0..<geometry.units {
            table[unit] = pp_sampling_correction(
                lut: correction.values.pointer, lutSize: Int32(correction.size), keyNorm: index.keyNorms(unit: unit),
                normOffset: Int64(geometry.span.start), queryDotMean: queryDotMean.pointer + unit * G,
                queryNorm: queryNorm.pointer + unit * G)
        }
        return table
    }
}
