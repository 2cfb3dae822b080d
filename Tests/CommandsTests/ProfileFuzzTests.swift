import Core
import Foundation
import PigPlanCommands
import Profiles
import Testing

/// Seeded fuzzing of profile files through the real loader and the planner: each mutation (a
/// value made huge, tiny, zero, negative, fractional, of the wrong type, or removed) must give a
/// typed error or a plan, never a trap, and no output may carry NaN or infinity.
@Suite struct ProfileFuzzTests {
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

    nonisolated(unsafe) static let replacements: [Any?] = [
        nil, 0, -1, 1e-300, 1e300, 9_223_372_036_854_775_807, 4_294_967_296, 0.5, "text", true, [Any](), 1e9, 3,
    ]

    @Test func mutatedProfilesGiveAnErrorOrAPlan() throws {
        var rng = SplitMix64(seed: 20_261_201)
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
        for round in 0..<150 {
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
                #expect(!"\(error)".isEmpty)
                errors += 1
            }
        }
        print("profile fuzzing: 150 mutations, \(plans) plans, \(errors) errors, no trap")
        #expect(plans + errors == 150)
    }
}
