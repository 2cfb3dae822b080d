import ArgumentParser
import Core
import Foundation
import Profiles

/// `pigplan profiles`: lists and shows the hardware, model and engine profiles pigplan knows.
public struct ProfilesCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "profiles",
        abstract: "List and show the GPU, CPU, system, model and engine profiles.",
        discussion: """
            Profiles are built in and can be overridden or extended by a directory of the same \
            layout (gpus/, cpus/, systems/, models/, engines/) given by --profiles-dir or the \
            \(ProfileStore.environmentVariable) environment variable. Profiles/README.md documents every key.
            """,
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self)

    public init() {}
}

extension ProfileKind: ExpressibleByArgument {}
