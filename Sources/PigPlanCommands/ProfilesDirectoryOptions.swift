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

    /// The built-in profiles overlaid by the chosen directory. A broken file is skipped with a
    /// warning on standard error (once per process) naming it, the problem and the repair: a
    /// command that does not read it runs, one that does fails with the same words.
    public func loadStore(environment: [String: String] = ProcessInfo.processInfo.environment,
                          warnings: Bool = true) throws -> ProfileStore {
        let store = try ProfileStore.loadSkippingBroken(directory: profilesDirectory, environment: environment)
        if warnings { BrokenProfileWarnings.print(store.brokenProfiles) }
        return store
    }
}

extension ProfilesDirectoryOptions {
    /// Whether skipped-profile warnings reach standard error (true unless turned off: tests that
    /// load folders of broken files on purpose read `BrokenProfile.warning` instead).
    public static var printsWarnings: Bool {
        get { BrokenProfileWarnings.state.withLock { $0.enabled } }
        set { BrokenProfileWarnings.state.withLock { $0.enabled = newValue } }
    }
}

/// The skipped-profile warnings already printed by this process (commands may load the
/// profiles more than once).
enum BrokenProfileWarnings {
    final class State: @unchecked Sendable {
        private let lock = NSLock()
        private var value = (enabled: true, printed: Set<String>())
        func withLock<T>(_ body: (inout (enabled: Bool, printed: Set<String>)) -> T) -> T {
            lock.lock()
            defer { lock.unlock() }
            return body(&value)
        }
    }
    static let state = State()

    static func print(_ broken: [BrokenProfile]) {
        for line in broken.map(\.warning) where state.withLock({ $0.enabled && $0.printed.insert(line).inserted }) {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }
}
