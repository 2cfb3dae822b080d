import CKernels
import Core
import Foundation

/// A parsed GGUF file (versions 2 and 3, little-endian): metadata, tensor table and the mapped
/// tensor data. Layout: magic "GGUF", version u32, tensor count u64, metadata count u64, the
/// metadata (key string, type u32, value), the tensor infos (name, n_dims u32, dims u64 each,
/// type u32, offset u64), padding to `general.alignment` (default 32), then the tensor data; each
/// tensor's offset is relative to the data start and itself aligned. Strings are u64 length +
/// UTF-8 bytes. Dimensions list the fastest-varying first (a matrix out x in has dims [in, out]).
public struct GGUFFile: Sendable {
    public struct TensorInfo: Sendable, Hashable {
        public var name: String
        /// Fastest-varying first.
        public var dimensions: [Int]
        public var typeID: UInt32
        /// Absolute file offset of the data.
        public var fileOffset: Int
        public var elementCount: Int { dimensions.reduce(1, *) }
        public var typeName: String { GGMLType.name(typeID) }
    }

    public let path: String
    public let version: UInt32
    public let metadata: [String: GGUFValue]
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order.
    public let tensorOrder: [String]
    public let alignment: Int
    public let dataOffset: Int
    let data: Data
    /// Whether `data` is this file's own read-only mapping (pp_map_file): then the pages of
    /// tensors copied out are released (`releaseCopied`), so that a model is not held twice.
    let ownMapping: Bool

    public init(path: String) throws(GGUFError) {
        let url = URL(fileURLWithPath: path)
        if let problem = inputFileProblem(path) { throw .cannotOpen(path: path, reason: problem) }
        var size = 0
        if let p = pp_map_file(path, &size) {
            let d = Data(bytesNoCopy: p, count: size, deallocator: .custom { p, n in pp_unmap_file(p, n) })
            try self.init(data: d, path: path, ownMapping: true)
            return
        }
        // Not mappable (an empty file, a file system without mmap): Foundation reads it.
        let d: Data
        do { d = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw .cannotOpen(path: path, reason: fileFailureReason(error))
        }
        try self.init(data: d, path: path)
    }

    public init(data: Data, path: String) throws(GGUFError) {
        try self.init(data: data, path: path, ownMapping: false)
    }

    /// Releases the whole pages of the file's bytes [offset, offset + count) from the process
    /// after a tensor was copied or converted out of them; nothing where `data` is not this
    /// file's own mapping. They are read from the file again if touched again (a tied output
    /// matrix reads the embedding's bytes a second time).
    func releaseCopied(offset: Int, count: Int) {
        guard ownMapping else { return }
        data.withUnsafeBytes { raw in pp_release_file_pages(raw.baseAddress! + offset, count) }
    }

    init(data: Data, path: String, ownMapping: Bool) throws(GGUFError) {
        self.path = path
        self.data = data
        self.ownMapping = ownMapping
        var r = Reader(data: data, path: path)
        let magic = try r.u32("magic")
        guard magic == 0x4655_4747 else { throw .badMagic(path: path, found: magic) }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(path: path, version: version) }
        self.version = version
        let tensorCount = try r.count("tensor count", limit: 1 << 24)
        let kvCount = try r.count("metadata count", limit: 1 << 24)
        var meta: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            let key = try r.string("metadata key #\(i)")
            let type = try r.u32("type of metadata '\(key)'")
            meta[key] = try r.value(type: type, field: "metadata '\(key)'", depth: 0)
        }
        metadata = meta
        var infos: [String: TensorInfo] = [:]
        var order: [String] = []
        var relOffsets: [(String, Int)] = []
        for i in 0..<tensorCount {
            let name = try r.string("tensor name #\(i)")
            let at = r.offset
            let nd = try r.u32("dimension count of tensor '\(name)'")
            guard nd >= 1 && nd <= 4 else {
                throw .invalid(path: path, offset: at, field: "dimension count of tensor '\(name)'", reason: "\(nd) is not in 1...4")
            }
            var dims: [Int] = []
            for j in 0..<Int(nd) {
                dims.append(try r.count("dimension \(j) of tensor '\(name)'", limit: 1 << 40))
            }
            let typeAt = r.offset
            let type = try r.u32("type of tensor '\(name)'")
            guard type < 1024 else {
                throw .invalid(path: path, offset: typeAt, field: "type of tensor '\(name)'", reason: "\(type) is no GGML type")
            }
            // The element count is a product of header values: bounded before anything uses it.
            var elements = 1
            for d in dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= 1 << 44 else {
                    throw .invalid(path: path, offset: at, field: "dimensions of tensor '\(name)'", reason: "\(dims) hold more than 2^44 elements")
                }
                elements = product
            }
            let offAt = r.offset
            let rel = try r.count("data offset of tensor '\(name)'", limit: Int.max / 2)
            guard infos[name] == nil else {
                throw .invalid(path: path, offset: at, field: "tensor name", reason: "'\(name)' appears twice")
            }
            _ = offAt
            infos[name] = TensorInfo(name: name, dimensions: dims, typeID: type, fileOffset: 0)
            order.append(name)
            relOffsets.append((name, rel))
        }
        var align = 32
        if let a = meta["general.alignment"] {
            guard let v = a.int, v > 0, v & (v - 1) == 0 else {
                throw .invalid(path: path, offset: 0, field: "general.alignment", reason: "must be a power of two")
            }
            align = v
        }
        alignment = align
        let start = (r.offset + align - 1) / align * align
        dataOffset = start
        for (name, rel) in relOffsets {
            var info = infos[name]!
            guard rel % align == 0 else {
                throw .invalid(path: path, offset: start + rel, field: "data offset of tensor '\(name)'", reason: "\(rel) is not a multiple of the alignment \(align)")
            }
            info.fileOffset = start + rel
            if let bytes = Self.byteCount(info) {
                guard bytes <= data.count, info.fileOffset <= data.count - bytes else {
                    throw .truncated(path: path, offset: data.count, field: "data of tensor '\(name)' (\(bytes) bytes at offset \(info.fileOffset))")
                }
            }
            infos[name] = info
        }
        tensors = infos
        tensorOrder = order
    }

    /// Bytes of a tensor of a supported type, nil otherwise.
    static func byteCount(_ t: TensorInfo) -> Int? {
        let be = pp_ggml_block_elements(Int32(truncatingIfNeeded: t.typeID)), bb = pp_ggml_block_bytes(Int32(truncatingIfNeeded: t.typeID))
        guard be > 0, t.elementCount % be == 0 else { return nil }
        return t.elementCount / be * bb
    }

    public func tensor(_ name: String) throws(GGUFError) -> TensorInfo {
        guard let t = tensors[name] else { throw .missingTensor(path: path, tensor: name) }
        return t
    }

    /// Dequantises a tensor to f32 (dims order: fastest first, so a matrix out x in is row-major).
    public func dequantize(_ name: String, into dst: UnsafeMutablePointer<Float>) throws(GGUFError) {
        let t = try tensor(name)
        guard pp_ggml_block_elements(Int32(truncatingIfNeeded: t.typeID)) > 0 else {
            throw .unsupportedTensorType(path: path, tensor: name, typeName: t.typeName)
        }
        guard let bytes = Self.byteCount(t) else {
            throw .invalid(path: path, offset: t.fileOffset, field: "tensor '\(name)'",
                           reason: "\(t.elementCount) elements are not whole blocks of \(t.typeName)")
        }
        let rc: Int32 = data.withUnsafeBytes { raw in
            precondition(t.fileOffset + bytes <= raw.count)
            return pp_dequantize(Int32(truncatingIfNeeded: t.typeID), raw.baseAddress! + t.fileOffset, dst, t.elementCount)
        }
        guard rc == 0 else { throw .unsupportedTensorType(path: path, tensor: name, typeName: t.typeName) }
        releaseCopied(offset: t.fileOffset, count: bytes)
    }

    /// A matrix tensor copied as stored when the kernels take its type as it is (F16, BF16, Q8_0,
    /// Q4_0, Q4_1 with whole blocks per row); nil for other types (the caller dequantises).
    public func storedMatrix(_ name: String, rows: Int, columns: Int) throws(GGUFError) -> WeightMatrix? {
        let t = try tensor(name)
        let type = Int32(truncatingIfNeeded: t.typeID)
        guard [PP_GGML_F16, PP_GGML_BF16, PP_GGML_Q8_0, PP_GGML_Q4_0, PP_GGML_Q4_1].contains(Int(type)),
              t.elementCount == rows * columns, columns % Int(pp_ggml_block_elements(type)) == 0,
              let bytes = Self.byteCount(t) else { return nil }
        func copy<T: BitwiseCopyable>(_: T.Type) -> Buffer<T> {
            let b = Buffer<T>(uninitializedCount: bytes / MemoryLayout<T>.stride)
            data.withUnsafeBytes { raw in
                precondition(t.fileOffset + bytes <= raw.count)
                UnsafeMutableRawPointer(b.pointer).copyMemory(from: raw.baseAddress! + t.fileOffset, byteCount: bytes)
            }
            releaseCopied(offset: t.fileOffset, count: bytes)
            return b
        }
        switch Int(type) {
        case PP_GGML_F16: return WeightMatrix(rows: rows, columns: columns, storage: .f16(copy(UInt16.self)))
        case PP_GGML_BF16: return WeightMatrix(rows: rows, columns: columns, storage: .bf16(copy(UInt16.self)))
        default: return WeightMatrix(rows: rows, columns: columns, storage: .quantized(type: type, copy(UInt8.self)))
        }
    }

    /// Mean bytes per element over the tensors (what `.native` weights hold in memory).
    public var storedBytesPerElement: Double {
        var bytes = 0, elements = 0
        for t in tensors.values { if let b = Self.byteCount(t) { bytes += b; elements += t.elementCount } }
        return elements > 0 ? Double(bytes) / Double(elements) : 2
    }

    public func dequantize(_ name: String) throws(GGUFError) -> [Float] {
        let t = try tensor(name)
        var out = [Float](repeating: 0, count: t.elementCount)
        try out.withUnsafeMutableBufferPointer { (p: inout UnsafeMutableBufferPointer<Float>) throws(GGUFError) in
            try dequantize(name, into: p.baseAddress!)
        }
        return out
    }

    // MARK: metadata helpers

    public func int(_ key: String) throws(GGUFError) -> Int {
        guard let v = metadata[key] else { throw .missingMetadata(path: path, key: key) }
        guard let i = v.int else { throw .invalid(path: path, offset: 0, field: "metadata '\(key)'", reason: "not an integer") }
        return i
    }
    public func double(_ key: String) throws(GGUFError) -> Double {
        guard let v = metadata[key] else { throw .missingMetadata(path: path, key: key) }
        guard let x = v.double else { throw .invalid(path: path, offset: 0, field: "metadata '\(key)'", reason: "not a number") }
        return x
    }
    public func string(_ key: String) throws(GGUFError) -> String {
        guard let v = metadata[key] else { throw .missingMetadata(path: path, key: key) }
        guard let s = v.string else { throw .invalid(path: path, offset: 0, field: "metadata '\(key)'", reason: "not a string") }
        return s
    }
    public func strings(_ key: String) throws(GGUFError) -> [String] {
        guard let v = metadata[key] else { throw .missingMetadata(path: path, key: key) }
        guard let a = v.array else { throw .invalid(path: path, offset: 0, field: "metadata '\(key)'", reason: "not an array") }
        var out: [String] = []
        out.reserveCapacity(a.count)
        for (i, e) in a.enumerated() {
            guard let s = e.string else {
                throw .invalid(path: path, offset: 0, field: "metadata '\(key)'[\(i)]", reason: "not a string")
            }
            out.append(s)
        }
        return out
    }

    // MARK: reader

    struct Reader {
        let data: Data
        let path: String
        var offset = 0

        mutating func bytes<T: FixedWidthInteger>(_ type: T.Type, _ field: @autoclosure () -> String) throws(GGUFError) -> T {
            let n = MemoryLayout<T>.size
            guard offset + n <= data.count else { throw .truncated(path: path, offset: data.count, field: field()) }
            let o = offset
            let v: T = data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: T.self)) }
            offset += n
            return v
        }
        mutating func u32(_ field: @autoclosure () -> String) throws(GGUFError) -> UInt32 { try bytes(UInt32.self, field()) }
        mutating func count(_ field: @autoclosure () -> String, limit: Int) throws(GGUFError) -> Int {
            let at = offset
            let v = try bytes(UInt64.self, field())
            guard v <= UInt64(limit) else {
                throw .invalid(path: path, offset: at, field: field(), reason: "\(v) exceeds the limit \(limit)")
            }
            return Int(v)
        }
        mutating func string(_ field: @autoclosure () -> String) throws(GGUFError) -> String {
            let n = try count("length of \(field())", limit: 1 << 30)
            guard offset + n <= data.count else { throw .truncated(path: path, offset: data.count, field: field()) }
            let o = offset
            let s = data.withUnsafeBytes { raw in
                String(decoding: UnsafeRawBufferPointer(rebasing: raw[o..<(o + n)]), as: UTF8.self)
            }
            offset += n
            return s
        }
        mutating func value(type: UInt32, field: @autoclosure () -> String, depth: Int) throws(GGUFError) -> GGUFValue {
            switch type {
            case 0: return .unsigned(UInt64(try bytes(UInt8.self, field())))
            case 1: return .signed(Int64(try bytes(Int8.self, field())))
            case 2: return .unsigned(UInt64(try bytes(UInt16.self, field())))
            case 3: return .signed(Int64(try bytes(Int16.self, field())))
            case 4: return .unsigned(UInt64(try bytes(UInt32.self, field())))
            case 5: return .signed(Int64(try bytes(Int32.self, field())))
            case 6: return .float(Double(Float(bitPattern: try bytes(UInt32.self, field()))))
            case 7:
                let at = offset
                let b = try bytes(UInt8.self, field())
                guard b <= 1 else { throw .invalid(path: path, offset: at, field: field(), reason: "bool byte \(b)") }
                return .bool(b == 1)
            case 8: return .string(try string(field()))
            case 9:
                guard depth < 4 else { throw .invalid(path: path, offset: offset, field: field(), reason: "arrays nested too deep") }
                let et = try u32("element type of \(field())")
                let n = try count("length of \(field())", limit: 1 << 28)
                var out: [GGUFValue] = []
                out.reserveCapacity(n)
                for i in 0..<n { out.append(try value(type: et, field: "\(field())[\(i)]", depth: depth + 1)) }
                return .array(out)
            case 10: return .unsigned(try bytes(UInt64.self, field()))
            case 11: return .signed(try bytes(Int64.self, field()))
            case 12: return .float(Double(bitPattern: try bytes(UInt64.self, field())))
            default:
                throw .invalid(path: path, offset: offset - 4, field: field(), reason: "unknown value type \(type)")
            }
        }
    }
}
