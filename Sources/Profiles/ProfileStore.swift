import Core
import Foundation

/// Every profile pigplan knows: the built-in files (Profiles/ at the package root, compiled into
/// the binary), overlaid by a user directory of the same layout. All files are decoded and
/// validated when the store is loaded. `load` refuses a folder holding a broken file;
/// `loadSkippingBroken` (what commands use) sets broken files aside in `brokenProfiles`, so that
/// one bad file does not stop the commands that do not read it, and every lookup of a broken
/// profile throws its error (the file, the problem and how to repair it).
public struct ProfileStore: Sendable {
    /// The environment variable naming a profiles directory (used when no `--profiles-dir`).
    public static let environmentVariable = "PIGPLAN_PROFILES_DIR"
    /// Schema versions this build reads.
    public static var supportedSchemaVersions: [Int] { ProfileDecoder.supportedSchemaVersions }

    public private(set) var gpus: [String: GPUProfile] = [:]
    public private(set) var cpus: [String: CPUProfile] = [:]
    public private(set) var systems: [String: SystemProfile] = [:]
    public private(set) var models: [String: ModelProfile] = [:]
    public private(set) var engines: [String: EngineProfile] = [:]
    /// Quality profiles by model name.
    public private(set) var qualities: [String: QualityProfile] = [:]
    /// Where each profile came from, as shown in messages (`Profiles/gpus/h200.json (built in)`
    /// or the user file's path).
    private var origins: [ProfileKind: [String: String]] = [:]
    /// Files that could not be used, in the order found: each broken file first, then the
    /// profiles that need one of them.
    public private(set) var brokenProfiles: [BrokenProfile] = []
    /// The root problem of each broken file (the error `load` throws), in the order found.
    private var problems: [ProfileError] = []

    /// One profile file: its path relative to the profiles folder and its text, or why it could
    /// not be read.
    struct SourceFile: Sendable {
        var relativePath: String
        var displayPath: String
        var text: String
        var unreadable: ProfileError? = nil
    }

    /// Loads the built-in profiles, then the files of `directory` (a `--profiles-dir`) or, when
    /// it is nil, of the directory named by `PIGPLAN_PROFILES_DIR` in `environment`, or else of
    /// `~/.pigplan/profiles` when it exists. A user file
    /// replaces the built-in file with the same relative path (e.g. `gpus/h200.json`).
    /// Throws the first problem of any file.
    public static func load(directory: String? = nil, environment: [String: String] = [:]) throws(ProfileError) -> ProfileStore {
        try ProfileStore(files: try sourceFiles(overlay: overlayDirectory(directory: directory, environment: environment, existing: true)))
    }

    /// The same profiles, with each broken file (and each profile that needs one) set aside in
    /// `brokenProfiles` instead of refusing them all. Throws only when the folder itself cannot
    /// be listed.
    public static func loadSkippingBroken(directory: String? = nil, environment: [String: String] = [:]) throws(ProfileError) -> ProfileStore {
        ProfileStore(skippingBroken: try sourceFiles(overlay: overlayDirectory(directory: directory, environment: environment, existing: true)))
    }

    /// The built-in files overlaid by `overlay`'s (a user file replaces the built-in one with the
    /// same relative path) and by `adding` (relative path -> text, shown as about to be written
    /// under `addedUnder`).
    static func sourceFiles(overlay: String?, adding: [String: String] = [:], addedUnder: String? = nil) throws(ProfileError) -> [SourceFile] {
        var files: [String: SourceFile] = [:]
        for (path, text) in embeddedProfileFiles {
            files[path] = SourceFile(relativePath: path, displayPath: "Profiles/\(path) (built in)", text: text)
        }
        if let overlay {
            for file in try readDirectory(overlay) { files[file.relativePath] = file }
        }
        for (path, text) in adding {
            files[path] = SourceFile(relativePath: path, displayPath: (addedUnder.map { $0 + "/" } ?? "") + path + " (about to be written)", text: text)
        }
        return files.values.sorted { $0.relativePath < $1.relativePath }
    }

    /// Checks that `files` (relative path -> JSON text) load when added to the built-in ones and
    /// `directory`'s, and break no profile that loads today: a command writes profiles only after
    /// this passes, so it never leaves a file later commands refuse. A file of `directory` that is
    /// already broken is no obstacle (so calibrate can replace a broken profile of its own), unless
    /// a file added needs it.
    public static func checkLoads(adding files: [String: String], directory: String?) throws(ProfileError) {
        let existing = directory.flatMap { FileManager.default.fileExists(atPath: $0) ? $0 : nil }
        let before = ProfileStore(skippingBroken: try sourceFiles(overlay: existing))
        let after = ProfileStore(skippingBroken: try sourceFiles(overlay: existing, adding: files, addedUnder: directory))
        let wasBroken = Set(before.brokenProfiles.map { "\($0.kind?.folder ?? "")/\($0.name)" })
        let added = Set(files.keys.map { $0.hasSuffix(".json") ? String($0.dropLast(5)) : $0 })
        for broken in after.brokenProfiles {
            let key = "\(broken.kind?.folder ?? "")/\(broken.name)"
            guard added.contains(key) || !wasBroken.contains(key) else { continue }
            // A file added that is wrong itself: its problem (nothing is written, so no repair);
            // one that needs a broken file, or a profile it breaks: who needs what.
            if case .broken(_, _, _, _, let needs?) = broken.error, needs.isEmpty == false { throw broken.error }
            throw broken.problem
        }
    }

    /// `~/.pigplan/profiles`: where `pigplan calibrate` writes by default, read when it exists
    /// and neither `--profiles-dir` nor `PIGPLAN_PROFILES_DIR` is given.
    public static func userDirectory(_ environment: [String: String]) -> String? {
        environment["HOME"].map { $0 + "/.pigplan/profiles" }
    }

    /// The user's profile folder: `directory` (`--profiles-dir`), else a non-empty
    /// `PIGPLAN_PROFILES_DIR`, else `~/.pigplan/profiles` (when `existing`, only if it exists:
    /// reading skips a folder nobody made; writing creates it).
    public static func overlayDirectory(directory: String?, environment: [String: String], existing: Bool) -> String? {
        if let directory { return directory }
        if let variable = environment[environmentVariable], !variable.isEmpty { return variable }
        guard let user = userDirectory(environment) else { return nil }
        return !existing || FileManager.default.fileExists(atPath: user) ? user : nil
    }

    /// The built-in profiles only.
    public static func builtIn() throws(ProfileError) -> ProfileStore { try load(directory: nil, environment: [:]) }

    /// Strict: throws the first problem of any file.
    init(files: [SourceFile]) throws(ProfileError) {
        self.init(skippingBroken: files)
        if let first = problems.first { throw first }
    }

    /// Every file that loads; the others (and the profiles needing them) in `brokenProfiles`.
    init(skippingBroken files: [SourceFile]) {
        var calibrationFrom: [String: (source: String, file: ProfileDecoder)] = [:]
        for file in files {
            let parts = file.relativePath.split(separator: "/").map(String.init)
            guard parts.count == 2, let kind = ProfileKind(folder: parts[0]), parts[1].hasSuffix(".json") else {
                let folders = ProfileKind.allCases.map { $0.folder + "/" }.joined(separator: ", ")
                setAside(nil, file.relativePath, file: file.displayPath,
                         file.unreadable ?? ProfileError.invalidFile(file: file.displayPath, keyPath: nil, reason: "is not in a profile folder",
                                                                      fix: "move it into one of \(folders)"))
                continue
            }
            let name = String(parts[1].dropLast(".json".count))
            do throws(ProfileError) {
                if let unreadable = file.unreadable { throw unreadable }
                try add(file, kind: kind, name: name, calibrationFrom: &calibrationFrom)
            } catch {
                setAside(kind, name, file: file.displayPath, error)
            }
        }
        // A system may share another system's measured tables instead of repeating them.
        for name in calibrationFrom.keys.sorted() {
            let (source, decoder) = calibrationFrom[name]!
            if let broken = brokenProfile(.system, source) {
                setAside(.system, name, needing: broken)
                continue
            }
            guard let calibration = systems[source]?.calibration, calibrationFrom[source] == nil else {
                let withTables = systems.values.filter { $0.calibration != nil && calibrationFrom[$0.name] == nil }.map(\.name).sorted()
                setAside(.system, name, file: decoder.file,
                         decoder.invalid("calibrationFrom", "'\(source)' is not a system with its own calibration",
                                         "name one of: \(withTables.isEmpty ? "(none)" : withTables.joined(separator: ", "))"))
                continue
            }
            systems[name]?.calibration = calibration
        }
        checkReferences()
    }

    /// Decodes and checks one file and adds its profile.
    private mutating func add(_ file: SourceFile, kind: ProfileKind, name: String,
                              calibrationFrom: inout [String: (source: String, file: ProfileDecoder)]) throws(ProfileError) {
        let decoder = ProfileDecoder(file: file.displayPath, kind: kind, name: name)
        var document = try decoder.parse(file.text)
        let validator = ProfileValidator(decoder: decoder)
        switch kind {
        case .gpu:
            let p = try decoder.decode(GPUProfile.self, from: document)
            try validator.check(p)
            gpus[name] = p
        case .cpu:
            let p = try decoder.decode(CPUProfile.self, from: document)
            try validator.check(p)
            cpus[name] = p
        case .system:
            var sharedFrom: String?
            if case .object(var o) = document, let from = o.removeValue(forKey: "calibrationFrom") {
                guard let source = from.stringValue else {
                    throw decoder.invalid("calibrationFrom", "expected a string, found \(from.description)",
                                          "name the system whose calibration this one shares")
                }
                guard o["calibration"] == nil else {
                    throw decoder.invalid("calibrationFrom", "cannot be combined with 'calibration'",
                                          "keep one of the two keys")
                }
                sharedFrom = source
                document = .object(o)
            }
            let p = try decoder.decode(SystemProfile.self, from: document)
            try validator.check(p)
            systems[name] = p
            if let sharedFrom { calibrationFrom[name] = (sharedFrom, decoder) }
        case .model:
            let p = try decoder.decode(ModelProfile.self, from: document)
            try validator.check(p)
            models[name] = p
        case .engine:
            let p = try decoder.decode(EngineProfile.self, from: document)
            try validator.check(p)
            engines[name] = p
        case .quality:
            let p = try decoder.decode(QualityProfile.self, from: document)
            try validator.check(p)
            qualities[name] = p
        }
        origins[kind, default: [:]][name] = file.displayPath
    }

    /// Profiles naming others: a GPU's default host, a system's GPU, CPU and reference model.
    /// One naming a broken profile is set aside with it; one naming none, or not fitting it, is
    /// broken itself.
    private mutating func checkReferences() {
        for name in gpus.keys.sorted() {
            let file = origins[.gpu]![name]!
            let host = gpus[name]!.defaultHost
            if let broken = brokenProfile(.cpu, host) { setAside(.gpu, name, needing: broken); continue }
            let validator = ProfileValidator(decoder: ProfileDecoder(file: file, kind: .gpu, name: name))
            do throws(ProfileError) {
                try validator.reference(host, "defaultHost", kind: .cpu, known: Array(cpus.keys))
            } catch {
                setAside(.gpu, name, file: file, error)
            }
        }
        for name in systems.keys.sorted() {
            let file = origins[.system]![name]!
            let system = systems[name]!
            let needed: [(ProfileKind, String?)] = [(.gpu, system.gpu), (.cpu, system.cpu), (.model, system.calibration?.referenceModel)]
            let broken = needed.compactMap { kind, n in n.flatMap { brokenProfile(kind, $0) } }.first
            if let broken {
                setAside(.system, name, needing: broken)
                continue
            }
            let validator = ProfileValidator(decoder: ProfileDecoder(file: file, kind: .system, name: name))
            do throws(ProfileError) {
                try validator.checkReferences(system, gpus: gpus, cpus: cpus, models: models)
            } catch {
                setAside(.system, name, file: file, error)
            }
        }
    }

    /// Records `problem` of `file` (the profile `kind`/`name`; nil kind: a file in no profile
    /// folder, named by its path) and drops the profile.
    private mutating func setAside(_ kind: ProfileKind?, _ name: String, file: String, _ problem: ProfileError) {
        problems.append(problem)
        let repair: String
        switch kind {
        case .system?, .cpu?: repair = "or delete the file, or re-run `pigplan calibrate` if it wrote the file"
        case .quality?: repair = "or delete the file, or re-run `pigplan quality` if it wrote the file"
        default: repair = "or delete the file"
        }
        let error = ProfileError.broken(kind: kind, name: name, problem: problem, repair: repair, needs: nil)
        let warning = "warning: skipped \(error)"
            + (kind.map { "; commands that need \($0.rawValue) '\(name)' fail until it is repaired" } ?? "")
        brokenProfiles.append(BrokenProfile(kind: kind, name: name, file: file, problem: problem, error: error, warning: warning))
        if let kind { drop(kind, name) }
    }

    /// Sets aside the profile `kind`/`name` because it needs `broken`.
    private mutating func setAside(_ kind: ProfileKind, _ name: String, needing broken: BrokenProfile) {
        let needed = "\(broken.kind?.rawValue ?? "file") '\(broken.name)'"
        var repair = "or delete the file"
        if case .broken(_, _, _, let r, _) = broken.error { repair = r }
        let error = ProfileError.broken(kind: kind, name: name, problem: broken.problem, repair: repair, needs: needed)
        let warning = "warning: \(kind.rawValue) '\(name)' is skipped too: it needs \(needed) (\(broken.file))"
        brokenProfiles.append(BrokenProfile(kind: kind, name: name, file: broken.file, problem: broken.problem, error: error, warning: warning))
        drop(kind, name)
    }

    private mutating func drop(_ kind: ProfileKind, _ name: String) {
        switch kind {
        case .gpu: gpus[name] = nil
        case .cpu: cpus[name] = nil
        case .system: systems[name] = nil
        case .model: models[name] = nil
        case .engine: engines[name] = nil
        case .quality: qualities[name] = nil
        }
        origins[kind]?[name] = nil
    }

    private func brokenProfile(_ kind: ProfileKind, _ name: String) -> BrokenProfile? {
        brokenProfiles.first { $0.kind == kind && $0.name == name }
    }

    /// The error of the profile `kind`/`name` when its file (or one it needs) is broken; nil
    /// when it loaded or does not exist.
    public func problem(of kind: ProfileKind, named name: String) -> ProfileError? { brokenProfile(kind, name)?.error }

    /// Every `*.json` under `path`, keyed by its path relative to `path`. Hidden files and other
    /// files (a README) are skipped.
    private static func readDirectory(_ path: String) throws(ProfileError) -> [SourceFile] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ProfileError.unreadable(path: path, reason: "no such directory")
        }
        let root = URL(fileURLWithPath: path).standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil,
                                                          options: [.skipsHiddenFiles]) else {
            throw ProfileError.unreadable(path: path, reason: "cannot list the directory")
        }
        var files: [SourceFile] = []
        for case let url as URL in walker where url.pathExtension == "json" {
            let full = url.standardizedFileURL.path
            let relative = full.hasPrefix(root.path + "/") ? String(full.dropFirst(root.path.count + 1)) : url.lastPathComponent
            if let problem = inputFileProblem(full, limitBytes: 64e6) {
                files.append(SourceFile(relativePath: relative, displayPath: full, text: "",
                                        unreadable: ProfileError.unreadable(path: full, reason: problem)))
                continue
            }
            do {
                let text = try String(contentsOfFile: full, encoding: .utf8)
                files.append(SourceFile(relativePath: relative, displayPath: full, text: text))
            } catch {
                files.append(SourceFile(relativePath: relative, displayPath: full, text: "",
                                        unreadable: ProfileError.unreadable(path: full, reason: fileFailureReason(error))))
            }
        }
        return files.sorted { $0.relativePath < $1.relativePath }
    }

    // MARK: Lookups

    /// The names of every profile of `kind` that loaded, sorted (broken ones: `brokenProfiles`).
    public func names(of kind: ProfileKind) -> [String] {
        switch kind {
        case .gpu: return gpus.keys.sorted()
        case .cpu: return cpus.keys.sorted()
        case .system: return systems.keys.sorted()
        case .model: return models.keys.sorted()
        case .engine: return engines.keys.sorted()
        case .quality: return qualities.keys.sorted()
        }
    }

    /// The file a profile was read from, as shown in messages.
    public func origin(of kind: ProfileKind, named name: String) -> String? { origins[kind]?[name] }

    public func gpu(_ name: String) throws(ProfileError) -> GPUProfile { try find(gpus, .gpu, name) }
    public func cpu(_ name: String) throws(ProfileError) -> CPUProfile { try find(cpus, .cpu, name) }
    public func system(_ name: String) throws(ProfileError) -> SystemProfile { try find(systems, .system, name) }
    public func model(_ name: String) throws(ProfileError) -> ModelProfile { try find(models, .model, name) }
    public func engine(_ name: String) throws(ProfileError) -> EngineProfile { try find(engines, .engine, name) }
    public func quality(_ name: String) throws(ProfileError) -> QualityProfile { try find(qualities, .quality, name) }
    /// The quality profile of the model `model`, if one exists.
    public func quality(forModel model: String) -> QualityProfile? { qualities[model] }

    private func find<T>(_ table: [String: T], _ kind: ProfileKind, _ name: String) throws(ProfileError) -> T {
        guard let value = table[name] else {
            throw problem(of: kind, named: name) ?? ProfileError.unknown(kind: kind, name: name, known: names(of: kind))
        }
        return value
    }

    /// The kinds that have a profile called `name` (loaded or broken: looking a broken one up
    /// throws its error).
    public func kinds(named name: String) -> [ProfileKind] {
        ProfileKind.allCases.filter { names(of: $0).contains(name) || problem(of: $0, named: name) != nil }
    }

    /// The kind of the profile `name`, or `kind` when given and it exists. Throws when no kind
    /// has it, or when several do and `kind` is nil.
    public func kind(of name: String, preferring kind: ProfileKind? = nil) throws(ProfileError) -> ProfileKind {
        if let kind {
            if let problem = problem(of: kind, named: name) { throw problem }
            guard names(of: kind).contains(name) else {
                throw ProfileError.unknown(kind: kind, name: name, known: names(of: kind))
            }
            return kind
        }
        var found = kinds(named: name)
        // A quality profile carries its model's name: the name means the model unless asked.
        if found.count > 1 { found.removeAll { $0 == .quality } }
        switch found.count {
        case 0:
            var searched: [ProfileKind: [String]] = [:]
            for k in ProfileKind.allCases { searched[k] = names(of: k) }
            throw ProfileError.unknownName(name: name, searched: searched)
        case 1: return found[0]
        default: throw ProfileError.ambiguous(name: name, kinds: found)
        }
    }

    // MARK: Rendering

    /// The resolved profile (defaults added, shared calibration copied in) as pretty JSON with
    /// sorted keys, as `pigplan profiles show` prints it.
    public func json(of kind: ProfileKind, named name: String) throws(ProfileError) -> String {
        do {
            switch kind {
            case .gpu: return try Self.prettyJSON(gpu(name))
            case .cpu: return try Self.prettyJSON(cpu(name))
            case .system: return try Self.prettyJSON(system(name))
            case .model: return try Self.prettyJSON(model(name))
            case .engine: return try Self.prettyJSON(engine(name))
            case .quality: return try Self.prettyJSON(quality(name))
            }
        } catch let error as ProfileError {
            throw error
        } catch {
            throw ProfileError.unreadable(path: origin(of: kind, named: name) ?? name, reason: "cannot be rendered: \(error)")
        }
    }

    /// A profile as pigplan writes JSON (`prettyJSON`, Core).
    public static func prettyJSON<T: Encodable>(_ value: T) throws -> String { try Core.prettyJSON(value) }
}
