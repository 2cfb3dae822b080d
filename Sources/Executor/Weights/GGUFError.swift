import Foundation

/// Everything that can be wrong with a GGUF file, naming the file, the place and what to do.
public enum GGUFError: LocalizedError, Equatable, Sendable {
    case cannotOpen(path: String, reason: String)
    case badMagic(path: String, found: UInt32)
    case unsupportedVersion(path: String, version: UInt32)
    case truncated(path: String, offset: Int, field: String)
    case invalid(path: String, offset: Int, field: String, reason: String)
    case unsupportedTensorType(path: String, tensor: String, typeName: String)
    case missingMetadata(path: String, key: String)
    case missingTensor(path: String, tensor: String)
    case shapeMismatch(path: String, tensor: String, expected: [Int], found: [Int])

    public var errorDescription: String? {
        switch self {
        case .cannotOpen(let p, let r): return "cannot open GGUF file \(p): \(r)"
        case .badMagic(let p, let m):
            return "\(p) is not a GGUF file: magic at offset 0 is 0x\(String(m, radix: 16)), expected 0x46554747 ('GGUF')"
        case .unsupportedVersion(let p, let v):
            return "\(p): GGUF version \(v) at offset 4 is not supported (versions 2 and 3 are)"
        case .truncated(let p, let o, let f):
            return "\(p): file ends at offset \(o) while reading \(f); the file is truncated or corrupt (download it again)"
        case .invalid(let p, let o, let f, let r): return "\(p): invalid \(f) at offset \(o): \(r)"
        case .unsupportedTensorType(let p, let t, let ty):
            return "\(p): tensor '\(t)' has type \(ty), which pigplan cannot dequantize (supported: F32, F16, BF16, Q4_0, Q4_1, Q8_0); use a GGUF with one of those"
        case .missingMetadata(let p, let k): return "\(p): metadata key '\(k)' is missing"
        case .missingTensor(let p, let t): return "\(p): tensor '\(t)' is missing"
        case .shapeMismatch(let p, let t, let e, let f):
            return "\(p): tensor '\(t)' has shape \(f), expected \(e) from the metadata"
        }
    }
}
