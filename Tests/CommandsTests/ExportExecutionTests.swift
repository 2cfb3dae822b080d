import Core
import Foundation
import PigPlanCommands
import Profiles
import Testing

/// Random model ids (leading '-', spaces, quotes, `$()`, backticks, ';', non-ASCII, NUL) through
/// every export target: an id the exporter's rule refuses fails with an error naming the key,
/// and every command exported for an accepted one is run by /bin/sh against stub engines first
/// on PATH, which record their arguments: the id must arrive as exactly one argument where the
/// engine reads the model, and nothing else may run.
@Suite struct ExportExecutionTests {
    init() { quietProfileWarnings() }

    /// The exporter's rule (ProfileValidator, huggingFaceId): owner/name or name, each part of
    /// ASCII letters, digits, '-', '_' and '.', not starting with '-' or '.', at most 96 characters.
    static func accepted(_ id: String) -> Bool {
        let parts = id.split(separator: "/", omittingEmptySubsequences: false)
        let word = { (s: Substring) in
            !s.isEmpty && s.first != "-" && s.first != "." && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
        }
        return (1...2).contains(parts.count) && parts.allSatisfy(word) && id.count <= 96
    }

    /// Ids built from safe pieces and, for `hostile`, shell syntax and other bytes a command line
    /// must never act on (`marker` is the file an injection would create).
    static func randomId(_ rng: inout SplitMix64, hostile: Bool, marker: String) -> String {
        let safe = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        let nasty = [" ", "'", "\"", "$(touch \(marker))", "`touch \(marker)`", ";touch \(marker)", "|touch \(marker)", "&", "\n",
                     "\t", "\\", "*", "?", "~", "#", "=", "é", "模型", "💥", "\u{0}", "--", "-", "/", "..", "$HOME", "${IFS}", ">\(marker)"]
        func part() -> String {
            let count = 1 + Int(rng.next() % 12)
            return String((0..<count).map { _ in safe[Int(rng.next() % UInt64(safe.count))] })
        }
        while true {
            var id = rng.next() % 3 == 0 ? part() : part() + "/" + part()
            if hostile {
                let piece = nasty[Int(rng.next() % UInt64(nasty.count))]
                let at = id.index(id.startIndex, offsetBy: Int(rng.next() % UInt64(id.count + 1)))
                id.insert(contentsOf: piece, at: at)
            }
            // Refusals quote the id, and a refusal may not read "nan" or "inf" (expectClearRefusal).
            let words = Set(id.lowercased().split { !$0.isLetter }.map(String.init))
            if words.isDisjoint(with: ["nan", "inf"]) { return id }
        }
    }

    /// A stub engine: writes its name and arguments, each followed by NUL, to a new file under
    /// $PIGPLAN_STUB_CALLS.
    static let stub = """
        #!/bin/sh
        f=$(mktemp "$PIGPLAN_STUB_CALLS/call.XXXXXX") || exit 97
        { printf '%s\\0' "${0##*/}"; for a in "$@"; do printf '%s\\0' "$a"; done; } > "$f"

        """

    @Test func exportedCommandsPassTheIdAsOneArgument() throws {
        let dir = try makeTemporaryDirectory("export-run")
        defer { try? FileManager.default.removeItem(at: dir) }
        let marker = dir.appendingPathComponent("injected").path
        let profiles = dir.appendingPathComponent("profiles"), stubs = dir.appendingPathComponent("bin")
        let calls = dir.appendingPathComponent("calls"), work = dir.appendingPathComponent("work")
        for folder in [profiles.appendingPathComponent("models"), stubs, calls, work.appendingPathComponent("MagicPIG/models")] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        // Every program the exports start: the engines, and the Python and numactl of the
        // MagicPIG benchmark (env is the system's, which finds the stubs on PATH).
        for name in ["vllm", "python", "trtllm-serve", "numactl"] {
            let path = stubs.appendingPathComponent(name).path
            try Self.stub.write(toFile: path, atomically: true, encoding: .utf8)
            #expect(chmod(path, 0o755) == 0)
        }

        var rng = SplitMix64(seed: 24 ^ ProfileFuzzTests.seed)
        let random = max(4, ProfileFuzzTests.rounds / 25)
        var ids = ["a", "A_b.c-d/e_f.g-h", String(repeating: "x", count: 96), "-trust-remote-code", "a/-b", "a/b/c", "",
                   "./local", "x y", "x'y", "$(touch \(marker))", "`touch \(marker)`", "a;touch \(marker)", "é/x", "x\u{0}y",
                   String(repeating: "x", count: 97)]
        ids += (0..<random).map { Self.randomId(&rng, hostile: $0 % 2 == 1, marker: marker) }
        let model = try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(try ProfileStore.builtIn().model("smollm2-135m")).utf8))
        for (i, id) in ids.enumerated() {
            var object = try #require(model as? [String: Any])
            var shape = try #require(object["shape"] as? [String: Any])
            shape["name"] = "m\(i)"
            object["shape"] = shape
            object["huggingFaceId"] = id
            try JSONSerialization.data(withJSONObject: object).write(to: profiles.appendingPathComponent("models/m\(i).json"))
        }

        var refused = 0, run = 0
        for (i, id) in ids.enumerated() {
            // An id the rule refuses is refused before any target's code runs: one target each, in
            // turn; an accepted one goes through all of them.
            let targets = ExportCommand.Target.allCases.filter { $0 != .plan }
            for target in Self.accepted(id) ? targets : [targets[i % targets.count]] {
                let out = dir.appendingPathComponent("out-\(i)-\(target.rawValue).sh").path
                var args = ["--target", target.rawValue, "--model", "m\(i)", "--ctx", "2k", "--batch", "1",
                            "--profiles-dir", profiles.path, "--out", out]
                // Single-instance and one-process-per-GPU launches (env CUDA_VISIBLE_DEVICES=...).
                switch target {
                case .magicpig: args += ["--hw", "h200-host16", "--k", "10", "--l", "150"]
                default: args += ["--hw", i % 2 == 0 ? "h200" : "2xrtx4090"]
                }
                let context = "id \(String(reflecting: id)), --target \(target.rawValue)"
                do {
                    try ExportCommand.parse(args).run()
                } catch {
                    let message = expectClearRefusal(error, context)
                    #expect(!Self.accepted(id), "\(context): refused: \(message)")
                    #expect(message.contains("huggingFaceId") && message.contains("is not a Hugging Face repository id")
                            && message.contains("/m\(i).json"), "\(context): \(message)")
                    #expect(!FileManager.default.fileExists(atPath: out), "\(context): wrote a file")
                    refused += 1
                    continue
                }
                #expect(Self.accepted(id), "\(context): exported an id the rule refuses")
                try execute(out, id: id, target: target, stubs: stubs, calls: calls, work: work, context: context)
                run += 1
            }
            #expect(!FileManager.default.fileExists(atPath: marker), "id \(String(reflecting: id)): another command ran")
        }
        let valid = ids.filter(Self.accepted).count
        #expect(run == 4 * valid && refused == ids.count - valid && valid >= 3)
        testLog("export ids: \(ids.count) ids, \(valid) accepted and run against stub engines (\(run) exports), \(refused) refusals")
    }

    /// Runs the exported file with /bin/sh, the stubs first on PATH, and checks each recorded call.
    func execute(_ file: String, id: String, target: ExportCommand.Target, stubs: URL, calls: URL, work: URL,
                 context: String) throws {
        for old in try FileManager.default.contentsOfDirectory(atPath: calls.path) {
            try FileManager.default.removeItem(at: calls.appendingPathComponent(old))
        }
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n").filter { !$0.isEmpty }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = [file]
        process.currentDirectoryURL = work
        process.environment = ["PATH": stubs.path + ":/usr/bin:/bin", "PIGPLAN_STUB_CALLS": calls.path, "HOME": work.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(context): sh exited \(process.terminationStatus)")
        let recorded = try FileManager.default.contentsOfDirectory(atPath: calls.path).sorted()
        // One engine start per line, and nothing else on PATH ran.
        #expect(recorded.count == lines.count, "\(context): \(recorded.count) calls for \(lines.count) lines")
        for name in recorded {
            let bytes = try Data(contentsOf: calls.appendingPathComponent(name))
            let argv = bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map { String(decoding: $0, as: UTF8.self) }
            #expect(argv.filter { $0 == id }.count == 1, "\(context): \(argv)")
            let modelAt: Int?
            switch target {
            case .vllm:
                #expect(Array(argv.prefix(2)) == ["vllm", "serve"], "\(context): \(argv)")
                modelAt = 2
            case .sglang:
                #expect(Array(argv.prefix(3)) == ["python", "-m", "sglang.launch_server"], "\(context): \(argv)")
                modelAt = argv.firstIndex(of: "--model-path").map { $0 + 1 }
            case .trtllm:
                #expect(argv.first == "trtllm-serve", "\(context): \(argv)")
                modelAt = 1
            case .magicpig:
                #expect(argv.first == "numactl" && argv.contains("bench.py"), "\(context): \(argv)")
                modelAt = argv.firstIndex(of: "--model").map { $0 + 1 }
            case .plan:
                modelAt = nil
            }
            #expect(modelAt.map { argv.indices.contains($0) && argv[$0] == id } == true, "\(context): the model is not where the engine reads it: \(argv)")
        }
    }
}
