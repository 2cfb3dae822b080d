import Foundation
import Testing
@testable import Executor

struct SmolLM2Golden: Decodable {
    struct Tokenization: Decodable { var text: String; var ids: [Int] }
    struct Greedy: Decodable {
        var prompt: String
        var promptIds: [Int]
        var steps: Int
        var tokens: [Int]
        var text: String
        var firstTopLogits: [[Double]]
    }
    var model: String
    var tokenization: [Tokenization]
    var greedy: [Greedy]

    static func load() throws -> SmolLM2Golden {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestFiles.here() + "/Golden/smollm2.json"))
        return try JSONDecoder().decode(SmolLM2Golden.self, from: data)
    }
}

@Suite struct TokenizerTests {
    @Test func gpt2PreTokenizerFollowsThePattern() {
        let p = PreTokenizer(kind: .gpt2)
        #expect(p.split("Hello world") == ["Hello", " world"])
        #expect(p.split("  x") == [" ", " x"])
        #expect(p.split("Hello\n\nWorld") == ["Hello", "\n", "\n", "World"])
        #expect(p.split("it's 42!!") == ["it", "'s", " 42", "!!"])
        #expect(p.split("a   ") == ["a", "   "])
        let s = PreTokenizer(kind: .smollm)
        #expect(s.split("abc 123") == ["abc", " ", "1", "2", "3"])
    }

    @Test func byteLevelMappingIsABijection() {
        let m = ByteLevelMapping()
        #expect(Set(m.scalarOfByte.map(\.value)).count == 256)
        #expect(m.scalarOfByte[0x20] == "Ġ" && m.scalarOfByte[0x0A] == "Ċ")
        var bytes: [UInt8] = []
        m.decode(m.encode(0...255), into: &bytes)
        #expect(bytes == Array(0...255))
    }

    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func smolLM2TokenizationMatchesGoldenAndRoundTrips() throws {
        let path = try #require(TestFiles.smolLM2)
        let tk = try BPETokenizer(gguf: GGUFFile(path: path))
        #expect(tk.addBOS == false)
        let golden = try SmolLM2Golden.load()
        for t in golden.tokenization {
            let ids = tk.encode(t.text)
            #expect(ids == t.ids, "\(t.text.debugDescription)")
            #expect(tk.decode(ids) == t.text)
        }
        // Control tokens parse only when asked.
        let chat = "<|im_start|>user\nHi<|im_end|>"
        let special = tk.encode(chat, parseSpecial: true)
        #expect(special.first == tk.tokens.firstIndex(of: "<|im_start|>"))
        #expect(tk.decode(special) == chat)
        #expect(tk.encode(chat).count > special.count)
        testLog("tokenizer: \(golden.tokenization.count) golden texts match (exact ids)")
    }
}
