import ArgumentParser
import Core
import Foundation
import Profiles

/// Parsers that say what is wrong with a value (ArgumentParser prints the thrown message).
enum Parse {
    static func tokens(_ s: String) throws -> TokenCount { try TokenCount.parse(s) }
    /// `--gen`: 0 ... 1G tokens, the bound of a context (`TokenCount`), so that prompt + generated
    /// tokens cannot overflow and a plan's cache stays a size the cost model can price.
    static func checkGenerated(_ gen: Int) throws {
        guard gen >= 0 else { throw ValidationError("--gen \(gen): the generated token count cannot be negative") }
        guard gen <= 1 << 30 else {
            throw ValidationError("--gen \(gen): more than 1G generated tokens per sequence; pass a count up to 1073741824")
        }
    }
    /// `--layers N` against the model it keeps layers of (run, calibrate, validate).
    static func checkLayers(_ layers: Int, of shape: ModelShape) throws {
        guard layers <= shape.layerCount else {
            throw ValidationError("--layers \(layers): \(shape.name) has \(shape.layerCount) layers; pass at most \(shape.layerCount)")
        }
    }
    static func bytes(_ s: String) throws -> Double { try Quantity.bytes(s) }
    static func seconds(_ s: String) throws -> Double { try Quantity.seconds(s) }

    /// A `--ctx` list (`8k,32k,128k`), each count named in its error, at most `limit` of them.
    static func contextList(_ text: String, limit: Int, option: String = "--ctx") throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty, !parts.allSatisfy(\.isEmpty) else { throw ValidationError("\(option): give contexts separated by commas, e.g. 8k,32k,128k") }
        guard parts.count <= limit else { throw ValidationError("\(option): at most \(limit) contexts (got \(parts.count))") }
        var out: [Int] = []
        for part in parts {
            let value: Int
            do { value = try TokenCount.parse(part).value } catch { throw ValidationError("\(option) \(part): \(error)") }
            guard !out.contains(value) else { throw ValidationError("\(option) \(part): given twice; list each context once") }
            out.append(value)
        }
        return out
    }

    /// A `--kl` list (`8x75,10x150`), each (K, L) range-checked, at most `limit` of them.
    static func klList(_ text: String, limit: Int = 256, option: String = "--kl") throws -> [LSHParameters] {
        let items = text.split(separator: ",", omittingEmptySubsequences: false)
        guard items.count <= limit else { throw ValidationError("\(option): at most \(limit) settings (got \(items.count))") }
        var out: [LSHParameters] = []
        for item in items {
            let parts = item.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let k = parts[0], let l = parts[1] else {
                throw ValidationError("\(option) \(item): write K x L as e.g. 10x150")
            }
            let p: LSHParameters
            do { p = try LSHParameters(checkingHashBits: k, tableCount: l, kName: "\(option) K", lName: "\(option) L") } catch {
                throw ValidationError("\(error)")
            }
            guard !out.contains(p) else { throw ValidationError("\(option) \(item): given twice; list each (K, L) once") }
            out.append(p)
        }
        return out
    }
}

public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable { case table, json, csv }

public enum AttentionChoice: String, ExpressibleByArgument, CaseIterable, Sendable { case lsh, dense }

/// Named accuracy floors on the sampled fraction (the paper's settings sample 2-5% of real keys).
public enum QualityTier: String, ExpressibleByArgument, CaseIterable, Sendable {
    case fast, balanced, accurate
    public var minSampledFraction: Double {
        switch self {
        case .fast: return 0.01
        case .balanced: return 0.02
        case .accurate: return 0.04
        }
    }
    /// The tier as a loss budget (points of accuracy, or percent of perplexity) on a model with
    /// a quality profile.
    public var lossBudget: Double {
        switch self {
        case .fast: return 5
        case .balanced: return 2
        case .accurate: return 1
        }
    }
}

/// Where profiles come from and which machine to plan for.
public struct HardwareOptions: ParsableArguments {
    @Option(help: "System, GPU or CPU profile (see `pigplan profiles list`).")
    public var hw: String?
    @Option(help: "Host CPU profile, replacing the system's.")
    public var cpu: String?
    @Option(parsing: .unconditional, help: "CPU sockets used.")
    public var sockets: Int?
    @Option(parsing: .unconditional, help: "CPU cores used for attention (default: all of the used sockets).")
    public var threads: Int?
    @Option(parsing: .unconditional, help: "Cap on usable GPU memory, e.g. 24GB.", transform: Parse.bytes)
    public var gpuMemory: Double?
    @Option(parsing: .unconditional, help: "Usable CPU memory, e.g. 512GB.", transform: Parse.bytes)
    public var cpuMemory: Double?
    @OptionGroup public var profiles: ProfilesDirectoryOptions
    public init() {}

    public func store() throws -> ProfileStore { try profiles.loadStore() }

    public func resolve(_ store: ProfileStore) throws -> Hardware {
        guard let hw else {
            throw ValidationError("pass --hw NAME; systems: \(store.names(of: .system).joined(separator: ", ")); GPUs: \(store.names(of: .gpu).joined(separator: ", "))")
        }
        return try store.resolveHardware(name: hw, cpu: cpu, sockets: sockets, threads: threads,
                                         gpuMemoryBytes: gpuMemory, cpuMemoryBytes: cpuMemory)
    }
}

/// The model and the context it serves.
public struct WorkloadOptions: ParsableArguments {
    @Option(help: "Model profile (see `pigplan profiles list`).")
    public var model: String = "llama-3.1-8b"
    @Option(help: "A Hugging Face config.json to read the model shape from (replaces --model).")
    public var modelConfig: String?
    @Option(help: "Context (prompt) tokens per sequence: 96k, 128K, 98304, 1M (k = 1024).", transform: Parse.tokens)
    public var ctx: TokenCount?
    @Option(parsing: .unconditional, help: "Tokens generated per sequence.")
    public var gen: Int = 128
    public init() {}

    public func validate() throws {
        guard ctx != nil else { throw ValidationError("pass --ctx, the context length per sequence (e.g. --ctx 96k)") }
        try Parse.checkGenerated(gen)
    }

    public func resolve(_ store: ProfileStore) throws -> (ModelProfile, Workload) {
        let profile: ModelProfile
        if let modelConfig {
            let data: Data
            if let problem = inputFileProblem(modelConfig, limitBytes: 16e6) {
                throw ValidationError("--model-config \(modelConfig): \(problem); pass the path of a Hugging Face config.json")
            }
            do { data = try Data(contentsOf: URL(fileURLWithPath: modelConfig)) } catch {
                throw ValidationError("--model-config \(modelConfig): cannot be read (\(fileFailureReason(error))); pass the path of a Hugging Face config.json")
            }
            profile = try ModelProfile.fromHuggingFaceConfig(data: data, path: modelConfig)
        } else {
            profile = try store.model(model)
        }
        guard let ctx else { throw ValidationError("pass --ctx, the context length per sequence (e.g. --ctx 96k)") }
        return (profile, Workload(model: profile.shape, contextTokens: ctx.value, generatedTokens: gen))
    }
}

extension Schedule: ExpressibleByArgument {}
extension WeightFormat: ExpressibleByArgument {}

/// `--weights`: one format, or `auto` to let the optimizer choose among all of them.
public enum WeightChoice: Hashable, Sendable, ExpressibleByArgument, CustomStringConvertible {
    case auto
    case format(WeightFormat)

    public init?(argument: String) {
        if argument == "auto" { self = .auto; return }
        guard let format = WeightFormat(rawValue: argument) else { return nil }
        self = .format(format)
    }

    /// The formats the plan may use.
    public var formats: [WeightFormat] {
        switch self {
        case .auto: return WeightFormat.allCases
        case .format(let f): return [f]
        }
    }

    public var description: String {
        switch self {
        case .auto: return "auto"
        case .format(let f): return f.rawValue
        }
    }
    public static var allValueStrings: [String] { ["auto"] + WeightFormat.allCases.map(\.rawValue) }
}
extension KVFormat: ExpressibleByArgument {}

/// The key budget of TopK / Quest (`run --budget`): a fraction of the hashed keys, or `match`,
/// what LSH at the run's (K, L) samples on the same prompt (measured by a probe run first).
public enum KeyBudget: Hashable, Sendable, ExpressibleByArgument, CustomStringConvertible {
    case match
    case fraction(Double)

    public init?(argument: String) {
        guard let budget = try? Self.parse(argument) else { return nil }
        self = budget
    }

    /// `match` or a fraction in (0, 1]; the error names the option and the fix.
    public static func parse(_ text: String) throws -> KeyBudget {
        if text == "match" { return .match }
        guard let f = Double(text), f > 0, f <= 1 else {
            throw ValidationError("--budget \(text): give a fraction in (0, 1] or 'match'")
        }
        return .fraction(f)
    }

    /// The fixed fraction, nil for `match`.
    public var fraction: Double? {
        if case .fraction(let f) = self { return f }
        return nil
    }

    public var description: String { fraction.map { "\($0)" } ?? "match" }
    public var defaultValueDescription: String { description }
}
