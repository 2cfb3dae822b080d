import Foundation
import Testing

/// Every script in Examples/ runs against the freshly built `pigplan` and prints each line its
/// header promises (`# expect:`); scripts that need the SmolLM2 model or the Jargon File
/// (`# needs:`) run only where those are installed and show as skipped elsewhere.
@Suite(.serialized) struct ExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Examples")

    static func scripts(needing: Bool) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: examples.path)) ?? []
        return names.filter { $0.hasSuffix(".sh") }.sorted().filter { (header($0, "needs").isEmpty) != needing }
    }

    /// The `# key:` lines of a script's header.
    static func header(_ script: String, _ key: String) -> [String] {
        let text = (try? String(contentsOf: examples.appendingPathComponent(script), encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            line.hasPrefix("# \(key): ") ? String(line.dropFirst("# \(key): ".count)) : nil
        }
    }

    /// The pigplan binary built beside this test bundle (`swift build` puts both in one folder).
    static var binary: String? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for folder in [beside, beside.deletingLastPathComponent()] {
            let path = folder.appendingPathComponent("pigplan").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static var hasModelAndText: Bool {
        let cache = ProcessInfo.processInfo.environment["PIGPLAN_MODEL_CACHE"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/pigplan/models").path
        let models = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return models.contains { $0.lowercased().hasPrefix("smollm2") && $0.hasSuffix(".gguf") }
            && FileManager.default.fileExists(atPath: "/usr/share/dictd/jargon.dict.dz")
    }

    func run(_ script: String) throws {
        let binary = try #require(Self.binary, "no pigplan executable beside the test bundle")
        let (status, output) = try runProcess(Self.examples.appendingPathComponent(script),
                                              environment: ProcessInfo.processInfo.environment.merging(["PIGPLAN": binary]) { $1 })
        #expect(status == 0, "\(script) exited with \(status):\n\(output)")
        let expected = Self.header(script, "expect")
        #expect(!expected.isEmpty, "\(script) promises no output")
        for line in expected { #expect(output.contains(line), "\(script): no '\(line)' in\n\(output)") }
        #expect(!output.contains("skipped"), "\(script) skipped itself")
    }

    @Test(arguments: scripts(needing: false))
    func exampleRunsAndPrintsWhatItPromises(_ script: String) throws { try run(script) }

    @Test(.enabled(if: hasModelAndText, "needs the SmolLM2 GGUF (scripts/fetch-smollm2) and the Jargon File (dict-jargon)"),
          arguments: scripts(needing: true))
    func modelExampleRunsAndPrintsWhatItPromises(_ script: String) throws { try run(script) }
}
