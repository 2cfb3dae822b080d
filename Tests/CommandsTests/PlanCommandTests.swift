import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// The plan command end to end (options -> request -> report), and every error path a user can hit.
@Suite struct PlanCommandTests {
    init() { quietProfileWarnings() }

    func report(_ arguments: [String]) throws -> PlanReport {
        try Planner.plan(try PlanOptions.parse(arguments).request())
    }

    /// The message ArgumentParser would print for `arguments`.
    func errorMessage(_ arguments: [String]) -> String? {
        do {
            let options = try PlanOptions.parse(arguments)
            _ = try PlanCommand.report(for: try options.request())
            return nil
        } catch {
            return PigPlanCommand.message(for: error)
        }
    }

    @Test func mainJobAnswers() throws {
        let r = try report(["--hw", "rtx4090", "--ctx", "96k"])
        #expect(r.plan.attention == "lsh")
        #expect(r.plan.batch >= 1)
        #expect(r.memory.gpuBytes <= r.memory.gpuAvailableBytes)
        #expect(r.memory.cpuBytes <= r.memory.cpuAvailableBytes)
        #expect((r.prediction.sampledFraction ?? 0) >= QualityTier.balanced.minSampledFraction)
        #expect(r.solver.status == "optimal")
        // An 8B model and a 96k context do not fit a 24 GB GPU without offloading.
        let gpuOnly = try #require(r.baselines.first { $0.name == .gpuOnly })
        #expect(!gpuOnly.feasible)
        #expect(gpuOnly.note?.contains("not even batch 1 fits") == true)
        #expect((r.speedupOverBestBaseline ?? 0) > 1)
    }

    @Test func jsonCarriesTheDocumentedKeys() throws {
        let r = try report(["--hw", "rtx4090", "--ctx", "96k"])
        let text = try PlanRenderer.render(r, format: .json, explain: false)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let plan = try #require(json["plan"] as? [String: Any])
        for key in ["batch", "k", "l", "placement", "engine"] { #expect(plan[key] != nil, "plan.\(key)") }
        let prediction = try #require(json["prediction"] as? [String: Any])
        for key in ["tokensPerSecond", "stepSeconds", "breakdown"] { #expect(prediction[key] != nil, "prediction.\(key)") }
        let memory = try #require(json["memory"] as? [String: Any])
        #expect(memory["gpuBytes"] is Double && memory["cpuBytes"] is Double)
        let baselines = try #require(json["baselines"] as? [[String: Any]])
        #expect(baselines.map { $0["name"] as? String } == ["gpu-only", "cpu-kv-dense", "quest"])
        for b in baselines { #expect(b["feasible"] is Bool) }
        let solver = try #require(json["solver"] as? [String: Any])
        #expect(solver["status"] as? String == "optimal")
        #expect(solver["seconds"] is Double)
        // Dense plans have the keys, null.
        let dense = try PlanRenderer.render(try report(["--hw", "h200", "--ctx", "32k", "--attention", "dense"]), format: .json, explain: false)
        let densePlan = try #require((try JSONSerialization.jsonObject(with: Data(dense.utf8)) as? [String: Any])?["plan"] as? [String: Any])
        #expect(densePlan["k"] is NSNull && densePlan["l"] is NSNull, "dense plan.k and plan.l present and null")
    }

    @Test func fixedBatchEvaluatesBaselinesAtThatBatch() throws {
        let r = try report(["--hw", "h200", "--ctx", "32k", "--batch", "4"])
        #expect(r.plan.batch == 4)
        for b in r.baselines where b.feasible { #expect(b.batch == 4, "\(b.name)") }
    }

    @Test func allThreeFixedEvaluatesOneConfiguration() throws {
        let r = try report(["--hw", "h200", "--ctx", "96k", "--batch", "2", "--k", "9", "--l", "120"])
        #expect(r.plan.batch == 2 && r.plan.k == 9 && r.plan.l == 120)
        #expect(r.plan.placement.extraDenseLayers == 0)
        #expect(r.prediction.schedule == .serial)
    }

    @Test func unknownHardwareListsKnownNames() {
        let message = errorMessage(["--hw", "tpu-v9", "--ctx", "96k"]) ?? ""
        #expect(message.contains("tpu-v9"))
        for name in ["rtx4090", "h200", "a100-80g", "h200-host16"] { #expect(message.contains(name), "\(name)") }
    }

    @Test func malformedProfileNamesFileKeyAndReason() throws {
        let dir = try makeTemporaryDirectory("cli")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("gpus"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = """
        {"schemaVersion": 1, "name": "bad", "memoryBytes": "lots", "memoryBandwidthBytesPerSecond": 1e12,
         "denseBF16FlopsPerSecond": 1e14, "defaultHost": "xeon-8480p", "source": "test",
         "link": {"generation": 4, "lanes": 16, "practicalBandwidthBytesPerSecond": 25e9, "latencySeconds": 5e-6}}
        """
        try bad.write(to: dir.appendingPathComponent("gpus/bad.json"), atomically: true, encoding: .utf8)
        // The broken file is skipped by plans that do not use it, and named by the one that does.
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--profiles-dir", dir.path]) == nil)
        let message = errorMessage(["--hw", "bad", "--ctx", "96k", "--profiles-dir", dir.path]) ?? ""
        #expect(message.contains("bad.json"))
        #expect(message.contains("memoryBytes"))
    }

    @Test(arguments: ["0", "-5", "-1k", "abc", "0k"])
    func badContextIsRejected(_ ctx: String) {
        // `--ctx=-5`: a separate `-5` would read as a flag.
        let message = errorMessage(["--hw", "rtx4090", "--ctx=\(ctx)"]) ?? ""
        #expect(message.contains(ctx))
        #expect(message.contains("at least 1 token") || message.contains("96k"))
    }

    @Test func missingContextAndHardwareSayWhatToPass() {
        #expect(errorMessage(["--hw", "rtx4090"])?.contains("--ctx") == true)
        #expect(errorMessage(["--ctx", "96k"])?.contains("--hw") == true)
    }

    @Test func impossibleLatencyNamesTheBoundAndTheFix() {
        let message = errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--max-latency", "1ms"]) ?? ""
        #expect(message.contains("latency"))
        #expect(message.contains("Raise --max-latency to at least"))
    }

    @Test func weightsLargerThanTheGPUNameGPUMemory() {
        let message = errorMessage(["--hw", "rtx4090", "--model", "llama-3.1-70b", "--ctx", "32k"]) ?? ""
        #expect(message.contains("GPU memory"))
        #expect(message.contains("141"))
    }

    @Test func contextLongerThanHostMemoryNamesCPUMemory() {
        let message = errorMessage(["--hw", "h200", "--ctx", "1M", "--cpu-memory", "64GB"]) ?? ""
        #expect(message.contains("CPU memory"))
        #expect(message.contains("--ctx"))
    }

    @Test func tablesTooLargeForAnyContextNameKAndL() {
        let message = errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--k", "16", "--l", "4096", "--batch", "1", "--cpu-memory", "256GB"]) ?? ""
        #expect(message.contains("CPU memory"))
        #expect(message.contains("--k / --l"))
        #expect(!message.contains("Lower --ctx"))
    }

    @Test func accuracyFloorThatNothingMeets() {
        let message = errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--k", "12", "--min-sampled-fraction", "0.5"]) ?? ""
        #expect(message.contains("accuracy floor"))
    }

    @Test func badFlagValuesAreRejected() {
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--batch", "0"])?.contains("--batch") == true)
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--gpu-memory", "lots"])?.contains("lots") == true)
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--threads", "999"])?.contains("--threads") == true)
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--engine", "vllm"])?.contains("magicpig") == true)
        #expect(errorMessage(["--hw", "rtx4090", "--ctx", "96k", "--model-config", "/nonexistent/config.json"])?.contains("config.json") == true)
    }

    /// Where GPU-only decoding wins (an H200 at 96k), the plan is GPU-only and the LSH plan is a
    /// row with its rate; fixing the attention keeps LSH and says what would be faster.
    @Test func thePlanIsTheBestOfAnyKind() throws {
        let r = try report(["--hw", "h200", "--ctx", "96k"])
        #expect(r.plan.kind == .gpuOnly && r.plan.mode == .dense && r.plan.placement.kvDevice == .gpu)
        let lsh = try #require(r.bestByKind.first { $0.name == .lsh })
        let lshRate = try #require(lsh.tokensPerSecond)
        #expect(lsh.feasible && lshRate < r.prediction.tokensPerSecond)
        for kind in r.bestByKind where kind.feasible && kind.name != .quest {
            #expect((kind.tokensPerSecond ?? 0) <= r.prediction.tokensPerSecond, "\(kind.name)")
        }
        let text = PlanRenderer.table(r, explain: false)
        #expect(text.contains("plan                 GPU-only full attention") && text.contains("best LSH plan"))
        let json = try PlanRenderer.json(r)
        #expect(json.contains("\"bestByKind\"") && json.contains("\"kind\" : \"gpu-only\""))
        // --attention lsh: the LSH plan, at the rate bestByKind gave it, and a verdict.
        let fixed = try report(["--hw", "h200", "--ctx", "96k", "--attention", "lsh"])
        #expect(fixed.plan.kind == .lsh && fixed.prediction.tokensPerSecond == lshRate)
        #expect(PlanRenderer.table(fixed, explain: false).contains("verdict: on this hardware GPU-only"))
        // Where GPU-only does not fit (an RTX 4090 at 96k), LSH wins.
        #expect(try report(["--hw", "rtx4090", "--ctx", "96k"]).plan.kind == .lsh)
    }

    /// The default runtime is the one a user can run: the reference with a GPU (pigplan's kernels
    /// as a what-if beside it), pigplan's executor on a CPU-only host; --engine still chooses.
    @Test func defaultEngineIsTheRunnableRuntime() throws {
        let gpu = try report(["--hw", "rtx4090", "--ctx", "96k"])
        #expect(gpu.plan.engine == "magicpig")
        let whatIf = try #require(gpu.whatIf?.first { $0.engine == "pigplan" })
        #expect(whatIf.tokensPerSecond > 0 && gpu.engineComparison == nil)
        #expect(try report(["--hw", "xeon-6338", "--ctx", "32k"]).plan.engine == "pigplan")
        let chosen = try report(["--hw", "rtx4090", "--ctx", "96k", "--engine", "pigplan"])
        #expect(chosen.plan.engine == "pigplan" && chosen.whatIf == nil)
    }

    @Test(arguments: ["rtx4090", "l40", "a100-80g", "h200", "a100-2s-8563c", "rtx4090-epyc"])
    func chosenPlansFitInMemory(_ hw: String) throws {
        for ctx in ["16k", "64k", "128k"] {
            let r = try report(["--hw", hw, "--ctx", ctx])
            #expect(r.memory.gpuBytes <= r.memory.gpuAvailableBytes, "\(hw) \(ctx)")
            #expect(r.memory.cpuBytes <= r.memory.cpuAvailableBytes, "\(hw) \(ctx)")
        }
    }

    @Test func tableOutputReadsWell() throws {
        let text = try PlanRenderer.render(try report(["--hw", "rtx4090", "--ctx", "96k"]), format: .table, explain: true)
        for line in ["predicted for the MagicPIG reference implementation", "plan ", "throughput", "where the time goes", "sampledAttention",
                     "the best plan of each kind", "what-if", "solver: optimal"] {
            #expect(text.contains(line), "\(line)")
        }
        let csv = try PlanRenderer.render(try report(["--hw", "rtx4090", "--ctx", "96k"]), format: .csv, explain: false)
        #expect(csv.split(separator: "\n").count == 5)
    }
}

extension PlanCommandTests {
    /// --attention dense names the plan by its kind (GPU-only with a GPU, dense over a CPU KV
    /// cache without), and LSH is reported as not considered rather than as a dense plan.
    @Test func denseOnlyIsNamedByItsKind() throws {
        let gpu = try report(["--hw", "h200", "--ctx", "32k", "--attention", "dense"])
        #expect(gpu.plan.kind == .gpuOnly && gpu.plan.mode == .dense)
        let lsh = try #require(gpu.bestByKind.first { $0.name == .lsh })
        #expect(!lsh.feasible && lsh.note?.contains("not considered") == true)
        let cpu = try report(["--hw", "xeon-6338", "--ctx", "8k", "--attention", "dense"])
        #expect(cpu.plan.kind == .cpuKVDense)
    }
}

extension PlanCommandTests {
    /// Weight and KV precisions as inputs: 70B does not fit an 80 GB GPU in bf16 and the message
    /// says which flag would help; with int4 weights it does, at the int4 byte count; an fp8 KV
    /// cache halves the KV bytes of the same configuration.
    @Test func precisionsChangeBytesAndFeasibility() throws {
        let bf16 = errorMessage(["--hw", "a100-80g", "--model", "llama-3.1-70b", "--ctx", "64k"]) ?? ""
        #expect(bf16.contains("GPU memory") && bf16.contains("bf16 weights need at least 2 x a100-80g")
                    && bf16.contains("with int4 weights 1 x a100-80g (--weights int4)"), "\(bf16)")
        let int4 = try report(["--hw", "a100-80g", "--model", "llama-3.1-70b", "--ctx", "64k", "--weights", "int4"])
        let params = try ProfileStore.builtIn().model("llama-3.1-70b").shape.parameterCount
        #expect(abs(int4.memory.detail.gpuWeightsBytes - params * (0.5 + 2.0 / 128)) < 1e-6 * params)
        #expect(int4.context.bytesPerWeight == WeightFormat.int4.bytesPerWeight)
        let fixed = ["--hw", "rtx4090", "--ctx", "96k", "--batch", "2", "--k", "10", "--l", "150"]
        let kv16 = try report(fixed), kv8 = try report(fixed + ["--kv-dtype", "fp8"])
        #expect(abs(kv8.memory.detail.cpuKVCacheBytes - kv16.memory.detail.cpuKVCacheBytes / 2) < 1)
        #expect(kv8.prediction.stepSeconds < kv16.prediction.stepSeconds)
    }
}
