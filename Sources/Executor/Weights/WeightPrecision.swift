/// How linear-layer weights are held in memory after loading.
public enum WeightPrecision: String, Codable, Sendable, Hashable {
    /// 4 bytes per weight (GGUF weights dequantised to f32; exact for every supported type).
    case f32
    /// 2 bytes per weight (binary16; halves memory, widened to f32 in registers).
    case f16

    public var bytesPerWeight: Int { self == .f32 ? 4 : 2 }
}
