import Core
import Foundation
import Testing

@testable import Executor

/// Seeded fuzzing of GGUF files through the real reader and loader: a tiny valid llama model,
/// then truncated, bit-flipped, or with a header count made huge or zero. Each must load or
/// fail with a `GGUFError`, never trap or allocate from an unchecked size.
@Suite struct GGUFFuzzTests {
    /// A one-block llama GGUF: hidden 32, 2 heads, FFN 64, vocab 50, f32 tensors.
    func tinyModel() -> [UInt8] { tinyModelWriter().encode() }

    func tinyModelWriter() -> GGUFWriter {
        var w = GGUFWriter()
        let h = 32, f = 64, v = 50
        w.metadata = [
            ("general.architecture", .string("llama")), ("llama.block_count", .u32(1)), ("llama.embedding_length", .u32(UInt32(h))),
            ("llama.attention.head_count", .u32(2)), ("llama.attention.head_count_kv", .u32(2)),
            ("llama.feed_forward_length", .u32(UInt32(f))), ("llama.vocab_size", .u32(UInt32(v))),
            ("llama.rope.freq_base", .f32(10_000)), ("llama.attention.layer_norm_rms_epsilon", .f32(1e-5)),
        ]
        func tensor(_ name: String, _ dims: [Int]) -> GGUFWriter.Tensor {
            let n = dims.reduce(1, *)
            return .init(name: name, dims: dims, type: 0, bytes: (0..<n).flatMap { i in
                withUnsafeBytes(of: Float(i % 7) * 0.01) { Array($0) }
            })
        }
        w.tensors = [tensor("token_embd.weight", [h, v]), tensor("output_norm.weight", [h])]
        for (name, dims) in [("attn_norm", [h]), ("attn_q", [h, h]), ("attn_k", [h, h]), ("attn_v", [h, h]), ("attn_output", [h, h]),
                             ("ffn_norm", [h]), ("ffn_gate", [h, f]), ("ffn_up", [h, f]), ("ffn_down", [f, h])] {
            w.tensors.append(tensor("blk.0.\(name).weight", dims))
        }
        return w
    }

    /// The same model with one metadata value replaced (or added).
    func tinyModel(replacing key: String, with value: GGUFWriter.Value) -> [UInt8] {
        var w = tinyModelWriter()
        w.metadata = w.metadata.map { $0.0 == key ? (key, value) : $0 }
        if !w.metadata.contains(where: { $0.0 == key }) { w.metadata.append((key, value)) }
        return w.encode()
    }

    @Test(arguments: [("llama.rope.freq_base", GGUFWriter.Value.f32(.nan), "not a positive finite number"),
                      ("llama.rope.freq_base", .f32(0), "not a positive finite number"),
                      ("llama.attention.layer_norm_rms_epsilon", .f32(-1), "not a positive finite number"),
                      ("llama.context_length", .u32(0), "outside 1...16777216")])
    func badScalarMetadataIsRefusedByName(key: String, value: GGUFWriter.Value, reason: String) throws {
        let path = NSTemporaryDirectory() + "pigplan-meta-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data(tinyModel(replacing: key, with: value)).write(to: URL(fileURLWithPath: path))
        do {
            _ = try GGUFModelLoader.load(try GGUFFile(path: path), precision: .f32, runner: ParallelRunner(threads: 1))
            Issue.record("a GGUF with \(key) = \(value) loaded")
        } catch {
            #expect(error.errorDescription?.contains("metadata '\(key)'") == true, "\(error)")
            #expect(error.errorDescription?.contains(reason) == true, "\(error)")
        }
    }

    /// PIGPLAN_FUZZ_SEED varies every stream for a longer session (0, the CI default, keeps them).
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["PIGPLAN_FUZZ_SEED"] ?? "") ?? 0 }
    static var rounds: Int { Int(ProcessInfo.processInfo.environment["PIGPLAN_FUZZ_ROUNDS"] ?? "") ?? 300 }

    @Test func mutatedFilesLoadOrFailWithAReason() throws {
        let valid = tinyModel()
        var rng = SplitMix64(seed: 77 ^ Self.seed)
        let path = NSTemporaryDirectory() + "pigplan-fuzz-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The valid file loads.
        try Data(valid).write(to: URL(fileURLWithPath: path))
        _ = try GGUFModelLoader.load(try GGUFFile(path: path), precision: .f32, runner: ParallelRunner(threads: 1))
        var loaded = 0, refused = 0
        let headerEnd = min(valid.count, 1200)
        for _ in 0..<Self.rounds {
            var bytes = valid
            switch rng.next() % 4 {
            case 0: bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count))))
            case 1:
                for _ in 0..<(1 + rng.next() % 4) {
                    let i = Int(rng.next() % UInt64(headerEnd))
                    bytes[i] ^= UInt8(1 << (rng.next() % 8))
                }
            case 2:
                // An 8-byte field (counts, lengths, offsets) made huge.
                let i = Int(rng.next() % UInt64(headerEnd - 8))
                for j in 0..<8 { bytes[i + j] = j < 7 ? 0xFF : 0x7F }
            default:
                // A 4-byte field (a u32 count or dimension) made 0xFFFFFFFF or 0.
                let i = Int(rng.next() % UInt64(headerEnd - 4))
                let value: UInt8 = rng.next() % 2 == 0 ? 0xFF : 0
                for j in 0..<4 { bytes[i + j] = value }
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do {
                let file = try GGUFFile(path: path)
                _ = try GGUFModelLoader.load(file, precision: .f32, runner: ParallelRunner(threads: 1))
                loaded += 1
            } catch {
                let _: GGUFError = error // typed throws: only a GGUFError can be refused with (checked when compiling)
                refused += 1
            }
        }
        testLog("GGUF fuzzing: \(Self.rounds) mutated files, \(loaded) loaded, \(refused) refused with a GGUFError, no trap")
        #expect(loaded + refused == Self.rounds)
    }

    /// Every GGUF input the fuzzing once trapped on, kept as a regression.
    @Test func inputsThatOnceTrappedAreRefused() throws {
        let path = NSTemporaryDirectory() + "pigplan-regress-\(UUID().uuidString).gguf"
        defer { try? FileManager.default.removeItem(atPath: path) }
        func refused(_ w: GGUFWriter) -> Bool {
            do {
                try Data(w.encode()).write(to: URL(fileURLWithPath: path))
                _ = try GGUFFile(path: path)
                return false
            } catch { return error is GGUFError }
        }
        let one: [UInt8] = Array(repeating: 0, count: 32)
        // A tensor type above Int32.max (was a trap converting it).
        var type = GGUFWriter()
        type.tensors = [.init(name: "t", dims: [8], type: 0xFFFF_FFFF, bytes: one)]
        #expect(refused(type))
        // Dimensions whose product overflows Int (was a trap multiplying them).
        var dims = GGUFWriter()
        dims.tensors = [.init(name: "t", dims: [1 << 40, 1 << 40, 1 << 40], type: 0, bytes: one)]
        #expect(refused(dims))
    }
}
