import Core
import CostModel
import Executor

/// What the cost model predicts for a run the executor made, on the calibrated system it ran on:
/// the same layers (and dense layers), batch, context, steps, threads and attention, at the
/// sampled fraction the run measured, against what it measured, step and term by term.
public struct RunPrediction: Codable, Sendable {
    public var system: String
    public var predictedStepSeconds: Double
    public var measuredStepSeconds: Double
    public var predictedTokensPerSecond: Double
    /// Seconds per step by term (`StepTerm` names), predicted and measured.
    public var predictedTerms: StepTimes
    public var measuredTerms: StepTimes
    /// Prefill of the prompts with the key index built (time to first token), predicted and
    /// measured; nil when the run made its KV cache synthetically.
    public var predictedPrefillSeconds: Double?
    public var measuredPrefillSeconds: Double?
    /// Signed percent errors, (predicted - measured) / measured: `step`, each term that is at
    /// least 2% of the measured step, and `prefill` when the model ran the prompts.
    public var errors: [String: Double]

    /// The prediction for `report` on `hardware` (a calibrated system of this machine) with
    /// `engine` (the fitted pigplan engine).
    public init(report: ExecutorReport, hardware: Hardware, engine: EngineParameters) {
        var shape = report.shape
        shape.denseLayers = report.denseLayers
        var hw = hardware
        hw.threads = report.threads
        var model = DecodeCostModel(
            hardware: hw, workload: Workload(model: shape, contextTokens: report.promptTokens, generatedTokens: report.decodeSteps),
            engine: engine,
            fractions: SampledFractionModel(measured: hardware.calibration?.cpu?.syntheticSampledFractions ?? [], defaultCorrection: 1.5))
        if let f = report.measured.sampledFraction?.mean { model.fractions.override = f }
        let config = DecodeConfiguration(batch: report.batch, attention: report.attention,
                                         placement: Placement(kvDevice: .cpu, cpuThreads: report.threads))
        let cost = model.step(config, batch: Double(report.batch))
        system = hardware.name
        predictedStepSeconds = cost.stepSeconds
        measuredStepSeconds = report.measured.stepSeconds
        predictedTokensPerSecond = cost.tokensPerSecond
        predictedTerms = cost.terms
        var errors = Self.termPercentErrors(predicted: cost.terms, measured: report.measured.breakdown,
                                            stepSeconds: report.measured.stepSeconds)
        if report.measured.stepSeconds > 0 {
            errors["step"] = 100 * (cost.stepSeconds - report.measured.stepSeconds) / report.measured.stepSeconds
        }
        if report.prefill == .model {
            let predicted = model.prefillSeconds(config, batch: Double(report.batch))
            let measuredPrefill = report.measured.prefillSeconds + report.measured.indexBuildSeconds
            predictedPrefillSeconds = predicted
            measuredPrefillSeconds = measuredPrefill
            if measuredPrefill > 0 { errors["prefill"] = 100 * (predicted - measuredPrefill) / measuredPrefill }
        }
        measuredTerms = report.measured.breakdown
        self.errors = errors
    }

    /// Signed percent errors, (predicted - measured) / measured, of every term the executor
    /// measures that is at least 2% of the measured step (smaller terms are timer noise).
    public static func termPercentErrors(predicted: StepTimes, measured: StepTimes, stepSeconds: Double) -> [String: Double] {
        var errors: [String: Double] = [:]
        for term in measured.terms {
            let m = measured[term]
            guard m > 0, m >= 0.02 * stepSeconds else { continue }
            errors[term.rawValue] = 100 * (predicted[term] - m) / m
        }
        return errors
    }
}
