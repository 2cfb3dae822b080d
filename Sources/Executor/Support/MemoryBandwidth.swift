import CKernels

/// A STREAM-like read-bandwidth probe: sums a buffer far larger than the last-level cache with
/// `threads` threads (each reads a contiguous slice) and reports the best of `repetitions`.
public enum MemoryBandwidth {
    /// Bytes per second read.
    public static func measureRead(bytes: Int = 1 << 30, threads: Int, repetitions: Int = 5) -> Double {
        let n = bytes / 4
        let buffer = Buffer<Float>(count: n)
        let p = SendablePointer(buffer.pointer)
        let runner = ParallelRunner(threads: threads)
        runner.forEach(threads) { t, _ in
            let lo = n * t / threads, hi = n * (t + 1) / threads
            for i in stride(from: lo, to: hi, by: 1024) { p.p[i] = 1 } // touch every page
        }
        var best = 0.0
        let sums = Buffer<Double>(count: threads)
        let s = SendablePointer(sums.pointer)
        for _ in 0..<repetitions {
            let t0 = Clock.now()
            runner.forEach(threads) { t, _ in
                let lo = n * t / threads, hi = n * (t + 1) / threads
                s.p[t] = pp_read_sum(p.p + lo, hi - lo)
            }
            let dt = Clock.now() - t0
            best = max(best, Double(n * 4) / dt)
        }
        precondition(sums[0].isFinite)
        return best
    }
}

extension MemoryBandwidth {
    /// Bytes per second of reading binary16 rows (each `width` elements, stride `ld`) at the given
    /// row indices of each segment's base, segments shared out over `threads` threads: the ceiling
    /// for row gathers in this access pattern. Best of `repetitions`.
    public static func measureGather(segments: [(base: UnsafePointer<UInt16>, rows: [Int32])], ld: Int, width: Int,
                                     threads: Int, repetitions: Int = 3) -> Double {
        let runner = ParallelRunner(threads: threads)
        let bases = segments.map { SendablePointer(UnsafeMutablePointer(mutating: $0.base)) }
        let lists = segments.map { Buffer($0.rows) }
        let ptrs = lists.map { SendablePointer($0.pointer) }
        let counts = segments.map { $0.rows.count }
        let total = counts.reduce(0, +)
        var best = 0.0
        for _ in 0..<repetitions {
            let t0 = Clock.now()
            runner.forEach(segments.count) { i, _ in
                _ = pp_gather_read_sum(bases[i].p, ld, ptrs[i].p, counts[i], width)
            }
            best = max(best, Double(total * width * 2) / (Clock.now() - t0))
        }
        withExtendedLifetime(lists) {}
        return best
    }
}
