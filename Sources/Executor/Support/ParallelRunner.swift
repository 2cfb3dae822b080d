import CKernels
import Foundation

/// Runs work items on a settable number of threads: a persistent C thread pool (one per thread
/// count, process lifetime) whose workers spin briefly between runs, so back-to-back kernel phases
/// hand off in microseconds (DispatchQueue.concurrentPerform woke its workers milliseconds late
/// here, which serialised short attention phases). Items are handed out dynamically through an
/// atomic counter; `worker` in the body is in 0..<threads and indexes per-thread scratch. A run
/// issued while the pool is busy (concurrently, or nested inside another run) runs serially on the
/// calling thread.
public struct ParallelRunner: Sendable {
    public let threads: Int

    public init(threads: Int) { self.threads = max(1, threads) }

    /// Cores available to this process.
    public static var availableCores: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    public func forEach(_ count: Int, _ body: @Sendable (_ item: Int, _ worker: Int) -> Void) {
        if count <= 0 { return }
        if threads == 1 || count == 1 {
            for i in 0..<count { body(i, 0) }
            return
        }
        let pool = PoolRegistry.shared.pool(threads: threads)
        withoutActuallyEscaping(body) { escapable in
            let box = TaskBox(escapable)
            withExtendedLifetime(box) {
                pp_pool_run(pool, count, { ctx, item, worker in
                    Unmanaged<TaskBox>.fromOpaque(ctx!).takeUnretainedValue().body(item, worker)
                }, Unmanaged.passUnretained(box).toOpaque())
            }
        }
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

private final class TaskBox {
    let body: (Int, Int) -> Void
    init(_ body: @escaping (Int, Int) -> Void) { self.body = body }
}

/// Process-lifetime pools by thread count.
private final class PoolRegistry: @unchecked Sendable {
    static let shared = PoolRegistry()
    private let lock = NSLock()
    private var pools: [Int: OpaquePointer] = [:]

    func pool(threads: Int) -> OpaquePointer {
        lock.lock()
        defer { lock.unlock() }
        if let p = pools[threads] { return p }
        let p = pp_pool_create(Int32(threads))!
        pools[threads] = p
        return p
    }
}
