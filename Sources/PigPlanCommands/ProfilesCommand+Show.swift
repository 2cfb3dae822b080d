import ArgumentParser
import Profiles

extension ProfilesCommand {
    /// `pigplan profiles show NAME`: the resolved profile as JSON.
    public struct Show: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Print a profile as pigplan resolved it (defaults filled in), as JSON with sorted keys.")

        @Argument(help: "The profile's name, e.g. h200 or llama-3.1-8b.")
        public var name: String

        @Option(help: ArgumentHelp("The kind of profile, when the name is used by several kinds.",
                                   valueName: ProfileKind.allCases.map(\.rawValue).joined(separator: "|")))
        public var kind: ProfileKind?

        @OptionGroup public var options: ProfilesDirectoryOptions

        public init() {}

        public func run() throws {
            print(try Self.render(name: name, kind: kind, store: try options.loadStore()))
        }

        /// The JSON `run` prints.
        public static func render(name: String, kind: ProfileKind?, store: ProfileStore) throws -> String {
            let resolved = try store.kind(of: name, preferring: kind)
            return try store.json(of: resolved, named: name)
        }
    }
}
