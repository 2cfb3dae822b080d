import Foundation

/// (K, L): K sign bits per SimHash table and L tables. A key is sampled when its code equals the
/// query's in at least two of the L tables (MagicPIG's two-hit rule).
public struct LSHParameters: Codable, Sendable, Hashable, CustomStringConvertible {
    /// K: bits per table code (2^K buckets per table).
    public var hashBitsPerTable: Int
    /// L: number of tables.
    public var tableCount: Int
    public init(hashBitsPerTable: Int, tableCount: Int) {
        self.hashBitsPerTable = hashBitsPerTable
        self.tableCount = tableCount
    }
    public var description: String { "(\(hashBitsPerTable), \(tableCount))" }
    /// 2^K.
    public var bucketsPerTable: Int { 1 << hashBitsPerTable }

    /// K values any command, profile, plan file or executor request may use (the executor's
    /// table codes hold 16 bits).
    public static let hashBitsRange = 1...16
    /// L values: the two-hit rule needs two tables.
    public static let tableCountRange = 2...4096

    /// (K, L) out of range, in words naming the values as the caller's input calls them.
    public struct RangeError: Error, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// (K, L) checked against the ranges (the executor, plan files, `sweep --kl`); the error names
    /// them as `kName` and `lName`.
    public init(checkingHashBits k: Int, tableCount l: Int, kName: String = "K", lName: String = "L") throws(RangeError) {
        if let problem = Self.rangeProblem(k: k, l: l, kName: kName, lName: lName) { throw RangeError(description: problem) }
        self.init(hashBitsPerTable: k, tableCount: l)
    }

    /// Why `k` (given as `kName`) or `l` (as `lName`) is out of range, or nil: one home for the
    /// ranges, used by the planner's and the executor's options (where K or L may come alone) and
    /// by the checking initializer.
    public static func rangeProblem(k: Int?, l: Int?, kName: String = "--k", lName: String = "--l") -> String? {
        if let k, !hashBitsRange.contains(k) {
            return "\(kName) \(k): K must be between \(hashBitsRange.lowerBound) and \(hashBitsRange.upperBound) bits per table"
        }
        if let l, !tableCountRange.contains(l) {
            return "\(lName) \(l): L must be between \(tableCountRange.lowerBound) and \(tableCountRange.upperBound) tables (the two-hit rule needs two)"
        }
        return nil
    }
}

/// How attention over the long (hashed) span is computed.
public enum AttentionMode: Sendable, Hashable {
    /// Full attention over every key.
    case dense
    /// MagicPIG: LSH sampling with importance weights, exact sinks/local/generated tokens.
    case lshSampled(LSHParameters)
    /// Oracle TopK: the `budgetFraction` highest-scoring keys, exactly (a yardstick).
    case topK(budgetFraction: Double)
    /// Quest page selection: pages of `pageSize` keys ranked by a min/max score bound.
    case quest(pageSize: Int, budgetFraction: Double)

    public var name: String {
        switch self {
        case .dense: return "dense"
        case .lshSampled: return "lsh"
        case .topK: return "topk"
        case .quest: return "quest"
        }
    }
    /// `lsh (10, 150)`, `dense`, ...: the name with LSH's parameters.
    public var label: String { name + (lsh.map { " \($0)" } ?? "") }

    public var lsh: LSHParameters? {
        if case .lshSampled(let p) = self { return p }
        return nil
    }
}

/// The tokens MagicPIG always attends exactly (paper: 4 sinks + 64 local).
public enum ExactTokens {
    public static let sinkCount = 4
    public static let localWindow = 64
}

/// Sampling probability of one key under the two-hit rule (MagicPIG section 4):
/// with per-table collision probability P = p^K, where p = 1 - theta/pi,
///   u = 1 - (1 - P)^L - L P (1 - P)^(L-1).
public enum CollisionTheory {
    /// u for a key whose single-bit collision probability is `p`.
    public static func samplingProbability(bitCollision p: Double, _ lsh: LSHParameters) -> Double {
        let P = pow(p, Double(lsh.hashBitsPerTable))
        return samplingProbability(tableCollision: P, tableCount: lsh.tableCount)
    }
    /// u from the per-table collision probability P = p^K.
    public static func samplingProbability(tableCollision P: Double, tableCount L: Int) -> Double {
        let l = Double(L)
        if P <= 0 { return 0 }
        if P >= 1 { return 1 }
        // log1p keeps the tiny-P case accurate: (1-P)^(L-1) = exp((L-1) log1p(-P)).
        let none = exp(l * log1p(-P))
        let one = l * P * exp((l - 1) * log1p(-P))
        return max(0, min(1, 1 - none - one))
    }
    /// Bit collision probability of a key at angle theta (radians) to the query: 1 - theta/pi.
    public static func bitCollision(angle theta: Double) -> Double { 1 - theta / Double.pi }
    /// Inverse of `samplingProbability(bitCollision:)` in p, by bisection: the single-bit collision
    /// probability of a homogeneous key population sampled at `fraction`.
    public static func bitCollision(forSampledFraction fraction: Double, _ lsh: LSHParameters) -> Double {
        var lo = 0.0, hi = 1.0
        for _ in 0..<64 {
            let mid = (lo + hi) / 2
            if samplingProbability(bitCollision: mid, lsh) < fraction { lo = mid } else { hi = mid }
        }
        return (lo + hi) / 2
    }
}

/// The kinds of plan pigplan compares: each a way to run decode attention, with the runtime
/// that runs it (`PlanRequest.engine(for:)`). Encoded by the names JSON and CSV use.
public enum PlanKind: String, Codable, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// MagicPIG: LSH sampling over a KV cache and tables in CPU memory (or GPU, for engines that
    /// sample there).
    case lsh
    /// Full attention with the KV cache in GPU memory: what a serving engine runs today.
    case gpuOnly = "gpu-only"
    /// Full attention over a KV cache in CPU memory.
    case cpuKVDense = "cpu-kv-dense"
    /// Quest page selection on the GPU (a quality baseline).
    case quest
    /// Oracle TopK (a quality yardstick, never planned).
    case topk

    public var description: String { rawValue }

    /// The kind a configuration is.
    public init(_ attention: AttentionMode, kvDevice: Device) {
        switch attention {
        case .lshSampled: self = .lsh
        case .dense: self = kvDevice == .gpu ? .gpuOnly : .cpuKVDense
        case .quest: self = .quest
        case .topK: self = .topk
        }
    }

    /// Attends every key (no quality loss).
    public var isFullAttention: Bool { self == .gpuOnly || self == .cpuKVDense }
}
