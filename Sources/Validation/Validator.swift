import Core
import Rendering
import CostModel
import Executor
import Foundation

/// `pigplan validate`: runs a grid of configurations on the executor and compares each
/// measured decode step with the cost model's prediction on the calibrated local profile.
public struct Validator: Sendable {
    public struct Row: Codable, Sendable {
        /// The model whose shape ran (synthetic layers) and the threads it ran on.
        public var model: String
        public var threads: Int
        /// Shape or thread count differs from the calibration's: the prediction had to transfer.
        public var transfer: Bool
        public var attention: AttentionMode
        public var batch: Int
        public var contextTokens: Int
        public var predictedStepSeconds: Double
        public var measuredStepSeconds: Double
        public var predictedTokensPerSecond: Double
        public var measuredTokensPerSecond: Double
        public var absPercentError: Double
        /// Sampled fraction the prediction used (calibration's synthetic measurement) and the run's.
        public var predictedSampledFraction: Double?
        public var measuredSampledFraction: Double?
        public var predictedBreakdown: StepTimes
        public var measuredBreakdown: StepTimes
        /// Per step term both sides have (`StepTerm` names): (predicted - measured) / measured x 100,
        /// for terms of at least 2% of the measured step.
        public var termPercentErrors: [String: Double]
    }
    public struct Summary: Codable, Sendable {
        public var configurations: Int
        public var medianAbsPercentError: Double
        public var maxAbsPercentError: Double
        public var meanAbsPercentError: Double
        public init(_ errors: [Double]) {
            configurations = errors.count
            medianAbsPercentError = errors.isEmpty ? 0 : CalibrationFit.median(errors)
            maxAbsPercentError = errors.max() ?? 0
            meanAbsPercentError = errors.reduce(0, +) / Double(max(1, errors.count))
        }
    }
    public struct PlanCheck: Codable, Sendable {
        public var contextTokens: Int
        public var chosen: String
        public var chosenMeasuredTokensPerSecond: Double
        public var bestValidated: String
        public var bestMeasuredTokensPerSecond: Double
        /// chosen / best measured.
        public var ratio: Double
        public init(contextTokens: Int, chosen: String, chosenMeasuredTokensPerSecond: Double, bestValidated: String,
                    bestMeasuredTokensPerSecond: Double, ratio: Double) {
            self.contextTokens = contextTokens
            self.chosen = chosen
            self.chosenMeasuredTokensPerSecond = chosenMeasuredTokensPerSecond
            self.bestValidated = bestValidated
            self.bestMeasuredTokensPerSecond = bestMeasuredTokensPerSecond
            self.ratio = ratio
        }
    }
    public struct Report: Codable, Sendable {
        public var system: String
        /// The calibration's model and threads.
        public var model: String
        public var layers: Int
        public var threads: Int
        public var seed: UInt64
        public var date: String
        /// All rows, then the rows on the calibration's shape and threads, then the others.
        public var summary: Summary
        public var sameShape: Summary?
        public var transfer: Summary?
        /// Per step term: median and max |error| over the rows where the term is measurable.
        public var terms: [String: Summary]
        public var rows: [Row]
        public var planCheck: PlanCheck?
    }

    /// A shape and thread count to run: the calibration's, or one the prediction must transfer to.
    public struct Target: Sendable {
        public var shape: ModelShape
        public var threads: Int
        public init(shape: ModelShape, threads: Int) { self.shape = shape; self.threads = threads }
    }

    public var calibrator: LocalCalibrator
    public var hardware: Hardware
    public var engine: EngineParameters

    public init(calibrator: LocalCalibrator, hardware: Hardware, engine: EngineParameters) {
        self.calibrator = calibrator
        self.hardware = hardware
        self.engine = engine
    }

    public static func grid(quick: Bool) -> [(AttentionMode, Int, Int)] {
        let modes: [AttentionMode] = [.dense] + (quick ? [LocalCalibrator.lshSettings[0], LocalCalibrator.lshSettings[2]] : LocalCalibrator.lshSettings)
            .map { .lshSampled($0) }
        let points: [(Int, Int)] = quick ? [(1, 4096), (4, 4096)] : [(1, 4096), (4, 4096), (1, 16384), (4, 16384), (8, 8192)]
        return modes.flatMap { m in points.map { (m, $0.0, $0.1) } }
    }

    /// The calibration's own shape and threads.
    public var calibrated: Target { Target(shape: calibrator.shape, threads: calibrator.threads) }

    /// The calibrator that runs `target` (same layers and seed as the calibration).
    func runner(_ target: Target) -> LocalCalibrator {
        LocalCalibrator(shape: target.shape, layers: calibrator.layers, threads: target.threads, quick: calibrator.quick, seed: calibrator.seed)
    }

    public func costModel(context: Int, steps: Int, target: Target? = nil) -> DecodeCostModel {
        let t = target ?? calibrated
        var hw = hardware
        hw.threads = t.threads
        return DecodeCostModel(hardware: hw, workload: Workload(model: runner(t).runShape, contextTokens: context, generatedTokens: steps),
                               engine: engine,
                               fractions: SampledFractionModel(measured: hardware.calibration?.cpu?.syntheticSampledFractions ?? [], defaultCorrection: 1.5))
    }

    /// The prediction for a run, with the sampled fraction the run measured when it has one (a
    /// transfer check tests the timing model, not the fraction model: keys of other shapes are
    /// sampled at other rates).
    public func predict(_ mode: AttentionMode, batch: Int, context: Int, steps: Int, target: Target? = nil,
                        measuredFraction: Double? = nil) -> StepCost {
        let t = target ?? calibrated
        var model = costModel(context: context, steps: steps, target: t)
        if let measuredFraction, t.shape.name != calibrator.shape.name { model.fractions.override = measuredFraction }
        let config = DecodeConfiguration(batch: batch, attention: mode, placement: Placement(kvDevice: .cpu, cpuThreads: t.threads))
        return model.step(config, batch: Double(batch))
    }

    public func run(quick: Bool, steps: Int, repeats: Int = 1, targets: [Target]? = nil,
                    reusing cache: inout Executor.LoadedWeights?, progress: (String) -> Void) throws -> Report {
        let grid = Self.grid(quick: quick)
        let targets = targets ?? [calibrated]
        var rows: [Row] = []
        for target in targets {
            let run = runner(target)
            let label = targets.count > 1 ? "\(target.shape.name), \(target.threads) thread\(target.threads == 1 ? "" : "s"): " : ""
            // Weights are per shape: a new target starts from its own.
            if target.shape.name != targets.first?.shape.name { cache = nil }
            // Passes over the whole grid, so a slow spell of a shared machine hits one measurement
            // of several configurations rather than every measurement of one.
            var reports: [[ExecutorReport]] = Array(repeating: [], count: grid.count)
            for pass in 0..<max(1, repeats) {
                for (i, (mode, batch, context)) in grid.enumerated() {
                    let passLabel = repeats > 1 ? "pass \(pass + 1)/\(repeats), " : ""
                    progress("\(label)\(passLabel)\(i + 1)/\(grid.count): \(mode.label), batch \(batch), context \(context)")
                    reports[i].append(try Executor.run(run.request(mode, batch: batch, context: context, steps: steps), reusing: &cache))
                }
            }
            for (i, (mode, batch, _)) in grid.enumerated() {
                rows.append(row(Self.medianRun(reports[i]), mode: mode, batch: batch, steps: steps, target: target))
            }
        }
        return report(rows)
    }

    /// One row: the run against the prediction for its configuration, step and terms.
    func row(_ report: ExecutorReport, mode: AttentionMode, batch: Int, steps: Int, target: Target) -> Row {
        let predicted = predict(mode, batch: batch, context: report.promptTokens, steps: steps, target: target,
                                measuredFraction: report.measured.sampledFraction?.mean)
        let measured = report.measured.stepSeconds
        let termErrors = RunPrediction.termPercentErrors(predicted: predicted.terms, measured: report.measured.breakdown,
                                                         stepSeconds: measured)
        return Row(
            model: target.shape.name, threads: target.threads,
            transfer: target.shape.name != calibrator.shape.name || target.threads != calibrator.threads,
            attention: mode, batch: batch, contextTokens: report.promptTokens,
            predictedStepSeconds: predicted.stepSeconds, measuredStepSeconds: measured,
            predictedTokensPerSecond: predicted.tokensPerSecond, measuredTokensPerSecond: report.measured.tokensPerSecond,
            absPercentError: 100 * abs(predicted.stepSeconds - measured) / measured,
            predictedSampledFraction: predicted.sampledFraction, measuredSampledFraction: report.measured.sampledFraction?.mean,
            predictedBreakdown: predicted.terms, measuredBreakdown: report.measured.breakdown,
            termPercentErrors: termErrors)
    }

    /// The report over `rows`: all, same-shape and transfer summaries, and per-term errors.
    func report(_ rows: [Row]) -> Report {
        let same = rows.filter { !$0.transfer }.map(\.absPercentError), moved = rows.filter(\.transfer).map(\.absPercentError)
        var terms: [String: Summary] = [:]
        for term in Executor.measuredTerms {
            let errors = rows.compactMap { $0.termPercentErrors[term.rawValue] }.map(abs)
            if !errors.isEmpty { terms[term.rawValue] = Summary(errors) }
        }
        return Report(system: hardware.name, model: calibrator.shape.name, layers: calibrator.runShape.layerCount,
                      threads: calibrator.threads, seed: calibrator.seed, date: LocalCalibrator.today(),
                      summary: Summary(rows.map(\.absPercentError)), sameShape: same.isEmpty ? nil : Summary(same),
                      transfer: moved.isEmpty ? nil : Summary(moved), terms: terms, rows: rows, planCheck: nil)
    }

    /// The median run by step time (for two, the faster: noise only ever adds time).
    static func medianRun(_ reports: [ExecutorReport]) -> ExecutorReport {
        let sorted = reports.sorted { $0.measured.stepSeconds < $1.measured.stepSeconds }
        return sorted[(sorted.count - 1) / 2]
    }

    /// Runs `mode` at `batch` on the executor `repeats` times (for the plan check, like the grid)
    /// and returns the median run, reusing `cache`'s weights.
    public func measure(_ mode: AttentionMode, batch: Int, context: Int, steps: Int, repeats: Int = 1,
                        reusing cache: inout Executor.LoadedWeights?) throws -> ExecutorReport {
        var runs: [ExecutorReport] = []
        for _ in 0..<max(1, repeats) {
            runs.append(try Executor.run(calibrator.request(mode, batch: batch, context: context, steps: steps), reusing: &cache))
        }
        return Self.medianRun(runs)
    }

    // MARK: - Output

    public static func csv(_ report: Report) -> String {
        var lines = ["model,threads,transfer,attention,k,l,batch,contextTokens,predictedStepSeconds,measuredStepSeconds,predictedTokensPerSecond,measuredTokensPerSecond,absPercentError,predictedSampledFraction,measuredSampledFraction"]
        for r in report.rows {
            lines.append([r.model, "\(r.threads)", "\(r.transfer)", r.attention.name, r.attention.lsh.map { "\($0.hashBitsPerTable)" } ?? "", r.attention.lsh.map { "\($0.tableCount)" } ?? "",
                          "\(r.batch)", "\(r.contextTokens)", "\(r.predictedStepSeconds)", "\(r.measuredStepSeconds)",
                          "\(r.predictedTokensPerSecond)", "\(r.measuredTokensPerSecond)", "\(r.absPercentError)",
                          r.predictedSampledFraction.map { "\($0)" } ?? "", r.measuredSampledFraction.map { "\($0)" } ?? ""].map(CSV.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Two panels side by side: predicted vs measured step time with y = x, and tokens/s vs batch.
    public static func svg(_ report: Report) -> String {
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
        var left = SVGPlot(title: "decode step: predicted vs measured (median error \(Format.number(report.summary.medianAbsPercentError))%)",
                           xLabel: "measured step (s)", yLabel: "predicted step (s)")
        left.diagonal = true
        left.logScale = true
        var right = SVGPlot(title: "throughput vs batch (dots measured, lines predicted)", xLabel: "batch", yLabel: "tokens/s")
        right.xAxis = .integer
        let several = Set(report.rows.map { "\($0.model)/\($0.threads)" }).count > 1
        let key = { (r: Row) in several ? "\(r.model) \(r.threads)t \(r.attention.label)" : r.attention.label }
        let modes = Array(Set(report.rows.map(key))).sorted()
        for (i, mode) in modes.enumerated() {
            let rows = report.rows.filter { key($0) == mode }
            let color = colors[i % colors.count]
            left.series.append(.init(name: mode, points: rows.map { (x: $0.measuredStepSeconds, y: $0.predictedStepSeconds) }, color: color, connected: false))
            let context = rows.map(\.contextTokens).max() ?? 0
            let atContext = rows.filter { $0.contextTokens == context }
            right.series.append(.init(name: "\(mode) @\(TokenCount(context))", points: atContext.map { (x: Double($0.batch), y: $0.measuredTokensPerSecond) }, color: color, connected: false))
            right.series.append(.init(name: "", points: atContext.map { (x: Double($0.batch), y: $0.predictedTokensPerSecond) }, color: color, connected: true))
        }
        right.series = right.series.filter { !$0.points.isEmpty }
        let a = left.render(), b = right.render()
        // Side by side in one document.
        let strip = { (s: String) in s.split(separator: "\n").dropFirst().dropLast().joined(separator: "\n") }
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left.width + right.width))\" height=\"\(Int(left.height))\">\n<g>\n\(strip(a))\n</g>\n<g transform=\"translate(\(Int(left.width)),0)\">\n\(strip(b))\n</g>\n</svg>\n"
    }
}
