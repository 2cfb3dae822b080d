import Foundation
import PigPlanCommands

/// Measurements a test reports (predicted against published, timings): printed only when
/// PIGPLAN_TEST_LOG=1, so a passing `swift test` stays quiet; failures carry their numbers in
/// their expectation messages.
func testLog(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    guard ProcessInfo.processInfo.environment["PIGPLAN_TEST_LOG"] == "1" else { return }
    print(items.map { "\($0)" }.joined(separator: separator), terminator: terminator)
}

/// Profile folders broken on purpose: their skip warnings go to standard error only with
/// PIGPLAN_TEST_LOG=1 (tests read `BrokenProfile.warning`, and the binary's stderr, instead).
func quietProfileWarnings() {
    ProfilesDirectoryOptions.printsWarnings = ProcessInfo.processInfo.environment["PIGPLAN_TEST_LOG"] == "1"
}

/// Runs `executable` with `arguments` (and `environment`, else this process's) to its end: its
/// exit status and what it wrote, standard output and standard error together, or standard
/// error alone with `standardErrorOnly`.
func runProcess(_ executable: URL, _ arguments: [String] = [], environment: [String: String]? = nil,
                standardErrorOnly: Bool = false) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if let environment { process.environment = environment }
    let pipe = Pipe()
    process.standardError = pipe
    process.standardOutput = standardErrorOnly ? FileHandle.nullDevice : pipe
    try process.run()
    let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
}
