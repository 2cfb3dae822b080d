import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// `pigplan quality` on the real SmolLM2 model: it writes a profile that loads, and plans then
/// honour a budget in its metric (perplexity percent). Its input errors need no model.
@Suite(.serialized) struct QualityCommandTests {
    static var model: String? {
        let cache = ProcessInfo.processInfo.environment["PIGPLAN_MODEL_CACHE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pigplan/models").path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return names.sorted().first { $0.lowercased().hasPrefix("smollm2") && $0.hasSuffix(".gguf") }.map { cache + "/" + $0 }
    }
    static var ready: Bool { model != nil && FileManager.default.fileExists(atPath: "/usr/share/dictd/jargon.dict.dz") }

    /// The first `bytes` of the Jargon File as a file in `dir`.
    func jargon(_ dir: URL, bytes: Int) throws -> String {
        let path = dir.appendingPathComponent("jargon.txt").path
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -dc /usr/share/dictd/jargon.dict.dz | head -c \(bytes) > '\(path)'"]
        try gzip.run()
        gzip.waitUntilExit()
        return path
    }

    func message(_ body: () throws -> Void) -> String {
        do { try body(); return "" } catch { return PigPlanCommand.message(for: error) }
    }

    @Test(.enabled(if: ready, "needs the SmolLM2 GGUF (scripts/fetch-smollm2) and the Jargon File (dict-jargon)"))
    func measuresAProfileThatPlansHonour() throws {
        let dir = try makeTemporaryDirectory("quality")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try jargon(dir, bytes: 8000)
        let command = try QualityCommand.parse(["--gguf", Self.model!, "--text", text, "--ctx", "640", "--positions", "12",
                                                "--kl", "10x150", "--threads", "2", "--format", "json",
                                                "--profiles-dir", dir.path, "--svg", dir.appendingPathComponent("q.svg").path])
        try command.run()
        // The profile loads as the SmolLM2 model's (found by its shape), with both metrics.
        let store = try ProfileStore.load(directory: dir.path)
        let profile = try #require(store.quality(forModel: "smollm2-135m"))
        #expect(profile.metrics.map(\.name) == ["perplexity", "next-token-agreement"])
        let perplexity = profile.metrics[0]
        #expect(perplexity.source.contains("exact f32 activations"))
        #expect(perplexity.settings.map(\.method) == [.lsh, .topk, .quest])
        let lsh = try #require(perplexity.settings.first)
        let fraction = try #require(lsh.values.first?.sampledFraction)
        #expect(fraction > 0 && fraction < 1)
        let svg = try String(contentsOf: dir.appendingPathComponent("q.svg"), encoding: .utf8)
        #expect(svg.contains("<svg") && svg.contains("MagicPIG LSH") && !svg.contains("NaN"))

        // A plan for this model reads it: the budget is in perplexity percent.
        let mode = AttentionMode.lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150))
        let loss = try #require(perplexity.estimate(mode, contextTokens: 640)).loss
        let base = ["--profiles-dir", dir.path, "--hw", "xeon-6338", "--model", "smollm2-135m", "--ctx", "640", "--attention", "lsh"]
        let r = try Planner.plan(try PlanOptions.parse(base + ["--max-quality-loss", "\(max(0, loss) + 1)"]).request())
        #expect(r.plan.k == 10 && r.plan.l == 150)
        #expect(r.plan.quality?.metric == "perplexity" && r.plan.quality?.lossUnit == "%")
        #expect(r.prediction.sampledFractionSource == "measured" && r.prediction.sampledFraction == fraction)
        if loss > 0.02 {
            let refused = message { _ = try PlanCommand.report(for: try PlanOptions.parse(base + ["--max-quality-loss", "\(loss / 2)"]).request()) }
            #expect(refused.contains("the best is (10, 150) at"))
        }
    }

    @Test func inputErrorsNameTheFlag() throws {
        let dir = try makeTemporaryDirectory("quality-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(message { _ = try QualityCommand.parse(["--gguf", "m.gguf", "--text", "t.txt", "--ctx", "4k,4k"]) }.contains("given twice"))
        #expect(message { _ = try QualityCommand.parse(["--gguf", "m.gguf", "--text", "t.txt", "--positions", "1"]) }.contains("--positions 1"))
        #expect(message { _ = try QualityCommand.parse(["--gguf", "m.gguf", "--text", "t.txt", "--kl", "10x1"]) }.contains("L must be between"))
        #expect(message { _ = try QualityCommand.parse(["--gguf", "m.gguf", "--text", "t.txt", "--name", "../x"]) }.contains("--name ../x"))
        let missing = message {
            let c = try QualityCommand.parse(["--gguf", dir.appendingPathComponent("none.gguf").path, "--text", "t.txt", "--profiles-dir", dir.path])
            try c.run()
        }
        #expect(missing.contains("none.gguf"))
        if let model = Self.model {
            let folder = message {
                let c = try QualityCommand.parse(["--gguf", model, "--text", dir.path, "--profiles-dir", dir.path])
                try c.run()
            }
            #expect(folder.contains("--text") && folder.contains("is a folder"))
            let text = try jargon(dir, bytes: 4000)
            let long = message {
                let c = try QualityCommand.parse(["--gguf", model, "--text", text, "--ctx", "16k", "--profiles-dir", dir.path])
                try c.run()
            }
            #expect(long.contains("beyond the model's trained length"))
        }
    }
}
