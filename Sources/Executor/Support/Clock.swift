import Foundation

/// Monotonic wall clock in seconds.
public enum Clock {
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
    /// Runs `body` and returns its result and elapsed seconds.
    public static func measure<T>(_ body: () throws -> T) rethrows -> (T, seconds: Double) {
        let t0 = now()
        let r = try body()
        return (r, now() - t0)
    }
}
