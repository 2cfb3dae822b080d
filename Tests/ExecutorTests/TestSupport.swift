import Foundation
import Testing

@testable import Executor

/// Locates test inputs outside the repository.
enum TestFiles {
    /// The SmolLM2 GGUF, found like scripts/fetch-smollm2 stores it: $PIGPLAN_MODEL_CACHE, else
    /// ~/.cache/pigplan/models/, the first file named smollm2*.gguf (case-insensitive).
    static var smolLM2: String? {
        let env = ProcessInfo.processInfo.environment
        let dir = env["PIGPLAN_MODEL_CACHE"] ?? (NSHomeDirectory() + "/.cache/pigplan/models")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        return names.sorted().first { $0.lowercased().hasPrefix("smollm2") && $0.lowercased().hasSuffix(".gguf") }
            .map { dir + "/" + $0 }
    }

    /// Debian's dict-jargon package is installed (the real-text test's input).
    static var hasJargonFile: Bool { FileManager.default.fileExists(atPath: "/usr/share/dictd/jargon.dict.dz") }

    /// The first `characters` characters of the Jargon File (public domain), from Debian's
    /// dict-jargon package (which .ci/run installs); nil when the package is absent. Throws when
    /// the file is there but cannot be read as text.
    static func jargonFile(characters: Int) throws -> String? {
        let path = "/usr/share/dictd/jargon.dict.dz"
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let gzipPath = ["/usr/bin/gzip", "/bin/gzip"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestSupportError("gzip not found (needed to read \(path))")
        }
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: gzipPath)
        gzip.arguments = ["-dc", path]
        let pipe = Pipe()
        gzip.standardOutput = pipe
        try gzip.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        guard gzip.terminationStatus == 0, let text = String(data: data, encoding: .utf8) else {
            throw TestSupportError("\(path) did not decompress to UTF-8 text")
        }
        return String(text.prefix(characters))
    }

    /// Directory of this file (for golden files).
    static func here(_ file: String = #filePath) -> String { (file as NSString).deletingLastPathComponent }
}

/// A test-setup failure with its reason.
struct TestSupportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
