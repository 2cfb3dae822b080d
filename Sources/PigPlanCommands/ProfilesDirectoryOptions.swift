import ArgumentParser
import Foundation
import Profiles

/// `--profiles-dir`, declared once for every command that reads profiles (plan, export, run,
/// calibrate, validate, profiles).
public struct ProfilesDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("profiles-dir"),
            help: ArgumentHelp("A directory of profile files that add to or replace the built-in ones.",
                               discussion: "Default: $\(ProfileStore.environmentVariable) when set, else ~/.pigplan/profiles when it exists.",
                               valueName: "dir"))
    public var profilesDirectory: String?

    public init() {}

    /// The built-in profiles overlaid by the chosen directory.
    public func loadStore(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ProfileStore {
        try ProfileStore.load(directory: profilesDirectory, environment: environment)
    }
}
