import CKernels
import Dispatch
import Foundation

/// Runs work items on a settable number of threads (DispatchQueue.concurrentPerform with one
/// iteration per worker; items are handed out dynamically through an atomic counter, so uneven
/// items balance). `worker` in the body is in 0..<threads and indexes per-thread scratch.
public struct ParallelRunner: Sendable {
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    /// Cores available to this process.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public func forEach(_ count: Int, _ body: @Sendable (_ item: Int, _ worker: Int) -> Void) {
        if count <= 0 { return }
        let workers = min(threads, count)
        if workers == 1 {
            for i in 0..<count { body(i, 0) }
            return
        }
        let counter = Buffer<Int>(count: 1)
        let c = SendablePointer(counter.pointer)
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            while true {
                let i = pp_atomic_fetch_add(c.p, 1)
                if i >= count { break }
                body(i, worker)
            }
        }
        withExtendedLifetime(counter) {}
    }

    /// Splits 0..<total into about `threads * 4` contiguous ranges of at least `grain` and runs
    /// them in parallel.
    public func forRanges(_ total: Int, grain: Int = 1, _ body: @Sendable (Range<Int>, _ worker: Int) -> Void) {
        if total <= 0 { return }
        let pieces = max(1, min(threads * 4, total / max(1, grain)))
        let size = (total + pieces - 1) / pieces
        let n = (total + size - 1) / size
        forEach(n) { i, w in body(i * size..<min(total, (i + 1) * size), w) }
    }
}
