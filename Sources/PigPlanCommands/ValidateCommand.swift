import ArgumentParser
import Core
import CostModel
import Executor
import Foundation
import Optimizer
import Profiles
import Validation

/// `pigplan validate`: predicted vs measured on this machine, over a grid of configurations.
public struct ValidateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run a grid of configurations on the executor and compare each with the cost model's prediction for the calibrated local profile.")

    @Option(help: "System profile to validate (written by `pigplan calibrate`).")
    public var hw: String = "local"
    @Option(help: "Layers of the calibration's model to run (calibrate runs 4).")
    public var layers: Int = 4
    @Option(help: "Decode steps timed per configuration.")
    public var steps: Int = 8
    @Option(help: "Passes over the grid (each configuration keeps its median run; default 2, 1 with --quick).")
    public var repeats: Int?
    @Flag(help: "A small grid (under a minute).")
    public var quick = false
    @Option(help: "Folder for validation.csv, validation.json and validation.svg.")
    public var out: String = "pigplan-validation"
    @Option(help: "Profile folder (default: $\(ProfileStore.environmentVariable), else ~/.pigplan/profiles).")
    public var profilesDir: String?
    @Flag(help: "Skip running the MILP's plan for the local profile.")
    public var noPlanCheck = false

    public init() {}

    public func run() throws {
        guard steps >= 1, layers >= 1 else { throw ValidationError("--steps and --layers must be at least 1") }
        let store = try ProfileStore.load(directory: profilesDir, environment: ProcessInfo.processInfo.environment)
        guard store.systems[hw] != nil else {
            throw ValidationError("no system profile '\(hw)': run `pigplan calibrate` first (it writes systems/local.json to ~/.pigplan/profiles or --profiles-dir)")
        }
        let hardware = try store.resolveHardware(name: hw)
        guard hardware.gpu == nil, let costs = hardware.calibration?.cpu, let engine = costs.engine else {
            throw ValidationError("'\(hw)' is not a calibrated CPU-only system: validate compares against this machine's executor; run `pigplan calibrate` and use --hw local")
        }
        let shape = try store.model(hardware.calibration?.referenceModel ?? "llama-3.1-8b").shape
        let calibrator = LocalCalibrator(shape: shape, layers: layers, threads: costs.threads, quick: quick)
        let validator = Validator(calibrator: calibrator, hardware: hardware, engine: engine)
        let progress = Progress()
        var cache: Executor.LoadedWeights? = nil
        var report = try validator.run(quick: quick, steps: steps, repeats: repeats ?? (quick ? 1 : 2), reusing: &cache) { progress.say($0) }
        if !noPlanCheck {
            progress.say("running the MILP's plan for \(hw)")
            report.planCheck = try planCheck(validator, report: report, repeats: repeats ?? (quick ? 1 : 2), reusing: &cache)
        }
        progress.done()
        try write(report)
        print(Self.table(report), terminator: "")
    }

    /// The MILP's choice over the validated space at the largest validated context, run on the
    /// executor, against the best measured configuration at that context.
    func planCheck(_ validator: Validator, report: Validator.Report, repeats: Int,
                   reusing cache: inout Executor.LoadedWeights?) throws -> Validator.PlanCheck? {
        guard let context = report.rows.map(\.contextTokens).max() else { return nil }
        let rows = report.rows.filter { $0.contextTokens == context }
        guard let best = rows.max(by: { $0.measuredTokensPerSecond < $1.measuredTokensPerSecond }) else { return nil }
        var space = SearchSpace()
        let settings = Set(rows.compactMap(\.attention.lsh))
        space.hashBits = Array(Set(settings.map(\.hashBitsPerTable))).sorted()
        space.tableCounts = Array(Set(settings.map(\.tableCount))).sorted()
        space.dense = rows.contains { $0.attention == .dense }
        space.maxBatch = rows.map(\.batch).max() ?? 8
        space.extraDenseLayers = [0]
        space.schedules = [.serial]
        space.kvDevices = [.cpu]
        // Only the validated (K, L) pairs.
        space.lsh = false
        space.extraAttentionModes = settings.map { .lshSampled($0) }
        let plan = try PlanOptimizer(model: validator.costModel(context: context, steps: steps), space: space).optimize()
        let chosen = plan.configuration
        // Measured as often as each grid configuration, keeping the median run likewise.
        let measured = try validator.measure(chosen.attention, batch: chosen.batch, context: context, steps: steps,
                                             repeats: repeats, reusing: &cache)
        func name(_ a: AttentionMode, _ b: Int) -> String { "\(a.label) batch \(b)" }
        return .init(contextTokens: context, chosen: name(chosen.attention, chosen.batch),
                     chosenMeasuredTokensPerSecond: measured.measured.tokensPerSecond,
                     bestValidated: name(best.attention, best.batch), bestMeasuredTokensPerSecond: best.measuredTokensPerSecond,
                     ratio: measured.measured.tokensPerSecond / best.measuredTokensPerSecond)
    }

    func write(_ report: Validator.Report) throws {
        let dir = URL(fileURLWithPath: out)
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(Validator.csv(report).utf8).write(to: dir.appendingPathComponent("validation.csv"), options: .atomic)
            try Data(try PlanRenderer.json(report).utf8).write(to: dir.appendingPathComponent("validation.json"), options: .atomic)
            try Data(Validator.svg(report).utf8).write(to: dir.appendingPathComponent("validation.svg"), options: .atomic)
        } catch {
            throw ValidationError("--out \(out): cannot write the results (\(error.localizedDescription))")
        }
    }

    static func table(_ r: Validator.Report) -> String {
        var out = "validate \(r.system): \(r.model) x \(r.layers) layers, \(r.threads) threads, seed \(r.seed)\n"
        var lines = [["attention", "batch", "context", "predicted", "measured", "error"]]
        for row in r.rows {
            lines.append([row.attention.label, "\(row.batch)", "\(TokenCount(row.contextTokens))",
                          Format.seconds(row.predictedStepSeconds), Format.seconds(row.measuredStepSeconds),
                          Format.number(row.absPercentError) + "%"])
        }
        out += PlanRenderer.columns(lines)
        out += "median |error| \(Format.number(r.summary.medianAbsPercentError))%, max \(Format.number(r.summary.maxAbsPercentError))% over \(r.summary.configurations) configurations\n"
        if let p = r.planCheck {
            out += "MILP plan at \(TokenCount(p.contextTokens)): \(p.chosen) measured \(Format.number(p.chosenMeasuredTokensPerSecond)) tokens/s; best validated \(p.bestValidated) \(Format.number(p.bestMeasuredTokensPerSecond)) tokens/s (\(Format.number(p.ratio * 100))%)\n"
        }
        return out
    }
}
