/// GPT-2's reversible map between bytes and printable Unicode scalars used by byte-level BPE
/// vocabularies: bytes 33...126, 161...172 and 174...255 map to the scalar of the same value; the
/// other 68 bytes (controls, space, 127...160, 173) map in increasing order to U+0100, U+0101, ...
/// (so the space 0x20 becomes U+0120 'Ġ' and the newline 0x0A becomes U+010A 'Ċ').
public struct ByteLevelMapping: Sendable {
    public let scalarOfByte: [Unicode.Scalar]
    public let byteOfScalar: [UInt32: UInt8]

    public init() {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var inverse: [UInt32: UInt8] = [:]
        var next: UInt32 = 256
        for b in 0..<256 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            let v = printable ? UInt32(b) : { defer { next += 1 }; return next }()
            table[b] = Unicode.Scalar(v)!
            inverse[v] = UInt8(b)
        }
        scalarOfByte = table
        byteOfScalar = inverse
    }

    /// The mapped string of some bytes.
    public func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var s = String.UnicodeScalarView()
        for b in bytes { s.append(scalarOfByte[Int(b)]) }
        return String(s)
    }

    /// Bytes of a mapped string; scalars outside the map are kept as their UTF-8.
    public func decode(_ text: String, into bytes: inout [UInt8]) {
        for u in text.unicodeScalars {
            if let b = byteOfScalar[u.value] { bytes.append(b) } else { bytes.append(contentsOf: Array(String(u).utf8)) }
        }
    }
}
