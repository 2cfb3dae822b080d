import Core
import Foundation

/// Measured GPU-host kernel tables as `scripts/measure-gpu-kernels.py` writes them (and as
/// shared/calibration/h200-host-kernels.json is laid out). Schema: Profiles/README.md, "GPU
/// calibration import". Keys not listed here (notes, extra columns) are ignored.
public struct GPUKernelTables: Codable, Sendable {
    public struct Host: Codable, Sendable {
        public var cpuCores: Int
        public var cpu: String?
        public var memoryGiB: Double?
    }
    public struct GPU: Codable, Sendable {
        public var name: String
        public var memoryGiB: Double?
    }
    public struct Ceilings: Codable, Sendable {
        /// Host read bandwidth with all cores (the key names the thread count: 16Threads, ...).
        public var hostReadBytesPerSecond: Double?
        public var hostReadBytesPerSecond1Thread: Double?
        private struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            for key in c.allKeys {
                if key.stringValue == "hostReadBytesPerSecond1Thread" {
                    hostReadBytesPerSecond1Thread = try c.decode(Double.self, forKey: key)
                } else if key.stringValue.hasPrefix("hostReadBytesPerSecond") {
                    hostReadBytesPerSecond = try c.decode(Double.self, forKey: key)
                }
            }
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: AnyKey.self)
            if let v = hostReadBytesPerSecond { try c.encode(v, forKey: AnyKey(stringValue: "hostReadBytesPerSecond")!) }
            if let v = hostReadBytesPerSecond1Thread { try c.encode(v, forKey: AnyKey(stringValue: "hostReadBytesPerSecond1Thread")!) }
        }
    }
    public struct Rows<Row: Codable & Sendable>: Codable, Sendable { public var rows: [Row] }
    public var measuredOn: String?
    public var description: String?
    /// Model profile whose shape the tables were measured with (default llama-3.1-8b, the shape
    /// the shipped script measures).
    public var referenceModel: String?
    public var gpu: GPU
    public var host: Host
    public var ceilings: Ceilings?
    public var decodeLinearLayers: Rows<Calibration.LinearLayerRow>
    public var gpuDecodeAttention: Rows<Calibration.AttentionRow>
    public var pcie: Rows<Calibration.CopyRow>

    /// Reads and checks a tables file; errors name the file, the key and what to do.
    public static func load(path: String) throws(ProfileError) -> GPUKernelTables {
        let data: Data
        if let problem = inputFileProblem(path, limitBytes: 64e6) { throw .unreadable(path: path, reason: problem) }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: fileFailureReason(error))
        }
        let decoder = ProfileDecoder(file: path, kind: .system, name: "")
        let document: JSONValue
        do { document = try JSONDecoder().decode(JSONValue.self, from: data) } catch {
            throw decoder.invalid(nil, "is not valid JSON (\(ProfileDecoder.syntaxDetail(String(decoding: data, as: UTF8.self)) ?? "\(error)"))",
                                  "fix the syntax, or re-run scripts/measure-gpu-kernels.py")
        }
        let tables: GPUKernelTables
        do { tables = try JSONDecoder().decode(GPUKernelTables.self, from: data) } catch let error as DecodingError {
            let e = decoder.describe(error, in: document, decoding: GPUKernelTables.self)
            if case .invalidFile(let file, let key, let reason, _) = e {
                throw .invalidFile(file: file, keyPath: key, reason: reason, fix: "see Profiles/README.md (GPU calibration import)")
            }
            throw e
        } catch {
            throw decoder.invalid(nil, "could not be decoded (\(error))", "see Profiles/README.md (GPU calibration import)")
        }
        try tables.validate(file: path)
        return tables
    }

    /// Checks the tables with the same rules as a profile's `calibration` (ProfileValidator),
    /// naming keys as this file spells them, so an import can never write a profile that later
    /// fails to load.
    func validate(file: String) throws(ProfileError) {
        func bad(_ key: String, _ reason: String) -> ProfileError {
            .invalidFile(file: file, keyPath: key, reason: reason, fix: "re-measure, or correct the value (Profiles/README.md, GPU calibration import)")
        }
        guard !decodeLinearLayers.rows.isEmpty else { throw bad("decodeLinearLayers.rows", "is empty") }
        guard !gpuDecodeAttention.rows.isEmpty else { throw bad("gpuDecodeAttention.rows", "is empty") }
        guard !pcie.rows.isEmpty else { throw bad("pcie.rows", "is empty") }
        if host.cpuCores < 1 { throw bad("host.cpuCores", "must be at least 1, found \(host.cpuCores)") }
        do {
            try ProfileValidator(decoder: ProfileDecoder(file: file, kind: .system, name: "")).check(calibration(source: file), "calibration")
        } catch {
            guard case .invalidFile(_, let key, let reason, let fix) = error else { throw error }
            let renamed = key.map { k in
                [("calibration.gpuLinearLayers", "decodeLinearLayers.rows"), ("calibration.gpuDecodeAttention", "gpuDecodeAttention.rows"),
                 ("calibration.pcie", "pcie.rows"), ("calibration.cpu", "ceilings")]
                    .reduce(k) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            }
            throw .invalidFile(file: file, keyPath: renamed, reason: reason + " (rows are matched after sorting)", fix: fix)
        }
    }

    /// The tables as a system profile's `calibration`.
    public func calibration(source: String) -> Calibration {
        var cpu: CPUKernelCosts? = nil
        if let all = ceilings?.hostReadBytesPerSecond, let one = ceilings?.hostReadBytesPerSecond1Thread {
            cpu = CPUKernelCosts(readBytesPerSecond: all, readBytesPerSecondOneThread: one, threads: host.cpuCores)
        }
        return Calibration(
            source: source, measuredOn: measuredOn, host: [gpu.name, host.cpu].compactMap { $0 }.joined(separator: " + "),
            referenceModel: referenceModel ?? "llama-3.1-8b",
            gpuLinearLayers: decodeLinearLayers.rows.sorted { $0.batch < $1.batch },
            gpuDecodeAttention: gpuDecodeAttention.rows, pcie: pcie.rows.sorted { $0.bytes < $1.bytes }, cpu: cpu)
    }
}

extension ProfileStore {
    /// `system` with `tables` as its calibration (the CPU part kept from the old calibration
    /// when the tables carry no host bandwidths).
    public func system(_ name: String, mergingCalibration tables: GPUKernelTables, source: String) throws(ProfileError) -> SystemProfile {
        var system = try self.system(name)
        // A CPU-only system (the calibrated `local`): GPU tables would replace its measured host
        // costs and reference model while nothing in it runs on a GPU.
        guard system.gpu != nil else {
            throw ProfileError.invalidFile(file: source, keyPath: "gpu.name",
                                           reason: "system '\(name)' has no GPU, so GPU kernel tables (measured on '\(tables.gpu.name)') have nothing to describe",
                                           fix: "import into a system with that GPU (pigplan profiles list), or add one: systems/NAME.json naming its GPU profile")
        }
        let old = system.calibration
        var calibration = tables.calibration(source: source)
        if calibration.cpu == nil { calibration.cpu = old?.cpu }
        if let engine = old?.cpu?.engine { calibration.cpu?.engine = engine }
        system.calibration = calibration
        // The merged profile must load as the saved file will: checked before anything is
        // written, so a bad import never leaves a profile that breaks later commands.
        let validator = ProfileValidator(decoder: ProfileDecoder(file: source, kind: .system, name: name))
        try validator.check(system)
        if let model = calibration.referenceModel, models[model] == nil {
            throw ProfileError.invalidFile(file: source, keyPath: "referenceModel",
                                           reason: "names no model profile ('\(model)'); the tables must say which shape they measured",
                                           fix: "use one of: \(models.keys.sorted().joined(separator: ", ")), or add models/\(model).json first")
        }
        try validator.checkReferences(system, gpus: gpus, cpus: cpus, models: models)
        // GPU tables describe one GPU: they must not land in a system with another.
        if let gpuName = system.gpu, let gpu = gpus[gpuName], let chip = Self.chip(gpu.displayName),
           !Self.tokens(tables.gpu.name).contains(chip) {
            throw ProfileError.invalidFile(file: source, keyPath: "gpu.name",
                                           reason: "the tables were measured on '\(tables.gpu.name)', but system '\(name)' has a \(gpu.displayName)",
                                           fix: "import into a system with that GPU (pigplan profiles list), or add one: systems/NAME.json naming its GPU profile")
        }
        return system
    }

    /// Lower-case alphanumeric words of a GPU name ("NVIDIA A100-SXM4-80GB": nvidia, a100, sxm4, 80gb).
    static func tokens(_ name: String) -> [String] {
        name.lowercased().split { !$0.isLetter && !$0.isNumber }.map(String.init)
    }

    /// The chip of a GPU profile's display name: its first word with a digit ("NVIDIA H200 SXM":
    /// h200; "NVIDIA GeForce RTX 4090": 4090); nil when it has none (then any tables are taken).
    static func chip(_ displayName: String) -> String? {
        tokens(displayName).first { $0.contains(where: \.isNumber) }
    }
}
