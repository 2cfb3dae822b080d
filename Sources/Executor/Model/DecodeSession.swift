import CKernels
import Core
import Foundation

/// One batch's model, cache and decode loops: prefill, index build, timed greedy decoding and
/// teacher-forced quality passes.
public final class DecodeSession: @unchecked Sendable {
    public let decoder: Decoder
    public let cache: KVCache
    public let batch: Int
    public let promptLength: Int
    public let denseLayers: Set<Int>
    public let runner: ParallelRunner
    public let seed: UInt64
    var shape: ModelShape { decoder.shape }

    public init(weights: ModelWeights, batch: Int, promptLength: Int, capacity: Int, denseLayers: Set<Int>,
                runner: ParallelRunner, seed: UInt64) {
        let s = weights.shape
        cache = KVCache(layerCount: s.layerCount, batch: batch, kvHeads: s.kvHeadCount, headDim: s.headDim, capacity: capacity)
        decoder = Decoder(weights: weights, cache: cache, runner: runner, maxBatch: batch)
        self.batch = batch
        self.promptLength = promptLength
        self.denseLayers = denseLayers
        self.runner = runner
        self.seed = seed
    }

    public func makeAttention(_ mode: AttentionMode) -> DecodeAttention {
        DecodeAttention(shape: shape, mode: mode, denseLayers: denseLayers, batch: batch, promptLength: promptLength,
                        runner: runner, seed: seed)
    }

    /// Fills the cache with the prompts and returns each sequence's greedy next token. With
    /// `synthetic`, the cache gets `KVCache.fillSynthetic` rows instead and the first token is the
    /// prompt's last token (no logits exist).
    public func prefill(prompts: [[Int]], synthetic: Bool, seed: UInt64, progress: ExecutorProgressHandler? = nil) -> [Int] {
        if synthetic {
            progress?("synthetic KV cache", 0, 1)
            cache.fillSynthetic(positions: 0..<promptLength, seed: seed, runner: runner)
            return prompts.map { $0.last ?? 0 }
        }
        let total = prompts.reduce(0) { $0 + $1.count }
        var before = 0
        return prompts.enumerated().map { b, p in
            let logits = decoder.prefill(sequence: b, tokens: p, logitRows: [p.count - 1],
                                         onRows: progress.map { report in { report("prefill (tokens)", before + $0, total) } })[0]
            before += p.count
            return logits.withUnsafeBufferPointer { pp_argmax($0.baseAddress, $0.count) }
        }
    }

    /// Builds the attention's indices for all hashed layers; returns seconds.
    public func buildIndices(_ attention: DecodeAttention, progress: ExecutorProgressHandler? = nil) -> Double {
        (0..<shape.layerCount).reduce(0) { sum, layer in
            progress?("index build (layers)", layer, shape.layerCount)
            return sum + attention.buildIndex(layer: layer, cache: cache)
        }
    }

    public struct GreedyRun: Sendable {
        public var tokens: [[Int]]
        /// Seconds of the timed steps (all but the first when there are two or more).
        public var seconds: Double
        public var breakdown: StepTimes
        public var timedSteps: Int
    }

    /// `steps` greedy decode steps from `first` (one token per sequence) at positions
    /// promptLength, promptLength + 1, ...
    public func greedy(first: [Int], steps: Int, attention: DecodeAttention, progress: ExecutorProgressHandler? = nil) -> GreedyRun {
        attention.breakdown = Executor.emptyBreakdown()
        attention.statistics = AttentionStatistics(layers: shape.layerCount)
        decoder.linearSeconds = 0
        decoder.lmHeadSeconds = 0
        var current = first
        var out = first.map { [$0] }
        let V = shape.vocabSize
        var t0 = Clock.now()
        var timedSteps = steps
        for step in 0..<steps {
            progress?("decode (steps)", step, steps)
            let logits = decoder.decode(tokens: current, position: promptLength + step, attention: attention)
            for b in 0..<batch {
                current[b] = pp_argmax(logits + b * V, V)
                out[b].append(current[b])
            }
            // The first step warms caches and page tables (weights and KV just written): with two
            // or more steps it is decoded but not timed.
            if step == 0 && steps > 1 {
                attention.breakdown = Executor.emptyBreakdown()
                decoder.linearSeconds = 0
                decoder.lmHeadSeconds = 0
                timedSteps = steps - 1
                t0 = Clock.now()
            }
        }
        let seconds = Clock.now() - t0
        var br = attention.breakdown
        br[.linearLayers] = decoder.linearSeconds
        br[.lmHead] = decoder.lmHeadSeconds
        return GreedyRun(tokens: out, seconds: seconds, breakdown: br, timedSteps: timedSteps)
    }

    struct ForcedPass {
        var argmax: [[Int]]
        var nll: Double
        var targets: Int
        /// Each target's negative log-likelihood, in (sequence, position) order.
        var nlls: [Double] = []
        var statistics: AttentionStatistics
    }

    /// Feeds tokens[b][promptLength + j] at position promptLength + j for j < positions and
    /// records greedy tokens and the log-likelihood of each next true token.
    func forced(tokens: [[Int]], positions: Int, attention: DecodeAttention, compare: Bool,
                progress: ExecutorProgressHandler? = nil) -> ForcedPass {
        attention.statistics = AttentionStatistics(layers: shape.layerCount)
        attention.compareWithDense = compare
        defer { attention.compareWithDense = false }
        let V = shape.vocabSize
        var argmax = [[Int]](repeating: [], count: batch)
        var nll = 0.0, targets = 0
        var nlls: [Double] = []
        for j in 0..<positions {
            progress?("quality, \(attention.mode.name) pass (positions)", j, positions)
            let input = (0..<batch).map { tokens[$0][promptLength + j] }
            let logits = decoder.decode(tokens: input, position: promptLength + j, attention: attention)
            for b in 0..<batch {
                let row = logits + b * V
                argmax[b].append(pp_argmax(row, V))
                if j + 1 < positions {
                    let target = tokens[b][promptLength + j + 1]
                    let x = pp_logsumexp(row, V) - Double(row[target])
                    nll += x
                    nlls.append(x)
                    targets += 1
                }
            }
        }
        return ForcedPass(argmax: argmax, nll: nll, targets: targets, nlls: nlls, statistics: attention.statistics)
    }

    /// A pass's quality against the dense pass over the same positions: perplexity, agreement of
    /// the greedy tokens, attention error (when compared) and the fraction attended.
    func summary(_ p: ForcedPass, _ m: AttentionMode, dense: ForcedPass) -> ExecutorReport.ModeQuality {
        var agree = 0, total = 0
        for b in 0..<batch {
            for (x, y) in zip(p.argmax[b], dense.argmax[b]) { agree += x == y ? 1 : 0; total += 1 }
        }
        let s = p.statistics
        return .init(attention: m, perplexity: exp(p.nll / Double(max(1, p.targets))),
                     nextTokenAgreement: total > 0 ? Double(agree) / Double(total) : 1,
                     attentionRelativeL2Error: s.errorCount > 0 ? s.errorSum / s.errorCount : nil,
                     attentionRelativeL2ErrorMax: s.errorCount > 0 ? s.errorMax : nil,
                     sampledFraction: s.meanFraction)
    }

    /// Teacher-forced comparison of dense, the given mode and (for LSH) TopK at the LSH budget,
    /// with exact activations (f32 inputs to quantised rows) whatever the timed decode used.
    public func evaluate(tokens: [[Int]], positions: Int, mode: DecodeAttention, measuredFraction: Double?,
                         progress: ExecutorProgressHandler? = nil) -> ExecutorReport.Quality {
        let wasExact = decoder.exactActivations
        decoder.exactActivations = true
        defer { decoder.exactActivations = wasExact }
        let dense = forced(tokens: tokens, positions: positions, attention: makeAttention(.dense), compare: false, progress: progress)
        func summary(_ p: ForcedPass, _ m: AttentionMode) -> ExecutorReport.ModeQuality { self.summary(p, m, dense: dense) }
        var q = ExecutorReport.Quality(positions: positions, dense: summary(dense, .dense), mode: nil, topKAtSameBudget: nil)
        if mode.mode != .dense {
            q.mode = summary(forced(tokens: tokens, positions: positions, attention: mode, compare: true, progress: progress), mode.mode)
        }
        if case .lshSampled = mode.mode, let f = q.mode?.sampledFraction ?? measuredFraction, f > 0 {
            let topK = makeAttention(.topK(budgetFraction: min(1, f)))
            q.topKAtSameBudget = summary(forced(tokens: tokens, positions: positions, attention: topK, compare: true, progress: progress), topK.mode)
        }
        return q
    }
}
