import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// Multi-GPU nodes end to end: the issue's two commands answer with a tensor-parallel plan,
/// precision is a decision, infeasibility names the GPUs or precision that would fit, and the
/// serving-engine exports use only flags their versions have.
@Suite struct MultiGPUTests {
    func report(_ arguments: [String]) throws -> PlanReport {
        try PlanCommand.report(for: try PlanOptions.parse(arguments).request())
    }

    func errorMessage(_ arguments: [String]) -> String? {
        do { _ = try report(arguments); return nil } catch { return PigPlanCommand.message(for: error) }
    }

    @Test(arguments: [(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k"], 8),
                      (["--hw", "4xa100-80g", "--model", "llama-3.1-70b", "--ctx", "64k"], 4)])
    func nodesPlanSeventyB(_ arguments: [String], gpus: Int) throws {
        let r = try report(arguments)
        #expect(r.context.gpuCount == gpus)
        #expect(gpus % r.plan.tensorParallel == 0 && r.plan.replicas * r.plan.tensorParallel == gpus)
        // 70B in bf16 (141 GB) needs at least two 80 GB GPUs.
        #expect(r.plan.tensorParallel >= 2 && r.plan.weights == "bf16")
        #expect(r.memory.gpuBytes <= r.memory.gpuAvailableBytes)
        #expect(r.prediction.tokensPerSecond > 0 && r.prediction.breakdown[.tensorParallel] > 0)
        // Every kind is reported, with its deployment when feasible.
        #expect(Set(r.bestByKind.map(\.name)) == [.lsh, .gpuOnly, .cpuKVDense, .quest])
        for kind in r.bestByKind where kind.feasible { #expect(kind.deployment != nil) }
    }

    @Test func precisionIsADecisionWithAuto() throws {
        let fixed = try report(["--hw", "a100-80g", "--model", "llama-3.1-70b", "--ctx", "64k", "--weights", "int4"])
        let auto = try report(["--hw", "a100-80g", "--model", "llama-3.1-70b", "--ctx", "64k", "--weights", "auto"])
        // bf16 does not fit one A100; auto takes the best of the formats that do, so it is never
        // slower than int4 alone.
        #expect(auto.plan.weights != "bf16")
        #expect(auto.prediction.tokensPerSecond >= fixed.prediction.tokensPerSecond * (1 - 1e-12))
    }

    @Test func tensorParallelDegreeIsCheckedAgainstTheNode() {
        let message = errorMessage(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k", "--tp", "3"]) ?? ""
        #expect(message.contains("--tp 3") && message.contains("does not divide the 8 GPU(s)") && message.contains("1, 2, 4, 8"), "\(message)")
    }

    @Test func fixedTensorParallelDegreeIsKept() throws {
        let r = try report(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "32k", "--tp", "4"])
        #expect(r.plan.tensorParallel == 4 && r.plan.replicas == 2)
    }

    @Test func nodeWithTensorParallelismFixedTooLowNamesTheDegree() {
        let message = errorMessage(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "32k", "--tp", "1"]) ?? ""
        #expect(message.contains("bf16 weights need at least 2 x h100 (--tp 2)") && message.contains("(--weights int4)"), "\(message)")
    }

    @Test func oneGPUTooSmallNamesGPUCountAndPrecision() {
        let message = errorMessage(["--hw", "h100", "--model", "llama-3.1-70b", "--ctx", "32k"]) ?? ""
        #expect(message.contains("bf16 weights need at least 2 x h100") && message.contains("with int4 weights 1 x h100 (--weights int4)"), "\(message)")
    }
}

/// `export --target vllm|sglang|trtllm` against the flag lists of the engine versions
/// (EngineFlags/engine-flags.json, with where each list comes from).
@Suite struct ServingExportTests {
    struct EngineFlags: Decodable {
        var version: String
        var source: String
        var command: [String]
        var flags: [String: Rule]
        enum Rule: Decodable {
            case kind(String), choices([String])
            init(from decoder: any Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let list = try? c.decode([String].self) { self = .choices(list) } else { self = .kind(try c.decode(String.self)) }
            }
        }
    }

    static let flags: [String: EngineFlags] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("EngineFlags/engine-flags.json")
        var object = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        object.removeValue(forKey: "_about")
        let data = try! JSONSerialization.data(withJSONObject: object)
        return try! JSONDecoder().decode([String: EngineFlags].self, from: data)
    }()

    /// The words `export` prints for `arguments`, one command per line, and its notes.
    func export(_ arguments: [String]) throws -> (commands: [[String]], notes: String) {
        let command = try PigPlanCommand.parseAsRoot(["export"] + arguments) as! ExportCommand
        let request = try command.options.request()
        let report = try PlanCommand.report(for: request)
        let engine = try #require(ServingEngine(rawValue: command.target.rawValue))
        let launch = try engine.launch(report, huggingFaceId: try #require(request.model.huggingFaceId),
                                       gpuMemoryBytes: request.hardware.gpuMemoryBytes)
        return (launch.commands, launch.notes.joined(separator: "\n"))
    }

    /// Every flag of `words` (after the engine's command and, for some, a leading env and the
    /// model) is in the engine's list, with a value of the kind or among the choices listed.
    func check(_ words: [String], engine: String) throws {
        let spec = try #require(Self.flags[engine])
        var rest = words
        if rest.first == "env" { rest.removeFirst(2) }
        #expect(Array(rest.prefix(spec.command.count)) == spec.command, "\(words)")
        rest.removeFirst(spec.command.count)
        if !(rest.first?.hasPrefix("--") ?? true) { rest.removeFirst() }  // the model (positional)
        #expect(rest.count % 2 == 0, "\(rest)")
        var i = 0
        while i + 1 < rest.count {
            let flag = rest[i], value = rest[i + 1]
            guard let rule = spec.flags[flag] else {
                Issue.record("\(spec.version) has no flag \(flag) (\(spec.source))")
                i += 2; continue
            }
            switch rule {
            case .choices(let list): #expect(list.contains(value), "\(flag) \(value) is not among \(list)")
            case .kind("integer"): #expect(Int(value).map { $0 >= 1 } == true, "\(flag) \(value)")
            case .kind("fraction"): #expect(Double(value).map { $0 > 0 && $0 <= 1 } == true, "\(flag) \(value)")
            case .kind: #expect(!value.isEmpty)
            }
            i += 2
        }
    }

    @Test(arguments: ["vllm", "sglang", "trtllm"])
    func exportUsesOnlyTheEnginesFlags(_ engine: String) throws {
        for extra in [[], ["--weights", "auto", "--kv-dtype", "fp8"], ["--weights", "fp8"], ["--tp", "4"]] {
            let (commands, _) = try export(["--target", engine, "--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k"] + extra)
            for words in commands { try check(words, engine: engine) }
        }
    }

    @Test func exportCarriesThePlan() throws {
        let (commands, _) = try export(["--target", "vllm", "--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k", "--tp", "4"])
        // Two instances of 4 GPUs: one vLLM process each, on its own GPUs and port.
        #expect(commands.count == 2)
        let words = try #require(commands.last)
        #expect(words.contains("CUDA_VISIBLE_DEVICES=4,5,6,7") && words.contains("8001"))
        func value(_ flag: String) -> String? { words.firstIndex(of: flag).map { words[$0 + 1] } }
        #expect(value("--tensor-parallel-size") == "4")
        #expect(value("--max-model-len") == "\(128 * 1024 + 128)")
        let (sglang, _) = try export(["--target", "sglang", "--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k", "--tp", "4"])
        #expect(sglang.count == 1 && sglang[0].contains("--dp-size"))
    }

    @Test func lshPlansAreExplainedAndTheRunnablePlanExported() throws {
        // On two RTX 4090s at 96k the LSH plan wins; vLLM cannot sample on the CPU.
        let (commands, notes) = try export(["--target", "vllm", "--hw", "2xrtx4090", "--ctx", "96k"])
        #expect(commands.count >= 1)
        #expect(notes.contains("cannot run on it") && notes.contains("GPU-only"), "\(notes)")
    }

    @Test func magicPIGExportRefusesANode() {
        do {
            let command = try PigPlanCommand.parseAsRoot(["export", "--target", "magicpig", "--hw", "8xh100", "--ctx", "32k"])
            let c = command as! ExportCommand
            try c.run()
            Issue.record("expected a refusal")
        } catch {
            let message = PigPlanCommand.message(for: error)
            #expect(message.contains("one GPU per process"), "\(message)")
        }
    }
}

extension MultiGPUTests {
    /// `--nodes`: each node plans half the layers; the full pipeline delivers replicas x B per
    /// stage period, and a single batch leaves (N - 1) / N of the time idle.
    @Test func pipelineOverNodesOnPaper() throws {
        let arguments = ["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "128k"]
        let request = try PlanOptions.parse(arguments).request()
        let p = try Planner.pipeline(request, nodes: 2)
        #expect(p.layersPerNode == 40 && p.microBatches == 2 && p.bubbleFraction == 0.5)
        let replicas = Double(8 / p.deployment.tensorParallel)
        #expect(abs(p.tokensPerSecond - replicas * Double(p.batch) / (p.stageSeconds + p.transferSeconds)) < 1e-9 * p.tokensPerSecond)
        #expect(abs(p.oneBatchTokensPerSecond - p.tokensPerSecond / 2) < 1e-12 * p.tokensPerSecond)
        // B x h x 2 bytes over 50 GB/s after 5 us.
        #expect(abs(p.transferSeconds - (5e-6 + Double(p.batch) * 8192 * 2 / 50e9)) < 1e-15)
        // Half the layers on each node leave room for more sequences than one node holds.
        let one = try report(arguments)
        #expect(p.batch >= one.plan.batch)
        do {
            _ = try PigPlanCommand.parseAsRoot(["plan"] + arguments + ["--nodes", "1"])
            Issue.record("--nodes 1 accepted")
        } catch {
            #expect(PigPlanCommand.message(for: error).contains("--nodes 1: give 2 to 64 nodes"))
        }
    }
}
