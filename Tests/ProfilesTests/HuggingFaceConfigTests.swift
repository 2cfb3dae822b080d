import Core
import Foundation
import Profiles
import Testing

@Suite struct HuggingFaceConfigTests {
    let llama = """
    {"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 14336,
     "max_position_embeddings": 131072, "num_attention_heads": 32, "num_hidden_layers": 32,
     "num_key_value_heads": 8, "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": false,
     "torch_dtype": "bfloat16", "vocab_size": 128256}
    """

    @Test func llamaConfigMatchesTheBuiltInProfile() throws {
        let directory = try TemporaryProfiles()
        let path = try directory.write("Llama-3.1-8B/config.json", llama)
        let profile = try ModelProfile.fromHuggingFaceConfig(data: Data(contentsOf: URL(fileURLWithPath: path)), path: path)
        var expected = try ProfileStore.builtIn().model("llama-3.1-8b").shape
        expected.name = "llama-3.1-8b"
        #expect(profile.shape == expected)
        #expect(profile.sampledFractionCorrection == 1.8)
    }

    @Test func defaultsForGQAHeadDimAndTies() throws {
        let config = """
        {"hidden_size": 576, "intermediate_size": 1536, "num_attention_heads": 9, "num_hidden_layers": 30,
         "vocab_size": 49152, "tie_word_embeddings": true}
        """
        let profile = try ModelProfile.fromHuggingFaceConfig(data: Data(config.utf8), path: "/m/SmolLM2/config.json", name: "small")
        #expect(profile.shape.name == "small")
        #expect(profile.shape.kvHeadCount == 9)
        #expect(profile.shape.headDim == 64)
        #expect(profile.shape.tiedEmbeddings)
        #expect(profile.shape.ropeTheta == 10_000)
        #expect(profile.shape.denseLayers == [0, 15])
    }

    @Test func missingKeyIsNamed() throws {
        let config = #"{"hidden_size": 4096, "num_attention_heads": 32, "num_hidden_layers": 32, "vocab_size": 32000}"#
        #expect {
            _ = try ModelProfile.fromHuggingFaceConfig(data: Data(config.utf8), path: "/m/x/config.json")
        } throws: { error in
            let message = (error as? ProfileError)?.errorDescription ?? ""
            testLog(message)
            return message.contains("/m/x/config.json") && message.contains("key 'intermediate_size'")
                && message.contains("missing")
        }
    }

    @Test func wrongTypeAndUnsupportedDtype() throws {
        let text = #"{"hidden_size": "big", "intermediate_size": 1, "num_attention_heads": 1, "num_hidden_layers": 1, "vocab_size": 1}"#
        #expect(throws: ProfileError.self) {
            _ = try ModelProfile.fromHuggingFaceConfig(data: Data(text.utf8), path: "c.json")
        }
        let int8 = llama.replacingOccurrences(of: "bfloat16", with: "int8")
        #expect {
            _ = try ModelProfile.fromHuggingFaceConfig(data: Data(int8.utf8), path: "c.json")
        } throws: { error in
            ((error as? ProfileError)?.errorDescription ?? "").contains("key 'torch_dtype'")
        }
    }
}
