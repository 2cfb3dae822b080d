import CKernels

/// A linear layer's weights, row-major out x in (row o is the weights of output o), stored as
/// f32 or binary16. `apply` computes y[m][o] = W[o] . x[m] for a few rows x[m].
public struct WeightMatrix: Sendable {
    public enum Storage: Sendable {
        case f32(Buffer<Float>)
        case f16(Buffer<UInt16>)
    }
    public let rows: Int
    public let columns: Int
    public let storage: Storage

    public init(rows: Int, columns: Int, storage: Storage) {
        self.rows = rows
        self.columns = columns
        self.storage = storage
    }

    public var bytes: Int {
        switch storage {
        case .f32(let b): return b.bytes
        case .f16(let b): return b.bytes
        }
    }

    /// Weight element (for reference implementations and tests).
    public func value(_ row: Int, _ col: Int) -> Float {
        switch storage {
        case .f32(let b): return b[row * columns + col]
        case .f16(let b): return pp_f16_to_f32_scalar(b[row * columns + col])
        }
    }

    /// y[m * ldy + o] = sum_i W[o][i] x[m * ldx + i] for m < tokens, o < rows; split over threads
    /// by output rows.
    public func apply(_ x: UnsafePointer<Float>, ldx: Int, tokens: Int, into y: UnsafeMutablePointer<Float>,
                      ldy: Int, runner: ParallelRunner) {
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ys = SendablePointer(y)
        let cols = columns
        // Chunks of whole 4-row tiles, at least 64 rows each.
        let grain = max(64, (rows / (runner.threads * 4) + 3) / 4 * 4)
        let pieces = (rows + grain - 1) / grain
        switch storage {
        case .f32(let w):
            let wp = SendablePointer(w.pointer)
            runner.forEach(pieces) { i, _ in
                let o0 = i * grain, o1 = min(rows, o0 + grain)
                pp_matmul_f32(wp.p, cols, xs.p, ldx, ys.p, ldy, tokens, o0, o1)
            }
        case .f16(let w):
            let wp = SendablePointer(w.pointer)
            runner.forEach(pieces) { i, _ in
                let o0 = i * grain, o1 = min(rows, o0 + grain)
                pp_matmul_f16(wp.p, cols, xs.p, ldx, ys.p, ldy, tokens, o0, o1)
            }
        }
    }
}
