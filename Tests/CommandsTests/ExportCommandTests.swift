import ArgumentParser
import Core
import Foundation
import PigPlanCommands
import Planning
import Testing

@Suite struct ExportCommandTests {
    @Test func planFileRoundTrips() throws {
        let dir = try makeTemporaryDirectory("export")
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("plan.json").path
        let command = try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", out])
        try command.run()
        let file = try JSONDecoder().decode(PlanFile.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(file.schemaVersion == 1)
        #expect(file.contextTokens == 32_768)
        #expect(file.modelShape.name == "llama-3.1-8b")
        // The file carries the plan's winner (GPU-only on an H200 at 32k), as `plan` reports it.
        let report = try PlanCommand.report(for: try PlanOptions.parse(["--hw", "h200", "--ctx", "32k"]).request())
        #expect(file.attention == report.plan.mode && file.batch == report.plan.batch)
        #expect(file.predicted.tokensPerSecond == report.prediction.tokensPerSecond)
        // With the attention fixed to LSH, an LSH plan.
        try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--attention", "lsh", "--out", out]).run()
        let lsh = try JSONDecoder().decode(PlanFile.self, from: Data(contentsOf: URL(fileURLWithPath: out)))
        #expect(lsh.attention.lsh != nil && lsh.predicted.tokensPerSecond > 0)
    }

    @Test func unwritableDestinationLeavesNothing() throws {
        // The destination's folder exists, but the destination is a folder itself: the write must
        // fail with a message and leave no temporary or partial file beside it.
        let dir = try makeTemporaryDirectory("export")
        let blocker = dir.appendingPathComponent("plan.json")
        try FileManager.default.createDirectory(at: blocker, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let command = try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", blocker.path])
        do { try command.run(); Issue.record("wrote over a folder") } catch {
            #expect(ExportCommand.message(for: error).contains("is a folder"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["plan.json"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: blocker.path).isEmpty)
    }

    @Test func magicPIGCommandLine() throws {
        let request = try PlanOptions.parse(["--hw", "h200-host16", "--ctx", "96k", "--batch", "1", "--k", "10", "--l", "150"]).request()
        let report = try Planner.plan(request)
        let line = try ExportCommand.magicPIGCommand(report, request: request)
        #expect(line.contains("bench.py --model meta-llama/Llama-3.1-8B-Instruct --B 1 --P 98304 --M 98432 --K 10 --L 150"))
        #expect(line.contains("numactl -C 0-15"))
    }

    @Test func magicPIGTargetPlansForTheReferenceEngine() throws {
        let options = try PlanOptions.parse(["--hw", "h200-host16", "--ctx", "96k"])
        let request = try options.request(defaultEngine: "magicpig")
        #expect(request.engineName == "magicpig")
        let report = try Planner.plan(request)
        // The reference implementation does not pipeline micro-batches.
        #expect(report.prediction.schedule == .serial)
        // An explicit --engine still wins.
        let ours = try PlanOptions.parse(["--hw", "h200-host16", "--ctx", "96k", "--engine", "pigplan"]).request(defaultEngine: "magicpig")
        #expect(ours.engineName == "pigplan")
    }
}
