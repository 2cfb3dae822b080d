import Foundation
import Testing
import Core
@testable import Executor

/// Tests against the real SmolLM2-135M-Instruct (skipped with a message when the file is absent).
@Suite(.serialized) struct SmolLM2Tests {
    /// Golden tokens come from scripts/reference_smollm2.py (numpy + gguf, independent of this code),
    /// which computes in f32 from dequantised weights: so do these runs (weights kept quantised
    /// multiply 8-bit inputs and drift from it after a few tokens; their perplexity is checked).
    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func greedyDenseDecodingMatchesNumpyReference() throws {
        let path = try #require(TestFiles.smolLM2)
        let golden = try SmolLM2Golden.load()
        for g in golden.greedy {
            let r = try Executor.run(ExecutorRequest(weights: .gguf(path: path), prompt: .text(g.prompt),
                                                     decodeSteps: g.steps - 1, attention: .dense, seed: 1, weightPrecision: .f32))
            let got = r.generatedTokens[0]
            let agree = zip(got, g.tokens).prefix { $0 == $1 }.count
            testLog("golden \(g.prompt.debugDescription): \(agree)/\(g.tokens.count) tokens equal; text \(r.generatedText?[0].debugDescription ?? "")")
            #expect(got == g.tokens)
        }
    }

    /// Timed runs prefill quantised rows with 8-bit inputs unless asked for exact ones: with
    /// `exactPrefill` the first token (from the prefill alone) is the f32 weights' on every golden
    /// prompt, and each report says which activations its prefill used.
    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func exactPrefillIsTheF32Prefill() throws {
        let path = try #require(TestFiles.smolLM2)
        let golden = try SmolLM2Golden.load()
        for g in golden.greedy {
            func run(_ precision: WeightPrecision, exact: Bool) throws -> ExecutorReport {
                try Executor.run(ExecutorRequest(weights: .gguf(path: path), prompt: .text(g.prompt), decodeSteps: 1,
                                                 attention: .dense, seed: 1, weightPrecision: precision, exactPrefill: exact))
            }
            let wide = try run(.f32, exact: false), exact = try run(.native, exact: true), rounded = try run(.native, exact: false)
            #expect(exact.generatedTokens[0].first == wide.generatedTokens[0].first)
            #expect(exact.measured.prefillExactActivations == true)
            #expect(rounded.measured.prefillExactActivations == false)
            #expect(wide.measured.prefillExactActivations == nil, "f32 weights have no quantised rows")
        }
    }

    /// First-step logits against the numpy reference: tolerance 0.02 absolute (f32 accumulation
    /// order differs; K/V are f16 in both).
    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func firstStepLogitsMatchNumpyReference() throws {
        let path = try #require(TestFiles.smolLM2)
        let golden = try SmolLM2Golden.load()
        let file = try GGUFFile(path: path)
        let runner = ParallelRunner(threads: ParallelRunner.availableCores)
        let weights = try GGUFModelLoader.load(file, precision: .f32, runner: runner)
        for g in golden.greedy {
            let session = DecodeSession(weights: weights, batch: 1, promptLength: g.promptIds.count, capacity: g.promptIds.count + 1,
                                        denseLayers: [], runner: runner, seed: 0)
            let logits = session.decoder.prefill(sequence: 0, tokens: g.promptIds, logitRows: [g.promptIds.count - 1])[0]
            var maxDiff = 0.0
            for pair in g.firstTopLogits {
                maxDiff = max(maxDiff, abs(Double(logits[Int(pair[0])]) - pair[1]))
            }
            testLog("logits vs numpy on top-5 of \(g.prompt.debugDescription): max |diff| = \(maxDiff) (tolerance 0.02)")
            #expect(maxDiff < 0.02)
        }
    }

    /// MagicPIG at (8, 75) over a long deterministic text keeps next-token agreement with dense
    /// (teacher-forced over the last 24 positions).
    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func lshDecodingKeepsAgreementOnLongText() throws {
        let path = try #require(TestFiles.smolLM2)
        let text = LongText.make(sentences: 200, seed: 7)
        let request = ExecutorRequest(weights: .gguf(path: path), prompt: .text(text), decodeSteps: 24,
                                      attention: .lshSampled(LSHParameters(hashBitsPerTable: 8, tableCount: 75)),
                                      seed: 3, measureQuality: true)
        let (r, seconds) = try Clock.measure { try Executor.run(request) }
        let q = try #require(r.quality)
        let m = try #require(q.mode)
        testLog("""
            long text: \(r.promptTokens) prompt tokens, \(q.positions) positions, \(String(format: "%.1f", seconds)) s; \
            LSH(8,75) sampled \(String(format: "%.2f%%", 100 * (m.sampledFraction ?? 0))), agreement \(m.nextTokenAgreement), \
            attention rel. L2 error mean \(m.attentionRelativeL2Error ?? -1) max \(m.attentionRelativeL2ErrorMax ?? -1), \
            perplexity dense \(q.dense.perplexity) lsh \(m.perplexity) topk \(q.topKAtSameBudget?.perplexity ?? -1) \
            (topk agreement \(q.topKAtSameBudget?.nextTokenAgreement ?? -1))
            """)
        #expect(r.promptTokens > 2000)
        #expect(m.nextTokenAgreement >= 0.75)
        #expect(m.perplexity < q.dense.perplexity * 1.5)
    }
}

extension SmolLM2Tests {
    /// The Q4_1 file's blocks kept quantised (8-bit inputs) against the same weights widened to
    /// f32: dense perplexity over the last 64 tokens of a long text within 0.5%.
    @Test(.enabled(if: TestFiles.smolLM2 != nil, "needs the SmolLM2 GGUF (scripts/fetch-smollm2)"))
    func quantizedWeightsKeepPerplexity() throws {
        let path = try #require(TestFiles.smolLM2)
        let file = try GGUFFile(path: path)
        let types = Set(file.tensors.values.filter { $0.dimensions.count == 2 }.map(\.typeName)).sorted()
        let text = LongText.make(sentences: 60, seed: 5)
        func perplexity(_ precision: WeightPrecision) throws -> (Double, Int) {
            let r = try Executor.run(ExecutorRequest(weights: .gguf(path: path), prompt: .text(text), decodeSteps: 64,
                                                     attention: .dense, seed: 2, measureQuality: true, weightPrecision: precision))
            return (try #require(r.quality).dense.perplexity, r.promptTokens)
        }
        let (wide, tokens) = try perplexity(.f32), (kept, _) = try perplexity(.native)
        testLog("SmolLM2 (matrices \(types.joined(separator: ", "))), \(tokens) prompt tokens: dense perplexity f32 weights \(wide), kept quantised \(kept) (\(String(format: "%+.3f%%", 100 * (kept / wide - 1))); tolerance 0.5%)")
        #expect(abs(kept / wide - 1) < 0.005)
    }

    /// The same on real prose (the Jargon File's first 14,000 characters, 3,480 tokens):
    /// next-token agreement with dense and perplexity close to dense, teacher-forced over 32
    /// positions. (The README's 8k-context table measured 89% and +3% at (8, 75).)
    @Test(.enabled(if: TestFiles.smolLM2 != nil && TestFiles.hasJargonFile, "needs the SmolLM2 GGUF (scripts/fetch-smollm2) and the Jargon File (apt-get install dict-jargon)"))
    func lshKeepsQualityOnRealText() throws {
        let path = try #require(TestFiles.smolLM2)
        let text = try #require(try TestFiles.jargonFile(characters: 14_000))
        let request = ExecutorRequest(weights: .gguf(path: path), prompt: .text(text), decodeSteps: 32,
                                      attention: .lshSampled(LSHParameters(hashBitsPerTable: 8, tableCount: 75)),
                                      seed: 3, measureQuality: true)
        let r = try Executor.run(request)
        let q = try #require(r.quality)
        let m = try #require(q.mode)
        testLog("""
            Jargon File: \(r.promptTokens) prompt tokens, \(q.positions) positions; LSH(8,75) sampled \
            \(String(format: "%.2f%%", 100 * (m.sampledFraction ?? 0))), agreement \(m.nextTokenAgreement), \
            perplexity dense \(q.dense.perplexity) lsh \(m.perplexity) topk \(q.topKAtSameBudget?.perplexity ?? -1)
            """)
        #expect(r.promptTokens > 3000)
        #expect(m.nextTokenAgreement >= 0.75)
        #expect(m.perplexity < q.dense.perplexity * 1.2)
    }
}

/// A long English-like text generated deterministically: facts about named places with numbers,
/// connected by recurring phrases, and questions that refer back to earlier facts (so attention
/// must reach far back).
enum LongText {
    static func make(sentences: Int, seed: UInt64) -> String {
        var g = SplitMix64Test(seed: seed)
        func pick<T>(_ a: [T]) -> T { a[Int(g.next() % UInt64(a.count))] }
        let places = ["Aldermoor", "Brightwater", "Coldharbour", "Dunmore", "Eastleigh", "Fernhill", "Glenrock",
                      "Highcliff", "Ivybridge", "Juniper Vale", "Kingsford", "Lowmarsh"]
        let things = ["lanterns", "bridges", "libraries", "orchards", "windmills", "bells", "ships", "towers", "wells", "gardens"]
        let adjectives = ["old", "quiet", "famous", "crooked", "painted", "stone", "wooden", "silver", "narrow", "ancient"]
        let verbs = ["keeps", "repairs", "counts", "guards", "builds", "remembers", "sells", "paints"]
        let people = ["the mayor", "a young clerk", "the blacksmith", "an old sailor", "the baker", "the schoolteacher"]
        var facts: [(String, String, Int)] = []
        var out: [String] = []
        for i in 0..<sentences {
            switch i % 5 {
            case 0, 1:
                let p = pick(places), t = pick(things), n = Int(g.next() % 90) + 10
                facts.append((p, t, n))
                out.append("In \(p), \(pick(people)) \(pick(verbs)) \(n) \(pick(adjectives)) \(t) near the river.")
            case 2:
                out.append("Every morning \(pick(people)) of \(pick(places)) walks past the \(pick(adjectives)) \(pick(things)) and thinks about the weather.")
            case 3:
                if let f = facts.randomElement(using: &g) {
                    out.append("As noted before, \(f.0) has \(f.2) \(f.1), which everyone in the valley knows.")
                } else { out.append("The valley was quiet.") }
            default:
                out.append("Travellers say that \(pick(places)) and \(pick(places)) trade \(pick(things)) every spring.\n")
            }
        }
        return out.joined(separator: " ")
    }
}

extension SplitMix64Test: RandomNumberGenerator {}
