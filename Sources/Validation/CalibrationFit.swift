import Core
import CostModel

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

    /// Seconds per weight byte at each batch: median over the samples of that batch.
    public static func linearRows(_ samples: [(batch: Int, seconds: Double, bytes: Double)]) -> [CPUKernelCosts.CPULinearRow] {
        Dictionary(grouping: samples, by: \.batch).keys.sorted().map { batch in
            let rows = samples.filter { $0.batch == batch }
            return .init(batch: batch, secondsPerByte: median(rows.map { $0.seconds / $0.bytes }))
        }
    }
}
