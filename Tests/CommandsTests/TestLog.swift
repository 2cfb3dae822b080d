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
