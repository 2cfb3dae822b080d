import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Testing

/// `pigplan calibrate --import FILE --into SYSTEM`: the tables file schema and the merge.
@Suite struct CalibrateImportTests {
    /// A tables file in the measurement script's layout, from the h200 system's shipped tables.
    func tablesJSON(mutate: (inout [String: Any]) -> Void = { _ in }) throws -> String {
        let calibration = try #require(try ProfileStore.builtIn().system("h200").calibration)
        var object: [String: Any] = [
            "measuredOn": "2026-11-28", "referenceModel": "llama-3.1-8b",
            "gpu": ["name": "NVIDIA GeForce RTX 4090", "memoryGiB": 24.0],
            "host": ["cpuCores": 32, "cpu": "test cpu"],
            "ceilings": ["hostReadBytesPerSecond32Threads": 200e9, "hostReadBytesPerSecond1Thread": 12e9, "deviceCopyBytesPerSecond": 1e12],
            "decodeLinearLayers": ["note": "ignored", "rows": (calibration.gpuLinearLayers ?? []).map {
                ["batch": $0.batch, "layerSeconds": $0.layerSeconds, "lmHeadSeconds": $0.lmHeadSeconds, "qkvSeconds": 1e-5]
            }],
            "gpuDecodeAttention": ["rows": (calibration.gpuDecodeAttention ?? []).map {
                ["batch": $0.batch, "contextTokens": $0.contextTokens, "seconds": $0.seconds]
            }],
            "pcie": ["rows": (calibration.pcie ?? []).map {
                ["bytes": $0.bytes, "hostToDeviceSeconds": $0.hostToDeviceSeconds, "deviceToHostSeconds": $0.deviceToHostSeconds]
            }],
        ]
        mutate(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test func importMergesIntoASystemTheCostModelThenUses() throws {
        let dir = try makeTemporaryDirectory("calibrate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tables.json")
        try tablesJSON().write(to: file, atomically: true, encoding: .utf8)
        let profiles = dir.appendingPathComponent("profiles").path
        let command = try CalibrateCommand.parse(["--import", file.path, "--into", "rtx4090-epyc", "--profiles-dir", profiles])
        try command.run()
        let store = try ProfileStore.load(directory: profiles)
        let system = try store.system("rtx4090-epyc")
        let calibration = try #require(system.calibration)
        #expect(calibration.gpuLinearLayers?.count == 10)
        #expect(calibration.cpu?.readBytesPerSecond == 200e9)
        #expect(calibration.cpu?.threads == 32)
        #expect(calibration.referenceModel == "llama-3.1-8b")
        // The plan on that system is now calibrated.
        let report = try Planner.plan(try PlanOptions.parse(["--hw", "rtx4090-epyc", "--ctx", "32k", "--profiles-dir", profiles]).request())
        #expect(report.context.calibrated)
    }

    @Test func sharedH200FileImports() throws {
        let tables = try GPUKernelTables.load(path: #filePath.replacingOccurrences(of: "CommandsTests/CalibrateImportTests.swift", with: "ProfilesTests/h200-host-kernels.json"))
        #expect(tables.decodeLinearLayers.rows.count == 10)
        #expect(tables.ceilings?.hostReadBytesPerSecond == 97_990_459_238.5888)
    }

    @Test func malformedTablesNameTheKey() throws {
        let dir = try makeTemporaryDirectory("calibrate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("pcie", { $0.removeValue(forKey: "pcie") }),
            ("host.cpuCores", { $0["host"] = ["cpu": "x"] }),
            ("gpuDecodeAttention.rows[0].seconds", {
                $0["gpuDecodeAttention"] = ["rows": [["batch": 1, "contextTokens": 4096, "seconds": -1.0]]]
            }),
            ("gpuDecodeAttention.rows[1]", {
                $0["gpuDecodeAttention"] = ["rows": [["batch": 1, "contextTokens": 4096, "seconds": 1e-4],
                                                     ["batch": 1, "contextTokens": 4096, "seconds": 2e-4]]]
            }),
            ("decodeLinearLayers.rows[0].layerSeconds", {
                $0["decodeLinearLayers"] = ["rows": [["batch": 1, "layerSeconds": "fast", "lmHeadSeconds": 1e-4]]]
            }),
        ]
        for (key, mutate) in cases {
            let file = dir.appendingPathComponent("bad.json")
            try tablesJSON(mutate: mutate).write(to: file, atomically: true, encoding: .utf8)
            do {
                _ = try GPUKernelTables.load(path: file.path)
                Issue.record("\(key): accepted")
            } catch {
                let message = error.localizedDescription
                #expect(message.contains(key), "\(message)")
                #expect(message.contains("bad.json"))
            }
        }
    }

    @Test func tablesOfAnotherGPUAreRefused() throws {
        let dir = try makeTemporaryDirectory("calibrate")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("tables.json")
        try tablesJSON { $0["gpu"] = ["name": "NVIDIA A100-SXM4-80GB"] }.write(to: file, atomically: true, encoding: .utf8)
        let profiles = dir.appendingPathComponent("profiles").path
        do {
            try CalibrateCommand.parse(["--import", file.path, "--into", "rtx4090-epyc", "--profiles-dir", profiles]).run()
            Issue.record("imported A100 tables into an RTX 4090 system")
        } catch {
            let message = CalibrateCommand.message(for: error)
            #expect(message.contains("A100-SXM4-80GB") && message.contains("RTX 4090"), "\(message)")
        }
        #expect(!FileManager.default.fileExists(atPath: profiles + "/systems/rtx4090-epyc.json"))
        // The same tables go into a system with that GPU.
        try CalibrateCommand.parse(["--import", file.path, "--into", "a100-2s-8563c", "--profiles-dir", profiles]).run()
        #expect(FileManager.default.fileExists(atPath: profiles + "/systems/a100-2s-8563c.json"))
    }

    @Test func tablesIntoASystemWithoutAGPUAreRefused() throws {
        let dir = try makeTemporaryDirectory("calibrate")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A calibrated CPU-only system (the corpus one, its broken rate mended).
        let corpus = CorpusTests.corpus.appendingPathComponent("calibration-cpu-negative")
        let profiles = dir.appendingPathComponent("profiles")
        try FileManager.default.createDirectory(at: profiles.appendingPathComponent("systems"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: corpus.appendingPathComponent("cpus"), to: profiles.appendingPathComponent("cpus"))
        var system = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("systems/local.json"))) as? [String: Any])
        var calibration = try #require(system["calibration"] as? [String: Any])
        var cpu = try #require(calibration["cpu"] as? [String: Any])
        cpu["prefillFlopsPerSecondPerCore"] = 2e10
        calibration["cpu"] = cpu
        system["calibration"] = calibration
        let systemFile = profiles.appendingPathComponent("systems/local.json")
        try JSONSerialization.data(withJSONObject: system).write(to: systemFile)
        let before = try Data(contentsOf: systemFile)
        let file = dir.appendingPathComponent("tables.json")
        try tablesJSON().write(to: file, atomically: true, encoding: .utf8)
        do {
            try CalibrateCommand.parse(["--import", file.path, "--into", "local", "--profiles-dir", profiles.path]).run()
            Issue.record("imported GPU tables into a system without a GPU")
        } catch {
            let message = CalibrateCommand.message(for: error)
            #expect(message.contains("system 'local' has no GPU"), "\(message)")
        }
        #expect(try Data(contentsOf: systemFile) == before)
    }

    @Test func importNeedsATarget() {
        do { _ = try CalibrateCommand.parse(["--import", "x.json"]); Issue.record("accepted --import without --into") } catch {
            let message = CalibrateCommand.message(for: error)
            #expect(message.contains("--into"), "\(message)")
        }
    }

    /// What calibrate measured is checked against the loader's rules before it is written: a
    /// measured fraction above 1 (a busy machine) would otherwise brick every later command.
    @Test func invalidMeasurementsAreRefusedBeforeWriting() throws {
        let dir = try makeTemporaryDirectory("calibrate-check")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try ProfileStore.prettyJSON(try ProfileStore.builtIn().cpu("xeon-6338"))
        try ProfileStore.checkLoads(adding: ["cpus/xeon-6338.json": good], directory: dir.path)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(good.utf8)) as? [String: Any])
        object["streamEfficiency"] = 1.7
        let bad = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        #expect(throws: ProfileError.self) { try ProfileStore.checkLoads(adding: ["cpus/xeon-6338.json": bad], directory: dir.path) }
        // Nothing is written by the check.
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("cpus").path))
    }

    @Test func absurdThreadCountsAreRefusedBeforeMeasuring() throws {
        let dir = try makeTemporaryDirectory("calibrate-threads")
        defer { try? FileManager.default.removeItem(at: dir) }
        let started = Date()
        do {
            try CalibrateCommand.parse(["--threads", "100000", "--profiles-dir", dir.path]).run()
            Issue.record("expected a refusal")
        } catch {
            #expect(PigPlanCommand.message(for: error).contains("--threads 100000"))
        }
        #expect(Date().timeIntervalSince(started) < 5, "refused before measuring")
    }
}
