import Foundation

/// A throw-away profiles directory for one test, removed when the test ends.
final class TemporaryProfiles {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("pigplan-profiles-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` at `relativePath` (e.g. `gpus/x.json`), creating folders.
    @discardableResult
    func write(_ relativePath: String, _ text: String) throws -> String {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }
}

/// A small valid GPU profile whose fields tests replace.
func gpuJSON(name: String, bandwidth: String = "1e12", defaultHost: String = "xeon-8480p",
             extra: String = "") -> String {
    """
    {
      "schemaVersion": 1, "name": "\(name)", "displayName": "Test GPU",
      "memoryBytes": 48e9, "memoryBandwidthBytesPerSecond": \(bandwidth), "denseBF16FlopsPerSecond": 200e12,
      "link": {"generation": 4, "lanes": 16, "practicalBandwidthBytesPerSecond": 25e9, "latencySeconds": 5e-6},
      "defaultHost": "\(defaultHost)", "source": "test"\(extra)
    }
    """
}
