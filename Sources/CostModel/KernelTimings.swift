import Core
import Foundation

// Device timings as work x units x schedule. Each type describes how one kind of kernel spends
// time on one device; the cost model builds each once (from the engine, the hardware and the
// calibration) and composes every term of a step from them, and the batch kinks the optimizer
// starts from come from the same types.

/// A CPU kernel run as one parallel loop over work units (a (sequence, head) each):
///   t = perCall + rounds(units) x unitSeconds x numaFactor, at least bytes / bandwidthCap,
/// where rounds follows the engine's schedule over the threads that actually run, unitSeconds is
/// one unit's countable work at one thread's per-item cost, and numaFactor slows the
/// latency-bound share of the threads' time by the share of remote reads.
public struct CPUKernelTiming: Sendable, Hashable {
    /// Threads of the loop (the engine's compiled team, or the plan's threads).
    public var threads: Int
    /// Cores the threads run on; fewer than `threads` time-share them.
    public var cores: Int
    public var schedule: CPUSchedule
    /// Fixed cost of one call (loop start and join, argument conversion), seconds.
    public var secondsPerCall: Double
    /// Multiplier on per-thread time: 1 + remote share x (remote latency factor - 1) x latency share.
    public var numaFactor: Double
    /// DRAM bandwidth the kernel can reach at most over the bytes it touches, bytes/s.
    public var bandwidthCapBytesPerSecond: Double
    /// Extra work per unit of oversubscription (threads / cores - 1), a share of the work.
    public var oversubscriptionWorkShare: Double

    public init(threads: Int, cores: Int? = nil, schedule: CPUSchedule, secondsPerCall: Double = 0, numaFactor: Double = 1,
                bandwidthCapBytesPerSecond: Double = .infinity, oversubscriptionWorkShare: Double = 0) {
        self.threads = max(1, threads)
        self.cores = max(1, cores ?? threads)
        self.oversubscriptionWorkShare = oversubscriptionWorkShare
        self.schedule = schedule
        self.secondsPerCall = secondsPerCall
        self.numaFactor = numaFactor
        self.bandwidthCapBytesPerSecond = bandwidthCapBytesPerSecond
    }

    /// Rounds up to which a partial last round costs a full one; beyond, units / threads. A loop
    /// of many rounds hands out units of unequal sizes (their samples differ) dynamically, so
    /// its last round is a small share of the whole (at most one unit in 8) and averages out.
    public static let imbalancedRounds = 8.0

    /// One unit's time multiples the loop takes for `units` units (units may be fractional when
    /// the optimizer evaluates half batches): pieces share every unit over all threads; whole
    /// units leave threads idle below one round and cost a full round for a partial last one
    /// (ceil(units / threads), up to `imbalancedRounds`).
    public func rounds(units: Double) -> Double {
        guard units > 0 else { return 0 }
        let t = Double(threads)
        switch schedule {
        case .pieces:
            return units / t
        case .wholeUnits:
            return wholeRounds(units / t)
        case .wholeUnitsPairSplit:
            return splitsPairs(units) ? 0.5 : wholeRounds(units / t)
        }
    }

    /// The pair-split path applies: exactly half as many units as threads.
    func splitsPairs(_ units: Double) -> Bool { schedule == .wholeUnitsPairSplit && abs(2 * units - Double(threads)) < 1e-9 }

    func wholeRounds(_ ratio: Double) -> Double {
        ratio > Self.imbalancedRounds ? ratio : (ratio - 1e-9).rounded(.up)
    }

    /// Threads with work for `units` units.
    public func activeThreads(units: Double) -> Double {
        if schedule == .pieces { return units > 0 ? Double(threads) : 0 }
        return splitsPairs(units) ? Double(threads) : min(Double(threads), units.rounded(.up))
    }

    /// Threads per core when the team outnumbers the cores (they take turns), else 1.
    public var oversubscription: Double { max(1, Double(threads) / Double(cores)) }

    /// Threads with work per core when they outnumber the cores (they take turns), else 1.
    public func timeSharing(units: Double) -> Double { max(1, activeThreads(units: units) / Double(cores)) }

    /// Seconds for `units` units of `unitSeconds` each (one thread, local memory) touching `bytes`:
    /// per call, the fixed cost; the rounds of the schedule, stretched by time-sharing, the NUMA
    /// factor and the work oversubscription adds; at least the bytes over the bandwidth cap.
    public func seconds(units: Double, unitSeconds: Double, bytes: Double = 0, calls: Double = 1) -> Double {
        guard units > 0 else { return 0 }
        let stretch = 1 + (oversubscription - 1) * oversubscriptionWorkShare
        let work = calls * secondsPerCall + rounds(units: units) * timeSharing(units: units) * unitSeconds * numaFactor * stretch
        return max(work, bytes / bandwidthCapBytesPerSecond)
    }

    /// Batches where the schedule changes slope: every batch at which the units fill a whole
    /// number of rounds (at most `limit` of them), and the pair-split point.
    public func batchKinks(unitsPerSequence: Double, maxBatch: Double, limit: Int = 256) -> [Double] {
        guard unitsPerSequence > 0, schedule != .pieces else { return [] }
        let step = Double(threads) / unitsPerSequence
        var kinks: [Double] = []
        var k = 1.0
        while k * step <= maxBatch, k <= Self.imbalancedRounds, kinks.count < limit {
            kinks.append(k * step)
            k += 1
        }
        if schedule == .wholeUnitsPairSplit { kinks.append(step / 2) }
        return kinks
    }
}

/// GPU projections as calls of one matrix each:
///   t = calls x perCall + max(bytes / bandwidth, FLOPs / matmul rate)
/// (a fixed cost per call, so a larger model does not scale it by its bytes, and the bytes of the
/// weights or, past the roofline knee, the multiply-adds of the batch).
public struct GPULinearTiming: Sendable, Hashable {
    public var secondsPerCall: Double
    public var bandwidthBytesPerSecond: Double
    public var flopsPerSecond: Double

    public init(secondsPerCall: Double, bandwidthBytesPerSecond: Double, flopsPerSecond: Double) {
        self.secondsPerCall = secondsPerCall
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.flopsPerSecond = flopsPerSecond
    }

    /// The roofline of a GPU profile (no per-call cost: its launches are the profile's
    /// per-layer launch overhead).
    public init(gpu: GPUProfile) {
        self.init(secondsPerCall: 0, bandwidthBytesPerSecond: gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.linearBandwidth,
                  flopsPerSecond: gpu.denseBF16FlopsPerSecond * gpu.efficiency.matmulFlops)
    }

    public func seconds(calls: Double, bytes: Double, parameters: Double, batch: Double) -> Double {
        calls * secondsPerCall + max(bytes / bandwidthBytesPerSecond, 2 * batch * parameters / flopsPerSecond)
    }

    /// The batch where the multiply-adds overtake the weight bytes.
    public func knee(bytes: Double, parameters: Double) -> Double {
        parameters > 0 ? bytes * flopsPerSecond / (2 * parameters * bandwidthBytesPerSecond) : .infinity
    }

    /// Fits the per-call cost, bandwidth and matmul rate to measured decode rows of one shape:
    /// each row gives one layer (`callsPerLayer` calls over `layerBytes`) and the LM head (one
    /// call over `lmHeadBytes`) at a batch. Rows well below the knee fit t = calls c + bytes / BW
    /// by least squares (two shapes separate the per-call cost from the bytes); rows whose time
    /// clearly exceeds that give the matmul rate (median FLOPs / (t - calls c)).
    public static func fit(rows: [Calibration.LinearLayerRow], callsPerLayer: Double, layerBytes: Double, layerParameters: Double,
                           lmHeadBytes: Double, lmHeadParameters: Double, fallback: GPULinearTiming) -> GPULinearTiming {
        // Samples (calls, bytes, parameters, batch, seconds).
        var samples: [(Double, Double, Double, Double, Double)] = []
        for r in rows {
            samples.append((callsPerLayer, layerBytes, layerParameters, Double(r.batch), r.layerSeconds))
            samples.append((1, lmHeadBytes, lmHeadParameters, Double(r.batch), r.lmHeadSeconds))
        }
        // Memory-bound candidates: the FLOPs at the fallback rate stay under a quarter of the bytes' time.
        let memory = samples.filter { 2 * $0.3 * $0.2 / fallback.flopsPerSecond < 0.25 * $0.1 / fallback.bandwidthBytesPerSecond }
        var sxx = 0.0, sxy = 0.0, syy = 0.0, sxt = 0.0, syt = 0.0
        for s in memory {
            let x = s.0, y = s.1
            sxx += x * x; sxy += x * y; syy += y * y; sxt += x * s.4; syt += y * s.4
        }
        let det = sxx * syy - sxy * sxy
        guard memory.count >= 2, det > 1e-12 * sxx * syy else { return fallback }
        let perCall = (sxt * syy - sxy * syt) / det
        let perByte = (sxx * syt - sxy * sxt) / det
        guard perByte > 0 else { return fallback }
        var fitted = GPULinearTiming(secondsPerCall: max(0, perCall), bandwidthBytesPerSecond: 1 / perByte,
                                     flopsPerSecond: fallback.flopsPerSecond)
        if perCall < 0 {
            // No measurable per-call cost: bandwidth through the origin.
            let bytesOverTime = memory.map { $0.1 / $0.4 }.sorted()
            fitted.bandwidthBytesPerSecond = bytesOverTime[bytesOverTime.count / 2]
        }
        let rates = samples.compactMap { s -> Double? in
            let busy = s.4 - s.0 * fitted.secondsPerCall
            guard busy > 1.25 * s.1 / fitted.bandwidthBytesPerSecond else { return nil }
            return 2 * s.3 * s.2 / busy
        }.sorted()
        if !rates.isEmpty { fitted.flopsPerSecond = rates[rates.count / 2] }
        return fitted
    }
}

/// GPU decode attention as thread blocks: blocks = batch x KV heads (x the KV splits of a
/// flash-decoding kernel), each streaming its share of the cache at a per-block rate while the
/// blocks together stay under the bandwidth cap:
///   t = fixed + bytes / min(blocks x perBlockRate, bandwidth)
/// A kernel that splits the KV fills the GPU at any batch (rate = bandwidth). Few blocks (batch 1
/// of an 8-KV-head model) leave most of the GPU idle; 32 KV heads fill four times as much of it.
public struct GPUAttentionTiming: Sendable, Hashable {
    public var fixedSeconds: Double
    public var perBlockBytesPerSecond: Double
    public var bandwidthBytesPerSecond: Double
    public var splitsKV: Bool

    public init(fixedSeconds: Double, perBlockBytesPerSecond: Double, bandwidthBytesPerSecond: Double, splitsKV: Bool) {
        self.fixedSeconds = fixedSeconds
        self.perBlockBytesPerSecond = perBlockBytesPerSecond
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.splitsKV = splitsKV
    }

    /// Roofline of a GPU profile: bandwidth x attention efficiency, no fixed cost, KV split; an
    /// engine whose kernel does not split streams each block at the profile's per-block rate.
    public init(gpu: GPUProfile) {
        self.init(fixedSeconds: 0, perBlockBytesPerSecond: gpu.attentionBlockBytesPerSecond,
                  bandwidthBytesPerSecond: gpu.memoryBandwidthBytesPerSecond * gpu.efficiency.attentionBandwidth, splitsKV: true)
    }

    public func rate(blocks: Double) -> Double {
        splitsKV ? bandwidthBytesPerSecond : min(bandwidthBytesPerSecond, blocks * perBlockBytesPerSecond)
    }

    /// One layer over `tokens` per sequence; `kvBytesPerToken` is K and V of one token, all KV heads.
    public func seconds(batch: Double, tokens: Double, kvHeads: Double, kvBytesPerToken: Double) -> Double {
        guard batch > 0, tokens > 0 else { return 0 }
        return fixedSeconds + batch * tokens * kvBytesPerToken / rate(blocks: batch * kvHeads)
    }

    /// The batch where the blocks reach the bandwidth cap.
    public func knee(kvHeads: Double) -> Double? {
        guard !splitsKV, perBlockBytesPerSecond.isFinite, perBlockBytesPerSecond > 0 else { return nil }
        return bandwidthBytesPerSecond / (kvHeads * perBlockBytesPerSecond)
    }

    /// Fits the measured rows of one shape (`kvHeads`, `kvBytesPerToken`): the rows at the
    /// smallest batch give the fixed cost and the per-block rate (least squares of t against the
    /// bytes one block streams); the bandwidth is the median over the rows that took over 10%
    /// longer than their blocks alone would (bound by the cap, not by the blocks).
    public static func fit(rows: [Calibration.AttentionRow], kvHeads: Double, kvBytesPerToken: Double, splitsKV: Bool,
                           fallback: GPUAttentionTiming) -> GPUAttentionTiming {
        guard !rows.isEmpty else { return fallback }
        let smallest = rows.map(\.batch).min()!
        let firsts = rows.filter { $0.batch == smallest }
        let perBlock = { (r: Calibration.AttentionRow) in
            Double(r.contextTokens) * kvBytesPerToken / kvHeads * (splitsKV ? Double(r.batch) * kvHeads : 1)
        }
        var fixed = 0.0, secondsPerByte: Double
        if firsts.count >= 2 {
            let m = Double(firsts.count)
            let xs = firsts.map(perBlock), ts = firsts.map(\.seconds)
            let sx = xs.reduce(0, +), st = ts.reduce(0, +)
            let sxx = xs.reduce(0) { $0 + $1 * $1 }, sxt = zip(xs, ts).reduce(0) { $0 + $1.0 * $1.1 }
            secondsPerByte = (m * sxt - sx * st) / (m * sxx - sx * sx)
            fixed = max(0, (st - secondsPerByte * sx) / m)
        } else {
            secondsPerByte = firsts[0].seconds / perBlock(firsts[0])
        }
        guard secondsPerByte > 0 else { return fallback }
        if splitsKV {
            return GPUAttentionTiming(fixedSeconds: fixed, perBlockBytesPerSecond: .infinity,
                                      bandwidthBytesPerSecond: 1 / secondsPerByte, splitsKV: true)
        }
        let perBlockRate = 1 / secondsPerByte
        var capped: [Double] = []
        for r in rows {
            let bytes = Double(r.batch * r.contextTokens) * kvBytesPerToken
            let busy = r.seconds - fixed
            guard busy > 0 else { continue }
            // Bound by the cap when the blocks alone would have finished clearly sooner.
            let blocksOnly = bytes / (Double(r.batch) * kvHeads * perBlockRate)
            if blocksOnly < 0.9 * busy { capped.append(bytes / busy) }
        }
        capped.sort()
        let bandwidth = capped.isEmpty ? fallback.bandwidthBytesPerSecond : capped[capped.count / 2]
        return GPUAttentionTiming(fixedSeconds: fixed, perBlockBytesPerSecond: perBlockRate, bandwidthBytesPerSecond: bandwidth,
                                  splitsKV: false)
    }
}
