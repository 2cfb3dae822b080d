import Core
import Foundation

/// log(u(cos) + 1e-4) tabulated over cos in [-1, 1] for one (K, L), where
///   p = 1 - arccos(cos) / pi,  u = 1 - (1 - p^K)^L - L p^K (1 - p^K)^(L-1)
/// (MagicPIG's two-hit sampling probability). The kernels interpolate linearly between the
/// `size` equally spaced points; `maxInterpolationError` reports the worst error at midpoints.
public struct SamplingCorrectionTable: Sendable {
    public static let epsilon = 1e-4
    public let parameters: LSHParameters
    public let values: Buffer<Float>
    public var size: Int { values.count }

    public init(parameters: LSHParameters, size: Int = 8193) {
        self.parameters = parameters
        values = Buffer<Float>(count: size)
        for i in 0..<size {
            values[i] = Float(Self.exact(cos: -1 + 2 * Double(i) / Double(size - 1), parameters))
        }
    }

    /// log(u + 1e-4) at a cosine, computed directly.
    public static func exact(cos c: Double, _ p: LSHParameters) -> Double {
        let clamped = max(-1, min(1, c))
        let bit = CollisionTheory.bitCollision(angle: acos(clamped))
        return log(CollisionTheory.samplingProbability(bitCollision: bit, p) + epsilon)
    }

    /// Linear interpolation as the kernels do it.
    public func interpolated(cos c: Double) -> Double {
        let x = min(max((c + 1) / 2 * Double(size - 1), 0), Double(size - 1))
        let i = min(Int(x), size - 2)
        let f = x - Double(i)
        return Double(values[i]) + f * Double(values[i + 1] - values[i])
    }
}
