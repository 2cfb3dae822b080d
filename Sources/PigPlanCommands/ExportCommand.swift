import ArgumentParser
import Core
import Foundation
import Planning

/// `pigplan export`: the chosen plan as the executor's input file, or as a command line for the
/// MagicPIG reference implementation's benchmark.
public struct ExportCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the chosen plan for an executor: a plan file (--out), a MagicPIG command line (--target magicpig), or a serving engine's launch command (--target vllm, sglang or trtllm).")

    public enum Target: String, ExpressibleByArgument, CaseIterable, Sendable { case plan, magicpig, vllm, sglang, trtllm }

    @OptionGroup public var options: PlanOptions
    @Option(help: "plan: write a plan file for `pigplan run --plan`; magicpig: print the reference benchmark's command line; vllm, sglang, trtllm: print the engine's launch command for the best plan it can run (GPU-only attention).")
    public var target: Target = .plan
    @Option(help: "File to write: the plan file (plan target), or the command line(s) of the other targets; '-' prints it (the default for command lines).")
    public var out: String?

    public init() {}

    public func validate() throws {
        if target == .plan && out == nil { throw ValidationError("pass --out FILE (or --out - to print) for the plan file") }
    }

    /// The text of a command-line target: to --out when it names a file, else printed.
    func emit(_ text: String) throws {
        guard let out, out != "-" else { print(text, terminator: ""); return }
        try OutputFile.write(text, to: out, option: "--out")
        FileHandle.standardError.write(Data("wrote \(out)\n".utf8))
    }

    public func run() throws {
        // A plan for the reference implementation is optimized for its kernels and orchestration,
        // and is an LSH plan (the benchmark runs nothing else).
        let request = try options.request(defaultEngine: target == .magicpig ? "magicpig" : nil, lshOnly: target == .magicpig)
        if target == .magicpig, request.hardware.gpuCount > 1 {
            let view = request.hardware.perGPUView
            throw ValidationError("the MagicPIG reference runs one GPU per process, and \(request.hardware.name) has \(request.hardware.gpuCount); export the command for one of its GPUs with its share of the host (--hw \(request.hardware.gpu?.name ?? "GPU") --cpu \(request.hardware.cpu.name) --sockets 1 --threads \(view.threads) --cpu-memory \(Format.bytes(view.cpuMemoryBytes).replacingOccurrences(of: " ", with: ""))) and run one per GPU, or export --target vllm, sglang or trtllm")
        }
        let report = try PlanCommand.report(for: request)
        switch target {
        case .vllm, .sglang, .trtllm:
            let engine = ServingEngine(rawValue: target.rawValue)!
            guard let hf = request.model.huggingFaceId else {
                throw ValidationError("model '\(request.workload.model.name)' has no huggingFaceId in its profile; add one to print a \(engine.version) command")
            }
            let launch: ServingEngine.Launch
            do { launch = try engine.launch(report, huggingFaceId: hf, gpuMemoryBytes: request.hardware.gpuMemoryBytes) } catch {
                throw ValidationError(error.description)
            }
            try emit(launch.commands.map { $0.map(shellQuoted).joined(separator: " ") }.joined(separator: "\n") + "\n")
            var note = "note: for \(engine.version): tensor parallel \(launch.deployment.tensorParallel), batch \(launch.batch) per instance, \(Format.number(launch.tokensPerSecond)) tokens/s predicted on \(request.hardware.name)."
            for line in launch.notes { note += "\nnote: " + line }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        case .magicpig:
            try emit(try Self.magicPIGCommand(report, request: request) + "\n")
            var note = "note: the reference CPU kernels take their thread count at compile time: build them for \(report.plan.placement.cpuThreads) threads. Predicted with the \(report.plan.engine) engine: \(Format.number(report.prediction.tokensPerSecond)) tokens/s."
            if let faster = report.bestByKind.filter({ $0.name != .lsh && $0.name != .quest && $0.feasible })
                .max(by: { ($0.tokensPerSecond ?? 0) < ($1.tokensPerSecond ?? 0) }),
               let rate = faster.tokensPerSecond, rate > report.prediction.tokensPerSecond {
                note += " On this hardware \(faster.description) is faster: \(Format.number(rate)) tokens/s at batch \(faster.batch ?? 1)."
            }
            FileHandle.standardError.write(Data((note + "\n").utf8))
        case .plan:
            let file = PlanFile(
                model: options.workload.modelConfig ?? options.workload.model, modelShape: request.workload.model,
                contextTokens: request.workload.contextTokens, generatedTokens: request.workload.generatedTokens,
                batch: report.plan.batch,
                attention: report.plan.mode,
                placement: report.plan.placement, hardware: request.hardware.name, engine: report.plan.engine,
                predicted: .init(tokensPerSecond: report.prediction.tokensPerSecond, stepSeconds: report.prediction.stepSeconds,
                                 sampledFraction: report.prediction.sampledFraction),
                deployment: Deployment(tensorParallel: report.plan.tensorParallel, weights: WeightFormat(rawValue: report.plan.weights)))
            let text = try PlanRenderer.json(file)
            guard let out, out != "-" else { print(text, terminator: ""); return }
            try OutputFile.write(text, to: out, option: "--out")
            FileHandle.standardError.write(Data("wrote \(out): batch \(file.batch), \(file.attention.name)\(file.attention.lsh.map { " (K, L) = \($0)" } ?? ""), \(Format.number(report.prediction.tokensPerSecond)) tokens/s predicted\n".utf8))
        }
    }

    /// The reference implementation's `models/bench.py` flags: --model (Hugging Face id), --B
    /// (batch), --P (prompt tokens), --M (max tokens: prompt + generated), --K, --L; pinned with
    /// numactl to the planned cores and NUMA nodes.
    public static func magicPIGCommand(_ report: PlanReport, request: PlanRequest) throws -> String {
        guard let k = report.plan.k, let l = report.plan.l else {
            throw ValidationError("the MagicPIG benchmark runs LSH plans; this plan is dense (drop --attention dense)")
        }
        guard let hf = request.model.huggingFaceId else {
            throw ValidationError("model '\(request.workload.model.name)' has no huggingFaceId in its profile; add one to print a MagicPIG command")
        }
        let p = report.plan.placement
        let prompt = request.workload.contextTokens
        let maxTokens = prompt + request.workload.generatedTokens
        let nodes = (0..<p.cpuSockets).map(String.init).joined(separator: ",")
        // Every word quoted for a POSIX shell: profile strings (the Hugging Face id) come from files.
        let words = ["numactl", "-C", "0-\(p.cpuThreads - 1)", "-m", nodes, "python", "bench.py", "--model", hf,
                     "--B", "\(report.plan.batch)", "--P", "\(prompt)", "--M", "\(maxTokens)", "--K", "\(k)", "--L", "\(l)"]
        return "cd MagicPIG/models && " + words.map(shellQuoted).joined(separator: " ")
    }
}
