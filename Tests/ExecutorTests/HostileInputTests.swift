import Core
import Foundation
import Testing

@testable import Executor

/// Inputs that once cost minutes or memory the machine did not have: long unbroken words in the
/// tokenizer, and the container's memory limit.
@Suite struct ExecutorHostileInputTests {
    /// The rank-ordered merge as first written (rescan every pair after every merge): the
    /// definition the heap version must reproduce.
    func referenceBPE(_ tk: BPETokenizer, _ word: String) -> [Int] {
        var symbols = word.unicodeScalars.map { String($0) }
        while symbols.count > 1 {
            var best = Int.max, at = -1
            for i in 0..<(symbols.count - 1) {
                if let r = tk.ranks[symbols[i] + " " + symbols[i + 1]], r < best { best = r; at = i }
            }
            if at < 0 { break }
            let left = symbols[at], right = symbols[at + 1]
            var merged: [String] = []
            var i = 0
            while i < symbols.count {
                if i + 1 < symbols.count && symbols[i] == left && symbols[i + 1] == right { merged.append(left + right); i += 2 }
                else { merged.append(symbols[i]); i += 1 }
            }
            symbols = merged
        }
        return symbols.map { tk.ids[$0] ?? -1 }
    }

    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func heapMergesEqualTheRescanAndScaleToLongWords() throws {
        let tk = try BPETokenizer(gguf: GGUFFile(path: try #require(TestFiles.smolLM2)))
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("aaabbcdeeeinorstuuz")
        for length in [1, 2, 3, 7, 20, 64, 300] {
            for _ in 0..<20 {
                let word = String((0..<length).map { _ in alphabet.randomElement(using: &g)! })
                let mapped = tk.mapping.encode(word.utf8)
                #expect(tk.bpe(mapped) == referenceBPE(tk, mapped), "\(word)")
            }
        }
        // 100 KB of letters without a break: one piece for the pre-tokenizer. It must come back
        // whole (decoding the ids gives the text); the old rescan took 26 s here.
        let long = String(repeating: "abcdefghij", count: 10_000)
        let ids = tk.encode(long)
        #expect(tk.decode(ids) == long)
    }

    /// A text cut to a context is tokenised only as far as the context needs, with the same ids
    /// as tokenising all of it.
    @Test(.enabled(if: TestFiles.smolLM2 != nil && TestFiles.hasJargonFile, "needs the SmolLM2 GGUF and dict-jargon"))
    func prefixTokenisationEqualsTheWholeText() throws {
        let tk = try BPETokenizer(gguf: GGUFFile(path: try #require(TestFiles.smolLM2)))
        let text = try #require(try TestFiles.jargonFile(characters: 60_000))
        let all = tk.encode(text)
        for n in [1, 7, 100, 1000, 5000, all.count, all.count + 10] {
            #expect(tk.encode(text, maxTokens: n) == Array(all.prefix(n)), "\(n) tokens")
        }
    }

    @Test func containerLimitsBoundTheMemoryGuard() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        // v2 at the root: a 3 GiB limit with 1 GiB in use leaves 2 GiB.
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try "3221225472\n".write(to: root.appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        try "1073741824\n".write(to: root.appendingPathComponent("memory.current"), atomically: true, encoding: .utf8)
        #expect(Executor.cgroupHeadroomBytes(root: root.path) == 2_147_483_648)
        // "max" is no limit.
        try "max\n".write(to: root.appendingPathComponent("memory.max"), atomically: true, encoding: .utf8)
        #expect(Executor.cgroupHeadroomBytes(root: root.path) == nil)
        // v1: a limit near 2^63 is none; a real one counts.
        let v1 = root.appendingPathComponent("memory")
        try FileManager.default.createDirectory(at: v1, withIntermediateDirectories: true)
        try "9223372036854771712\n".write(to: v1.appendingPathComponent("memory.limit_in_bytes"), atomically: true, encoding: .utf8)
        try "100\n".write(to: v1.appendingPathComponent("memory.usage_in_bytes"), atomically: true, encoding: .utf8)
        #expect(Executor.cgroupHeadroomBytes(root: root.path) == nil)
        try "1000000\n".write(to: v1.appendingPathComponent("memory.limit_in_bytes"), atomically: true, encoding: .utf8)
        #expect(Executor.cgroupHeadroomBytes(root: root.path) == 999_900)
    }

    @Test func syntheticLayersBeyondTheModelAreRefused() throws {
        var shape = ExecutorAPITests.tiny
        shape.layerCount = 2
        let request = ExecutorRequest(weights: .synthetic(shape: shape, layers: 1_000_000, seed: 1), prompt: .syntheticTokens(count: 100))
        #expect(throws: ExecutorError.self) { _ = try Executor.memoryRequirement(request) }
        do { _ = try Executor.memoryRequirement(request) } catch { #expect("\(error)".contains("the model has 2 layers")) }
    }
}
