import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// One broken profile file (a user's GPU profile, a model profile, a calibration written on a
/// busy machine) is skipped with a warning: commands that do not read it run, the ones that do
/// fail with an error naming the file, the problem and the repair, `profiles list` shows it as
/// broken, and calibrate can still replace a broken local profile.
@Suite struct BrokenProfileTests {
    init() { quietProfileWarnings() }

    /// A built-in profile as a JSON object, edited, as file text.
    static func edited<T: Encodable>(_ profile: T, _ change: (inout [String: Any]) -> Void) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(profile).utf8)) as? [String: Any])
        change(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    static func write(_ text: String, _ relativePath: String, in dir: URL) throws {
        let url = dir.appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    /// The message of what `body` throws, nil when it returns.
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return expectClearRefusal(error, "broken profile") }
    }

    func plan(_ args: [String]) throws -> PlanReport {
        try Planner.plan(try PlanOptions.parse(args).request())
    }

    func listing(_ dir: URL) throws -> String {
        ProfilesCommand.List.table(try ProfilesDirectoryOptions.parse(["--profiles-dir", dir.path]).loadStore(warnings: false))
    }

    /// A profile and the ones needing it are set aside; the rest of the folder loads.
    @Test func brokenGPUProfileStopsOnlyWhatUsesIt() throws {
        let dir = try makeTemporaryDirectory("broken-gpu")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(try Self.edited(try ProfileStore.builtIn().gpu("rtx4090")) { $0["memoryBandwidthBytesPerSecond"] = 1e-300 },
                       "gpus/rtx4090.json", in: dir)
        let file = dir.appendingPathComponent("gpus/rtx4090.json").path
        // Commands that do not read it run.
        #expect(try plan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        #expect(try plan(["--hw", "l40", "--ctx", "8k", "--model", "smollm2-135m", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        // The one that does fails naming the file, the key, the value and the way out.
        let direct = message { _ = try plan(["--hw", "rtx4090", "--ctx", "8k", "--profiles-dir", dir.path]) }
        for fragment in [file, "memoryBandwidthBytesPerSecond", "1e-300", "delete the file"] {
            #expect(direct?.contains(fragment) == true, "\(fragment): \(direct ?? "planned")")
        }
        // A system built on that GPU says what it needs.
        let system = message { _ = try plan(["--hw", "rtx4090-epyc", "--ctx", "8k", "--profiles-dir", dir.path]) }
        #expect(system?.contains("system 'rtx4090-epyc' needs gpu 'rtx4090'") == true && system?.contains(file) == true,
                "\(system ?? "planned")")
        let shown = message {
            _ = try ProfilesCommand.Show.render(name: "rtx4090", kind: nil,
                                                store: try ProfilesDirectoryOptions.parse(["--profiles-dir", dir.path]).loadStore(warnings: false))
        }
        #expect(shown == direct)
        // `profiles list` lists it (and its dependents) as broken, the others as usual.
        let table = try listing(dir)
        let rows = table.split(separator: "\n").map(String.init)
        #expect(rows.contains { $0.hasPrefix("gpu ") && $0.contains(" rtx4090 ") && $0.contains("BROKEN: \(file)") }, "\(table)")
        #expect(rows.contains { $0.hasPrefix("system ") && $0.contains(" rtx4090-epyc ") && $0.contains("BROKEN: system 'rtx4090-epyc' needs") })
        #expect(rows.contains { $0.hasPrefix("gpu ") && $0.contains(" h200 ") && $0.contains("NVIDIA H200") })
        // The warning names the file, the problem and the repair.
        let store = try ProfileStore.loadSkippingBroken(directory: dir.path)
        let warning = try #require(store.brokenProfiles.first { $0.kind == .gpu }).warning
        #expect(warning.hasPrefix("warning: skipped \(file): key 'memoryBandwidthBytesPerSecond'") && warning.contains("delete the file")
                && warning.contains("commands that need gpu 'rtx4090' fail"), "\(warning)")
        // A strict load refuses the folder with the file's own error, as before.
        #expect(message { _ = try ProfileStore.load(directory: dir.path) }?.hasPrefix("\(file): key 'memoryBandwidthBytesPerSecond'") == true)
    }

    @Test func brokenModelProfileStopsOnlyWhatUsesIt() throws {
        let dir = try makeTemporaryDirectory("broken-model")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(try Self.edited(try ProfileStore.builtIn().model("codellama-13b")) {
            var shape = $0["shape"] as! [String: Any]
            shape["queryHeadCount"] = 4_294_967_296
            $0["shape"] = shape
        }, "models/codellama-13b.json", in: dir)
        let file = dir.appendingPathComponent("models/codellama-13b.json").path
        #expect(try plan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        _ = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "1", "--ctx", "64", "--profiles-dir", dir.path])
            .request(mode: .dense, measureQuality: false)
        let planned = message { _ = try plan(["--hw", "h200", "--ctx", "8k", "--model", "codellama-13b", "--profiles-dir", dir.path]) }
        for fragment in [file, "shape.queryHeadCount", "4294967296", "delete the file"] {
            #expect(planned?.contains(fragment) == true, "\(fragment): \(planned ?? "planned")")
        }
        let run = message {
            _ = try RunCommand.parse(["--model", "codellama-13b", "--layers", "1", "--ctx", "64", "--profiles-dir", dir.path])
                .request(mode: .dense, measureQuality: false)
        }
        #expect(run == planned)
        let rows = try listing(dir).split(separator: "\n")
        #expect(rows.contains { $0.hasPrefix("model ") && $0.contains(" codellama-13b ") && $0.contains("BROKEN: \(file): key 'shape.queryHeadCount'") })
        // A calibration measured with a broken model's shape cannot be used either (h200's tables
        // are scaled from llama-3.1-8b's), while other machines still plan.
        try Self.write(try Self.edited(try ProfileStore.builtIn().model("llama-3.1-8b")) {
            var shape = $0["shape"] as! [String: Any]
            shape["headDim"] = 4_294_967_296
            $0["shape"] = shape
        }, "models/llama-3.1-8b.json", in: dir)
        let h200 = message { _ = try plan(["--hw", "h200", "--ctx", "8k", "--model", "smollm2-135m", "--profiles-dir", dir.path]) }
        #expect(h200?.contains("system 'h200' needs model 'llama-3.1-8b'") == true && h200?.contains("shape.headDim") == true, "\(h200 ?? "planned")")
        #expect(try plan(["--hw", "l40", "--ctx", "8k", "--model", "smollm2-135m", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
    }

    /// Profiles a plan reads without naming them (the model's quality profile, the serving
    /// engine GPU plans are compared on) fail those plans, not the others.
    @Test func brokenQualityAndEngineProfilesStopThePlansThatReadThem() throws {
        let dir = try makeTemporaryDirectory("broken-quality")
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.write(#"{"schemaVersion": 1, "model": "smollm2-135m", "metrics": ["#, "quality/smollm2-135m.json", in: dir)
        let quality = dir.appendingPathComponent("quality/smollm2-135m.json").path
        #expect(try plan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        let planned = message { _ = try plan(["--hw", "h200", "--ctx", "8k", "--model", "smollm2-135m", "--profiles-dir", dir.path]) }
        #expect(planned?.hasPrefix(quality) == true && planned?.contains("re-run `pigplan quality`") == true, "\(planned ?? "planned")")
        try Self.write(try Self.edited(try ProfileStore.builtIn().engine("vllm")) { $0["kinds"] = ["warp-drive"] }, "engines/vllm.json", in: dir)
        let engine = dir.appendingPathComponent("engines/vllm.json").path
        let gpu = message { _ = try plan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path]) }
        #expect(gpu?.hasPrefix(engine) == true, "\(gpu ?? "planned")")
        #expect(try plan(["--hw", "xeon-6338", "--ctx", "2k", "--model", "llama-3.1-8b", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
    }

    /// A CPU-only calibration as `pigplan calibrate` writes it: `local-cpu` and `local`, with the
    /// fitted engine's sampled-attention fraction set to `fraction`.
    static func localCalibration(fraction: Double) throws -> [String: String] {
        let store = try ProfileStore.builtIn()
        let cpu = try edited(try store.cpu("xeon-6338")) { $0["name"] = "local-cpu"; $0["displayName"] = "This machine's CPU (test)" }
        var engine = try #require(try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try store.engine("pigplan").parameters).utf8))
                                    as? [String: Any])
        engine["sampledAttentionBandwidthFraction"] = fraction
        let system: [String: Any] = [
            "schemaVersion": 1, "name": "local", "displayName": "This machine (test), CPU only, calibrated", "cpu": "local-cpu",
            "sockets": 1, "threads": 8,
            "calibration": ["source": "pigplan calibrate --quick on test", "referenceModel": "smollm2-135m",
                            "cpu": ["readBytesPerSecond": 40e9, "readBytesPerSecondOneThread": 12e9, "threads": 8, "engine": engine]],
        ]
        return ["cpus/local-cpu.json": cpu,
                "systems/local.json": String(decoding: try JSONSerialization.data(withJSONObject: system, options: [.sortedKeys]), as: UTF8.self)]
    }

    @Test func brokenCalibrationStopsOnlyWhatUsesItAndCalibrateReplacesIt() throws {
        let dir = try makeTemporaryDirectory("broken-calibration")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The same files with a fraction in range make a machine pigplan plans for.
        let good = try Self.localCalibration(fraction: 0.6)
        for (path, text) in good { try Self.write(text, path, in: dir) }
        #expect(try plan(["--hw", "local", "--ctx", "2k", "--model", "smollm2-135m", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        // A busy machine measured a fraction above 1.
        for (path, text) in try Self.localCalibration(fraction: 1.3) { try Self.write(text, path, in: dir) }
        let file = dir.appendingPathComponent("systems/local.json").path
        #expect(try plan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        let local = message { _ = try plan(["--hw", "local", "--ctx", "2k", "--model", "smollm2-135m", "--profiles-dir", dir.path]) }
        for fragment in [file, "calibration.cpu.engine.sampledAttentionBandwidthFraction", "1.3", "re-run `pigplan calibrate`"] {
            #expect(local?.contains(fragment) == true, "\(fragment): \(local ?? "planned")")
        }
        // validate needs the calibration and says so (before measuring anything).
        #expect(message { try ValidateCommand.parse(["--hw", "local", "--profiles-dir", dir.path]).run() } == local)
        #expect(try listing(dir).contains("BROKEN: \(file)"))
        // calibrate reads the folder past the broken file (here it stops at the model it is
        // given, before measuring) ...
        let calibrate = message { try CalibrateCommand.parse(["--model", "no-such-model", "--profiles-dir", dir.path]).run() }
        #expect(calibrate?.contains("no model profile named 'no-such-model'") == true, "\(calibrate ?? "calibrated")")
        // ... and new measurements replace it: the check before writing accepts them, not new
        // broken ones.
        try ProfileStore.checkLoads(adding: good, directory: dir.path)
        #expect(throws: ProfileError.self) { try ProfileStore.checkLoads(adding: try Self.localCalibration(fraction: 1.7), directory: dir.path) }
        try OutputFile.writeAll(good.map { ($0.value, dir.appendingPathComponent($0.key).path) }, option: "--profiles-dir")
        #expect(try plan(["--hw", "local", "--ctx", "2k", "--model", "smollm2-135m", "--profiles-dir", dir.path]).prediction.tokensPerSecond > 0)
        #expect(try ProfileStore.loadSkippingBroken(directory: dir.path).brokenProfiles.isEmpty)
    }

    /// The real binary prints the warning on standard error and goes on, or fails with the error.
    @Test(.enabled(if: ExamplesTests.binary != nil)) func binaryWarnsAndFailsOnStandardError() throws {
        let dir = try makeTemporaryDirectory("broken-binary")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (path, text) in try Self.localCalibration(fraction: 1.3) { try Self.write(text, path, in: dir) }
        let file = dir.appendingPathComponent("systems/local.json").path
        func pigplan(_ args: [String]) throws -> (status: Int32, stderr: String) {
            let run = try runProcess(URL(fileURLWithPath: ExamplesTests.binary!), args, standardErrorOnly: true)
            return (run.status, run.output)
        }
        let fine = try pigplan(["--hw", "h200", "--ctx", "8k", "--profiles-dir", dir.path])
        #expect(fine.status == 0, "\(fine.stderr)")
        #expect(fine.stderr.contains("warning: skipped \(file): key 'calibration.cpu.engine.sampledAttentionBandwidthFraction'")
                && fine.stderr.contains("re-run `pigplan calibrate`") && fine.stderr.contains("commands that need system 'local' fail"),
                "\(fine.stderr)")
        let needed = try pigplan(["--hw", "local", "--model", "smollm2-135m", "--ctx", "2k", "--profiles-dir", dir.path])
        #expect(needed.status != 0 && needed.stderr.contains("Error: \(file): key 'calibration.cpu.engine.sampledAttentionBandwidthFraction'"),
                "\(needed.stderr)")
    }
}
