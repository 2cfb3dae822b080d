import Core
import Foundation
import Testing
@testable import Executor

@Suite struct ExecutorAPITests {
    static let tiny = ModelShape(name: "tiny", layerCount: 3, hiddenSize: 64, intermediateSize: 128, queryHeadCount: 4,
                                 kvHeadCount: 2, headDim: 32, vocabSize: 64, ropeTheta: 10_000, denseLayers: [0])

    /// The progress handler hears every phase in order, each count within its total, the prefill
    /// reaching all prompt tokens of every sequence.
    @Test func progressReportsEveryPhaseInOrder() throws {
        var events: [(phase: String, done: Int, total: Int)] = []
        _ = try Executor.run(ExecutorRequest(weights: .synthetic(shape: Self.tiny, layers: nil, seed: 2),
                                             prompt: .syntheticTokens(count: 300), batch: 2, decodeSteps: 4,
                                             attention: .lshSampled(LSHParameters(hashBitsPerTable: 6, tableCount: 30)),
                                             threads: 2, seed: 4, measureQuality: true)) { events.append(($0, $1, $2)) }
        var phases: [String] = []
        for e in events where phases.last != e.phase { phases.append(e.phase) }
        #expect(phases == ["loading weights", "prefill (tokens)", "index build (layers)", "decode (steps)",
                           "quality, dense pass (positions)", "quality, lsh pass (positions)", "quality, topk pass (positions)"])
        #expect(events.allSatisfy { $0.done >= 0 && $0.done <= $0.total })
        let prefill = events.filter { $0.phase == "prefill (tokens)" }
        #expect(prefill.last.map { $0.done == $0.total && $0.total == 2 * (300 - 4) } == true)
    }

    @Test func reportsMeasurementsAndQualityForEveryMode() throws {
        let modes: [AttentionMode] = [.dense, .lshSampled(LSHParameters(hashBitsPerTable: 6, tableCount: 30)),
                                      .topK(budgetFraction: 0.1), .quest(pageSize: 16, budgetFraction: 0.1)]
        for mode in modes {
            let r = try Executor.run(ExecutorRequest(weights: .synthetic(shape: Self.tiny, layers: nil, seed: 2),
                                                     prompt: .syntheticTokens(count: 600), batch: 2, decodeSteps: 8,
                                                     attention: mode, threads: 2, seed: 4, measureQuality: true))
            let m = r.measured
            testLog("\(mode.name): \(String(format: "%.0f", m.tokensPerSecond)) tok/s, step \(m.stepSeconds) s, sampled \(m.sampledFraction?.mean ?? -1), agreement \(r.quality?.nextTokenAgreement ?? -1), error \(r.quality?.attentionRelativeL2Error ?? -1)")
            #expect(m.tokensPerSecond > 0 && m.stepSeconds > 0)
            #expect(r.promptTokens == 600 - 8)
            #expect(r.generatedTokens.count == 2)
            let q = try #require(r.quality)
            #expect(q.dense.nextTokenAgreement == 1)
            if mode == .dense {
                #expect(m.sampledFraction == nil && q.mode == nil)
            } else {
                let f = try #require(m.sampledFraction)
                #expect(f.perLayer.count == 3 && f.perLayer[0] == nil && f.perLayer[1] != nil)
                #expect(f.mean > 0 && f.mean <= 1)
                #expect(q.mode?.attentionRelativeL2Error != nil)
                #expect(m.breakdown[.retrieval] > 0)
            }
            if case .lshSampled = mode { #expect(q.topKAtSameBudget != nil && m.breakdown[.hashing] > 0) }
            // The report encodes to JSON and back.
            let data = try JSONEncoder().encode(r)
            let back = try JSONDecoder().decode(ExecutorReport.self, from: data)
            #expect(back.attention == mode)
        }
    }

    @Test func memoryGuardRefusesBeforeAllocating() throws {
        let big = ModelShape(name: "llama-3.1-8b", layerCount: 32, hiddenSize: 4096, intermediateSize: 14336, queryHeadCount: 32,
                             kvHeadCount: 8, headDim: 128, vocabSize: 128_256, ropeTheta: 500_000, denseLayers: [0, 16])
        let request = ExecutorRequest(weights: .synthetic(shape: big, layers: nil, seed: 1), prompt: .syntheticTokens(count: 98_304),
                                      batch: 4, decodeSteps: 8, attention: .lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150)),
                                      prefill: .syntheticCache)
        let need = try Executor.memoryRequirement(request)
        testLog("8B, 96k, batch 4, (10,150): weights \(Format.bytes(need.weightsBytes)), KV \(Format.bytes(need.kvCacheBytes)), tables \(Format.bytes(need.indexBytes)), total \(Format.bytes(need.totalBytes))")
        // Tables: 30 hashed layers x 4 x 8 units x 150 x (n + 1025) x 4 bytes, about 14 GB per sequence.
        #expect(need.indexBytes / 4 > 13e9 && need.indexBytes / 4 < 15e9)
        #expect(need.kvCacheBytes > 4 * 12e9)
        do {
            _ = try Executor.run(request)
            Issue.record("expected insufficientMemory")
        } catch let e as ExecutorError {
            guard case .insufficientMemory = e else { Issue.record("wrong error \(e)"); return }
            testLog("guard: \(e.localizedDescription)")
            #expect(e.localizedDescription.contains("fewer layers"))
        }
        var limited = request
        limited.weights = .synthetic(shape: big, layers: 1, seed: 1)
        limited.prompt = .syntheticTokens(count: 1000)
        limited.batch = 1
        limited.memoryLimitBytes = 1e6
        #expect(throws: ExecutorError.self) { _ = try Executor.run(limited) }
        // More context needs more memory.
        var longer = limited
        longer.prompt = .syntheticTokens(count: 4000)
        #expect(try Executor.memoryRequirement(longer).totalBytes > Executor.memoryRequirement(limited).totalBytes)
    }

    @Test func invalidRequestsAreTypedErrors() {
        let base = ExecutorRequest(weights: .synthetic(shape: Self.tiny, layers: nil, seed: 1), prompt: .syntheticTokens(count: 100))
        var a = base; a.batch = 0
        var b = base; b.attention = .lshSampled(LSHParameters(hashBitsPerTable: 0, tableCount: 10))
        var c = base; c.attention = .topK(budgetFraction: 1.5)
        var d = base; d.prompt = .text("hello")
        var e = base; e.measureQuality = true; e.decodeSteps = 200
        var f = base; f.weights = .gguf(path: "/nonexistent.gguf")
        for r in [a, b, c, d, e, f] {
            do { _ = try Executor.run(r); Issue.record("expected an error") } catch {
                testLog("refused: \(error.localizedDescription)")
                #expect(error is ExecutorError || error is GGUFError)
            }
        }
    }
}
