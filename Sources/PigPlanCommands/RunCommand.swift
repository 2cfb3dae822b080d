import ArgumentParser
import Core
import Executor
import Foundation
import Planning
import Profiles
import Validation

/// `pigplan run`: LSH-sampled (or dense, TopK, Quest) decoding on this CPU, measured.
public struct RunCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run decoding on this machine's CPU (real GGUF model or synthetic weights) and measure speed and quality.")

    public enum Mode: String, ExpressibleByArgument, CaseIterable, Sendable { case dense, lsh, topk, quest }
    public enum OutputKind: String, ExpressibleByArgument, CaseIterable, Sendable { case table, json }
    public enum Prefill: String, ExpressibleByArgument, CaseIterable, Sendable { case model, synthetic }

    @Option(help: "A plan file from `pigplan export` (model shape, context, batch, attention, threads).")
    public var plan: String?
    @Option(help: "Model profile for synthetic weights (default llama-3.1-8b; ignored with --gguf).")
    public var model: String?
    @Option(parsing: .unconditional, help: "Keep only the first N layers of a synthetic model.")
    public var layers: Int?
    @Option(help: "A llama-architecture GGUF file (scripts/fetch-smollm2 fetches SmolLM2-135M).")
    public var gguf: String?
    @Option(help: "Prompt text file (tokenised with the GGUF's tokenizer); default: synthetic tokens.")
    public var text: String?
    @Option(help: "Prompt tokens per sequence (96k, 32768, ...); with --text, the first N tokens.", transform: Parse.tokens)
    public var ctx: TokenCount?
    @Option(parsing: .unconditional, help: "Independent sequences decoded together.")
    public var batch: Int?
    @Option(parsing: .unconditional, help: "Decode steps to time (and, with --quality, positions evaluated).")
    public var steps: Int = 16
    @Option(help: "Attention: dense, lsh (MagicPIG), topk (oracle) or quest (page selection).")
    public var attention: Mode?
    @Option(parsing: .unconditional, help: "K, bits per hash table (lsh).")
    public var k: Int?
    @Option(parsing: .unconditional, help: "L, hash tables (lsh).")
    public var l: Int?
    @Option(help: "Key budget of topk / quest: a fraction of the keys, or 'match' (what LSH (K, L) samples on the same run; the default).",
            transform: KeyBudget.parse)
    public var budget: KeyBudget = .match
    @Option(parsing: .unconditional, help: "Quest page size in keys.")
    public var pageSize: Int = 16
    @Option(parsing: .unconditional, help: "Worker threads (default: the cores available).")
    public var threads: Int?
    @Option(parsing: .unconditional, help: "Seed of every random choice (weights, projections, synthetic tokens).")
    public var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Refuse to run above this memory, e.g. 8GB.", transform: Parse.bytes)
    public var memoryLimit: Double?
    @Option(help: "How the prompt's KV cache is made: model (run the prompt) or synthetic (seeded cache; decode timing only).")
    public var prefill: Prefill = .model
    @Flag(help: "Measure quality against dense: attention error, next-token agreement, perplexity.")
    public var quality = false
    @Flag(help: "Prefill quantised rows with exact f32 activations, not 8-bit ones (slower prompt; the 8-bit prefill adds about 1% perplexity on SmolLM2). Quality runs always prefill exactly.")
    public var exactPrefill = false
    @Flag(help: "Quality report: dense, LSH, oracle TopK and Quest side by side at the LSH run's budget.")
    public var compare = false
    @Option(help: "Output format: table or json.")
    public var format: OutputKind = .table
    @Flag(help: "Also predict this run with the cost model of this machine's calibrated system (`pigplan calibrate` writes it) and print predicted, measured and the error per term; on by default with --plan when the system exists.")
    public var predict = false
    @Option(help: "The calibrated system of this machine to predict with (default: local).")
    public var system: String = "local"
    @OptionGroup public var profiles: ProfilesDirectoryOptions

    public init() {}

    public func validate() throws {
        if let batch, batch < 1 { throw ValidationError("--batch \(batch): must be at least 1") }
        if let batch, batch > Limits.maxBatch { throw ValidationError("--batch \(batch): the executor decodes at most \(Limits.maxBatch) sequences together; pass fewer") }
        if steps < 1 { throw ValidationError("--steps \(steps): must be at least 1") }
        if steps > Limits.maxDecodeSteps { throw ValidationError("--steps \(steps): at most \(Limits.maxDecodeSteps) decode steps; pass fewer") }
        if let layers, layers < 1 { throw ValidationError("--layers \(layers): must be at least 1") }
        if let layers, layers > Limits.maxLayers { throw ValidationError("--layers \(layers): more layers than any model has; pass at most the model's layer count") }
        if let threads, threads < 1 { throw ValidationError("--threads \(threads): must be at least 1") }
        if let threads, threads > Limits.maxThreads { throw ValidationError("--threads \(threads): at most \(Limits.maxThreads) threads") }
        if pageSize < 1 { throw ValidationError("--page-size \(pageSize): must be at least 1") }
        if pageSize > Limits.maxPageSize { throw ValidationError("--page-size \(pageSize): at most \(Limits.maxPageSize) keys per page") }
        if let problem = LSHParameters.rangeProblem(k: k, l: l) { throw ValidationError(problem) }
        if text != nil && gguf == nil { throw ValidationError("--text needs --gguf: synthetic weights have no tokenizer") }
        if ctx == nil && text == nil && plan == nil { throw ValidationError("pass --ctx (prompt tokens), --text FILE or --plan FILE") }
        // Every accepted flag must mean something for the run asked for.
        if gguf != nil, model != nil {
            throw ValidationError("--model \(model!) picks the shape of synthetic weights; with --gguf the file's shape runs: drop --model")
        }
        if gguf != nil, let layers {
            throw ValidationError("--layers \(layers) keeps the first layers of synthetic weights; with --gguf every layer of the file runs: drop --layers")
        }
        if budget != .match, !compare, let attention, attention == .dense || attention == .lsh {
            throw ValidationError("--budget \(budget) sets the key budget of topk / quest; with --attention \(attention.rawValue) it would be ignored: drop it, or use --attention topk / quest (or --compare)")
        }
        if (k != nil || l != nil), let attention, !compare,
           attention == .dense || ((attention == .topk || attention == .quest) && budget != .match) {
            throw ValidationError("--k / --l set LSH's tables (or, with --budget match, the budget probe); with --attention \(attention.rawValue)\(attention == .dense ? "" : " --budget \(budget)") they would be ignored: drop them")
        }
    }

    /// The plan file of `--plan`, decoded and checked (nil without `--plan`).
    func planFile() throws -> PlanFile? {
        guard let plan else { return nil }
        let file: PlanFile
        do { file = try PlanFile.read(path: plan) } catch {
            throw ValidationError("--plan: \(error)")
        }
        // What was predicted is what runs: this executor is one process on this CPU, with the
        // synthetic weights in 16 bits (or a GGUF's own blocks).
        if let d = file.deployment {
            if d.tensorParallel > 1 {
                throw ValidationError("--plan \(plan): the plan splits each model instance over \(d.tensorParallel) GPUs (tensor parallel); pigplan run executes one process on this CPU: export a plan with --tp 1")
            }
            if let w = d.weights, w != .bf16, gguf == nil {
                throw ValidationError("--plan \(plan): the plan stores weights as \(w.rawValue), which the executor's synthetic weights do not run (16-bit); export with --weights bf16, or run a GGUF in that precision with --gguf")
            }
        }
        return file
    }

    /// (K, L) of the flags, else of the plan file, else the paper's default.
    func lshParameters(_ planFile: PlanFile?) -> LSHParameters {
        let fallback = planFile?.attention.lsh ?? .magicPIGDefault
        return LSHParameters(hashBitsPerTable: k ?? fallback.hashBitsPerTable, tableCount: l ?? fallback.tableCount)
    }

    /// The request these flags (and the plan file) describe, with `mode` as the attention.
    public func request(mode: AttentionMode, measureQuality: Bool) throws -> ExecutorRequest {
        try request(mode: mode, measureQuality: measureQuality, planFile: try planFile())
    }

    /// ", 8-bit activations" when quantised rows took rounded inputs in the prefill (the default
    /// for timed runs); nothing for exact prefills and unquantised weights.
    static func prefillActivations(_ r: ExecutorReport) -> String {
        guard r.measured.prefillExactActivations == false else { return "" }
        return ", 8-bit activations into quantised rows (--exact-prefill for f32)"
    }

    func request(mode: AttentionMode, measureQuality: Bool, planFile: PlanFile?) throws -> ExecutorRequest {
        let weights: ExecutorRequest.Weights
        if let gguf {
            weights = .gguf(path: gguf)
        } else if let planFile, model == nil {
            weights = .synthetic(shape: planFile.modelShape, layers: layers, seed: seed)
        } else {
            let store = try profiles.loadStore()
            weights = .synthetic(shape: try store.model(model ?? "llama-3.1-8b").shape, layers: layers, seed: seed)
        }
        if case .synthetic(let shape, let kept?, _) = weights { try Parse.checkLayers(kept, of: shape) }
        let contextTokens = ctx?.value ?? planFile?.contextTokens
        let prompt: ExecutorRequest.Prompt
        if let text {
            prompt = .text(try InputFile.readText(text, option: "--text"))
        } else {
            guard let contextTokens else { throw ValidationError("pass --ctx (prompt tokens), --text FILE or --plan FILE") }
            prompt = .syntheticTokens(count: contextTokens)
        }
        let cores = ProcessInfo.processInfo.activeProcessorCount
        return ExecutorRequest(
            weights: weights, prompt: prompt, batch: batch ?? planFile?.batch ?? 1, decodeSteps: steps, attention: mode,
            threads: threads ?? planFile.map { min($0.placement.cpuThreads, cores) }, seed: seed,
            memoryLimitBytes: memoryLimit, measureQuality: measureQuality,
            prefill: prefill == .synthetic ? .syntheticCache : .model,
            // The plan's extra dense layers are part of what it predicted: run them.
            denseLayers: planFile.flatMap { $0.placement.extraDenseLayers > 0 ? $0.modelShape.denseLayers(extra: $0.placement.extraDenseLayers) : nil },
            maxPromptTokens: text != nil ? contextTokens : nil, exactPrefill: exactPrefill)
    }

    /// The attention mode of the flags (or plan), with "match" budgets resolved to `matched`.
    public func mode(matched: Double?) throws -> AttentionMode {
        try mode(matched: matched, planFile: try planFile())
    }

    func mode(matched: Double?, planFile: PlanFile?) throws -> AttentionMode {
        let fraction = budget.fraction ?? matched
        if budget.fraction == nil, let matched, matched <= 0, attention == .topk || attention == .quest {
            let p = lshParameters(planFile)
            throw ValidationError("--budget match: LSH (K, L) = (\(p.hashBitsPerTable), \(p.tableCount)) sampled no keys on this run, so \(attention == .topk ? "TopK" : "Quest") would attend none; pass --budget F (e.g. 0.02), or a smaller --k or a larger --l")
        }
        switch attention {
        case .dense?: return .dense
        case .lsh?: return .lshSampled(lshParameters(planFile))
        case .topk?:
            guard let fraction else { throw ValidationError("--attention topk --budget match needs the LSH run's fraction; give --budget 0.02 or use --compare") }
            return .topK(budgetFraction: fraction)
        case .quest?:
            guard let fraction else { throw ValidationError("--attention quest --budget match needs the LSH run's fraction; give --budget 0.02 or use --compare") }
            return .quest(pageSize: pageSize, budgetFraction: fraction)
        case nil:
            return planFile?.attention ?? .lshSampled(lshParameters(planFile))
        }
    }

    public func run() throws {
        let progress = RunProgress()
        defer { progress.done() }
        if compare {
            let file = try planFile()
            let report = try QualityComparison.run(
                lsh: lshParameters(file), budgetFraction: budget.fraction, pageSize: pageSize,
                request: { try request(mode: $0, measureQuality: true, planFile: file) },
                progress: progress.handler, stage: { progress.label = $0 })
            print(format == .json ? try PlanRenderer.json(report) : report.table(), terminator: "")
            return
        }
        // The prediction's profiles resolve before the run, so a missing calibration fails at once.
        let predictor = try predictor()
        let (_, report) = try execute(progress: progress)
        progress.done()
        if let text, let asked = ctx?.value, report.promptTokens < asked {
            // Not an error (a short file still runs), but the run is not the context asked for.
            FileHandle.standardError.write(Data("note: --text \(text) holds \(report.promptTokens) tokens, fewer than --ctx \(TokenCount(asked)): the prompt is \(report.promptTokens) tokens; pass a longer text for that context\n".utf8))
        }
        let prediction = predictor.map { RunPrediction(report: report, hardware: $0.0, engine: $0.1) }
        switch format {
        case .json: print(try PlanRenderer.json(RunOutput(report: report, prediction: prediction)), terminator: "")
        case .table: print(Self.table(report) + (prediction.map(Self.table) ?? ""), terminator: "")
        }
    }

    /// This machine's calibrated system and fitted engine, when the run is to be predicted
    /// (`--predict`, or `--plan` when the system exists); nil otherwise.
    func predictor() throws -> (Hardware, EngineParameters)? {
        guard predict || plan != nil else { return nil }
        let store = try profiles.loadStore()
        // A calibrated system whose file is broken: --predict needs it; a plan's run goes on
        // unpredicted (the warning above names the file).
        if predict, let problem = store.problem(of: .system, named: system) { throw problem }
        guard store.names(of: .system).contains(system) else {
            if predict { throw ValidationError("--predict needs the calibrated system '\(system)': run `pigplan calibrate` first (or pass --system NAME)") }
            FileHandle.standardError.write(Data("note: no calibrated system '\(system)' on this machine: the run is not predicted (run `pigplan calibrate`)\n".utf8))
            return nil
        }
        let hardware = try store.resolveHardware(name: system)
        guard hardware.calibration?.cpu != nil else {
            if predict { throw ValidationError("--system \(system): not calibrated on this machine; run `pigplan calibrate`") }
            return nil
        }
        return (hardware, try Planner.engine(named: "pigplan", store: store, hardware: hardware))
    }

    /// `run --format json`: the executor's report, with `prediction` (and its `errors`) when predicted.
    struct RunOutput: Encodable {
        let report: ExecutorReport
        let prediction: RunPrediction?
        enum Keys: String, CodingKey { case prediction }
        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            try c.encodeIfPresent(prediction, forKey: .prediction)
        }
    }

    static func table(_ p: RunPrediction) -> String {
        var rows: [(String, String)] = [
            ("predicted", "\(Format.number(p.predictedTokensPerSecond)) tokens/s (\(Format.seconds(p.predictedStepSeconds)) per step) on \(p.system); measured \(Format.seconds(p.measuredStepSeconds)), error \(p.errors["step"].map { Format.signedPercent($0) } ?? "n/a")"),
        ]
        for term in StepTerm.allCases {
            guard let m = p.measuredTerms.value(term), let e = p.errors[term.rawValue] else { continue }
            rows.append(("  " + term.rawValue, "predicted \(Format.seconds(p.predictedTerms[term])), measured \(Format.seconds(m)), error \(Format.signedPercent(e))"))
        }
        if let predicted = p.predictedPrefillSeconds, let measured = p.measuredPrefillSeconds, let e = p.errors["prefill"] {
            rows.append(("prefill", "predicted \(Format.seconds(predicted)), measured \(Format.seconds(measured)) (with the index build), error \(Format.signedPercent(e))"))
        }
        return "\n" + PlanRenderer.aligned(rows)
    }

    /// Runs what the flags ask for. With topk / quest and `--budget match`, an LSH probe at the
    /// flags' (or plan's) (K, L) runs first on the same weights and prompt, and its mean sampled
    /// fraction becomes the budget; the probe's report is returned beside the run's.
    public func execute() throws -> (probe: ExecutorReport?, report: ExecutorReport) { try execute(progress: RunProgress()) }

    func execute(progress: RunProgress) throws -> (probe: ExecutorReport?, report: ExecutorReport) {
        let file = try planFile()
        var cache: Executor.LoadedWeights? = nil
        var probe: ExecutorReport? = nil
        if (attention == .topk || attention == .quest) && budget == .match {
            progress.label = "LSH probe for the budget"
            probe = try Executor.run(try request(mode: .lshSampled(lshParameters(file)), measureQuality: false, planFile: file),
                                     reusing: &cache, progress: progress.handler)
            progress.label = ""
        }
        let mode = try mode(matched: probe?.measured.sampledFraction?.mean, planFile: file)
        let report = try Executor.run(try request(mode: mode, measureQuality: quality, planFile: file),
                                      reusing: &cache, progress: progress.handler)
        return (probe, report)
    }

    static func table(_ r: ExecutorReport) -> String {
        var rows: [(String, String)] = [
            ("model", "\(r.modelName), \(r.shape.layerCount) layers (dense \(r.denseLayers.map(String.init).joined(separator: ", "))), \(r.weightPrecision.rawValue) weights"),
            ("run", (r.nothingSampled ? "dense (\(r.attention.name) asked for, but no layer had keys to sample: \(r.hashedSpanTokens <= 0 ? "the prompt is no longer than the sinks and local window" : "every layer is dense"))"
                     : "\(r.attention.name)\(r.attention.lsh.map { " (K, L) = \($0)" } ?? "")")
                + ", batch \(r.batch), \(r.promptTokens) prompt tokens, \(r.decodeSteps) steps, \(r.threads) threads, seed \(r.seed)"),
            ("throughput", "\(Format.number(r.measured.tokensPerSecond)) tokens/s (\(Format.seconds(r.measured.stepSeconds)) per step)"),
            ("prefill", "\(Format.seconds(r.measured.prefillSeconds))\(prefillActivations(r)) (index build \(Format.seconds(r.measured.indexBuildSeconds)))"),
        ]
        rows += PlanRenderer.termRows(r.measured.breakdown) { s, share in "\(Format.seconds(s)) per step (\(Format.number(share))%)" }
        if let f = r.measured.sampledFraction {
            rows.append(("sampled fraction", "\(Format.number(f.mean * 100))% of the hashed span (mean over hashed layers)"))
        }
        if let q = r.quality {
            var perplexity = "dense \(Format.number(q.dense.perplexity))"
            if let m = q.mode { perplexity += ", \(m.attention.name) \(Format.number(m.perplexity))" }
            if let t = q.topKAtSameBudget { perplexity += ", topk at the same budget \(Format.number(t.perplexity))" }
            rows.append(("perplexity", perplexity))
            rows.append(("next-token agreement", "\(Format.number(q.nextTokenAgreement * 100))% over \(q.positions) positions"))
            if let e = q.attentionRelativeL2Error { rows.append(("attention error", "\(Format.number(e * 100))% relative L2 vs dense (mean)")) }
        }
        if let text = r.generatedText?.first { rows.append(("generated", text.replacingOccurrences(of: "\n", with: "\\n"))) }
        return PlanRenderer.aligned(rows)
    }
}
