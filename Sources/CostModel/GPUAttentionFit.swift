import Core

/// Decode attention time fitted to a measured table of (batch, context, seconds):
///   t(B, n) = max(a0 + alpha n, B n kv / BW)
/// Small batches cannot fill the GPU (a per-sequence floor a0 + alpha n, fitted by least squares
/// on the batch-1 rows); large ones stream the KV cache at BW (the median of B n kv / t over
/// the rows where that floor is below half the measured time). Times for other KV widths are
/// scaled by kv / kv_ref, since both regimes move bytes of the cache.
public struct GPUAttentionFit: Sendable, Hashable {
    public var floorIntercept: Double
    public var floorSecondsPerToken: Double
    public var bandwidthBytesPerSecond: Double
    public var referenceKVBytesPerTokenPerLayer: Double

    public init(rows: [Calibration.AttentionRow], kvBytesPerTokenPerLayer kvRef: Double) {
        referenceKVBytesPerTokenPerLayer = kvRef
        var singles = rows.filter { $0.batch == 1 }.map { (Double($0.contextTokens), $0.seconds) }
        if singles.isEmpty {
            let smallest = rows.map(\.batch).min() ?? 1
            singles = rows.filter { $0.batch == smallest }.map { (Double($0.contextTokens), $0.seconds) }
        }
        // Least squares line through the smallest-batch rows (a single point: through the origin).
        if singles.count >= 2 {
            let m = Double(singles.count)
            let sx = singles.reduce(0) { $0 + $1.0 }, sy = singles.reduce(0) { $0 + $1.1 }
            let sxx = singles.reduce(0) { $0 + $1.0 * $1.0 }, sxy = singles.reduce(0) { $0 + $1.0 * $1.1 }
            let slope = (m * sxy - sx * sy) / (m * sxx - sx * sx)
            floorSecondsPerToken = max(0, slope)
            floorIntercept = max(0, (sy - floorSecondsPerToken * sx) / m)
        } else {
            floorIntercept = 0
            floorSecondsPerToken = singles.first.map { $0.1 / $0.0 } ?? 0
        }
        let a0 = floorIntercept, alpha = floorSecondsPerToken
        var rates = rows.filter { a0 + alpha * Double($0.contextTokens) < 0.5 * $0.seconds }
            .map { Double($0.batch) * Double($0.contextTokens) * kvRef / $0.seconds }
        if rates.isEmpty {
            rates = rows.map { Double($0.batch) * Double($0.contextTokens) * kvRef / $0.seconds }
        }
        rates.sort()
        bandwidthBytesPerSecond = rates.isEmpty ? .infinity : rates[rates.count / 2]
    }

    public func seconds(batch: Double, tokens: Double, kvBytesPerTokenPerLayer kv: Double) -> Double {
        let scale = kv / referenceKVBytesPerTokenPerLayer
        let floor = (floorIntercept + floorSecondsPerToken * tokens) * scale
        let stream = batch * tokens * kv / bandwidthBytesPerSecond
        return max(floor, stream)
    }
}
