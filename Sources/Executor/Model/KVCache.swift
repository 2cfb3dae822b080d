import CKernels

/// Keys and values of every layer as binary16, laid out [layer][sequence][KV head][position][d]:
/// one (sequence, KV head) unit's rows are contiguous, so dense attention streams them and
/// sampled attention gathers rows of `headDim` elements. Keys are stored after RoPE.
public final class KVCache: @unchecked Sendable {
    public let layerCount: Int
    public let batch: Int
    public let kvHeads: Int
    public let headDim: Int
    /// Positions per sequence (prompt + generated).
    public let capacity: Int
    let keys: [Buffer<UInt16>]
    let values: [Buffer<UInt16>]

    public init(layerCount: Int, batch: Int, kvHeads: Int, headDim: Int, capacity: Int) {
        self.layerCount = layerCount
        self.batch = batch
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.capacity = capacity
        let n = batch * kvHeads * capacity * headDim
        keys = (0..<layerCount).map { _ in Buffer<UInt16>(count: n) }
        values = (0..<layerCount).map { _ in Buffer<UInt16>(count: n) }
    }

    /// Bytes the cache needs: 2 (K and V) x layers x batch x H_kv x capacity x d x 2 bytes.
    public static func bytes(layers: Int, batch: Int, kvHeads: Int, headDim: Int, capacity: Int) -> Double {
        2 * Double(layers) * Double(batch) * Double(kvHeads) * Double(capacity) * Double(headDim) * 2
    }

    public var bytes: Int { keys.reduce(0) { $0 + $1.bytes } * 2 }

    /// Row 0 of a unit's keys.
    public func keyRows(layer: Int, sequence: Int, head: Int) -> UnsafeMutablePointer<UInt16> {
        keys[layer].pointer + ((sequence * kvHeads + head) * capacity) * headDim
    }
    public func valueRows(layer: Int, sequence: Int, head: Int) -> UnsafeMutablePointer<UInt16> {
        values[layer].pointer + ((sequence * kvHeads + head) * capacity) * headDim
    }

    /// Stores one token's K and V (f32, H_kv x d each) at `position`.
    public func store(layer: Int, sequence: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        precondition(position < capacity, "KV cache capacity \(capacity) exceeded")
        for h in 0..<kvHeads {
            pp_f32_to_f16(key + h * headDim, keyRows(layer: layer, sequence: sequence, head: h) + position * headDim, headDim)
            pp_f32_to_f16(value + h * headDim, valueRows(layer: layer, sequence: sequence, head: h) + position * headDim, headDim)
        }
    }
}
