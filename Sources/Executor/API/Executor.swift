import CKernels
import Core
import Foundation

/// Runs Llama-architecture decoding on the CPU with dense, MagicPIG (LSH-sampled), TopK or Quest
/// attention and measures speed, sampled fractions and quality.
public enum Executor {
    /// A request resolved to a shape and prompt tokens (GGUF header and tokenizer read).
    struct Resolved {
        var shape: ModelShape
        var file: GGUFFile?
        var tokenizer: BPETokenizer?
        var tokens: [[Int]]
        var precision: WeightPrecision
        var threads: Int
        var denseLayers: [Int]
        var promptLength: Int
        var capacity: Int
    }

    /// Bytes the request needs, by part, without allocating the model.
    public static func memoryRequirement(_ request: ExecutorRequest) throws -> MemoryRequirement {
        requirement(request, try resolve(request))
    }

    static func requirement(_ r: ExecutorRequest, _ v: Resolved) -> MemoryRequirement {
        var s = v.shape
        s.bytesPerWeight = v.precision == .native ? (v.file?.storedBytesPerElement ?? 2) : Double(v.precision.bytesPerWeight)
        let units = r.batch * s.kvHeadCount
        let span = HashedSpan(promptLength: v.promptLength)
        let hashedLayers = r.attention == .dense || span.isEmpty ? 0 : (0..<s.layerCount).filter { !v.denseLayers.contains($0) }.count
        var index = 0.0, scratch = 0.0
        switch r.attention {
        case .lshSampled(let p):
            index = Double(hashedLayers) * LSHLayerIndex.bytes(p, units: units, keys: span.count, headDim: s.headDim)
            scratch += Double(min(v.threads, units)) * LSHLayerIndex.buildScratchBytes(p, keys: span.count, headDim: s.headDim)
        case .quest(let ps, _):
            index = Double(hashedLayers) * QuestLayerIndex.bytes(pageSize: ps, units: units, keys: span.count, headDim: s.headDim)
        case .topK, .dense: break
        }
        scratch += DecodeAttention.scratchBytes(shape: s, batch: r.batch, promptLength: v.promptLength, mode: r.attention, threads: v.threads)
        if r.measureQuality, case .lshSampled = r.attention {
            // The TopK comparison pass keeps its own scratch alongside.
            scratch += DecodeAttention.scratchBytes(shape: s, batch: r.batch, promptLength: v.promptLength, mode: .topK(budgetFraction: 0.1), threads: v.threads)
        }
        let rows = max(Decoder.defaultChunkRows, r.batch)
        return MemoryRequirement(
            weightsBytes: s.weightBytes,
            kvCacheBytes: KVCache.bytes(layers: s.layerCount, batch: r.batch, kvHeads: s.kvHeadCount, headDim: s.headDim, capacity: v.capacity),
            indexBytes: index, scratchBytes: scratch,
            activationBytes: Decoder.activationBytes(shape: s, rows: rows, logitRows: r.batch + 1))
    }

    /// Memory this process can be given, bytes: MemAvailable from /proc/meminfo, and, inside a
    /// container, no more than its control group's limit less what the group already uses
    /// (cgroup v2 memory.max - memory.current, or v1 memory.limit_in_bytes - memory.usage_in_bytes);
    /// nil when none is known.
    public static func availableMemoryBytes() -> Double? {
        let host = memoryInfoBytes("MemAvailable")
        guard let group = cgroupHeadroomBytes() else { return host }
        return host.map { min($0, group) } ?? group
    }

    /// The control group's memory limit less its usage, bytes; nil without a limit.
    static func cgroupHeadroomBytes(root: String = "/sys/fs/cgroup") -> Double? {
        func number(_ path: String) -> Double? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            return Double(text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        // This process's groups from /proc/self/cgroup: "0::/path" (v2), "N:memory:/path" (v1).
        var v2 = "", v1 = ""
        if let text = try? String(contentsOfFile: "/proc/self/cgroup", encoding: .utf8) {
            for line in text.split(separator: "\n") {
                let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count == 3 else { continue }
                if parts[0] == "0" && parts[1].isEmpty { v2 = String(parts[2]) }
                if parts[1].split(separator: ",").contains("memory") { v1 = String(parts[2]) }
            }
        }
        var headroom: [Double] = []
        for dir in Set([root + v2, root]) {
            // "max" (no limit) does not parse and is skipped.
            if let limit = number(dir + "/memory.max"), let used = number(dir + "/memory.current") {
                headroom.append(max(0, limit - used))
            }
        }
        // v1: a limit near 2^63 means none.
        for dir in Set([root + "/memory" + v1, root + "/memory"]) {
            if let limit = number(dir + "/memory.limit_in_bytes"), limit < 1e18, let used = number(dir + "/memory.usage_in_bytes") {
                headroom.append(max(0, limit - used))
            }
        }
        return headroom.min()
    }

    /// Where `availableMemoryBytes` came from, for messages.
    static var memorySource: String {
        cgroupHeadroomBytes() != nil ? "the container's memory limit (cgroup) and MemAvailable" : "MemAvailable in /proc/meminfo"
    }

    /// A field of /proc/meminfo (e.g. "MemTotal"), bytes; nil when unknown.
    public static func memoryInfoBytes(_ field: String) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kb = Double(parts[1]) { return kb * 1024 }
        }
        return nil
    }

    static func validate(_ r: ExecutorRequest) throws {
        func bad(_ f: String, _ why: String) -> ExecutorError { .invalidRequest(field: f, reason: why) }
        guard r.batch >= 1 else { throw bad("batch", "must be at least 1 (got \(r.batch))") }
        // Sizes are bounded before anything is allocated from them.
        guard r.batch <= Limits.maxBatch else { throw bad("batch", "at most \(Limits.maxBatch) sequences (got \(r.batch))") }
        guard r.decodeSteps <= Limits.maxDecodeSteps else { throw bad("decodeSteps", "at most \(Limits.maxDecodeSteps) (got \(r.decodeSteps))") }
        if case .syntheticTokens(let count) = r.prompt {
            guard count <= Limits.maxPromptTokens else { throw bad("prompt.count", "at most 2^26 prompt tokens per sequence (got \(count))") }
            // The prompt tokens themselves (8 bytes each), before the KV cache they will need.
            let tokenBytes = Double(r.batch) * Double(max(0, count)) * 8
            if let limit = r.memoryLimitBytes, tokenBytes > limit {
                throw ExecutorError.invalidRequest(field: "prompt.count", reason: "\(r.batch) x \(count) prompt tokens alone need \(Int(tokenBytes)) bytes, above the memory limit")
            }
            if let available = availableMemoryBytes(), tokenBytes > available {
                throw ExecutorError.invalidRequest(field: "prompt.count", reason: "\(r.batch) x \(count) prompt tokens alone need \(Int(tokenBytes)) bytes, more than this machine has available")
            }
        }
        guard r.decodeSteps >= 0 else { throw bad("decodeSteps", "must not be negative") }
        if let t = r.threads, t < 1 || t > Limits.maxThreads { throw bad("threads", "1 to \(Limits.maxThreads) (got \(t))") }
        if let m = r.memoryLimitBytes, !(m > 0) { throw bad("memoryLimitBytes", "must be positive") }
        switch r.attention {
        case .lshSampled(let p):
            do { _ = try LSHParameters(checkingHashBits: p.hashBitsPerTable, tableCount: p.tableCount) } catch {
                throw bad("attention", error.description)
            }
        case .topK(let f):
            guard f > 0 && f <= 1 else { throw bad("attention.budgetFraction", "must be in (0, 1] (got \(f))") }
        case .quest(let ps, let f):
            guard ps >= 1 else { throw bad("attention.pageSize", "must be at least 1") }
            guard f > 0 && f <= 1 else { throw bad("attention.budgetFraction", "must be in (0, 1] (got \(f))") }
        case .dense: break
        }
        if case .synthetic(let shape, let layers, _) = r.weights {
            guard shape.layerCount >= 1, shape.hiddenSize >= 1, shape.intermediateSize >= 1, shape.vocabSize >= 2,
                  shape.queryHeadCount >= 1, shape.kvHeadCount >= 1, shape.queryHeadCount % shape.kvHeadCount == 0,
                  shape.headDim >= 2, shape.headDim % 2 == 0
            else { throw bad("weights.shape", "needs positive sizes, H_q a multiple of H_kv and an even head dimension") }
            guard shape.groupSize <= 8 else { throw bad("weights.shape", "GQA groups larger than 8 query heads are not supported") }
            guard shape.headDim <= 512 else { throw bad("weights.shape", "head dimensions above 512 are not supported") }
            if let l = layers, l < 1 { throw bad("weights.layers", "must be at least 1") }
            if let l = layers, l > shape.layerCount { throw bad("weights.layers", "the model has \(shape.layerCount) layers (got \(l))") }
            if case .text = r.prompt { throw bad("prompt", "text prompts need GGUF weights (synthetic models have no tokenizer)") }
        }
        if r.prefill == .syntheticCache && r.measureQuality {
            throw bad("prefill", "quality needs a real prefill (.model): a synthetic cache has no text to predict")
        }
    }

    static func resolve(_ r: ExecutorRequest) throws -> Resolved {
        try validate(r)
        let threads = r.threads ?? ParallelRunner.availableCores
        var shape: ModelShape
        var file: GGUFFile? = nil
        var tokenizer: BPETokenizer? = nil
        let precision: WeightPrecision
        switch r.weights {
        case .gguf(let path):
            let f = try GGUFFile(path: path)
            shape = try GGUFModelLoader.shape(of: f)
            file = f
            precision = r.weightPrecision ?? .native
            do { tokenizer = try BPETokenizer(gguf: f) } catch {
                if case .text = r.prompt { throw ExecutorError.tokenizer("\(path): \(error)") }
            }
        case .synthetic(let s, let layers, _):
            shape = s
            if let l = layers { shape.layerCount = min(l, s.layerCount) }
            precision = r.weightPrecision ?? .f16
        }
        guard shape.groupSize <= 8, shape.headDim <= 512 else {
            throw ExecutorError.invalidRequest(field: "weights", reason: "GQA group \(shape.groupSize) or head dim \(shape.headDim) not supported")
        }
        var tokens: [[Int]]
        switch r.prompt {
        case .text(let text):
            guard let tk = tokenizer else { throw ExecutorError.invalidRequest(field: "prompt", reason: "text needs a tokenizer") }
            let ids = r.maxPromptTokens.map { tk.encode(text, maxTokens: $0, parseSpecial: r.parseSpecialTokens) }
                ?? tk.encode(text, parseSpecial: r.parseSpecialTokens)
            tokens = Array(repeating: ids, count: r.batch)
        case .syntheticTokens(let count):
            guard count >= 1 else { throw ExecutorError.invalidRequest(field: "prompt.count", reason: "must be at least 1") }
            tokens = (0..<r.batch).map { b in
                var g = SplitMix64(seed: r.seed ^ (UInt64(b + 1) &* 0xA24B_AED4_963E_E407))
                return (0..<count).map { _ in Int(g.next() % UInt64(shape.vocabSize)) }
            }
        }
        // Ids the tokenizer produced (BOS, EOS, merges) index the embedding: a GGUF whose
        // metadata names an id past the vocabulary is refused here, not read out of bounds.
        if let bad = tokens.lazy.flatMap({ $0 }).first(where: { $0 < 0 || $0 >= shape.vocabSize }) {
            throw ExecutorError.tokenizer("the tokenizer produced token id \(bad), outside the model's vocabulary of \(shape.vocabSize) (check the GGUF's tokenizer.ggml.* ids)")
        }
        let n = tokens[0].count
        let held = r.measureQuality ? r.decodeSteps : 0
        guard n - held >= 1 else {
            throw ExecutorError.promptTooShort(tokens: n, needed: held + 1,
                reason: r.measureQuality ? "quality holds out the last decodeSteps tokens as targets" : "decoding needs a prompt")
        }
        if r.measureQuality && r.decodeSteps < 2 {
            throw ExecutorError.invalidRequest(field: "decodeSteps", reason: "quality needs at least 2 positions")
        }
        let dense = (r.denseLayers ?? shape.denseLayers).filter { $0 >= 0 && $0 < shape.layerCount }
        return Resolved(shape: shape, file: file, tokenizer: tokenizer, tokens: tokens, precision: precision,
                        threads: threads, denseLayers: dense, promptLength: n - held, capacity: n - held + max(r.decodeSteps, held) + 1)
    }

    /// Loads, prefills, decodes and measures. Throws before allocating when memory would not fit.
    public static func run(_ request: ExecutorRequest, progress: ExecutorProgressHandler? = nil) throws -> ExecutorReport {
        var cache: LoadedWeights? = nil
        return try run(request, reusing: &cache, progress: progress)
    }

    /// Weights loaded for one request, kept to serve the next ones with the same weights
    /// (calibration and validation run many configurations of one model).
    public struct LoadedWeights: @unchecked Sendable {
        let source: ExecutorRequest.Weights
        let precision: WeightPrecision
        let weights: ModelWeights
    }

    /// Like `run(_:)`, but reuses `cache` when it holds the same weights, and leaves this run's
    /// weights in it.
    public static func run(_ request: ExecutorRequest, reusing cache: inout LoadedWeights?,
                           progress: ExecutorProgressHandler? = nil) throws -> ExecutorReport {
        try exclusive { try runAlone(request, reusing: &cache, progress: progress) }
    }

    /// Runs in one process take turns: each already spreads over every core, so two at once
    /// would only time-share the cores (and the thread pool serves one run at a time; a second
    /// would run on its calling thread alone), each slower than both in a row.
    static let turns = NSRecursiveLock()
    static func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        turns.lock()
        defer { turns.unlock() }
        return try body()
    }

    static func runAlone(_ request: ExecutorRequest, reusing cache: inout LoadedWeights?,
                         progress: ExecutorProgressHandler?) throws -> ExecutorReport {
        let v = try resolve(request)
        let need = requirement(request, v)
        if let limit = request.memoryLimitBytes, need.totalBytes > limit {
            throw ExecutorError.insufficientMemory(required: need, limitBytes: limit, limitSource: "memoryLimitBytes")
        }
        // Weights already held in `cache` for this request are not allocated again.
        let reusing = cache.map { $0.source == request.weights && $0.precision == v.precision } ?? false
        if let avail = availableMemoryBytes(), need.totalBytes - (reusing ? need.weightsBytes : 0) > avail {
            throw ExecutorError.insufficientMemory(required: need, limitBytes: avail, limitSource: memorySource)
        }
        let runner = ParallelRunner(threads: v.threads)
        let weights: ModelWeights
        if reusing, let cached = cache {
            weights = cached.weights
        } else {
            cache = nil  // release the old weights before loading new ones
            progress?("loading weights", 0, 1)
            switch request.weights {
            case .gguf: weights = try GGUFModelLoader.load(v.file!, precision: v.precision, layers: nil, runner: runner)
            case .synthetic(let shape, let layers, let seed):
                weights = SyntheticWeights.make(shape: shape, layers: layers, seed: seed, precision: v.precision, runner: runner)
            }
            cache = LoadedWeights(source: request.weights, precision: v.precision, weights: weights)
        }
        var shape = weights.shape
        shape.denseLayers = v.denseLayers
        let session = DecodeSession(weights: weights, batch: request.batch, promptLength: v.promptLength,
                                    capacity: v.capacity, denseLayers: Set(v.denseLayers), runner: runner, seed: request.seed)
        let prompt = v.tokens.map { Array($0.prefix(v.promptLength)) }

        // Prefill and indices. A run that measures quality prefills with exact activations (f32
        // inputs to quantised rows, not the 8-bit inputs of the integer GEMM), so that the prompt's
        // cache, which every mode's teacher-forced pass reads, carries no rounding but the
        // attention's; its prefill time is then the exact path's.
        let exactPrefill = request.measureQuality || request.exactPrefill
        session.decoder.exactActivations = exactPrefill
        let (first, prefillSeconds) = Clock.measure {
            session.prefill(prompts: prompt, synthetic: request.prefill == .syntheticCache, seed: request.seed, progress: progress)
        }
        session.decoder.exactActivations = false
        let attention = session.makeAttention(request.attention)
        let indexSeconds = session.buildIndices(attention, progress: progress)

        // Timed greedy decode.
        let run = session.greedy(first: first, steps: request.decodeSteps, attention: attention, progress: progress)
        let stats = attention.statistics
        let steps = Double(max(1, run.timedSteps))
        var perStep = run.breakdown.scaled(by: 1 / steps)
        perStep[.overhead] = max(0, run.seconds / steps - perStep.sum(measuredTerms.filter { $0 != .overhead }))
        let sampled: ExecutorReport.SampledFraction? = stats.meanFraction.map {
            .init(perLayer: stats.fractionPerLayer, mean: $0)
        }
        let measured = ExecutorReport.Measured(
            tokensPerSecond: run.seconds > 0 ? Double(request.batch * run.timedSteps) / run.seconds : 0,
            stepSeconds: run.seconds / steps, breakdown: perStep, prefillSeconds: prefillSeconds,
            prefillExactActivations: weights.hasQuantizedLayerRows ? exactPrefill : nil,
            indexBuildSeconds: indexSeconds, sampledFraction: sampled,
            keysTouchedPerQuery: stats.queries > 0 ? (stats.selectedKeys.reduce(0, +) + stats.exactKeys) / stats.queries : nil,
            selectedKeysPerQuery: stats.queries > 0 ? stats.selectedKeys.reduce(0, +) / stats.queries : nil,
            rowsGatheredPerGroup: stats.groups > 0 ? stats.gatheredRows / stats.groups : nil,
            indexBytes: attention.indexBytes)

        var quality: ExecutorReport.Quality? = nil
        if request.measureQuality {
            quality = session.evaluate(tokens: v.tokens, positions: request.decodeSteps, mode: attention,
                                       measuredFraction: stats.meanFraction, progress: progress)
        }
        return ExecutorReport(
            modelName: shape.name, shape: shape, attention: request.attention, denseLayers: v.denseLayers,
            batch: request.batch, promptTokens: v.promptLength, hashedSpanTokens: attention.span.count,
            decodeSteps: request.decodeSteps, threads: v.threads, seed: request.seed, simdLevel: Int(pp_simd_level()),
            weightPrecision: v.precision, prefill: request.prefill, memory: need, measured: measured, quality: quality,
            generatedTokens: run.tokens, generatedText: v.tokenizer.map { tk in run.tokens.map { tk.decode($0) } })
    }
}

/// Hears how far a run is: the phase (its unit in parentheses) and done of total units. Called on
/// the calling thread, between kernel phases; a handler should return quickly.
public typealias ExecutorProgressHandler = (_ phase: String, _ done: Int, _ total: Int) -> Void

extension Executor {
    /// Kernel path in use: 0 portable C, 1 AVX2 + F16C + FMA, 2 AVX-512 + F16C + FMA, 3 AVX-512
    /// with VNNI and BF16.
    public static var simdLevel: Int { Int(pp_simd_level()) }
    /// What `simdLevel` means, for reports ("AVX2 + FMA + F16C").
    public static var simdLevelName: String { String(cString: pp_simd_level_name(pp_simd_level())) }
    /// The instruction-set extensions the kernels of `simdLevel` use (a CPU profile's `vectorISA`).
    public static var vectorISA: [String] {
        switch simdLevel {
        case 0: ["portable"]
        case 1: ["avx2", "fma", "f16c"]
        case 2: ["avx512f", "avx512bw", "avx512vl", "fma", "f16c"]
        default: ["avx512f", "avx512bw", "avx512vl", "avx512vnni", "avx512bf16", "fma", "f16c"]
        }
    }
    /// Gather-kernel tuning (benchmarks): rows prefetched ahead, bytes between prefetches in a row.
    public static func setGatherTuning(ahead: Int32, prefetchStride: Int32) {
        pp_set_gather_tuning(ahead, prefetchStride)
    }
}
