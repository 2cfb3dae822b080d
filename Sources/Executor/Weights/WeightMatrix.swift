import CKernels

/// A linear layer's weights, row-major out x in (row o is the weights of output o), stored as
/// f32, binary16, bfloat16 or GGUF quantised blocks (Q8_0, Q4_0, Q4_1: each row columns / 32
/// blocks). `apply` computes y[m][o] = W[o] . x[m] for a batch of rows x[m].
public struct WeightMatrix: Sendable {
    public enum Storage: Sendable {
        case f32(Buffer<Float>)
        case f16(Buffer<UInt16>)
        case bf16(Buffer<UInt16>)
        /// GGUF blocks of type `type` (PP_GGML_Q8_0, _Q4_0 or _Q4_1), rows one after another.
        case quantized(type: Int32, Buffer<UInt8>)
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
        case .bf16(let b): return b.bytes
        case .quantized(_, let b): return b.bytes
        }
    }

    /// y[m][o] for o in `rows`: quantised rows dequantised exactly into f32, 32 rows at a time,
    /// multiplied by the f32 kernel (exact inputs without the packed GEMM).
    static func dequantizedProduct(type: Int32, _ w: UnsafeMutablePointer<UInt8>, rows: Range<Int>, columns cols: Int,
                                   _ x: UnsafeMutablePointer<Float>, ldx: Int, tokens: Int, _ y: UnsafeMutablePointer<Float>, ldy: Int) {
        let rowBytes = cols / 32 * pp_ggml_block_bytes(type), step = 32
        let panel = Buffer<Float>(count: step * cols)
        for r0 in stride(from: rows.lowerBound, to: rows.upperBound, by: step) {
            let r1 = min(rows.upperBound, r0 + step)
            for o in r0..<r1 { _ = pp_dequantize(type, w + o * rowBytes, panel.pointer + (o - r0) * cols, cols) }
            pp_matmul_f32(panel.pointer, cols, x, ldx, y + r0, ldy, tokens, 0, r1 - r0)
        }
    }

    /// Weight element (for reference implementations and tests).
    public func value(_ row: Int, _ col: Int) -> Float {
        switch storage {
        case .f32(let b): return b[row * columns + col]
        case .f16(let b): return pp_f16_to_f32_scalar(b[row * columns + col])
        case .bf16(let b): return Self.widen(bf16: b[row * columns + col])
        case .quantized(let type, let b):
            var block = [Float](repeating: 0, count: 32)
            let bb = pp_ggml_block_bytes(type), index = (row * columns + col) / 32
            _ = pp_dequantize(type, b.pointer + index * bb, &block, 32)
            return block[col % 32]
        }
    }

    /// A bfloat16 value as f32: its 16 bits are the float's upper half.
    static func widen(bf16 bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

    /// Row `row` widened to f32 into `dst` (columns floats): embedding lookups.
    public func widenRow(_ row: Int, into dst: UnsafeMutablePointer<Float>) {
        let n = columns
        switch storage {
        case .f32(let b): dst.update(from: b.pointer + row * n, count: n)
        case .f16(let b): pp_f16_to_f32(b.pointer + row * n, dst, n)
        case .bf16(let b): for i in 0..<n { dst[i] = Self.widen(bf16: b[row * n + i]) }
        case .quantized(let type, let b):
            let bb = pp_ggml_block_bytes(type)
            _ = pp_dequantize(type, b.pointer + row * (n / 32) * bb, dst, n)
        }
    }

    /// y[m * ldy + o] = sum_i W[o][i] x[m * ldx + i] for m < tokens, o < rows; split over threads
    /// by output rows.
    ///
    /// Quantised rows take 8-bit inputs (rounded per block of 32), at every token count (from
    /// `PP_PACKED_MIN_TOKENS` tokens the kernels' integer GEMM), unless `exactInputs`: then the
    /// rows are dequantised exactly and multiplied in f32 (quality measurements isolate the
    /// attention; `--exact-prefill`).
    public func apply(_ x: UnsafePointer<Float>, ldx: Int, tokens: Int, into y: UnsafeMutablePointer<Float>,
                      ldy: Int, runner: ParallelRunner, exactInputs: Bool = false) {
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x)), ys = SendablePointer(y)
        let cols = columns
        let grain = Self.rowsPerPiece(rows: rows, tokens: tokens, threads: runner.threads)
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
        case .bf16(let w):
            let wp = SendablePointer(w.pointer)
            runner.forEach(pieces) { i, _ in
                let o0 = i * grain, o1 = min(rows, o0 + grain)
                pp_matmul_bf16(wp.p, cols, xs.p, ldx, ys.p, ldy, tokens, o0, o1)
            }
        case .quantized(let type, let w):
            let wp = SendablePointer(w.pointer)
            if exactInputs {
                // Prefill chunks: each panel of rows dequantised and multiplied in f32 by the
                // packed GEMM. A piece it declines (no AVX2, no scratch), and every piece of a few
                // tokens (the panel packing would cost more than the product at that batch): its
                // rows dequantised into f32 once and multiplied by the f32 kernel.
                var rest = Array(0..<pieces)
                if tokens >= Int(PP_PACKED_MIN_TOKENS) {
                    let declined = Buffer<UInt8>(count: pieces), dp = SendablePointer(declined.pointer)
                    runner.forEach(pieces) { i, _ in
                        let o0 = i * grain, o1 = min(rows, o0 + grain)
                        let rc = pp_matmul_q_wide(type, wp.p, cols, xs.p, ldx, ys.p, ldy, tokens, o0, o1)
                        precondition(rc >= 0, "quantised weights of type \(type) with \(cols) columns")
                        dp.p[i] = rc == 0 ? 0 : 1
                    }
                    rest = rest.filter { declined[$0] != 0 }
                }
                let only = rest
                runner.forEach(only.count) { j, _ in
                    let o0 = only[j] * grain, o1 = min(rows, o0 + grain)
                    Self.dequantizedProduct(type: type, wp.p, rows: o0..<o1, columns: cols, xs.p, ldx: ldx, tokens: tokens, ys.p, ldy: ldy)
                }
                return
            }
            Self.quantizedProducts([(type, w.pointer, rows, y, ldy)], columns: cols, x, ldx: ldx, tokens: tokens, runner: runner)
        }
    }

    /// Rows per piece of a product split over threads: whole 4-row tiles (whole 16-row panels for
    /// the packed GEMMs of many tokens), at least 64 rows, about 4 pieces per thread so that a slow
    /// thread is not left the last one.
    static func rowsPerPiece(rows: Int, tokens: Int, threads: Int) -> Int {
        let tile = tokens >= Int(PP_PACKED_MIN_TOKENS) ? 16 : 4
        return max(64, (rows / (threads * 4) + tile - 1) / tile * tile)
    }

    /// One quantised product's rows, where its outputs go (row stride ldy).
    typealias QuantizedProduct = (type: Int32, weights: UnsafeMutablePointer<UInt8>, rows: Int,
                                  output: UnsafeMutablePointer<Float>, ldy: Int)

    /// Several quantised products of the same inputs (columns wide): the inputs quantised once
    /// (8 bits per block of 32) and shared, then every product's pieces (rowsPerPiece) in one
    /// parallel pass. Scratch on the stack where it is small (decode), so that a step does not
    /// allocate it once per projection.
    static func quantizedProducts(_ products: [QuantizedProduct], columns cols: Int, _ x: UnsafePointer<Float>,
                                  ldx: Int, tokens: Int, runner: ParallelRunner) {
        let xs = SendablePointer(UnsafeMutablePointer(mutating: x))
        var pieces: [(product: Int, rows: Range<Int>)] = []
        for (i, p) in products.enumerated() {
            let grain = rowsPerPiece(rows: p.rows, tokens: tokens, threads: runner.threads)
            for o0 in stride(from: 0, to: p.rows, by: grain) { pieces.append((i, o0..<min(p.rows, o0 + grain))) }
        }
        let rowBytes = pp_q8x_row_bytes(cols)
        let bytes = max(1, tokens * rowBytes)
        // Prefill chunks: the inputs quantised straight into the order the integer GEMM reads
        // them (runs of whole groups of 4 tokens per thread). Decode batches: as rows.
        let gemm = tokens >= Int(PP_PACKED_MIN_TOKENS)
        withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 64) { raw in
            let base = raw.baseAddress!.bindMemory(to: UInt8.self, capacity: bytes)
            let out = SendablePointer(base)
            // Tokens m0 ..< m1 quantised (in the tile order m0 is a multiple of 4).
            let quantize: @Sendable (Int, Int) -> Void = { m0, m1 in
                if gemm {
                    pp_quantize_q8x_tiles(xs.p, ldx, cols, tokens, m0, m1, out.p)
                } else {
                    for m in m0..<m1 { pp_quantize_q8x(xs.p + m * ldx, cols, out.p + m * rowBytes) }
                }
            }
            if runner.threads > 1 && (gemm || tokens >= 4 * runner.threads) {
                // Every thread a run of tokens (of whole groups of 4 in the tile order).
                let even = (tokens + runner.threads - 1) / runner.threads, per = gemm ? (even + 3) / 4 * 4 : even
                runner.forEach(runner.threads) { t, _ in
                    let m0 = min(tokens, t * per), m1 = min(tokens, m0 + per)
                    if m0 < m1 { quantize(m0, m1) }
                }
            } else {
                quantize(0, tokens)
            }
            let qp = SendablePointer(base)
            let targets = products.map { (SendablePointer($0.weights), SendablePointer($0.output), $0.type, $0.ldy) }
            let work = pieces
            runner.forEach(work.count) { i, _ in
                let (w, y, type, ldy) = targets[work[i].product], r = work[i].rows
                let rc = gemm ? pp_matmul_q_tiles(type, w.p, cols, qp.p, y.p, ldy, tokens, r.lowerBound, r.upperBound)
                              : pp_matmul_q(type, w.p, cols, qp.p, y.p, ldy, tokens, r.lowerBound, r.upperBound)
                precondition(rc == 0, "quantised weights of type \(type) with \(cols) columns")
            }
        }
    }

    /// y_i = W_i x for matrices of the same width on the same inputs (a layer's query, key and
    /// value; its gate and up): quantised ones with 8-bit inputs share one rounding of the inputs
    /// and one parallel pass over all their rows (fewer, fuller passes than one per matrix);
    /// the others, and every one with `exactInputs`, go through `apply` one by one. Each output's
    /// row stride is its matrix's row count.
    public static func apply(_ products: [(matrix: WeightMatrix, output: UnsafeMutablePointer<Float>)],
                             _ x: UnsafePointer<Float>, ldx: Int, tokens: Int, runner: ParallelRunner,
                             exactInputs: Bool = false) {
        guard let cols = products.first?.matrix.columns else { return }
        precondition(products.allSatisfy { $0.matrix.columns == cols }, "matrices of one input have one width")
        var shared: [QuantizedProduct] = []
        for (m, y) in products {
            if case .quantized(let type, let w) = m.storage, !exactInputs {
                shared.append((type, w.pointer, m.rows, y, m.rows))
            } else {
                m.apply(x, ldx: ldx, tokens: tokens, into: y, ldy: m.rows, runner: runner, exactInputs: exactInputs)
            }
        }
        if !shared.isEmpty { quantizedProducts(shared, columns: cols, x, ldx: ldx, tokens: tokens, runner: runner) }
    }
}
