import Foundation

/// A new empty folder under the system's temporary directory, named `pigplan-PREFIX-UUID`; the
/// caller removes it.
func makeTemporaryDirectory(_ prefix: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pigplan-\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}
