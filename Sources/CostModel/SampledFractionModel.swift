import Core
import Foundation

/// The fraction of hashed keys that LSH(K, L) samples: collision theory times an empirical
/// correction.
///
/// Theory: isotropic keys sit at 90 degrees to the query on average, p = 1/2, so
///   u_theory(K, L) = 1 - (1 - 2^-K)^L - L 2^-K (1 - 2^-K)^(L-1).
/// Real keys are not isotropic and are sampled 1.5-3x more often (MagicPIG, Table 9). Where the
/// model profile carries measurements, the correction c = measured / u_theory is interpolated in
/// log space over K and L (clamped at the table's edges); elsewhere the profile's scalar
/// `sampledFractionCorrection` is used. fraction = min(1, c x u_theory). An explicit override
/// (`--sampled-fraction`, or what the executor measured) replaces the model.
public struct SampledFractionModel: Sendable, Hashable {
    public var measured: [SampledFractionPoint]
    public var defaultCorrection: Double
    public var override: Double?
    /// Fractions measured for exactly these settings (a quality profile's), used as they are.
    public let exact: [LSHParameters: Double]
    /// How much more (or less) this model's keys collide than the generic measurements predict:
    /// the geometric mean of exact / generic over the measured settings (1 without any). Keys
    /// that cluster more are sampled more at every (K, L).
    public private(set) var modelScale = 1.0

    static func scale(_ exact: [LSHParameters: Double], generic: (LSHParameters) -> Double) -> Double {
        let ratios = exact.compactMap { p, f -> Double? in
            let g = generic(p)
            return g > 0 && f > 0 ? log(f / g) : nil
        }
        return ratios.isEmpty ? 1 : exp(ratios.reduce(0, +) / Double(ratios.count))
    }

    /// The generic prediction: collision theory x the measured correction.
    func genericFraction(_ lsh: LSHParameters) -> Double { min(1, correction(lsh) * Self.theory(lsh)) }

    public init(measured: [SampledFractionPoint] = [], defaultCorrection: Double = 1, override: Double? = nil,
                exact: [LSHParameters: Double] = [:]) {
        self.measured = measured
        self.defaultCorrection = defaultCorrection
        self.override = override
        self.exact = exact
        modelScale = Self.scale(exact, generic: genericFraction)
    }

    public init(profile: ModelProfile, override: Double? = nil, exact: [LSHParameters: Double] = [:]) {
        self.init(measured: profile.measuredSampledFractions ?? [], defaultCorrection: profile.sampledFractionCorrection,
                  override: override, exact: exact)
    }

    public static func theory(_ lsh: LSHParameters) -> Double {
        CollisionTheory.samplingProbability(bitCollision: 0.5, lsh)
    }

    public func fraction(_ lsh: LSHParameters) -> Double {
        if let override { return override }
        if let measured = exact[lsh] { return measured }
        return min(1, modelScale * genericFraction(lsh))
    }

    /// c(K, L): bilinear in (K, log c) over the measured grid; the scalar default without data.
    public func correction(_ lsh: LSHParameters) -> Double {
        guard !measured.isEmpty else { return defaultCorrection }
        let ks = Array(Set(measured.map(\.k))).sorted()
        func logCorrection(atK k: Int) -> Double? {
            let row = measured.filter { $0.k == k && $0.fraction > 0 }
            guard !row.isEmpty else { return nil }
            let curve = PiecewiseLinear(
                points: row.map { p in
                    (Double(p.l), log(p.fraction / Self.theory(LSHParameters(hashBitsPerTable: p.k, tableCount: p.l))))
                }, clampBelow: true, clampAbove: true)
            return curve(Double(lsh.tableCount))
        }
        let perK = ks.compactMap { k in logCorrection(atK: k).map { (Double(k), $0) } }
        let overK = PiecewiseLinear(points: perK, clampBelow: true, clampAbove: true)
        return exp(overK(Double(lsh.hashBitsPerTable)))
    }

    /// P = p^K, the per-table collision probability of a homogeneous key population sampled at
    /// `fraction(lsh)`: the expected bucket occupancy per table is P x n.
    public func tableCollision(_ lsh: LSHParameters) -> Double {
        let p = CollisionTheory.bitCollision(forSampledFraction: fraction(lsh), lsh)
        return pow(p, Double(lsh.hashBitsPerTable))
    }
}
