/// Counters of decode attention, accumulated over steps, per layer.
public struct AttentionStatistics: Sendable {
    /// Sum over (step, sequence, query head) of keys sampled/selected from the hashed span.
    public var selectedKeys: [Double]
    /// Sum over the same observations of the hashed span's size.
    public var candidateKeys: [Double]
    /// Sum over (step, sequence, query head) of keys attended exactly (sinks, local, generated).
    public var exactKeys: Double = 0
    /// Observations of query heads in hashed layers.
    public var queries: Double = 0
    /// Sum over (step, sequence, KV head) of distinct rows gathered for the group, and their count.
    public var gatheredRows: Double = 0
    public var groups: Double = 0
    /// Relative L2 error of the layer's attention output against dense on the same inputs, per
    /// (step, sequence, hashed layer): sum, maximum and count.
    public var errorSum: Double = 0
    public var errorMax: Double = 0
    public var errorCount: Double = 0

    public init(layers: Int) {
        selectedKeys = Array(repeating: 0, count: layers)
        candidateKeys = Array(repeating: 0, count: layers)
    }

    /// Selected / candidate per layer (nil where nothing was sampled: dense layers).
    public var fractionPerLayer: [Double?] {
        zip(selectedKeys, candidateKeys).map { $1 > 0 ? $0 / $1 : nil }
    }
    public var meanFraction: Double? {
        let c = candidateKeys.reduce(0, +)
        return c > 0 ? selectedKeys.reduce(0, +) / c : nil
    }
}
