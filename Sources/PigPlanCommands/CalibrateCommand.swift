import ArgumentParser
import Core
import Executor
import Foundation
import Profiles
import Validation

/// `pigplan calibrate`: measure this machine's kernels into a local system profile, or import GPU
/// kernel tables measured elsewhere into a system profile.
public struct CalibrateCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Measure this machine's kernels into a local system profile, or import GPU kernel tables (--import).")

    @Option(name: .customLong("import"), help: "GPU kernel tables to import (written by scripts/measure-gpu-kernels.py).")
    public var importFile: String?
    @Option(help: "System profile the imported tables are merged into.")
    public var into: String?
    @OptionGroup public var profiles: ProfilesDirectoryOptions
    @Option(help: "Model profile whose shape the local measurements use (synthetic weights).")
    public var model: String = "llama-3.1-8b"
    @Option(parsing: .unconditional, help: "Layers of that model to run (the LM head and embedding are always there).")
    public var layers: Int = 4
    @Option(parsing: .unconditional, help: "Threads (default: the cores available).")
    public var threads: Int?
    @Flag(help: "A shorter measurement (under 20 seconds on a small machine).")
    public var quick = false

    public init() {}

    public func validate() throws {
        if importFile != nil && into == nil {
            throw ValidationError("--import needs --into SYSTEM, the system profile the tables belong to (see `pigplan profiles list`)")
        }
    }

    func outputDirectory() throws -> String {
        guard let dir = ProfileStore.overlayDirectory(directory: profiles.profilesDirectory, environment: ProcessInfo.processInfo.environment,
                                                       existing: false) else {
            throw ValidationError("pass --profiles-dir DIR: the folder the system profile is written to (and read from with --profiles-dir DIR)")
        }
        return dir
    }

    public func run() throws {
        if let importFile, let into {
            let dir = try outputDirectory()
            // The output folder may not exist yet: then only the built-in profiles are read.
            let exists = FileManager.default.fileExists(atPath: dir)
            let store = try Self.loadStore(exists ? dir : nil)
            let tables = try GPUKernelTables.load(path: importFile)
            let system = try store.system(into, mergingCalibration: tables, source: "imported from \(importFile)")
            let path = try Self.writeSystem(system, to: dir)
            print("merged \(tables.decodeLinearLayers.rows.count) linear-layer, \(tables.gpuDecodeAttention.rows.count) attention and \(tables.pcie.rows.count) copy rows into \(path)")
            print("use it with: pigplan --profiles-dir \(dir) --hw \(into) --ctx 96k")
            return
        }
        try runLocal()
    }

    /// Measures this machine and writes `cpus/local-cpu.json` and `systems/local.json`.
    func runLocal() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        if let threads, threads < 1 || threads > 4 * cores {
            throw ValidationError("--threads \(threads): give 1 to \(4 * cores) (this machine has \(cores) cores; more threads than that only time-share them)")
        }
        if layers < 1 || layers > Limits.maxLayers { throw ValidationError("--layers \(layers): give 1 to the model's layer count") }
        let dir = try outputDirectory()
        let exists = FileManager.default.fileExists(atPath: dir)
        // A broken profile of the folder (a local profile a busy machine once measured wrong) is
        // skipped, so that measuring again can replace it.
        let store = try Self.loadStore(exists ? dir : nil)
        let shape = try store.model(model).shape
        try Parse.checkLayers(layers, of: shape)
        // The folders must take the files before minutes are spent measuring.
        for kind in ["cpus", "systems"] {
            let folder = URL(fileURLWithPath: dir).appendingPathComponent(kind).path
            try OutputFile.prepareFolder(folder, option: "--profiles-dir")
            guard access(folder, W_OK) == 0 else {
                throw ValidationError("--profiles-dir \(dir): cannot write in \(folder) (\(String(cString: strerror(errno)).lowercased())); pass a folder you can write to")
            }
        }
        let calibrator = LocalCalibrator(shape: shape, layers: layers, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount,
                                         quick: quick)
        let progress = Progress()
        let result = try calibrator.run { progress.say($0) }
        progress.done()
        // What was measured must load: a busy machine can measure a fraction above 1 or a zero
        // rate, which every later command would refuse. Then nothing is written.
        let cpuText = try ProfileStore.prettyJSON(result.cpu), systemText = try ProfileStore.prettyJSON(result.system)
        do {
            try ProfileStore.checkLoads(adding: ["cpus/\(result.cpu.name).json": cpuText, "systems/\(result.system.name).json": systemText],
                                        directory: dir)
        } catch {
            throw ValidationError("the measurements do not make a valid profile, so nothing was written: \(error). Calibrate again on a quiet machine (nothing else running).")
        }
        // The CPU and the system profile land together: a system naming a CPU file that is not
        // there would not load.
        let cpuPath = URL(fileURLWithPath: dir).appendingPathComponent("cpus/\(result.cpu.name).json").path
        let systemPath = URL(fileURLWithPath: dir).appendingPathComponent("systems/\(result.system.name).json").path
        try OutputFile.writeAll([(cpuText, cpuPath), (systemText, systemPath)], option: "--profiles-dir")
        let costs = result.system.calibration?.cpu
        let engine = costs?.engine
        let kernels = "level \(Executor.simdLevel): \(Executor.simdLevelName) (PIGPLAN_SIMD_LEVEL=0...3 caps it)"
        print(PlanRenderer.aligned([
            ("kernels", kernels),
            ("measured", "\(result.runs) executor runs in \(Format.seconds(result.seconds)) (\(calibrator.threads) threads, \(shape.name) x \(calibrator.runShape.layerCount) layers)"),
            ("read bandwidth", "\(Format.bytes(costs?.readBytesPerSecond ?? 0))/s with \(calibrator.threads) threads, \(Format.bytes(costs?.readBytesPerSecondOneThread ?? 0))/s with 1"),
            ("linear layers", (costs?.linearLayers ?? []).map { "batch \($0.batch): \(Format.bytes(1 / $0.secondsPerByte))/s" }.joined(separator: ", ")),
            ("sampled attention", "\(Format.number((engine?.sampledAttentionBandwidthFraction ?? 0) * 100))% of read bandwidth over the bytes touched"),
            ("dense attention", "\(Format.number((engine?.denseAttentionBandwidthFraction ?? 0) * 100))% of read bandwidth"),
            ("retrieval", "\(Format.seconds(engine?.retrievalSecondsPerTableWalk ?? 0)) per table walk, \(Format.seconds(engine?.retrievalSecondsPerCandidate ?? 0)) per candidate"),
            ("synthetic fractions", (costs?.syntheticSampledFractions ?? []).map { "(\($0.k), \($0.l)) \(Format.number($0.fraction * 100))%" }.joined(separator: ", ")),
            ("wrote", "\(cpuPath), \(systemPath)"),
        ]), terminator: "")
        print("next: pigplan validate\(profiles.profilesDirectory.map { " --profiles-dir \($0)" } ?? "")   and   pigplan --hw local --model smollm2-135m --ctx 8k")
    }

    /// The built-in profiles and `dir`'s, broken files skipped with a warning.
    static func loadStore(_ dir: String?) throws -> ProfileStore {
        let store = try ProfileStore.loadSkippingBroken(directory: dir, environment: [:])
        BrokenProfileWarnings.print(store.brokenProfiles)
        return store
    }

    /// Writes `DIR/KIND/NAME.json` atomically.
    static func writeProfile<T: Encodable>(_ value: T, kind: String, name: String, to dir: String) throws -> String {
        let folder = URL(fileURLWithPath: dir).appendingPathComponent(kind)
        let path = folder.appendingPathComponent("\(name).json")
        try OutputFile.prepareFolder(folder.path, option: "--profiles-dir")
        try OutputFile.write(try ProfileStore.prettyJSON(value), to: path.path, option: "--profiles-dir")
        return path.path
    }

    /// Writes `DIR/systems/NAME.json` atomically (no partial file on failure).
    static func writeSystem(_ system: SystemProfile, to dir: String) throws -> String {
        try writeProfile(system, kind: "systems", name: system.name, to: dir)
    }
}
