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
