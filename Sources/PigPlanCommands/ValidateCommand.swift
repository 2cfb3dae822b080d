import ArgumentParser
import Core
import CostModel
import Executor
import Foundation
import Optimizer
import Planning
import Profiles
import Validation

/// `pigplan validate`: predicted vs measured on this machine, over a grid of configurations.
public struct ValidateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Run a grid of configurations on the executor and compare each with the cost model's prediction for the calibrated local profile.")

    @Option(help: "System profile to validate (written by `pigplan calibrate`).")
    public var hw: String = "local"
    @Option(parsing: .unconditional, help: "Layers of the calibration's model to run (calibrate runs 4).")
    public var layers: Int = 4
    @Option(parsing: .unconditional, help: "Decode steps timed per configuration.")
    public var steps: Int = 8
    @Option(parsing: .unconditional, help: "Passes over the grid (each configuration keeps its median run; default 2, 1 with --quick).")
    public var repeats: Int?
    @Flag(help: "A small grid (under a minute).")
    public var quick = false
    @Option(help: "Folder for validation.csv, validation.json and validation.svg.")
    public var out: String = "pigplan-validation"
    @OptionGroup public var profiles: ProfilesDirectoryOptions
    @Flag(help: "Skip running the MILP's plan for the local profile.")
    public var noPlanCheck = false
    @Option(help: "Model whose shape to run as synthetic layers (default: the calibration's); another shape tests how the prediction transfers.")
    public var model: String?
    @Option(parsing: .unconditional, help: "Threads to run on (default: the calibration's); another count tests how the prediction transfers.")
    public var threads: Int?
    @Flag(help: "After the calibration's shape, run the transfer set: llama-2-7b (32 KV heads), codellama-34b, smollm2-135m, and the calibration's shape on 1 thread; report transfer and same-shape errors apart.")
    public var transfer = false

    /// The shapes and thread count `--transfer` runs.
    public static let transferModels = ["llama-2-7b", "codellama-34b", "smollm2-135m"]

    public init() {}

    public func validate() throws {
        guard steps >= 1, steps <= 10_000 else { throw ValidationError("--steps \(steps): give 1 to 10000 decode steps per configuration") }
        guard layers >= 1, layers <= Limits.maxLayers else { throw ValidationError("--layers \(layers): give 1 to the model's layer count") }
        if let repeats, !(1...100).contains(repeats) {
            throw ValidationError("--repeats \(repeats): give 1 to 100 passes over the grid (each configuration keeps its median run)")
        }
    }

    public func run() throws {
        // The grid takes minutes: a bad --out must fail before it, not after.
        try OutputFile.checkFolder(out, option: "--out")
        let store = try profiles.loadStore()
        if let problem = store.problem(of: .system, named: hw) { throw problem }
        guard store.systems[hw] != nil else {
            throw ValidationError("no system profile '\(hw)': run `pigplan calibrate` first (it writes systems/local.json to ~/.pigplan/profiles or --profiles-dir)")
        }
        let hardware = try store.resolveHardware(name: hw)
        guard hardware.gpu == nil, let costs = hardware.calibration?.cpu, let engine = costs.engine else {
            throw ValidationError("'\(hw)' is not a calibrated CPU-only system: validate compares against this machine's executor; run `pigplan calibrate` and use --hw local")
        }
        let shape = try store.model(hardware.calibration?.referenceModel ?? "llama-3.1-8b").shape
        if let threads, threads < 1 || threads > max(costs.threads, ProcessInfo.processInfo.activeProcessorCount) {
            throw ValidationError("--threads \(threads): use 1 to \(max(costs.threads, ProcessInfo.processInfo.activeProcessorCount)) (the cores of this machine)")
        }
        try Parse.checkLayers(layers, of: shape)
        let calibrator = LocalCalibrator(shape: shape, layers: layers, threads: costs.threads, quick: quick)
        let validator = Validator(calibrator: calibrator, hardware: hardware, engine: engine)
        var targets: [Validator.Target] = []
        if let model {
            targets.append(.init(shape: try store.model(model).shape, threads: threads ?? costs.threads))
        } else {
            targets.append(.init(shape: shape, threads: threads ?? costs.threads))
        }
        if transfer {
            if targets[0].shape.name != shape.name || targets[0].threads != costs.threads { targets.insert(validator.calibrated, at: 0) }
            for name in Self.transferModels where name != targets[0].shape.name {
                targets.append(.init(shape: try store.model(name).shape, threads: costs.threads))
            }
            if costs.threads > 1 { targets.append(.init(shape: shape, threads: 1)) }
        }
        let progress = Progress()
        var cache: Executor.LoadedWeights? = nil
        var report = try validator.run(quick: quick, steps: steps, repeats: repeats ?? (quick ? 1 : 2), targets: targets,
                                       reusing: &cache) { progress.say($0) }
        if !noPlanCheck, report.rows.contains(where: { !$0.transfer }) {
            progress.say("running the MILP's plan for \(hw)")
            report.planCheck = try validator.planCheck(report, steps: steps, repeats: repeats ?? (quick ? 1 : 2), reusing: &cache)
        }
        progress.done()
        try write(report)
        print(Self.table(report), terminator: "")
    }

    func write(_ report: Validator.Report) throws {
        try OutputFile.prepareFolder(out, option: "--out")
        let dir = URL(fileURLWithPath: out)
        // The three land together or not at all.
        try OutputFile.writeAll([
            (Validator.csv(report), dir.appendingPathComponent("validation.csv").path),
            (try PlanRenderer.json(report), dir.appendingPathComponent("validation.json").path),
            (Validator.svg(report), dir.appendingPathComponent("validation.svg").path),
        ], option: "--out")
    }

    static func table(_ r: Validator.Report) -> String {
        var out = "validate \(r.system): calibrated on \(r.model) x \(r.layers) layers, \(r.threads) threads, seed \(r.seed)\n"
        let several = r.rows.contains(where: \.transfer)
        var lines = [(several ? ["model", "threads"] : []) + ["attention", "batch", "context", "predicted", "measured", "error"]]
        for row in r.rows {
            lines.append((several ? [row.model, "\(row.threads)"] : []) + [row.attention.label, "\(row.batch)", "\(TokenCount(row.contextTokens))",
                          Format.seconds(row.predictedStepSeconds), Format.seconds(row.measuredStepSeconds),
                          Format.number(row.absPercentError) + "%"])
        }
        out += PlanRenderer.columns(lines)
        func line(_ name: String, _ s: Validator.Summary) -> String {
            "\(name): median |error| \(Format.number(s.medianAbsPercentError))%, max \(Format.number(s.maxAbsPercentError))% over \(s.configurations) configurations\n"
        }
        if let same = r.sameShape { out += line("same shape and threads", same) }
        if let moved = r.transfer { out += line("transfer (other shapes or threads)", moved) }
        if r.sameShape != nil && r.transfer != nil { out += line("all", r.summary) }
        let terms = StepTerm.allCases.compactMap { t in r.terms[t.rawValue].map { (t.rawValue, $0) } }
        if !terms.isEmpty {
            out += "per term (terms of at least 2% of the step): " + terms.map { "\($0.0) \(Format.number($0.1.medianAbsPercentError))% median, \(Format.number($0.1.maxAbsPercentError))% max" }.joined(separator: "; ") + "\n"
        }
        if let p = r.planCheck {
            out += "MILP plan at \(TokenCount(p.contextTokens)): \(p.chosen) measured \(Format.number(p.chosenMeasuredTokensPerSecond)) tokens/s; best validated \(p.bestValidated) \(Format.number(p.bestMeasuredTokensPerSecond)) tokens/s (\(Format.number(p.ratio * 100))%)\n"
        }
        return out
    }
}
