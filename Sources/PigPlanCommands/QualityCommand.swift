import ArgumentParser
import Core
import Executor
import Foundation
import Profiles
import Validation

/// `pigplan quality`: measures a quality profile for a GGUF model with the bundled executor, so
/// that plans can be held to a quality budget (`--max-quality-loss`).
public struct QualityCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "quality",
        abstract: "Measure what each (K, L), Quest and TopK setting costs in accuracy on your model and text, and write a quality profile.",
        discussion: """
            Per context: one prefill and one dense teacher-forced pass, then per setting its index and a \
            teacher-forced pass over the same positions, compared with dense: sampled fraction, perplexity \
            change, next-token agreement and attention-output error. Quantised weights get exact f32 \
            activations, so the numbers isolate the attention's approximation. The profile is written to \
            PROFILES/quality/NAME.json, where `pigplan --model NAME --max-quality-loss X` reads it.
            Example: pigplan quality --gguf SmolLM2-135M-Instruct.Q4_1.gguf --text jargon.txt --ctx 4k
            """)

    @Option(help: "A llama-architecture GGUF file (scripts/fetch-smollm2 fetches SmolLM2-135M).")
    public var gguf: String
    @Option(help: "A text file to read (its first tokens, as many as the longest context).")
    public var text: String
    @Option(help: "Context lengths, comma-separated (e.g. 2k,4k,8k); at most the model's trained length.")
    public var ctx: String = "4k"
    @Option(parsing: .unconditional, help: "Teacher-forced positions at the end of each context.")
    public var positions: Int = 128
    @Option(help: "LSH settings, comma-separated KxL (default: the paper's 8x75,9x120,10x150,10x170,11x300 and K 7-11 x L 75/150/300).")
    public var kl: String?
    @Flag(help: "Skip TopK and Quest (by default both run at the fractions the LSH settings sampled).")
    public var noBaselines = false
    @Option(parsing: .unconditional, help: "Quest page size in keys.")
    public var pageSize: Int = 16
    @Option(help: "The model profile the measurements belong to (default: the built-in model whose shape the GGUF has).")
    public var name: String?
    @Option(help: "Write the profile here instead of PROFILES/quality/NAME.json ('-' to skip writing it).")
    public var out: String?
    @Option(help: "Also write loss against keys attended, per method, as an SVG figure.")
    public var svg: String?
    @Option(help: "Output format: table, json or csv.")
    public var format: OutputFormat = .table
    @Option(parsing: .unconditional, help: "Worker threads (default: the cores available).")
    public var threads: Int?
    @Option(parsing: .unconditional, help: "Seed of the hash projections.")
    public var seed: UInt64 = 1
    @Flag(help: "Feed quantised rows 8-bit activations as timed decoding does (default: exact f32, which isolates the attention).")
    public var quantizedActivations = false
    @OptionGroup public var profiles: ProfilesDirectoryOptions

    public init() {}

    public func validate() throws {
        _ = try Parse.contextList(ctx, limit: 16)
        if let kl { _ = try Parse.klList(kl, limit: QualitySweepRequest.settingLimit) }
        if positions < 2 { throw ValidationError("--positions \(positions): at least 2 teacher-forced positions") }
        if positions > Limits.maxQualityPositions { throw ValidationError("--positions \(positions): at most \(Limits.maxQualityPositions)") }
        if pageSize < 1 || pageSize > 1 << 20 { throw ValidationError("--page-size \(pageSize): 1 to 1048576 keys") }
        if let threads, threads < 1 || threads > Limits.maxThreads { throw ValidationError("--threads \(threads): 1 to \(Limits.maxThreads)") }
        if let name, ProfileName.problem(name) != nil { throw ValidationError("--name \(name): \(ProfileName.problem(name)!)") }
    }

    public func run() throws {
        let store = try profiles.loadStore()
        let shape = try QualitySweep.shape(ggufPath: gguf)
        let model = try modelName(for: shape, store: store)
        let destination = try outputPath(model: model)
        if let destination { try OutputFile.check(destination, option: out == nil ? "--profiles-dir" : "--out") }
        if let svg { try OutputFile.check(svg, option: "--svg") }
        let textContent = try InputFile.readText(text, option: "--text")
        let request = QualitySweepRequest(
            ggufPath: gguf, text: textContent, contexts: try Parse.contextList(ctx, limit: 16), positions: positions,
            lsh: try kl.map { try Parse.klList($0, limit: QualitySweepRequest.settingLimit) } ?? QualitySweep.defaultLSH,
            baselines: !noBaselines, questPageSize: pageSize, threads: threads, seed: seed,
            exactActivations: !quantizedActivations)
        let progress = RunProgress()
        let result: QualitySweepResult
        do { result = try QualitySweep.run(request, progress: progress.handler) } catch {
            progress.done()
            throw error
        }
        progress.done()
        let profile = result.profile(model: model, command: commandLine(model: model))
        if let destination {
            try OutputFile.write(try ProfileStore.prettyJSON(profile) + "\n", to: destination, option: out == nil ? "--profiles-dir" : "--out")
        }
        if let svg { try OutputFile.write(QualityRendering.svg(result, model: model), to: svg, option: "--svg") }
        switch format {
        case .table:
            print(QualityRendering.table(result, model: model), terminator: "")
            if let destination { print("quality profile written to \(destination); plan with it: pigplan --model \(model) --max-quality-loss 1") }
        case .json: print(try PlanRenderer.json(result), terminator: "")
        case .csv: print(QualityRendering.csv(result), terminator: "")
        }
    }

    /// `--name`, else the built-in model whose shape the GGUF has.
    func modelName(for shape: ModelShape, store: ProfileStore) throws -> String {
        if let name { return name }
        let same = store.names(of: .model).filter { n in
            guard let m = try? store.model(n).shape else { return false }
            return m.layerCount == shape.layerCount && m.hiddenSize == shape.hiddenSize && m.queryHeadCount == shape.queryHeadCount
                && m.kvHeadCount == shape.kvHeadCount && m.headDim == shape.headDim && m.vocabSize == shape.vocabSize
                && m.intermediateSize == shape.intermediateSize
        }
        guard same.count == 1 else {
            let why = same.isEmpty ? "no model profile has its shape (\(shape.layerCount) layers, hidden \(shape.hiddenSize), \(shape.queryHeadCount)/\(shape.kvHeadCount) heads)"
                                   : "several model profiles have its shape (\(same.joined(separator: ", ")))"
            throw ValidationError("--gguf \(gguf): \(why); name the model profile the measurements are for with --name NAME")
        }
        return same[0]
    }

    /// Where the profile goes: --out, or the user's profile folder's quality/NAME.json.
    func outputPath(model: String) throws -> String? {
        if out == "-" { return nil }
        if let out { return out }
        guard let dir = ProfileStore.overlayDirectory(directory: profiles.profilesDirectory, environment: ProcessInfo.processInfo.environment,
                                                      existing: false) else {
            throw ValidationError("pass --profiles-dir DIR or --out FILE: where the quality profile is written")
        }
        let folder = URL(fileURLWithPath: dir).appendingPathComponent(ProfileKind.quality.folder)
        try OutputFile.prepareFolder(folder.path, option: "--profiles-dir")
        return folder.appendingPathComponent("\(model).json").path
    }

    /// This command as the profile's source records it (file names, not the user's folders).
    func commandLine(model: String) -> String {
        var words = ["pigplan quality", "--gguf", URL(fileURLWithPath: gguf).lastPathComponent, "--text", URL(fileURLWithPath: text).lastPathComponent,
                     "--ctx", ctx, "--positions", "\(positions)"]
        if let kl { words += ["--kl", kl] }
        if noBaselines { words.append("--no-baselines") }
        if pageSize != 16 { words += ["--page-size", "\(pageSize)"] }
        if quantizedActivations { words.append("--quantized-activations") }
        words += ["--seed", "\(seed)", "--name", model]
        return words.joined(separator: " ")
    }
}
