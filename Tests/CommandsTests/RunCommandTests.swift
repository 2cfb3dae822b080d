import ArgumentParser
import Core
import Foundation
import Executor
import PigPlanCommands
import Planning
import Profiles
import Validation
import Testing

/// `pigplan run`: plan files in, measured report out, and its error paths.
@Suite(.serialized) struct RunCommandTests {
    @Test func exportedPlanRunsOnTheExecutor() throws {
        let dir = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("plan.json").path
        let export = try ExportCommand.parse(["--hw", "h200", "--model", "smollm2-135m", "--ctx", "1024", "--batch", "2",
                                              "--k", "8", "--l", "75", "--out", plan])
        try export.run()
        let run = try RunCommand.parse(["--plan", plan, "--layers", "2", "--steps", "3", "--threads", "1"])
        let request = try run.request(mode: try run.mode(matched: nil), measureQuality: false)
        #expect(request.batch == 2)
        #expect(request.attention == .lshSampled(LSHParameters(hashBitsPerTable: 8, tableCount: 75)))
        #expect(request.prompt == .syntheticTokens(count: 1024))
        if case .synthetic(let shape, let layers, _) = request.weights {
            #expect(shape.name == "smollm2-135m" && layers == 2)
        } else {
            Issue.record("expected synthetic weights")
        }
    }

    @Test(arguments: ["topk", "quest"])
    func matchedBudgetRunsAnLSHProbeFirst(_ mode: String) throws {
        let run = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "2", "--ctx", "600", "--steps", "2",
                                        "--attention", mode, "--k", "6", "--l", "40", "--threads", "1", "--format", "json"])
        let (probe, report) = try run.execute()
        // The probe ran LSH at the flags' (K, L) on the same prompt, and sampled something.
        let probed = try #require(probe)
        #expect(probed.attention == .lshSampled(LSHParameters(hashBitsPerTable: 6, tableCount: 40)))
        #expect(probed.promptTokens == report.promptTokens && probed.batch == report.batch)
        let fraction = try #require(probed.measured.sampledFraction?.mean)
        #expect(fraction > 0 && fraction < 1)
        // The run asked for used exactly that fraction as its budget.
        switch report.attention {
        case .topK(let budget): #expect(mode == "topk" && budget == fraction)
        case .quest(let pageSize, let budget): #expect(mode == "quest" && budget == fraction && pageSize == 16)
        default: Issue.record("ran \(report.attention.name), not \(mode)")
        }
        // A fixed budget runs no probe.
        let fixed = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "2", "--ctx", "600", "--steps", "1",
                                          "--attention", mode, "--budget", "0.05", "--threads", "1"])
        let (noProbe, fixedReport) = try fixed.execute()
        #expect(noProbe == nil)
        #expect(fixedReport.attention.name == mode)
    }

    @Test func badInputsSayWhatToDo() throws {
        let dir = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try "{\"schemaVersion\": 1}".write(to: bad, atomically: true, encoding: .utf8)
        let run = try RunCommand.parse(["--plan", bad.path])
        do { _ = try run.request(mode: .dense, measureQuality: false); Issue.record("accepted a bad plan") } catch {
            let message = RunCommand.message(for: error)
            #expect(message.contains("bad.json") && message.contains("pigplan export"))
        }
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "accepted" } catch { return RunCommand.message(for: error) }
        }
        #expect(message { _ = try RunCommand.parse(["--text", "x.txt"]) }.contains("--text needs --gguf"))
        #expect(message { _ = try RunCommand.parse(["--budget", "2"]) }.contains("--budget 2: give a fraction in (0, 1]"))
        #expect(message { _ = try RunCommand.parse(["--model", "smollm2-135m"]) }.contains("pass --ctx"))
        // A count written as a fraction is named by its key, not called invalid JSON.
        let export = dir.appendingPathComponent("plan.json")
        try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", export.path]).run()
        let text = try String(contentsOf: export, encoding: .utf8)
        let fractional = dir.appendingPathComponent("fractional.json")
        try text.replacingOccurrences(of: "\"contextTokens\" : 32768", with: "\"contextTokens\" : 256.5")
            .write(to: fractional, atomically: true, encoding: .utf8)
        let m = message { _ = try RunCommand.parse(["--plan", fractional.path]).request(mode: .dense, measureQuality: false) }
        #expect(m.contains("'contextTokens'") && m.contains("256.5") && m.contains("whole number") && !m.contains("not valid JSON"), "\(m)")
        let missing = message { _ = try RunCommand.parse(["--plan", dir.path + "/none.json"]).request(mode: .dense, measureQuality: false) }
        #expect(missing.contains("no such file") && !missing.contains("NSCocoaErrorDomain"), "\(missing)")
    }

    @Test func memoryLimitRefusesBeforeAllocating() throws {
        let run = try RunCommand.parse(["--model", "llama-3.1-8b", "--ctx", "96k", "--batch", "4", "--attention", "lsh", "--prefill", "synthetic",
                                        "--memory-limit", "8GB", "--steps", "2"])
        do { try run.run(); Issue.record("ran over the memory limit") } catch {
            let message = RunCommand.message(for: error)
            testLog(message)
            #expect(message.contains("GB"))
        }
    }
}

/// `run --predict` / `run --plan`: the run against the cost model's prediction of that very run.
@Suite struct RunPredictionTests {
    @Test func predictionCoversTheStepAndEveryMeasuredTerm() throws {
        let run = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "2", "--ctx", "600", "--steps", "2",
                                        "--attention", "lsh", "--k", "6", "--l", "40", "--threads", "1"])
        let (_, report) = try run.execute()
        let store = try ProfileStore.builtIn()
        let hardware = try store.resolveHardware(name: "h200", threads: 1)
        let prediction = RunPrediction(report: report, hardware: hardware,
                                       engine: try Planner.engine(named: "pigplan", store: store, hardware: hardware))
        #expect(prediction.measuredStepSeconds == report.measured.stepSeconds)
        #expect(prediction.predictedStepSeconds > 0 && prediction.predictedStepSeconds.isFinite)
        let step = try #require(prediction.errors["step"])
        #expect(abs(step - 100 * (prediction.predictedStepSeconds - report.measured.stepSeconds) / report.measured.stepSeconds) < 1e-9)
        // Every measured term of at least 2% of the step has its error, and the terms are the
        // cost model's names.
        #expect(prediction.measuredTerms.terms == Executor.measuredTerms)
        for (term, seconds) in prediction.measuredTerms.named where seconds >= 0.02 * report.measured.stepSeconds && seconds > 0 {
            #expect(prediction.errors[term.rawValue] != nil, "\(term)")
            #expect(prediction.predictedTerms.value(term) != nil, "\(term)")
        }
        #expect(prediction.measuredTerms[.sampledAttention] > 0)
        // The prompts ran through the model: prefill (with the index build) predicted and measured.
        let predicted = try #require(prediction.predictedPrefillSeconds), measured = try #require(prediction.measuredPrefillSeconds)
        #expect(measured == report.measured.prefillSeconds + report.measured.indexBuildSeconds)
        #expect(abs(try #require(prediction.errors["prefill"]) - 100 * (predicted - measured) / measured) < 1e-9)
    }

    @Test func predictWithoutACalibratedSystemSaysWhatToRun() throws {
        let run = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "1", "--ctx", "600", "--steps", "1",
                                        "--predict", "--system", "no-such-system"])
        do { try run.run(); Issue.record("ran without a calibrated system") } catch {
            let message = RunCommand.message(for: error)
            #expect(message.contains("no-such-system") && message.contains("pigplan calibrate"), "\(message)")
        }
    }
}
