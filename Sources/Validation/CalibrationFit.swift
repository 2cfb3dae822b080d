import Core
import CostModel
import Foundation

/// Fits the cost model's CPU parameters to measured executor runs.
///
/// Each parameter enters the model as a scale on a term, so every fit evaluates the cost model
/// with the parameter at 1 (its "basis") and solves for the scale against the measurement:
/// - bandwidth fractions: t = basis / fraction, so fraction = median(basis / measured);
/// - retrieval: t = walk x basis_walk + candidate x basis_candidate, least squares (nonnegative);
/// - linear layers: t = bytes x secondsPerByte(B), the median per batch;
/// - the remainder: t = layers x B x other, the median.
public enum CalibrationFit {
    public static func median(_ xs: [Double]) -> Double {
        let s = xs.filter(\.isFinite).sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    /// fraction = median(basis_i / measured_i) over samples with a measurable time.
    public static func fraction(basis: [Double], measured: [Double]) -> Double {
        median(zip(basis, measured).filter { $0.1 > 0 && $0.0 > 0 }.map { $0.0 / $0.1 })
    }

    /// Nonnegative least squares for t = a x + b y with two unknowns (falls back to one when the
    /// unconstrained solution has a negative part).
    public static func twoTerm(x: [Double], y: [Double], t: [Double]) -> (a: Double, b: Double) {
        var sxx = 0.0, sxy = 0.0, syy = 0.0, sxt = 0.0, syt = 0.0
        for i in t.indices {
            sxx += x[i] * x[i]; sxy += x[i] * y[i]; syy += y[i] * y[i]
            sxt += x[i] * t[i]; syt += y[i] * t[i]
        }
        let det = sxx * syy - sxy * sxy
        if abs(det) > 1e-300 * max(1, sxx * syy) {
            let a = (sxt * syy - sxy * syt) / det, b = (sxx * syt - sxy * sxt) / det
            if a >= 0 && b >= 0 { return (a, b) }
        }
        let onlyA = sxx > 0 ? max(0, sxt / sxx) : 0, onlyB = syy > 0 ? max(0, syt / syy) : 0
        func residual(_ a: Double, _ b: Double) -> Double {
            t.indices.reduce(0) { $0 + pow(t[$1] - a * x[$1] - b * y[$1], 2) }
        }
        return residual(onlyA, 0) <= residual(0, onlyB) ? (onlyA, 0) : (0, onlyB)
    }

    /// Matrix products as calls x perCall + bytes x secondsPerByte(B): samples of two shapes (a
    /// layer's 7 products, the LM head's one) separate the per-call cost (nonnegative least
    /// squares over all batches, one secondsPerByte unknown per batch) from the bytes; then
    /// secondsPerByte per batch is the median of (t - calls x perCall) / bytes.
    public static func linearCallsAndBytes(_ samples: [(batch: Int, calls: Double, seconds: Double, bytes: Double)])
        -> (perCall: Double, rows: [CPUKernelCosts.CPULinearRow])
    {
        // Eliminate each batch's unknown by centring within the batch: for samples i of batch b,
        // t_i / bytes_i = c x calls_i / bytes_i + s_b, so the per-call cost is the slope of
        // t / bytes against calls / bytes after removing each batch's mean.
        var sxx = 0.0, sxy = 0.0
        for (_, group) in Dictionary(grouping: samples, by: \.batch) where group.count >= 2 {
            let xs = group.map { $0.calls / $0.bytes }, ys = group.map { $0.seconds / $0.bytes }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            for (x, y) in zip(xs, ys) { sxx += (x - mx) * (x - mx); sxy += (x - mx) * (y - my) }
        }
        let perCall = sxx > 0 ? max(0, sxy / sxx) : 0
        let rows = linearRows(samples.map { (batch: $0.batch, seconds: max(0, $0.seconds - $0.calls * perCall), bytes: $0.bytes) })
        return (perCall, rows)
    }

    /// Seconds per weight byte at each batch: median over the samples of that batch.
    public static func linearRows(_ samples: [(batch: Int, seconds: Double, bytes: Double)]) -> [CPUKernelCosts.CPULinearRow] {
        Dictionary(grouping: samples, by: \.batch).keys.sorted().map { batch in
            let rows = samples.filter { $0.batch == batch }
            return .init(batch: batch, secondsPerByte: median(rows.map { $0.seconds / $0.bytes }))
        }
    }
}
