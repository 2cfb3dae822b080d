import Foundation
import PackagePlugin

/// Compiles every file under the package's `Profiles/` folder into the target that uses this
/// plugin, as a `[relative path: contents]` dictionary, so a copied binary carries its profiles.
@main
struct EmbedProfiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let root = context.package.directoryURL.appendingPathComponent("Profiles")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.pathExtension == "json" {
                inputs.append(url)
            }
        }
        inputs.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedProfiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) profile files",
                executable: try context.tool(named: "profile-embedder").url,
                arguments: [root.path, output.path] + inputs.map(\.path),
                inputFiles: inputs,
                outputFiles: [output])
        ]
    }
}
