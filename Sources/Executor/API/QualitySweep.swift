import CKernels
import Core
import Foundation

/// What `pigplan quality` measures: a GGUF model reading a text, at one or more contexts, under
/// a grid of LSH (K, L) settings and Quest / TopK at the budgets LSH reached.
public struct QualitySweepRequest: Sendable, Hashable {
    public var ggufPath: String
    public var text: String
    /// Context lengths (tokens): each is a prompt of `contextTokens - positions` tokens followed by
    /// `positions` teacher-forced positions.
    public var contexts: [Int]
    public var positions: Int
    public var lsh: [LSHParameters]
    /// Also TopK and Quest at the fractions the LSH settings sampled.
    public var baselines: Bool
    public var questPageSize: Int
    public var threads: Int?
    public var seed: UInt64
    /// f32 activations into quantised rows (no 8-bit rounding): isolates the attention.
    public var exactActivations: Bool
    public var parseSpecialTokens: Bool

    public init(ggufPath: String, text: String, contexts: [Int], positions: Int = 128, lsh: [LSHParameters],
                baselines: Bool = true, questPageSize: Int = 16, threads: Int? = nil, seed: UInt64 = 0,
                exactActivations: Bool = true, parseSpecialTokens: Bool = false) {
        self.ggufPath = ggufPath
        self.text = text
        self.contexts = contexts
        self.positions = positions
        self.lsh = lsh
        self.baselines = baselines
        self.questPageSize = questPageSize
        self.threads = threads
        self.seed = seed
        self.exactActivations = exactActivations
        self.parseSpecialTokens = parseSpecialTokens
    }

    /// Most settings one sweep runs per context (each is a teacher-forced pass).
    public static let settingLimit = 512
}

/// Every setting's quality at every context, against dense attention on the same prefill.
public struct QualitySweepResult: Codable, Sendable {
    public struct Row: Codable, Sendable {
        public var mode: AttentionMode
        /// Fraction of the hashed span attended (sampled or selected), measured.
        public var sampledFraction: Double?
        public var perplexity: Double
        /// 100 x (perplexity / dense perplexity - 1).
        public var perplexityChangePercent: Double
        /// Standard error of that change over the targets (paired with dense), percent: a change
        /// within about twice this is not resolved by the positions measured.
        public var perplexityChangeStandardErrorPercent: Double
        public var nextTokenAgreement: Double
        /// Binomial standard error of the agreement (a fraction).
        public var nextTokenAgreementStandardError: Double
        public var attentionRelativeError: Double?
        public var attentionRelativeErrorMax: Double?
        /// Index build and teacher-forced pass.
        public var seconds: Double
    }
    public struct Context: Codable, Sendable {
        public var contextTokens: Int
        public var promptTokens: Int
        public var positions: Int
        /// Keys per (sequence, KV head) in the hashed span.
        public var hashedSpanTokens: Int
        public var densePerplexity: Double
        public var prefillSeconds: Double
        public var rows: [Row]
    }
    public var modelName: String
    public var shape: ModelShape
    public var denseLayers: [Int]
    public var threads: Int
    public var seed: UInt64
    public var simdLevel: Int
    public var exactActivations: Bool
    public var weightPrecision: WeightPrecision
    public var contexts: [Context]
}

public enum QualitySweep {
    /// The LSH settings a sweep runs unless told otherwise: the paper's (8, 75), (9, 120),
    /// (10, 150), (10, 170), (11, 300) and the grid K 7-11 x L 75/150/300 around them.
    public static let defaultLSH: [LSHParameters] = {
        var out: [LSHParameters] = []
        for (k, l) in [(8, 75), (9, 120), (10, 150), (10, 170), (11, 300)] { out.append(.init(hashBitsPerTable: k, tableCount: l)) }
        for k in 7...11 {
            for l in [75, 150, 300] where !out.contains(.init(hashBitsPerTable: k, tableCount: l)) {
                out.append(.init(hashBitsPerTable: k, tableCount: l))
            }
        }
        return out
    }()

    /// The change in perplexity between two passes over the same targets, from the per-target
    /// differences of log-likelihood d: exp(mean d) - 1, and its standard error
    /// exp(mean d) x sd(d) / sqrt(n), in percent.
    public static func pairedChange(_ a: [Double], _ b: [Double]) -> (percent: Double, standardErrorPercent: Double) {
        let n = min(a.count, b.count)
        guard n > 1 else { return (0, 0) }
        let d = (0..<n).map { a[$0] - b[$0] }
        let mean = d.reduce(0, +) / Double(n)
        let variance = d.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)
        let ratio = exp(mean)
        return (100 * (ratio - 1), 100 * ratio * (variance / Double(n)).squareRoot())
    }

    /// The budgets TopK and Quest run at: the LSH rows' measured fractions up to 25% (beyond,
    /// sparse attention saves little), each at most once within 25% of another, increasing.
    public static func baselineBudgets(_ fractions: [Double]) -> [Double] {
        var out: [Double] = []
        for f in fractions.filter({ $0 > 0 && $0 <= 0.25 }).sorted() where !out.contains(where: { abs($0 - f) <= 0.25 * $0 }) {
            out.append(min(1, f))
        }
        return out
    }

    /// Checks the request against the model and the text before anything large is allocated.
    /// Returns the shape, tokens and the memory the largest setting needs.
    static func prepare(_ r: QualitySweepRequest) throws -> (file: GGUFFile, shape: ModelShape, tokens: [Int]) {
        func bad(_ field: String, _ why: String) -> ExecutorError { .invalidRequest(field: field, reason: why) }
        guard !r.contexts.isEmpty else { throw bad("contexts", "give at least one context length") }
        guard r.positions >= 2 else { throw bad("positions", "at least 2 teacher-forced positions (got \(r.positions))") }
        guard !r.lsh.isEmpty else { throw bad("lsh", "give at least one (K, L)") }
        guard r.lsh.count <= QualitySweepRequest.settingLimit else {
            throw bad("lsh", "at most \(QualitySweepRequest.settingLimit) settings per sweep (got \(r.lsh.count))")
        }
        for p in r.lsh {
            do { _ = try LSHParameters(checkingHashBits: p.hashBitsPerTable, tableCount: p.tableCount) } catch {
                throw bad("lsh", error.description)
            }
        }
        guard r.questPageSize >= 1 && r.questPageSize <= 1 << 20 else { throw bad("questPageSize", "must be 1 to 2^20 keys") }
        if let t = r.threads, t < 1 { throw bad("threads", "must be at least 1 (got \(t))") }
        let file = try GGUFFile(path: r.ggufPath)
        let shape = try GGUFModelLoader.shape(of: file)
        guard shape.groupSize <= 8, shape.headDim <= 512 else {
            throw bad("weights", "GQA group \(shape.groupSize) or head dim \(shape.headDim) not supported")
        }
        let needsHash = ExactTokens.sinkCount + ExactTokens.localWindow + 1
        for c in r.contexts {
            guard c >= r.positions + needsHash else {
                throw bad("contexts", "context \(c) leaves no keys to hash: it needs at least \(r.positions + needsHash) tokens (\(r.positions) positions + \(needsHash - 1) sink and local tokens + 1)")
            }
            if let trained = shape.maxContextTokens, c > trained {
                throw bad("contexts", "context \(c) is beyond the model's trained length (\(trained) tokens)")
            }
        }
        let tokenizer: BPETokenizer
        do { tokenizer = try BPETokenizer(gguf: file) } catch { throw ExecutorError.tokenizer("\(r.ggufPath): \(error)") }
        let longest = r.contexts.max()!
        // Only as much text as the longest context needs is tokenised.
        let tokens = tokenizer.encode(r.text, maxTokens: longest, parseSpecial: r.parseSpecialTokens)
        guard tokens.count >= longest else {
            throw ExecutorError.promptTooShort(tokens: tokens.count, needed: longest,
                                               reason: "the text must cover the longest context (\(longest) tokens)")
        }
        for t in tokens where t < 0 || t >= shape.vocabSize {
            throw ExecutorError.tokenizer("\(r.ggufPath): the tokenizer produced id \(t), outside the vocabulary of \(shape.vocabSize)")
        }
        return (file, shape, Array(tokens.prefix(longest)))
    }

    /// The bytes the sweep needs at its longest context with its largest index, without
    /// loading anything.
    public static func memoryRequirement(_ r: QualitySweepRequest) throws -> MemoryRequirement {
        let (_, _, tokens) = try prepare(r)
        return try requirement(r, tokens: tokens)
    }

    /// The weights as the sweep holds them: with exact activations, widened to f32 when that
    /// takes at most a quarter of the memory available (the f32 kernels are the fastest exact
    /// path), else kept quantised (each row block dequantised exactly per product).
    static func precision(_ r: QualitySweepRequest, shape: ModelShape) -> WeightPrecision {
        guard r.exactActivations else { return .native }
        var wide = shape
        wide.bytesPerWeight = 4
        let available = Executor.availableMemoryBytes() ?? 0
        return wide.weightBytes <= available / 4 ? .f32 : .native
    }

    static func requirement(_ r: QualitySweepRequest, tokens: [Int]) throws -> MemoryRequirement {
        // The index with the most tables dominates; 2^K bucket ranges count too.
        let largest = r.lsh.max { a, b in
            Double(a.tableCount) * (1 + Double(a.bucketsPerTable) / 4096) < Double(b.tableCount) * (1 + Double(b.bucketsPerTable) / 4096)
        }!
        let shape = try GGUFModelLoader.shape(of: GGUFFile(path: r.ggufPath))
        let request = ExecutorRequest(weights: .gguf(path: r.ggufPath), prompt: .syntheticTokens(count: r.contexts.max()!),
                                      decodeSteps: r.positions, attention: .lshSampled(largest), threads: r.threads, seed: r.seed,
                                      measureQuality: true, weightPrecision: precision(r, shape: shape))
        return try Executor.memoryRequirement(request)
    }

    /// Runs the sweep: per context one prefill and one dense pass, then per setting its index and
    /// a teacher-forced pass compared with dense. `progress` hears each phase.
    public static func run(_ r: QualitySweepRequest, progress: ExecutorProgressHandler? = nil) throws -> QualitySweepResult {
        try Executor.exclusive { try runAlone(r, progress: progress) }
    }

    static func runAlone(_ r: QualitySweepRequest, progress: ExecutorProgressHandler?) throws -> QualitySweepResult {
        let (file, shape, tokens) = try prepare(r)
        let need = try requirement(r, tokens: tokens)
        if let available = Executor.availableMemoryBytes(), need.totalBytes > available {
            throw ExecutorError.insufficientMemory(required: need, limitBytes: available, limitSource: Executor.memorySource)
        }
        let threads = r.threads ?? ParallelRunner.availableCores
        let runner = ParallelRunner(threads: threads)
        progress?("loading weights", 0, 1)
        let weightPrecision = precision(r, shape: shape)
        let weights = try GGUFModelLoader.load(file, precision: weightPrecision, layers: nil, runner: runner)
        let dense = shape.denseLayers.filter { $0 >= 0 && $0 < shape.layerCount }
        var contexts: [QualitySweepResult.Context] = []
        for (ci, c) in r.contexts.enumerated() {
            let promptLength = c - r.positions
            let session = DecodeSession(weights: weights, batch: 1, promptLength: promptLength, capacity: c + 1,
                                        denseLayers: Set(dense), runner: runner, seed: r.seed)
            session.decoder.exactActivations = r.exactActivations
            let window = [Array(tokens.prefix(c))]
            let tag = r.contexts.count > 1 ? "context \(ci + 1)/\(r.contexts.count), " : ""
            let (_, prefillSeconds) = Clock.measure {
                session.prefill(prompts: [Array(window[0].prefix(promptLength))], synthetic: false, seed: r.seed,
                                progress: progress.map { p in { phase, done, total in p(tag + phase, done, total) } })
            }
            let densePass = session.forced(tokens: window, positions: r.positions, attention: session.makeAttention(.dense), compare: false)
            let densePerplexity = session.summary(densePass, .dense, dense: densePass).perplexity
            var rows: [QualitySweepResult.Row] = []
            func measure(_ mode: AttentionMode) {
                let t0 = Clock.now()
                let attention = session.makeAttention(mode)
                _ = session.buildIndices(attention)
                let pass = session.forced(tokens: window, positions: r.positions, attention: attention, compare: true)
                let q = session.summary(pass, mode, dense: densePass)
                let change = QualitySweep.pairedChange(pass.nlls, densePass.nlls)
                let n = Double(max(1, pass.argmax.reduce(0) { $0 + $1.count }))
                rows.append(.init(mode: mode, sampledFraction: q.sampledFraction, perplexity: q.perplexity,
                                  perplexityChangePercent: 100 * (q.perplexity / densePerplexity - 1),
                                  perplexityChangeStandardErrorPercent: change.standardErrorPercent,
                                  nextTokenAgreement: q.nextTokenAgreement,
                                  nextTokenAgreementStandardError: (q.nextTokenAgreement * (1 - q.nextTokenAgreement) / n).squareRoot(),
                                  attentionRelativeError: q.attentionRelativeL2Error, attentionRelativeErrorMax: q.attentionRelativeL2ErrorMax,
                                  seconds: Clock.now() - t0))
            }
            for (i, p) in r.lsh.enumerated() {
                progress?(tag + "LSH \(p) (settings)", i, r.lsh.count)
                measure(.lshSampled(p))
            }
            let budgets = r.baselines ? baselineBudgets(rows.compactMap(\.sampledFraction)) : []
            let total = r.lsh.count + 2 * budgets.count
            for (i, f) in budgets.enumerated() {
                progress?(tag + "TopK and Quest at \(Format.number(f * 100))% (settings)", r.lsh.count + 2 * i, total)
                measure(.topK(budgetFraction: f))
                measure(.quest(pageSize: r.questPageSize, budgetFraction: f))
            }
            progress?(tag + "settings", total, total)
            contexts.append(.init(contextTokens: c, promptTokens: promptLength, positions: r.positions,
                                  hashedSpanTokens: HashedSpan(promptLength: promptLength).count,
                                  densePerplexity: densePerplexity,
                                  prefillSeconds: prefillSeconds, rows: rows))
        }
        return QualitySweepResult(modelName: shape.name, shape: shape, denseLayers: dense, threads: threads, seed: r.seed,
                                  simdLevel: Executor.simdLevel, exactActivations: r.exactActivations, weightPrecision: weightPrecision,
                                  contexts: contexts)
    }
}

extension QualitySweepResult {
    /// The measurements as a quality profile for the model profile `model`: perplexity first (a
    /// budget reads it in percent), then next-token agreement with dense (points).
    public func profile(model: String, command: String) -> QualityProfile {
        let how = "teacher-forced over the last \(contexts.first?.positions ?? 0) positions of each context, \(exactActivations ? "exact f32 activations" : "8-bit activations into quantised rows"), seed \(seed), \(threads) threads"
        func values(_ value: (Row) -> Double, _ error: (Row, Context) -> Double) -> [AttentionMode: [QualityValue]] {
            var out: [AttentionMode: [QualityValue]] = [:]
            for c in contexts {
                for row in c.rows {
                    out[row.mode, default: []].append(QualityValue(contextTokens: c.contextTokens, value: value(row),
                                                                   sampledFraction: row.sampledFraction,
                                                                   attentionRelativeError: row.attentionRelativeError,
                                                                   lossStandardError: error(row, c)))
                }
            }
            return out
        }
        let order = contexts.first?.rows.map(\.mode) ?? []
        func settings(_ table: [AttentionMode: [QualityValue]]) -> [QualitySetting] {
            order.compactMap { mode in table[mode].map { QualitySetting(mode: mode, values: $0) } }
        }
        let perplexity = QualityMetric(
            name: "perplexity", description: "perplexity of the text's next tokens (lower is better)", kind: .perplexity,
            source: "measured: `\(command)` (\(how))",
            full: contexts.map { QualityValue(contextTokens: $0.contextTokens, value: $0.densePerplexity) },
            settings: settings(values(\.perplexity) { row, _ in row.perplexityChangeStandardErrorPercent }))
        let agreement = QualityMetric(
            name: "next-token-agreement", description: "greedy next token equal to dense attention's, percent", kind: .accuracy,
            source: "measured: `\(command)` (\(how))",
            full: contexts.map { QualityValue(contextTokens: $0.contextTokens, value: 100) },
            settings: settings(values({ 100 * $0.nextTokenAgreement }) { row, _ in 100 * row.nextTokenAgreementStandardError }))
        return QualityProfile(model: model, source: "pigplan quality on \(modelName) (\(how))", metrics: [perplexity, agreement])
    }
}

extension QualitySweep {
    /// The model shape a GGUF file holds (its header only).
    public static func shape(ggufPath: String) throws -> ModelShape {
        try GGUFModelLoader.shape(of: GGUFFile(path: ggufPath))
    }
}
