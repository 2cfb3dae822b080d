import Foundation

/// A tiny GGUF writer for tests (independent of the reader): metadata of every value type and
/// tensors whose block bytes the test builds itself.
struct GGUFWriter {
    enum Value {
        case u8(UInt8), i8(Int8), u16(UInt16), i16(Int16), u32(UInt32), i32(Int32), f32(Float), bool(Bool)
        case string(String), u64(UInt64), i64(Int64), f64(Double)
        case array(elementType: UInt32, [Value])

        var typeID: UInt32 {
            switch self {
            case .u8: 0; case .i8: 1; case .u16: 2; case .i16: 3; case .u32: 4; case .i32: 5; case .f32: 6
            case .bool: 7; case .string: 8; case .array: 9; case .u64: 10; case .i64: 11; case .f64: 12
            }
        }
    }
    struct Tensor {
        var name: String
        var dims: [Int]
        var type: UInt32
        var bytes: [UInt8]
    }

    var version: UInt32 = 3
    var alignment = 32
    var metadata: [(String, Value)] = []
    var tensors: [Tensor] = []

    func encode() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func str(_ s: String) { put(UInt64(s.utf8.count)); out.append(contentsOf: Array(s.utf8)) }
        func val(_ v: Value) {
            switch v {
            case .u8(let x): put(x)
            case .i8(let x): put(x)
            case .u16(let x): put(x)
            case .i16(let x): put(x)
            case .u32(let x): put(x)
            case .i32(let x): put(x)
            case .f32(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0))
            case .string(let s): str(s)
            case .u64(let x): put(x)
            case .i64(let x): put(x)
            case .f64(let x): put(x.bitPattern)
            case .array(let t, let xs):
                put(t); put(UInt64(xs.count))
                for x in xs { val(x) }
            }
        }
        put(UInt32(0x4655_4747)); put(version); put(UInt64(tensors.count)); put(UInt64(metadata.count))
        for (k, v) in metadata { str(k); put(v.typeID); val(v) }
        var offset = 0
        var offsets: [Int] = []
        for t in tensors {
            offsets.append(offset)
            offset += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        for (t, o) in zip(tensors, offsets) {
            str(t.name); put(UInt32(t.dims.count))
            for d in t.dims { put(UInt64(d)) }
            put(t.type); put(UInt64(o))
        }
        while out.count % alignment != 0 { out.append(0) }
        for t in tensors {
            out.append(contentsOf: t.bytes)
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }
}

/// Reference block codecs written for the tests (GGML layouts: little-endian f16 scale(s), then
/// quants; 4-bit block byte j holds element j in the low nibble and j + 16 in the high nibble).
enum TestQuant {
    static func f16(_ x: Float) -> [UInt8] { let b = Float16(x).bitPattern; return [UInt8(b & 0xFF), UInt8(b >> 8)] }
    static func half(_ lo: UInt8, _ hi: UInt8) -> Float { Float(Float16(bitPattern: UInt16(lo) | UInt16(hi) << 8)) }

    static func quantize(_ x: [Float], type: UInt32) -> [UInt8] {
        var out: [UInt8] = []
        switch type {
        case 0: for v in x { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        case 1: for v in x { out.append(contentsOf: f16(v)) }
        case 30: for v in x { let b = UInt16(v.bitPattern >> 16); out.append(UInt8(b & 0xFF)); out.append(UInt8(b >> 8)) }
        default:
            for b in stride(from: 0, to: x.count, by: 32) {
                let blk = Array(x[b..<(b + 32)])
                switch type {
                case 2: // Q4_0: symmetric, d = max|x| / -8 sign-matched
                    let amax = blk.max { abs($0) < abs($1) }!
                    let d = amax / -8
                    out.append(contentsOf: f16(d))
                    let inv: Float = d != 0 ? 1 / d : 0
                    let q = blk.map { UInt8(min(15, max(0, Int(($0 * inv + 8.5).rounded(.down))))) }
                    for j in 0..<16 { out.append(q[j] | q[j + 16] << 4) }
                case 3: // Q4_1: d = (max - min) / 15, m = min
                    let lo = blk.min()!, hi = blk.max()!
                    let d = (hi - lo) / 15
                    out.append(contentsOf: f16(d)); out.append(contentsOf: f16(lo))
                    let inv: Float = d != 0 ? 1 / d : 0
                    let q = blk.map { UInt8(min(15, max(0, Int((($0 - lo) * inv + 0.5).rounded(.down))))) }
                    for j in 0..<16 { out.append(q[j] | q[j + 16] << 4) }
                case 8: // Q8_0: d = max|x| / 127
                    let amax = blk.map { abs($0) }.max()!
                    let d = amax / 127
                    out.append(contentsOf: f16(d))
                    let inv: Float = d != 0 ? 1 / d : 0
                    for v in blk { out.append(UInt8(bitPattern: Int8(max(-127, min(127, Int((v * inv).rounded())))))) }
                default: fatalError("type \(type)")
                }
            }
        }
        return out
    }

    /// Decodes blocks as the format defines them.
    static func dequantize(_ bytes: [UInt8], type: UInt32, count: Int) -> [Float] {
        var out: [Float] = []
        switch type {
        case 0:
            for i in 0..<count {
                let b = UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
                out.append(Float(bitPattern: b))
            }
        case 1: for i in 0..<count { out.append(half(bytes[2 * i], bytes[2 * i + 1])) }
        case 30: for i in 0..<count { out.append(Float(bitPattern: (UInt32(bytes[2 * i]) | UInt32(bytes[2 * i + 1]) << 8) << 16)) }
        case 2, 3, 8:
            let bb = type == 2 ? 18 : (type == 3 ? 20 : 34)
            for b in 0..<(count / 32) {
                let p = Array(bytes[(b * bb)..<((b + 1) * bb)])
                let d = half(p[0], p[1])
                switch type {
                case 2:
                    var v = [Float](repeating: 0, count: 32)
                    for j in 0..<16 { v[j] = Float(Int(p[2 + j] & 15) - 8) * d; v[j + 16] = Float(Int(p[2 + j] >> 4) - 8) * d }
                    out += v
                case 3:
                    let m = half(p[2], p[3])
                    var v = [Float](repeating: 0, count: 32)
                    for j in 0..<16 { v[j] = Float(p[4 + j] & 15) * d + m; v[j + 16] = Float(p[4 + j] >> 4) * d + m }
                    out += v
                default:
                    for j in 0..<32 { out.append(Float(Int8(bitPattern: p[2 + j])) * d) }
                }
            }
        default: fatalError()
        }
        return out
    }
}
