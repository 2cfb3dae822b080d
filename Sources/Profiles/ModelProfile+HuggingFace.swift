import Core
import Foundation

extension ModelProfile {
    /// A model profile from a Hugging Face `config.json` (Llama-architecture keys):
    /// `num_hidden_layers`, `hidden_size`, `intermediate_size`, `num_attention_heads`,
    /// `vocab_size` (required); `num_key_value_heads` (default: the attention heads), `head_dim`
    /// (default hidden / heads), `tie_word_embeddings` (false), `rope_theta` (10000),
    /// `rms_norm_eps` (1e-5), `torch_dtype` or `dtype` (bf16), `max_position_embeddings`.
    /// Dense layers follow `ModelShape.defaultDenseLayers`; no measured sampled fractions, the default
    /// correction. `name` defaults to the folder holding the file, lower-cased.
    public static func fromHuggingFaceConfig(data: Data, path: String, name: String? = nil) throws(ProfileError) -> ModelProfile {
        func fail(_ key: String?, _ reason: String, _ fix: String) -> ProfileError {
            .invalidFile(file: path, keyPath: key, reason: reason, fix: fix)
        }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw fail(nil, "is not valid JSON (\(ProfileDecoder.underlyingReason(error)))", "pass the model's config.json")
        }
        guard let config = document.objectValue else {
            throw fail(nil, "must hold one JSON object", "pass the model's config.json")
        }
        func integer(_ key: String, default fallback: Int? = nil) throws(ProfileError) -> Int {
            guard let value = config[key], value != .null else {
                if let fallback { return fallback }
                throw fail(key, "required key is missing", "this is not a Llama-style config.json; write a model profile instead (Profiles/README.md, models)")
            }
            guard let i = value.intValue, i > 0 else {
                throw fail(key, "expected a positive integer, found \(value.description)", "fix the value")
            }
            // The same bound as a model profile's counts (products of two must fit an integer).
            guard i <= ProfileValidator.countLimit else {
                throw fail(key, "\(i) is more than pigplan handles (at most \(ProfileValidator.countLimit))", "fix the value")
            }
            return i
        }
        func number(_ key: String, default fallback: Double) throws(ProfileError) -> Double {
            guard let value = config[key], value != .null else { return fallback }
            switch value {
            case .int(let i) where i > 0: return Double(i)
            case .double(let d) where d > 0 && d.isFinite: return d
            default: throw fail(key, "expected a positive number, found \(value.description)", "fix the value")
            }
        }

        let layers = try integer("num_hidden_layers")
        let hidden = try integer("hidden_size")
        let ffn = try integer("intermediate_size")
        let heads = try integer("num_attention_heads")
        let kvHeads = try integer("num_key_value_heads", default: heads)
        guard heads % kvHeads == 0 else {
            throw fail("num_key_value_heads", "(\(kvHeads)) must divide num_attention_heads (\(heads))", "check the config")
        }
        guard config["head_dim"] != nil || hidden % heads == 0 else {
            throw fail("head_dim", "is missing and hidden_size (\(hidden)) is not a multiple of num_attention_heads (\(heads))",
                       "add head_dim to the config")
        }
        let headDim = try integer("head_dim", default: hidden / heads)
        let vocab = try integer("vocab_size")
        var tied = false
        if let value = config["tie_word_embeddings"], value != .null {
            guard case .bool(let b) = value else {
                throw fail("tie_word_embeddings", "expected true or false, found \(value.description)", "fix the value")
            }
            tied = b
        }
        let theta = try number("rope_theta", default: 10_000)
        let eps = try number("rms_norm_eps", default: 1e-5)
        var bytesPerWeight = 2.0
        let dtypeKey = config["torch_dtype"] != nil ? "torch_dtype" : "dtype"
        if let value = config[dtypeKey], value != .null {
            switch value.stringValue {
            case "bfloat16", "float16": bytesPerWeight = 2
            case "float32": bytesPerWeight = 4
            default:
                throw fail(dtypeKey, "unsupported weight type \(value.description)",
                           "use a bfloat16, float16 or float32 checkpoint, or write a model profile with bytesPerWeight")
            }
        }
        // Optional, but when present a count like the others: a plan file carries it, and 0 or an
        // absurd length would be refused only later, by `run --plan`, far from its cause.
        let hasContext = config["max_position_embeddings"].map { $0 != .null } ?? false
        let context = hasContext ? try integer("max_position_embeddings") : nil

        let modelName = name ?? Self.defaultName(forConfigAt: path)
        let shape = ModelShape(
            name: modelName, layerCount: layers, hiddenSize: hidden, intermediateSize: ffn,
            queryHeadCount: heads, kvHeadCount: kvHeads, headDim: headDim, vocabSize: vocab,
            tiedEmbeddings: tied, ropeTheta: theta, rmsNormEpsilon: eps, bytesPerWeight: bytesPerWeight,
            bytesPerKVElement: 2, denseLayers: ModelShape.defaultDenseLayers(layerCount: layers), maxContextTokens: context)
        return ModelProfile(
            shape: shape, measuredSampledFractions: nil,
            sampledFractionCorrection: ProfileDefaults.sampledFractionCorrection,
            source: "Hugging Face config \(path); dense layers {0, layers/2} (80 layers: {0, 16, 32, 48})")
    }

    /// `Llama-3.1-8B/config.json` -> `llama-3.1-8b`.
    static func defaultName(forConfigAt path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().lastPathComponent
        let base = url.lastPathComponent == "config.json" && !folder.isEmpty && folder != "/" ? folder
            : url.deletingPathExtension().lastPathComponent
        return base.lowercased()
    }
}
