import ArgumentParser
import Core
import Foundation
import Executor
import PigPlanCommands
import Testing

/// `pigplan run`: plan files in, measured report out, and its error paths.
@Suite(.serialized) struct RunCommandTests {
    @Test func exportedPlanRunsOnTheExecutor() throws {
        let dir = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let plan = dir.appendingPathComponent("plan.json").path
        let export = try ExportCommand.parse(["--hw", "h200", "--model", "smollm2-135m", "--ctx", "1024", "--batch", "2",
                                              "--k", "8", "--l", "75", "--out", plan])
        try export.run()
        let run = try RunCommand.parse(["--plan", plan, "--layers", "2", "--steps", "3", "--threads", "1"])
        let request = try run.request(mode: try run.mode(matched: nil), measureQuality: false)
        #expect(request.batch == 2)
        #expect(request.attention == .lshSampled(LSHParameters(hashBitsPerTable: 8, tableCount: 75)))
        #expect(request.prompt == .syntheticTokens(count: 1024))
        if case .synthetic(let shape, let layers, _) = request.weights {
            #expect(shape.name == "smollm2-135m" && layers == 2)
        } else {
            Issue.record("expected synthetic weights")
        }
    }

    @Test(arguments: ["topk", "quest"])
    func matchedBudgetRunsAnLSHProbeFirst(_ mode: String) throws {
        let run = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "2", "--ctx", "600", "--steps", "2",
                                        "--attention", mode, "--k", "6", "--l", "40", "--threads", "1", "--format", "json"])
        try run.run()
    }

    @Test func badInputsSayWhatToDo() throws {
        let dir = try makeTemporaryDirectory("run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json")
        try "{\"schemaVersion\": 1}".write(to: bad, atomically: true, encoding: .utf8)
        let run = try RunCommand.parse(["--plan", bad.path])
        do { _ = try run.request(mode: .dense, measureQuality: false); Issue.record("accepted a bad plan") } catch {
            let message = RunCommand.message(for: error)
            #expect(message.contains("bad.json") && message.contains("pigplan export"))
        }
        #expect(throws: (any Error).self) { _ = try RunCommand.parse(["--text", "x.txt"]) }
        #expect(throws: (any Error).self) { _ = try RunCommand.parse(["--budget", "2"]) }
        let noContext = try RunCommand.parse(["--model", "smollm2-135m"])
        #expect(throws: (any Error).self) { _ = try noContext.request(mode: .dense, measureQuality: false) }
    }

    @Test func memoryLimitRefusesBeforeAllocating() throws {
        let run = try RunCommand.parse(["--model", "llama-3.1-8b", "--ctx", "96k", "--batch", "4", "--attention", "lsh", "--prefill", "synthetic",
                                        "--memory-limit", "8GB", "--steps", "2"])
        do { try run.run(); Issue.record("ran over the memory limit") } catch {
            let message = RunCommand.message(for: error)
            print(message)
            #expect(message.contains("GB"))
        }
    }
}
