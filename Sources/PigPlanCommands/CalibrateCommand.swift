import ArgumentParser
import Core
import Foundation
import Profiles

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
    @Option(help: "Profile folder the merged or measured system profile is written to (also \(ProfileStore.environmentVariable)); later runs read it with --profiles-dir.")
    public var profilesDir: String?

    public init() {}

    public func validate() throws {
        if importFile != nil && into == nil {
            throw ValidationError("--import needs --into SYSTEM, the system profile the tables belong to (see `pigplan profiles list`)")
        }
    }

    func outputDirectory() throws -> String {
        guard let dir = profilesDir ?? ProcessInfo.processInfo.environment[ProfileStore.environmentVariable] else {
            throw ValidationError("pass --profiles-dir DIR: the folder the system profile is written to (and read from with --profiles-dir DIR)")
        }
        return dir
    }

    public func run() throws {
        if let importFile, let into {
            let dir = try outputDirectory()
            // The output folder may not exist yet: then only the built-in profiles are read.
            let exists = FileManager.default.fileExists(atPath: dir)
            let store = try ProfileStore.load(directory: exists ? dir : nil, environment: [:])
            let tables = try GPUKernelTables.load(path: importFile)
            let system = try store.system(into, mergingCalibration: tables, source: "imported from \(importFile)")
            let path = try Self.writeSystem(system, to: dir)
            print("merged \(tables.decodeLinearLayers.rows.count) linear-layer, \(tables.gpuDecodeAttention.rows.count) attention and \(tables.pcie.rows.count) copy rows into \(path)")
            print("use it with: pigplan --profiles-dir \(dir) --hw \(into) --ctx 96k")
            return
        }
        throw ValidationError("pass --import FILE --into SYSTEM")
    }

    /// Writes `DIR/systems/NAME.json` atomically (no partial file on failure).
    static func writeSystem(_ system: SystemProfile, to dir: String) throws -> String {
        let folder = URL(fileURLWithPath: dir).appendingPathComponent("systems")
        let path = folder.appendingPathComponent("\(system.name).json")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(try ProfileStore.prettyJSON(system).utf8).write(to: path, options: .atomic)
        } catch {
            throw ValidationError("cannot write \(path.path) (\(error.localizedDescription)); check --profiles-dir is writable")
        }
        return path.path
    }
}
