import CKernels

/// Times the executor's matrix product on binary16 weights of one shape, cold: `matrices`
/// distinct matrices applied back to back (together far larger than the last-level cache), so
/// the calibration can separate what a product costs per weight byte from what it costs per
/// output row (each row starts a new stream of weights; short rows pay that start more often).
public enum LinearKernelBench {
    /// Median seconds of one product of a `rows` x `columns` matrix with `batch` input rows.
    public static func secondsPerProduct(rows: Int, columns: Int, batch: Int, threads: Int, matrices: Int,
                                         repetitions: Int = 3) -> Double {
        let runner = ParallelRunner(threads: threads)
        let weights = (0..<max(1, matrices)).map { m -> WeightMatrix in
            let buffer = Buffer<UInt16>(count: rows * columns)
            pp_fill_gaussian_f16(buffer.pointer, rows * columns, UInt64(m) &* 7919 &+ 1, 0, 0, 0.02)
            return WeightMatrix(rows: rows, columns: columns, storage: .f16(buffer))
        }
        let x = Buffer<Float>(count: batch * columns), y = Buffer<Float>(count: batch * rows)
        for i in 0..<(batch * columns) { x[i] = Float(i % 7) * 0.1 - 0.3 }
        for w in weights { w.apply(x.pointer, ldx: columns, tokens: batch, into: y.pointer, ldy: rows, runner: runner) }
        var times: [Double] = []
        for _ in 0..<max(1, repetitions) {
            let t0 = Clock.now()
            for w in weights { w.apply(x.pointer, ldx: columns, tokens: batch, into: y.pointer, ldy: rows, runner: runner) }
            times.append((Clock.now() - t0) / Double(weights.count))
        }
        times.sort()
        return times[times.count / 2]
    }
}
