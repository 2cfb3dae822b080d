/// The kinds of profile file, each in its own folder of Profiles/ (or of a `--profiles-dir`).
public enum ProfileKind: String, CaseIterable, Sendable, Hashable, Comparable {
    case gpu
    case cpu
    case system
    case model
    case engine
    /// Quality per sparse-attention setting of one model (published or `pigplan quality`).
    case quality

    /// The folder holding this kind's files, e.g. `gpus` (`quality` for quality profiles).
    public var folder: String { self == .quality ? rawValue : rawValue + "s" }

    /// The kind whose folder is `folder`, if any.
    public init?(folder: String) {
        guard let kind = ProfileKind.allCases.first(where: { $0.folder == folder }) else { return nil }
        self = kind
    }

    public static func < (a: ProfileKind, b: ProfileKind) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
