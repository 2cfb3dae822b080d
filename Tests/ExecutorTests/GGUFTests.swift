import Foundation
import Testing
@testable import Executor

@Suite struct GGUFTests {
    static let types: [(UInt32, String, Float)] = [
        // (type, name, tolerance of dequantised vs original for values in [-2, 2])
        (0, "F32", 0), (1, "F16", 1e-3), (30, "BF16", 1e-2), (2, "Q4_0", 0.3), (3, "Q4_1", 0.15), (8, "Q8_0", 0.02),
    ]

    func sampleValues(_ n: Int, seed: UInt64) -> [Float] {
        var g = SplitMix64Test(seed: seed)
        return (0..<n).map { _ in Float(g.unit() * 4 - 2) }
    }

    func writeFile(_ w: GGUFWriter) throws -> String {
        let path = NSTemporaryDirectory() + "pigplan-test-\(UUID().uuidString).gguf"
        try Data(w.encode()).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// A file opened by path is its own read-only mapping, whose pages are released once a tensor
    /// has been copied out: reading the same tensors again (a tied output matrix reads the
    /// embedding twice) gives the same values, stored and dequantised, across several pages.
    /// Data handed in (not a file mapping) is never released.
    @Test func tensorsReadAgainAfterTheirPagesAreReleased() throws {
        var w = GGUFWriter()
        w.metadata = [("general.architecture", .string("llama"))]
        let x = sampleValues(4096 * 8, seed: 11)
        w.tensors = [.init(name: "q8", dims: [4096, 8], type: 8, bytes: TestQuant.quantize(x, type: 8)),
                     .init(name: "f16", dims: [4096, 8], type: 1, bytes: TestQuant.quantize(x, type: 1))]
        let path = try writeFile(w)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        #expect(f.ownMapping)
        for name in ["q8", "f16"] {
            let first = try #require(try f.storedMatrix(name, rows: 8, columns: 4096))
            let dequantised = try f.dequantize(name)
            let again = try #require(try f.storedMatrix(name, rows: 8, columns: 4096))
            let dequantisedAgain = try f.dequantize(name)
            #expect(dequantised == dequantisedAgain)
            var same = true
            for r in 0..<8 {
                for c in stride(from: 0, to: 4096, by: 37) where first.value(r, c) != again.value(r, c) { same = false }
            }
            #expect(same, "\(name): stored values read again differ")
            #expect(abs(first.value(3, 100) - dequantised[3 * 4096 + 100]) == 0)
        }
        let inMemory = try GGUFFile(data: Data(contentsOf: URL(fileURLWithPath: path)), path: path)
        #expect(!inMemory.ownMapping)
    }

    @Test(arguments: [UInt32(2), 3])
    func readsMetadataAndEveryTensorType(version: UInt32) throws {
        var w = GGUFWriter()
        w.version = version
        w.metadata = [
            ("general.architecture", .string("llama")), ("u8", .u8(200)), ("i8", .i8(-5)), ("u16", .u16(60000)),
            ("i16", .i16(-30000)), ("u32", .u32(4_000_000_000)), ("i32", .i32(-2_000_000_000)), ("f32", .f32(1.5)),
            ("bool", .bool(true)), ("u64", .u64(1 << 40)), ("i64", .i64(-(1 << 40))), ("f64", .f64(-0.125)),
            ("strings", .array(elementType: 8, [.string("a b"), .string("ĠHello"), .string("")])),
            ("nested", .array(elementType: 9, [.array(elementType: 4, [.u32(1), .u32(2)])])),
        ]
        var originals: [String: [Float]] = [:]
        for (i, (type, name, _)) in Self.types.enumerated() {
            let dims = [64, 3]
            let x = sampleValues(64 * 3, seed: UInt64(i + 1))
            originals[name] = x
            w.tensors.append(.init(name: "t.\(name)", dims: dims, type: type, bytes: TestQuant.quantize(x, type: type)))
        }
        let path = try writeFile(w)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let f = try GGUFFile(path: path)
        #expect(f.version == version)
        #expect(f.metadata["u8"] == .unsigned(200))
        #expect(f.metadata["i8"] == .signed(-5))
        #expect(f.metadata["u16"] == .unsigned(60000))
        #expect(f.metadata["i16"] == .signed(-30000))
        #expect(f.metadata["u32"] == .unsigned(4_000_000_000))
        #expect(f.metadata["i32"] == .signed(-2_000_000_000))
        #expect(f.metadata["f32"] == .float(1.5))
        #expect(f.metadata["bool"] == .bool(true))
        #expect(f.metadata["u64"] == .unsigned(1 << 40))
        #expect(f.metadata["i64"] == .signed(-(1 << 40)))
        #expect(f.metadata["f64"] == .float(-0.125))
        #expect(try f.strings("strings") == ["a b", "ĠHello", ""])
        #expect(f.metadata["nested"] == .array([.array([.unsigned(1), .unsigned(2)])]))
        #expect(f.tensorOrder == Self.types.map { "t.\($0.1)" })
        for (type, name, tolerance) in Self.types {
            let t = try f.tensor("t.\(name)")
            #expect(t.dimensions == [64, 3])
            #expect(t.fileOffset % 32 == 0)
            let got = try f.dequantize("t.\(name)")
            let bytes = TestQuant.quantize(originals[name]!, type: type)
            let expected = TestQuant.dequantize(bytes, type: type, count: got.count)
            let exactDiff = zip(got, expected).map { abs($0 - $1) }.max()!
            let approxDiff = zip(got, originals[name]!).map { abs($0 - $1) }.max()!
            testLog("GGUF v\(version) \(name): max |reader - format decode| = \(exactDiff) (tolerance 0), max |dequantised - original| = \(approxDiff) (tolerance \(tolerance))")
            #expect(exactDiff == 0)
            #expect(approxDiff <= tolerance)
        }
    }

    @Test func rejectsBadFilesWithTypedErrors() throws {
        var w = GGUFWriter()
        w.metadata = [("general.architecture", .string("llama"))]
        w.tensors = [.init(name: "q4k", dims: [256], type: 12, bytes: [UInt8](repeating: 0, count: 144))]
        let good = w.encode()

        func parse(_ bytes: [UInt8]) -> GGUFError? {
            do { _ = try GGUFFile(data: Data(bytes), path: "test.gguf"); return nil } catch { return error }
        }
        var badMagic = good
        badMagic[0] = 0x47 + 1
        #expect({ if case .badMagic = parse(badMagic) { true } else { false } }())
        var badVersion = good
        badVersion[4] = 9
        #expect(parse(badVersion) == .unsupportedVersion(path: "test.gguf", version: 9))
        for cut in [3, 10, 30, 60, good.count - 200] {
            let e = parse(Array(good.prefix(cut)))
            testLog("truncated at \(cut): \(e?.localizedDescription ?? "no error")")
            #expect({ if case .truncated = e { true } else { false } }())
        }
        // Unsupported tensor type: parses, fails with a typed error naming the type on load.
        let f = try GGUFFile(data: Data(good), path: "test.gguf")
        #expect(throws: GGUFError.unsupportedTensorType(path: "test.gguf", tensor: "q4k", typeName: "Q4_K")) {
            _ = try f.dequantize("q4k")
        }
        #expect(throws: GGUFError.missingTensor(path: "test.gguf", tensor: "nope")) { _ = try f.tensor("nope") }
        // A tensor whose data would run past the end of the file.
        var big = GGUFWriter()
        big.tensors = [.init(name: "x", dims: [64], type: 0, bytes: [UInt8](repeating: 0, count: 256))]
        var bytes = big.encode()
        bytes.removeLast(64)
        #expect({ if case .truncated = parse(bytes) { true } else { false } }())
        // A garbage value type.
        var garbage = GGUFWriter()
        garbage.metadata = [("k", .u32(1))]
        var gb = garbage.encode()
        gb[24 + 8 + 1] = 99 // value type of the first key (after the key "k")
        let ge = parse(gb)
        testLog("bad value type: \(ge?.localizedDescription ?? "no error")")
        #expect({ if case .invalid = ge { true } else { false } }())
    }

    @Test func missingFileIsATypedError() {
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
    }
}

/// The tests' own generator (so that test data does not depend on the code under test).
struct SplitMix64Test {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    mutating func gaussian() -> Double {
        let u1 = max(unit(), 1e-300), u2 = unit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}
