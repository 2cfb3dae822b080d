import Executor
import Foundation

/// A one-line progress display on standard error (overwritten in place on a terminal), with the
/// elapsed time.
final class Progress: @unchecked Sendable {
    let started = Date()
    let interactive = isatty(2) != 0
    func say(_ message: String) {
        let elapsed = String(format: "%5.1fs", Date().timeIntervalSince(started))
        let line = "[\(elapsed)] \(message)"
        FileHandle.standardError.write(Data((interactive ? "\r\u{1B}[K" + line : line + "\n").utf8))
    }

    func done() {
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Progress of executor runs on standard error, throttled: on a terminal the line is rewritten at
/// most 5 times a second; otherwise (logs) a line is written when a phase starts and then at most
/// every 10 seconds. `label` prefixes each line (which run of several this is).
final class RunProgress: @unchecked Sendable {
    private let progress = Progress()
    private var phase = ""
    private var last = Date.distantPast
    var label = ""

    func report(_ phase: String, _ done: Int, _ total: Int) {
        let now = Date()
        let key = label + phase
        let gap = progress.interactive ? 0.2 : 10
        guard key != self.phase || now.timeIntervalSince(last) >= gap else { return }
        self.phase = key
        last = now
        let prefix = label.isEmpty ? "" : label + ": "
        progress.say(total > 1 ? "\(prefix)\(phase) \(done)/\(total)" : "\(prefix)\(phase)")
        open = true
    }

    var handler: ExecutorProgressHandler { { [self] in report($0, $1, $2) } }

    /// Ends the progress line (once, however often it is called).
    func done() {
        if open { progress.done() }
        open = false
    }
    private var open = false
}
