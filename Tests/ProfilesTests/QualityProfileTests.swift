import Core
import Foundation
import Testing

@testable import Profiles

/// Quality profiles: the published tables load, estimates follow the stated rules between and
/// beyond measured contexts, and malformed files are refused naming the key and the fix.
@Suite struct QualityProfileTests {
    func ruler() throws -> QualityMetric {
        try #require(try ProfileStore.builtIn().quality(forModel: "llama-3.1-8b")?.metric(nil))
    }
    func lsh(_ k: Int, _ l: Int) -> AttentionMode { .lshSampled(LSHParameters(hashBitsPerTable: k, tableCount: l)) }

    @Test func publishedTablesGiveThePapersLosses() throws {
        let m = try ruler()
        #expect(m.name == "ruler" && m.kind == .accuracy)
        // Table 3: (10, 150) 80.0 against 83.0 at 96K, (8, 75) 81.7; Quest (16, 0.04) 74.9.
        let e = try #require(m.estimate(lsh(10, 150), contextTokens: 98_304))
        #expect(abs(e.loss - 3.0) < 1e-9 && e.basis == .measured && e.source.contains("Table 3"))
        #expect(abs(try #require(m.estimate(lsh(8, 75), contextTokens: 98_304)).loss - 1.3) < 1e-9)
        #expect(abs(try #require(m.estimate(.quest(pageSize: 16, budgetFraction: 0.04), contextTokens: 98_304)).loss - 8.1) < 1e-9)
        #expect(try #require(m.estimate(.dense, contextTokens: 98_304)).loss == 0)
    }

    @Test func betweenContextsTheLossIsInterpolatedInLogContext() throws {
        let m = try ruler()
        // 45.25k is halfway between 32K and 64K in log2: (10, 150) loses 2.6 and 1.3 there.
        let mid = Int((32_768.0 * 65_536.0).squareRoot())
        let e = try #require(m.estimate(lsh(10, 150), contextTokens: mid))
        #expect(e.basis == .interpolated)
        #expect(abs(e.loss - (2.6 + 1.3) / 2) < 0.01)
    }

    @Test func beyondTheMeasuredContextsOnlyNearbyValuesAreCarried() throws {
        let m = try ruler()
        // 128K: beyond every RULER context, within a factor of 2 of 96K: extrapolated.
        let e = try #require(m.estimate(lsh(9, 120), contextTokens: 131_072))
        #expect(e.basis == .extrapolated && e.extrapolatedFromContextTokens == 98_304)
        #expect(abs(e.loss - 1.5) < 1e-9)
        // 256K: more than twice the last measured context.
        #expect(m.estimate(lsh(9, 120), contextTokens: 262_144) == nil)
        // (10, 240) is measured only at 16K (Table 12): at 96K, where other settings were
        // measured, it is unmeasured rather than carried over.
        #expect(m.estimate(lsh(10, 240), contextTokens: 16_384) != nil)
        #expect(m.estimate(lsh(10, 240), contextTokens: 98_304) == nil)
    }

    @Test func perplexityLossIsAPercentChange() {
        let m = QualityMetric(name: "perplexity", description: "", kind: .perplexity, source: "test",
                              full: [QualityValue(contextTokens: 4096, value: 10)],
                              settings: [QualitySetting(mode: lsh(10, 150), values: [QualityValue(contextTokens: 4096, value: 10.5, sampledFraction: 0.03)])])
        let e = m.estimate(lsh(10, 150), contextTokens: 4096)
        #expect(abs((e?.loss ?? 0) - 5) < 1e-9 && e?.lossUnit == "%" && e?.sampledFraction == 0.03)
    }

    func load(_ json: String, name: String = "llama-3.1-8b") throws(ProfileError) {
        _ = try ProfileStore(files: [.init(relativePath: "quality/\(name).json", displayPath: "quality/\(name).json", text: json)])
    }

    func refusal(_ json: String, name: String = "llama-3.1-8b") -> String {
        do { try load(json, name: name); return "" } catch { return error.description }
    }

    static let good = """
        {"schemaVersion": 1, "model": "llama-3.1-8b", "source": "test",
         "metrics": [{"name": "ruler", "description": "d", "kind": "accuracy", "source": "s",
           "full": [{"contextTokens": 16384, "value": 94.2}],
           "settings": [{"method": "lsh", "k": 10, "l": 150, "values": [{"contextTokens": 16384, "value": 91.8}]}]}]}
        """

    @Test func aGoodFileLoads() throws {
        try load(Self.good)
    }

    @Test func malformedFilesNameTheKeyAndTheFix() {
        let repeated = Self.good.replacingOccurrences(
            of: "\"settings\": [{\"method\": \"lsh\", \"k\": 10, \"l\": 150, \"values\": [{\"contextTokens\": 16384, \"value\": 91.8}]}]",
            with: "\"settings\": [{\"method\": \"lsh\", \"k\": 10, \"l\": 150, \"values\": [{\"contextTokens\": 16384, \"value\": 91.8}]}, {\"method\": \"lsh\", \"k\": 10, \"l\": 150, \"values\": [{\"contextTokens\": 16384, \"value\": 90}]}]")
        #expect(refusal(repeated).contains("metrics[0].settings[1]") && refusal(repeated).contains("repeats the setting lsh (10, 150)"))
        let noFull = Self.good.replacingOccurrences(of: "{\"contextTokens\": 16384, \"value\": 91.8}", with: "{\"contextTokens\": 32768, \"value\": 91.8}")
        #expect(refusal(noFull).contains("context 32768 has no full-attention value"))
        let tooHigh = Self.good.replacingOccurrences(of: "91.8", with: "918")
        #expect(refusal(tooHigh).contains("an accuracy must be 0-100 points"))
        let missingL = Self.good.replacingOccurrences(of: "\"k\": 10, \"l\": 150, ", with: "\"k\": 10, ")
        #expect(refusal(missingL).contains("a lsh setting needs k and l"))
        let badK = Self.good.replacingOccurrences(of: "\"k\": 10", with: "\"k\": 40")
        #expect(refusal(badK).contains("K must be between"))
        #expect(refusal(Self.good, name: "other").contains("is 'llama-3.1-8b' but the file is named 'other.json'"))
        let unknownMethod = Self.good.replacingOccurrences(of: "\"method\": \"lsh\"", with: "\"method\": \"sparse\"")
        #expect(refusal(unknownMethod).contains("metrics[0].settings[0].method"))
    }
}
