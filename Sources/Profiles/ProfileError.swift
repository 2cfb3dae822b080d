import Foundation

/// Everything that can go wrong finding, reading, checking or resolving profiles. Each message
/// names the file (relative to its profiles folder, or the path given), the key, what is wrong
/// and what to do about it.
public enum ProfileError: Error, Sendable, Hashable {
    /// A file's content is wrong at `keyPath` (nil: the file as a whole).
    case invalidFile(file: String, keyPath: String?, reason: String, fix: String)
    /// A file or folder could not be read.
    case unreadable(path: String, reason: String)
    /// No profile of `kind` is called `name`; `known` lists those that are.
    case unknown(kind: ProfileKind, name: String, known: [String])
    /// A name that is none of the kinds searched (`--hw`, `profiles show`).
    case unknownName(name: String, searched: [ProfileKind: [String]])
    /// A name that several kinds use, where the caller did not say which.
    case ambiguous(name: String, kinds: [ProfileKind])
    /// A command-line override that does not fit the machine.
    case invalidOverride(option: String, reason: String, fix: String)
    /// The profile `kind`/`name` (nil kind: a file in no profile folder) was skipped when the
    /// profiles loaded: `problem` is what is wrong with its file, or, when `needs` names another
    /// profile, with that one's; `repair` adds the other ways out (delete the file, measure again).
    indirect case broken(kind: ProfileKind?, name: String, problem: ProfileError, repair: String, needs: String?)
}

/// A profile file set aside when the profiles loaded (`ProfileStore.loadSkippingBroken`).
public struct BrokenProfile: Sendable, Hashable {
    /// Its kind and name; nil kind for a file in no profile folder (the name is then its path).
    public var kind: ProfileKind?
    public var name: String
    /// The file at fault as shown in messages: its own, or that of the broken profile it needs.
    public var file: String
    /// What is wrong with that file (what a strict load throws).
    public var problem: ProfileError
    /// What a command that needs this profile fails with: the file, the problem, the fix.
    public var error: ProfileError
    /// The line printed on standard error when a command skips it.
    public var warning: String
}

extension ProfileError: LocalizedError {
    public var errorDescription: String? {
        switch self {
        case .invalidFile(let file, let keyPath, let reason, let fix):
            let key = keyPath.map { " key '\($0)':" } ?? ""
            return "\(file):\(key) \(reason); \(fix)"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason)); check the path and its permissions"
        case .unknown(let kind, let name, let known):
            let list = known.isEmpty ? "none" : known.joined(separator: ", ")
            return "no \(kind.rawValue) profile named '\(name)'; known \(kind.folder): \(list)"
                + " (add \(kind.folder)/\(name).json to a --profiles-dir to define it)"
        case .unknownName(let name, let searched):
            let lists = searched.keys.sorted().map { kind in
                let names = searched[kind] ?? []
                return "\(kind.folder): \(names.isEmpty ? "none" : names.joined(separator: ", "))"
            }
            return "no profile named '\(name)'; known \(lists.joined(separator: "; "))"
        case .ambiguous(let name, let kinds):
            let list = kinds.sorted().map(\.rawValue).joined(separator: " and ")
            return "'\(name)' names a \(list) profile; pass --kind "
                + kinds.sorted().map(\.rawValue).joined(separator: " or --kind ")
        case .invalidOverride(let option, let reason, let fix):
            return "\(option): \(reason); \(fix)"
        case .broken(let kind, let name, let problem, let repair, let needs):
            let cause = "\(problem.description); \(repair)"
            guard let needs, let kind else { return cause }
            return "\(kind.rawValue) '\(name)' needs \(needs), which cannot be used: \(cause)"
        }
    }
}

extension ProfileError: CustomStringConvertible {
    /// The message, so that interpolating the error reads as the user should see it.
    public var description: String { errorDescription ?? "invalid profile" }
}
