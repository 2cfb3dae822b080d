import CKernels
import Core

/// SimHash directions of one layer: K x L Gaussian vectors of width d, stored as a (K L) x d
/// row-major matrix (row t K + b is bit b of table t). A vector x's code in table t is
///   sum_b [x . w_{tK+b} > 0] 2^b.
/// Seeded per (seed, layer); shared by the layer's KV heads and sequences.
public struct SimHashProjection: Sendable {
    public let parameters: LSHParameters
    public let headDim: Int
    public let matrix: Buffer<Float>
    /// The same directions transposed, d x (K L) (what the hashing products read).
    public let transposed: Buffer<Float>

    public init(parameters: LSHParameters, headDim: Int, seed: UInt64, layer: Int) {
        self.parameters = parameters
        self.headDim = headDim
        let rows = parameters.hashBitsPerTable * parameters.tableCount
        matrix = Buffer<Float>(count: rows * headDim)
        var g = SplitMix64(seed: seed ^ (UInt64(layer + 1) &* 0xD1B5_4A32_D192_ED03))
        pp_fill_gaussian_f32(matrix.pointer, rows * headDim, g.next(), 0, 0, 1)
        transposed = Buffer<Float>(count: rows * headDim)
        for r in 0..<rows { for j in 0..<headDim { transposed[j * rows + r] = matrix[r * headDim + j] } }
    }

    public var projectionCount: Int { parameters.hashBitsPerTable * parameters.tableCount }
}
