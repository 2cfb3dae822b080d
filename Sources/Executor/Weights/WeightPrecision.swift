/// How linear-layer weights are held in memory after loading.
public enum WeightPrecision: String, Codable, Sendable, Hashable {
    /// 4 bytes per weight (GGUF weights dequantised to f32; exact for every supported type).
    case f32
    /// 2 bytes per weight (binary16; halves memory, widened to f32 in registers).
    case f16
    /// As stored in the GGUF file: Q8_0 / Q4_0 / Q4_1 blocks stay quantised (their products run
    /// on 8-bit quantised inputs), F16 and BF16 stay 16-bit, F32 stays f32. Synthetic weights,
    /// which have no file, are binary16.
    case native

    /// Bytes per weight where the precision fixes it (native: the file's, 2 without one).
    public var bytesPerWeight: Int { self == .f32 ? 4 : 2 }
}
