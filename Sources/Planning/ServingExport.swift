import Core
import Foundation

/// A plan as a launch command of a serving engine people run at scale (`pigplan export --target
/// vllm|sglang|trtllm`). These engines attend the whole KV cache in GPU memory: none samples keys
/// on the CPU, so an LSH plan cannot be handed to them, and the export takes the best plan the
/// engine can run (GPU-only dense attention) with its own predicted rate. The flags are those of
/// the versions in `version` (their help texts, recorded in Tests/CommandsTests/EngineFlags/engine-flags.json).
public enum ServingEngine: String, CaseIterable, Sendable {
    case vllm, sglang, trtllm

    /// The release whose command line is written.
    public var version: String {
        switch self {
        case .vllm: return "vLLM 0.6.3.post1"
        case .sglang: return "SGLang 0.4.1"
        case .trtllm: return "TensorRT-LLM 0.18.2 (trtllm-serve)"
        }
    }

    /// What the engine needs from the plan.
    public struct Launch: Sendable {
        /// One command per model instance (an engine without data parallelism in one process
        /// gets one command per instance, each on its own GPUs and port).
        public var commands: [[String]]
        /// What the user must know: checkpoints to use, what the engine cannot run.
        public var notes: [String]
        /// The plan exported, as the report's row of that kind.
        public var batch: Int
        public var deployment: Deployment
        public var tokensPerSecond: Double
    }

    /// Why a plan cannot be exported to this engine.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// The launch of `report`'s best plan this engine can run. `huggingFaceId` names the checkpoint.
    public func launch(_ report: PlanReport, huggingFaceId: String, gpuMemoryBytes: Double) throws(Refusal) -> Launch {
        var notes: [String] = []
        guard let dense = report.bestByKind.first(where: { $0.name == .gpuOnly }), dense.feasible,
              let batch = dense.batch, let rate = dense.tokensPerSecond else {
            let why = report.bestByKind.first { $0.name == .gpuOnly }?.note ?? "no GPU-only plan"
            throw Refusal(description: "\(version) keeps the whole KV cache in GPU memory, and no such plan fits here (\(why)); the \(report.plan.kind) plan needs an engine that attends on the CPU (export --target magicpig or plan)")
        }
        if report.plan.kind != .gpuOnly {
            notes.append("\(version) attends the whole KV cache in GPU memory and has no CPU-side sampled attention, so the \(report.plan.kind) plan (\(Format.number(report.prediction.tokensPerSecond)) tokens/s) cannot run on it; this is the best plan it can run: GPU-only, \(Format.number(rate)) tokens/s predicted.")
        }
        let deployment = dense.deployment ?? Deployment()
        let tp = deployment.tensorParallel
        let gpus = max(1, report.context.gpuCount)
        let replicas = max(1, gpus / tp)
        let maxLength = report.context.contextTokens + report.context.generatedTokens
        // The memory the engine may take: the plan's bytes on each GPU with 5% headroom (rounded
        // up to a hundredth), at most 0.95. TensorRT-LLM counts its KV pool as a share of what is
        // free once weights, activations and its own context are in place.
        let m = dense.memory ?? report.memory.detail
        func share(_ bytes: Double, of total: Double) -> Double {
            total > 0 ? min(0.95, (bytes * 1.05 / total * 100).rounded(.up) / 100) : 0.9
        }
        let fraction = self == .trtllm
            ? share(m.gpuKVCacheBytes + m.gpuExactBufferBytes, of: gpuMemoryBytes - m.gpuWeightsBytes - m.gpuReservedBytes - m.gpuActivationBytes)
            : share(m.gpuBytes, of: gpuMemoryBytes)
        let weights = deployment.weights ?? WeightFormat(rawValue: report.plan.weights) ?? .bf16
        let fp8KV = report.context.bytesPerKVElement == 1
        var words: [String]
        /// One command per instance, each on its own GPUs and port (engines without data
        /// parallelism in one process).
        func perInstance(_ words: [String]) -> Launch {
            notes.append("\(version) serves one instance per process: run the \(replicas) commands, one per group of \(tp) GPU(s), behind a load balancer.")
            return Launch(commands: (0..<replicas).map { r in
                let devices = (r * tp..<(r + 1) * tp).map(String.init).joined(separator: ",")
                return ["env", "CUDA_VISIBLE_DEVICES=\(devices)"] + words + ["--port", "\(8000 + r)"]
            }, notes: notes, batch: batch, deployment: deployment, tokensPerSecond: rate)
        }
        switch self {
        case .vllm:
            words = ["vllm", "serve", huggingFaceId, "--tensor-parallel-size", "\(tp)", "--max-model-len", "\(maxLength)",
                     "--max-num-seqs", "\(batch)", "--gpu-memory-utilization", "\(fraction)", "--dtype", "bfloat16"]
            if fp8KV { words += ["--kv-cache-dtype", "fp8"] }
            words += quantization(weights, model: huggingFaceId, notes: &notes)
            if replicas > 1 { return perInstance(words) }
        case .sglang:
            words = ["python", "-m", "sglang.launch_server", "--model-path", huggingFaceId, "--tp-size", "\(tp)",
                     "--context-length", "\(maxLength)", "--max-running-requests", "\(batch * replicas)",
                     "--mem-fraction-static", "\(fraction)", "--dtype", "bfloat16"]
            if replicas > 1 { words += ["--dp-size", "\(replicas)"] }
            if fp8KV { words += ["--kv-cache-dtype", "fp8_e5m2"] }
            words += quantization(weights, model: huggingFaceId, notes: &notes)
            if replicas > 1 { notes.append("--max-running-requests counts every data-parallel instance: \(batch) per instance.") }
        case .trtllm:
            words = ["trtllm-serve", huggingFaceId, "--tp_size", "\(tp)", "--max_seq_len", "\(maxLength)", "--max_batch_size", "\(batch)",
                     "--kv_cache_free_gpu_memory_fraction", "\(fraction)"]
            var precision: [String] = []
            if weights != .bf16 { precision.append("\(weights == .int4 ? "int4_awq" : weights.rawValue) weights") }
            if fp8KV { precision.append("fp8 KV cache") }
            if !precision.isEmpty {
                notes.append("trtllm-serve takes weight and KV precision from the checkpoint: quantize \(huggingFaceId) with NVIDIA ModelOpt first (\(precision.joined(separator: ", "))) and serve that directory.")
            }
            if replicas > 1 { return perInstance(words) }
        }
        return Launch(commands: [words], notes: notes, batch: batch, deployment: deployment, tokensPerSecond: rate)
    }

    /// The `--quantization` words of vLLM and SGLang for a weight format (fp8 quantises a bf16
    /// checkpoint on load; int8 and int4 need a GPTQ or AWQ checkpoint, said in a note).
    private func quantization(_ weights: WeightFormat, model: String, notes: inout [String]) -> [String] {
        switch weights {
        case .bf16: return []
        case .fp8: return ["--quantization", "fp8"]
        case .int8:
            notes.append("int8 weights: serve an 8-bit GPTQ checkpoint of \(model) in its place.")
            return ["--quantization", "gptq"]
        case .int4:
            notes.append("int4 weights: serve a 4-bit AWQ checkpoint (group size 128) of \(model) in its place.")
            return ["--quantization", "awq"]
        }
    }
}
