import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// Seeded fuzzing of profile files through the real loader and the planner: each mutation (a
/// value made huge, tiny, zero, negative, fractional, of the wrong type, or removed) must give a
/// typed error or a plan, never a trap, and no output may carry NaN or infinity.
@Suite struct ProfileFuzzTests {
    init() { quietProfileWarnings() }

    /// Paths to every number, string and boolean leaf of a JSON object.
    func leaves(_ value: Any, _ path: [String] = []) -> [[String]] {
        if let object = value as? [String: Any] {
            return object.keys.sorted().flatMap { leaves(object[$0]!, path + [$0]) }
        }
        if let array = value as? [Any] {
            return array.indices.flatMap { leaves(array[$0], path + ["\($0)"]) }
        }
        return [path]
    }

    func setting(_ root: Any, _ path: ArraySlice<String>, _ value: Any?) -> Any {
        guard let key = path.first else { return value as Any }
        if var object = root as? [String: Any] {
            if path.count == 1 && value == nil { object.removeValue(forKey: key); return object }
            object[key] = setting(object[key] as Any, path.dropFirst(), value)
            return object
        }
        if var array = root as? [Any], let i = Int(key), array.indices.contains(i) {
            array[i] = setting(array[i], path.dropFirst(), value)
            return array
        }
        return root
    }

    /// PIGPLAN_FUZZ_SEED varies every stream for a longer session (0, the CI default, keeps them).
    static var seed: UInt64 { UInt64(ProcessInfo.processInfo.environment["PIGPLAN_FUZZ_SEED"] ?? "") ?? 0 }
    static var rounds: Int { Int(ProcessInfo.processInfo.environment["PIGPLAN_FUZZ_ROUNDS"] ?? "") ?? 150 }

    /// Mutates one random leaf of `original` per round, writes it with `write`, and runs `check`,
    /// which must return normally or throw (a typed error); returns (passed, threw).
    func fuzz(_ original: Any, seed: UInt64, rounds: Int, write: (Data) throws -> Void, check: () throws -> Void) throws -> (Int, Int) {
        var rng = SplitMix64(seed: seed ^ Self.seed)
        let paths = leaves(original)
        var passed = 0, threw = 0
        for _ in 0..<rounds {
            let path = paths[Int(rng.next() % UInt64(paths.count))]
            let replacement = Self.replacements[Int(rng.next() % UInt64(Self.replacements.count))]
            try write(try JSONSerialization.data(withJSONObject: setting(original, path[...], replacement)))
            do { try check(); passed += 1 } catch { expectClearRefusal(error, "\(path) = \(String(describing: replacement))"); threw += 1 }
        }
        return (passed, threw)
    }

    @Test func mutatedConfigsPlansAndImportsGiveAnErrorOrAResult() throws {
        let dir = try makeTemporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rounds = max(1, Self.rounds / 3)
        // A Hugging Face config.json of Llama-3.1-8B's shape.
        let config: [String: Any] = [
            "num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32,
            "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 128_256, "tie_word_embeddings": false,
            "rope_theta": 500_000.0, "rms_norm_eps": 1e-5, "torch_dtype": "bfloat16", "max_position_embeddings": 131_072,
        ]
        let configPath = dir.appendingPathComponent("m/config.json")
        try FileManager.default.createDirectory(at: configPath.deletingLastPathComponent(), withIntermediateDirectories: true)
        let c = try fuzz(config, seed: 1, rounds: rounds, write: { try $0.write(to: configPath) }) {
            let report = try Planner.plan(try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "8k", "--max-batch", "32",
                                                                 "--model-config", configPath.path]).request())
            #expect(!(try PlanRenderer.json(report)).contains("nan"))
        }
        // A plan file as `export` writes it, read back by `run --plan` (no decoding).
        let planPath = dir.appendingPathComponent("plan.json")
        try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", planPath.path]).run()
        let plan = try JSONSerialization.jsonObject(with: Data(contentsOf: planPath))
        let p = try fuzz(plan, seed: 2, rounds: rounds, write: { try $0.write(to: planPath) }) {
            _ = try RunCommand.parse(["--plan", planPath.path]).request(mode: .dense, measureQuality: false)
        }
        // GPU kernel tables imported into a system, then planned with.
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ProfilesTests/h200-host-kernels.json")
        let tables = try JSONSerialization.jsonObject(with: Data(contentsOf: shipped))
        let tablesPath = dir.appendingPathComponent("tables.json"), profiles = dir.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles, withIntermediateDirectories: true)
        let t = try fuzz(tables, seed: 3, rounds: rounds, write: { try $0.write(to: tablesPath) }) {
            try CalibrateCommand.parse(["--import", tablesPath.path, "--into", "h200", "--profiles-dir", profiles.path]).run()
            let report = try Planner.plan(try PlanOptions.parse(["--hw", "h200", "--ctx", "32k", "--max-batch", "32",
                                                                 "--profiles-dir", profiles.path]).request())
            #expect(!(try PlanRenderer.json(report)).contains("nan"))
        }
        testLog("fuzzing: config.json \(c.0) planned / \(c.1) refused; plan files \(p.0) read / \(p.1) refused; imports \(t.0) planned / \(t.1) refused; no trap")
        #expect(c.0 + c.1 == rounds && p.0 + p.1 == rounds && t.0 + t.1 == rounds)
    }

    nonisolated(unsafe) static let replacements: [Any?] = [
        nil, 0, -1, 1e-300, 1e300, 9_223_372_036_854_775_807, 4_294_967_296, 0.5, "text", true, [Any](), 1e9, 3,
    ]

    @Test func mutatedProfilesGiveAnErrorOrAPlan() throws {
        var rng = SplitMix64(seed: 20_261_201 ^ Self.seed)
        let store = try ProfileStore.builtIn()
        let originals: [(kind: String, name: String, object: Any)] = [
            ("gpus", "rtx4090", try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.gpu("rtx4090")).utf8))),
            ("cpus", "xeon-6338", try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.cpu("xeon-6338")).utf8))),
            ("models", "llama-3.1-8b", try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.model("llama-3.1-8b")).utf8))),
            ("engines", "pigplan", try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.engine("pigplan")).utf8))),
            ("systems", "h200", try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.system("h200")).utf8))),
        ]
        let dir = try makeTemporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        var plans = 0, errors = 0
        for round in 0..<Self.rounds {
            let original = originals[round % originals.count]
            let paths = leaves(original.object)
            let path = paths[Int(rng.next() % UInt64(paths.count))]
            let replacement = Self.replacements[Int(rng.next() % UInt64(Self.replacements.count))]
            let mutated = setting(original.object, path[...], replacement)
            let folder = dir.appendingPathComponent("\(round)/\(original.kind)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: mutated).write(to: folder.appendingPathComponent("\(original.name).json"))
            let profiles = dir.appendingPathComponent("\(round)").path
            let hw = original.kind == "systems" ? "h200" : (original.kind == "cpus" ? "xeon-6338" : "rtx4090")
            do {
                let request = try PlanOptions.parse(["--hw", hw, "--ctx", "32k", "--max-batch", "64", "--profiles-dir", profiles,
                                                     "--engine", "pigplan"]).request()
                let report = try Planner.plan(request)
                let json = try PlanRenderer.json(report)
                #expect(!json.contains("nan") && !json.contains("inf\""), "round \(round): \(path) = \(String(describing: replacement))")
                let table = PlanRenderer.table(report, explain: true)
                #expect(!table.contains("nan"), "round \(round): \(path)")
                plans += 1
            } catch {
                expectClearRefusal(error, "round \(round): \(path) = \(String(describing: replacement))")
                errors += 1
            }
        }
        testLog("profile fuzzing: \(Self.rounds) mutations, \(plans) plans, \(errors) errors, no trap")
        #expect(plans + errors == Self.rounds)
    }
}
