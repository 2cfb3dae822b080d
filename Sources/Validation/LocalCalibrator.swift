import Core
import CostModel
import Executor
import Foundation

/// `pigplan calibrate`: measures this machine with the executor's own kernels and fits a CPU-only
/// system profile (its linear layers run on the CPU too).
///
/// Runs (synthetic weights of `shape` cut to `layers` blocks, a seeded synthetic KV cache so no
/// prefill is timed, weights generated once and reused): read bandwidth with 1 and all threads
/// over a buffer far larger than the last-level cache (cold, as a decode step sees memory);
/// dense decoding at several batches and contexts (linear layers, dense attention, the
/// remainder); LSH decoding at several (K, L), contexts and batches (hashing, retrieval, sampled
/// attention and the sampled fraction of the synthetic keys). Each cost-model parameter is then
/// fitted as in `CalibrationFit`.
public struct LocalCalibrator: Sendable {
    public var shape: ModelShape
    public var layers: Int
    public var threads: Int
    public var quick: Bool
    public var seed: UInt64

    public init(shape: ModelShape, layers: Int, threads: Int, quick: Bool, seed: UInt64 = 7) {
        self.shape = shape
        self.layers = layers
        self.threads = threads
        self.quick = quick
        self.seed = seed
    }

    /// The (K, L) the calibration measures (and `validate` runs).
    public static let lshSettings = [LSHParameters(hashBitsPerTable: 8, tableCount: 75),
                                     LSHParameters(hashBitsPerTable: 9, tableCount: 120),
                                     .magicPIGDefault]

    public struct Result: Sendable {
        public var cpu: CPUProfile
        public var system: SystemProfile
        public var runs: Int
        public var seconds: Double
    }

    /// The shape the executor runs: `layers` blocks, the model's dense layers among them.
    public var runShape: ModelShape {
        var s = shape
        s.layerCount = min(layers, shape.layerCount)
        s.denseLayers = shape.denseLayers.filter { $0 < s.layerCount }
        return s
    }

    public func request(_ mode: AttentionMode, batch: Int, context: Int, steps: Int, threads runThreads: Int? = nil) -> ExecutorRequest {
        ExecutorRequest(weights: .synthetic(shape: shape, layers: layers, seed: seed), prompt: .syntheticTokens(count: context),
                        batch: batch, decodeSteps: steps, attention: mode, threads: runThreads ?? threads, seed: seed,
                        prefill: .syntheticCache)
    }

    /// One-thread runs: what one thread of the executor's attention kernels does per row, apart
    /// from what the threads share (the all-thread runs then give only the cap).
    public struct OneThreadRuns: Sendable {
        public var dense: ExecutorReport
        public var lsh: ExecutorReport
        public init(dense: ExecutorReport, lsh: ExecutorReport) { self.dense = dense; self.lsh = lsh }
    }

    /// The executor's product over matrices larger than the caches, by batch: bytes/s with one
    /// thread and with all, and the cost of a call with one thread.
    public struct LinearRates: Sendable {
        public var stream: [CPUKernelCosts.LinearStreamRow]
        public var secondsPerCallOneThread: Double
        public init(stream: [CPUKernelCosts.LinearStreamRow], secondsPerCallOneThread: Double) {
            self.stream = stream
            self.secondsPerCallOneThread = secondsPerCallOneThread
        }
    }

    /// Bytes per second of a 2304 x 4096 binary16 product at `batch` (eight of them, 151 MB, so
    /// the weights come from memory as a decode step's do).
    static func linearStreamBytesPerSecond(threads: Int, batch: Int) -> Double {
        let seconds = LinearKernelBench.secondsPerProduct(rows: 2304, columns: 4096, batch: batch, threads: threads, matrices: 8)
        return Double(2304 * 4096 * 2) / seconds
    }

    public func run(progress: (String) -> Void) throws -> Result {
        let started = Clock.now()
        let hostName = ProcessInfo.processInfo.hostName
        progress("read bandwidth (1 and \(threads) threads, cold)")
        let bufferBytes = quick ? 256 << 20 : 1 << 30
        let oneThread = MemoryBandwidth.measureRead(bytes: bufferBytes, threads: 1)
        let allThreads = MemoryBandwidth.measureRead(bytes: bufferBytes, threads: threads)

        // The matrix product per output row and per byte: equal bytes in short and long rows.
        var rowSeconds: [Int: Double] = [:]
        let linearBatches = quick ? [1, 4, 8] : [1, 2, 4, 8]
        for batch in linearBatches {
            progress("linear kernel rows vs bytes, batch \(batch)")
            rowSeconds[batch] = Self.secondsPerRow(batch: batch, threads: threads, matrices: quick ? 4 : 8)
        }

        progress("linear kernel cost per call, and its stream with 1 and \(threads) threads")
        let callSeconds = Self.secondsPerCall(threads: threads)
        let linearRates = LinearRates(
            stream: linearBatches.map { batch in
                CPUKernelCosts.LinearStreamRow(batch: batch, bytesPerSecondOneThread: Self.linearStreamBytesPerSecond(threads: 1, batch: batch),
                                               bytesPerSecond: Self.linearStreamBytesPerSecond(threads: threads, batch: batch))
            },
            secondsPerCallOneThread: Self.secondsPerCall(threads: 1))

        progress("prefill matrix product (\(Self.prefillChunkTokens) tokens)")
        let prefillFlops = Self.prefillFlopsPerSecondPerCore(threads: threads)

        let steps = quick ? 4 : 8
        var cache: Executor.LoadedWeights? = nil
        var dense: [ExecutorReport] = []
        let denseGrid: [(Int, Int)] = quick ? [(1, 2048), (4, 2048), (8, 2048)]
            : [(1, 2048), (2, 2048), (4, 2048), (8, 2048), (1, 8192), (2, 8192), (4, 8192), (8, 8192)]
        for (i, (batch, context)) in denseGrid.enumerated() {
            progress("dense decode \(i + 1)/\(denseGrid.count): batch \(batch), context \(context)")
            dense.append(try Executor.run(request(.dense, batch: batch, context: context, steps: steps), reusing: &cache))
        }
        var lsh: [ExecutorReport] = []
        let lshGrid: [(LSHParameters, Int, Int)] = quick
            ? [(Self.lshSettings[0], 1, 8192), (Self.lshSettings[2], 4, 8192)]
            : Self.lshSettings.flatMap { p in [(p, 1, 8192), (p, 4, 16384)] }
        for (i, (p, batch, context)) in lshGrid.enumerated() {
            progress("LSH decode \(i + 1)/\(lshGrid.count): \(p), batch \(batch), context \(context)")
            lsh.append(try Executor.run(request(.lshSampled(p), batch: batch, context: context, steps: steps), reusing: &cache))
        }
        progress("dense and LSH decode with one thread")
        let single = OneThreadRuns(
            dense: try Executor.run(request(.dense, batch: 1, context: 4096, steps: steps, threads: 1), reusing: &cache),
            lsh: try Executor.run(request(.lshSampled(Self.lshSettings[0]), batch: 4, context: 16384, steps: steps, threads: 1),
                                  reusing: &cache))
        cache = nil
        progress("fitting")
        let result = fit(dense: dense, lsh: lsh, readAll: allThreads, readOne: oneThread, host: hostName,
                         memoryBytes: Executor.memoryInfoBytes("MemTotal") ?? 16e9, linearRowSeconds: rowSeconds,
                         linearCallSeconds: callSeconds, prefillFlopsPerSecondPerCore: prefillFlops,
                         oneThread: single, linearRates: linearRates)
        return Result(cpu: result.cpu, system: result.system, runs: dense.count + lsh.count + 2, seconds: Clock.now() - started)
    }

    /// Seconds per output row of the executor's product at `batch`: 16384 rows of 576 columns
    /// against 2304 rows of 4096 (the same 18.9 MB), the difference over the 14080 extra rows.
    static func secondsPerRow(batch: Int, threads: Int, matrices: Int) -> Double {
        let short = LinearKernelBench.secondsPerProduct(rows: 16_384, columns: 576, batch: batch, threads: threads, matrices: matrices)
        let long = LinearKernelBench.secondsPerProduct(rows: 2304, columns: 4096, batch: batch, threads: threads, matrices: matrices)
        return max(0, (short - long) / Double(16_384 - 2304))
    }

    /// The fixed cost of one product call (handing its pieces to the threads and joining them):
    /// a product of 256 rows of 64 columns, whose 32 kB stay in cache, so its time is the call's.
    /// Measured directly: fitted from the layer against the LM head it had absorbed their
    /// bandwidth difference (122 us per call on 8B shapes, where a small model's 28 products
    /// then came out 2.6x slow).
    static func secondsPerCall(threads: Int) -> Double {
        LinearKernelBench.secondsPerProduct(rows: 256, columns: 64, batch: 1, threads: threads, matrices: 16, repetitions: 5)
    }

    /// Tokens of one prefill chunk (`Decoder.defaultChunkRows`).
    static var prefillChunkTokens: Int { Decoder.defaultChunkRows }

    /// FLOP/s per thread of a 4096 x 4096 binary16 product over one prefill chunk (2 flops per
    /// multiply-add): compute-bound, so what prefill's projections run at on this machine.
    static func prefillFlopsPerSecondPerCore(threads: Int) -> Double {
        let n = 4096, tokens = prefillChunkTokens
        let seconds = LinearKernelBench.secondsPerProduct(rows: n, columns: n, batch: tokens, threads: threads, matrices: 2)
        return 2 * Double(tokens) * Double(n * n) / seconds / Double(threads)
    }

    /// The fitted profiles from measured runs (pure: tested with synthetic timings).
    /// `linearRowSeconds`: seconds per output row of a product at each batch (the row part is
    /// taken off the measured projections before the per-call and per-byte fit).
    public func fit(dense: [ExecutorReport], lsh: [ExecutorReport], readAll: Double, readOne: Double, host: String,
                    memoryBytes memory: Double, linearRowSeconds: [Int: Double] = [:], linearCallSeconds: Double? = nil,
                    prefillFlopsPerSecondPerCore: Double? = nil, oneThread: OneThreadRuns? = nil,
                    linearRates: LinearRates? = nil) -> (cpu: CPUProfile, system: SystemProfile)
    {
        let s = runShape
        let cpu = CPUProfile(
            name: "local-cpu", displayName: "This machine's CPU (\(host), measured)", coresPerSocket: threads, maxSockets: 1,
            dramBandwidthBytesPerSecondPerSocket: readAll / 0.8, streamEfficiency: 0.8, perCoreReadBytesPerSecond: readOne,
            remoteBandwidthFraction: 0.33, defaultMemoryBytesPerSocket: memory, flopsPerSecondPerCore: 32e9,
            vectorISA: Executor.vectorISA,
            source: "pigplan calibrate, \(Self.today())")
        var unit = EngineParameters(
            sampledAttentionBandwidthFraction: 1, denseAttentionBandwidthFraction: 1, gqaSharedReads: true,
            retrievalSecondsPerTableWalk: 0, retrievalSecondsPerCandidate: 0, roundTripOverheadSecondsPerLayer: 0,
            threadScalingEfficiency: 1, computesExactPart: true)
        var costs = CPUKernelCosts(readBytesPerSecond: readAll, readBytesPerSecondOneThread: readOne, threads: threads)
        func model(_ r: ExecutorReport, engine: EngineParameters, cpuProfile: CPUProfile = cpu) -> (DecodeCostModel, DecodeConfiguration) {
            let threads = r.threads
            let hw = Hardware(name: "local", gpu: nil, cpu: cpuProfile, sockets: 1, threads: threads, cpuMemoryBytes: memory,
                              gpuMemoryBytes: 0, numaLocal: true, link: nil,
                              calibration: Calibration(source: "fit", cpu: costs))
            let m = DecodeCostModel(hardware: hw, workload: Workload(model: s, contextTokens: r.promptTokens, generatedTokens: r.decodeSteps),
                                    engine: engine, fractions: SampledFractionModel(override: r.measured.sampledFraction?.mean))
            return (m, DecodeConfiguration(batch: r.batch, attention: r.attention, placement: Placement(kvDevice: .cpu, cpuThreads: threads)))
        }
        // Linear layers and the LM head (two shapes: per call and per byte), and the remainder
        // per element it touches, from every run.
        let all = dense + lsh
        let layerCalls = Double(s.layerCount) * DecodeCostModel.executorCallsPerLayer
        let rowTable = linearRowSeconds.isEmpty ? nil
            : PiecewiseLinear(points: linearRowSeconds.map { (Double($0.key), $0.value) }, clampAbove: true)
        let perRow = { (batch: Int) in rowTable.map { max(0, $0(Double(batch))) } ?? 0 }
        let samples = all.flatMap { r in [
            (batch: r.batch, calls: layerCalls,
             seconds: r.measured.breakdown[.linearLayers] - Double(s.layerCount) * s.projectionRowsPerLayer * perRow(r.batch),
             bytes: Double(s.layerCount) * s.linearBytesPerLayer),
            (batch: r.batch, calls: 1.0, seconds: r.measured.breakdown[.lmHead] - Double(s.vocabSize) * perRow(r.batch),
             bytes: s.lmHeadBytes),
        ] }
        // The per-call cost as measured when it was (else separated by the two shapes' fit).
        let linear: (perCall: Double, rows: [CPUKernelCosts.CPULinearRow])
        if let call = linearCallSeconds, call.isFinite, call >= 0 {
            linear = (call, CalibrationFit.linearRows(samples.map { (batch: $0.batch, seconds: max(0, $0.seconds - $0.calls * call), bytes: $0.bytes) }))
        } else {
            linear = CalibrationFit.linearCallsAndBytes(samples)
        }
        costs.linearLayers = linear.rows.map { row in
            var r = row
            if rowTable != nil { r.secondsPerRow = perRow(row.batch) }
            return r
        }
        costs.linearSecondsPerCall = linear.perCall
        costs.prefillFlopsPerSecondPerCore = prefillFlopsPerSecondPerCore.flatMap { $0.isFinite && $0 > 0 ? $0 : nil }
        costs.otherSecondsPerElement = CalibrationFit.median(all.map {
            $0.measured.breakdown[.overhead] / (Double($0.batch) * s.otherElementsPerSequence)
        })
        // Dense attention (all layers of the dense runs, the dense layers of the LSH runs) and
        // sampled attention (the LSH runs). With one-thread runs: what one thread reaches, as a
        // fraction of one core's read bandwidth (so it carries to other head sizes), from them,
        // and from the all-thread runs only the bandwidth cap; without: one fraction for both.
        var denseFraction: Double, sampledFraction: Double, scaling = 1.0
        var denseThread: Double? = nil, denseHeadElement: Double? = nil, sampledThread: Double? = nil
        if let oneThread {
            // Dense, one thread: streaming the rows at one core's read, plus what grows with the
            // query heads and their dimensions (the dot products and V sums), when it took longer.
            let one = oneThread.dense, oneBatch = Double(one.batch), oneMeasured = one.measured.breakdown[.cpuAttention]
            let (sm, sc) = model(one, engine: unit)
            let streamSeconds = sm.cpuAttentionSeconds(sc, batch: oneBatch)
            var headOnly = unit
            headOnly.denseThreadReadFraction = 1e30
            headOnly.denseSecondsPerQueryHeadElement = 1
            let (hm, hc) = model(one, engine: headOnly)
            let headBasis = hm.cpuAttentionSeconds(hc, batch: oneBatch)
            if oneMeasured > 0, streamSeconds > 0, headBasis > 0 {
                if oneMeasured > streamSeconds {
                    (denseThread, denseHeadElement) = (1, (oneMeasured - streamSeconds) / headBasis)
                } else {
                    (denseThread, denseHeadElement) = (streamSeconds / oneMeasured, 0)
                }
            }
            // Sampled, one thread: a fraction of one core's read over the bytes it touches.
            let (lm, lc) = model(oneThread.lsh, engine: unit)
            sampledThread = CalibrationFit.fraction(basis: [lm.sampledAttentionSeconds(lc, batch: Double(oneThread.lsh.batch))],
                                                    measured: [oneThread.lsh.measured.breakdown[.sampledAttention]])
            if !(sampledThread.map { $0.isFinite && $0 > 0 } ?? false) { sampledThread = nil }
            // Scaling: the all-thread runs against their threads' one-thread rates, the median of
            // predicted over measured across the dense and sampled runs (what a core's second
            // thread adds where cores share execution units or caches); the cap stays at the
            // memory's read bandwidth.
            var rows = unit
            rows.denseThreadReadFraction = denseThread
            rows.denseSecondsPerQueryHeadElement = denseHeadElement
            rows.sampledThreadReadFraction = sampledThread
            let ratios = dense.map { r -> Double in
                let (m, c) = model(r, engine: rows)
                return m.cpuAttentionSeconds(c, batch: Double(r.batch)) / r.measured.breakdown[.cpuAttention]
            } + lsh.map { r -> Double in
                let (m, c) = model(r, engine: rows)
                return m.sampledAttentionSeconds(c, batch: Double(r.batch)) / r.measured.breakdown[.sampledAttention]
            }
            let finite = ratios.filter { $0.isFinite && $0 > 0 }
            scaling = finite.isEmpty || threads == 1 ? 1 : min(1, max(0.25, CalibrationFit.median(finite)))
            unit.threadScalingEfficiency = scaling
            denseFraction = denseThread == nil ? .nan : 1
            sampledFraction = sampledThread == nil ? .nan : 1
        } else {
            let denseBasis = all.map { r in let (m, c) = model(r, engine: unit); return m.cpuAttentionSeconds(c, batch: Double(r.batch)) }
            denseFraction = CalibrationFit.fraction(basis: denseBasis, measured: all.map { $0.measured.breakdown[.cpuAttention] })
            let sampledBasis = lsh.map { r in let (m, c) = model(r, engine: unit); return m.sampledAttentionSeconds(c, batch: Double(r.batch)) }
            sampledFraction = CalibrationFit.fraction(basis: sampledBasis, measured: lsh.map { $0.measured.breakdown[.sampledAttention] })
        }
        // Retrieval and hashing from the LSH runs.
        var walkOnly = unit, candidateOnly = unit
        walkOnly.retrievalSecondsPerTableWalk = 1
        candidateOnly.retrievalSecondsPerCandidate = 1
        let walkBasis = lsh.map { r in let (m, c) = model(r, engine: walkOnly); return m.retrievalSeconds(c, batch: Double(r.batch)) }
        let candidateBasis = lsh.map { r in let (m, c) = model(r, engine: candidateOnly); return m.retrievalSeconds(c, batch: Double(r.batch)) }
        let (walk, candidate) = CalibrationFit.twoTerm(x: walkBasis, y: candidateBasis, t: lsh.map { $0.measured.breakdown[.retrieval] })
        // Hashing runs on the CPU here: basis at 1 FLOP/s per core, so flops per core = basis / t.
        var unitCPU = cpu
        unitCPU.flopsPerSecondPerCore = 1
        let hashBasis = lsh.map { r in let (m, c) = model(r, engine: unit, cpuProfile: unitCPU); return m.hashingSeconds(c, batch: Double(r.batch)) }
        var fittedCPU = cpu
        let flops = CalibrationFit.fraction(basis: hashBasis, measured: lsh.map { $0.measured.breakdown[.hashing] })
        if flops.isFinite && flops > 0 { fittedCPU.flopsPerSecondPerCore = flops }

        costs.engine = EngineParameters(
            sampledAttentionBandwidthFraction: sampledFraction.isFinite ? sampledFraction : 0.5,
            denseAttentionBandwidthFraction: denseFraction.isFinite ? denseFraction : 0.8, gqaSharedReads: true,
            retrievalSecondsPerTableWalk: walk, retrievalSecondsPerCandidate: candidate,
            roundTripOverheadSecondsPerLayer: 0, threadScalingEfficiency: scaling, computesExactPart: true)
        costs.engine?.denseThreadReadFraction = denseThread
        costs.engine?.denseSecondsPerQueryHeadElement = denseHeadElement
        costs.engine?.sampledThreadReadFraction = sampledThread
        if let linearRates {
            costs.linearStream = linearRates.stream
            costs.linearSecondsPerCallOneThread = linearRates.secondsPerCallOneThread
        }
        var fractions: [SampledFractionPoint] = []
        for (p, group) in Dictionary(grouping: lsh.filter { $0.attention.lsh != nil }, by: { $0.attention.lsh! }) {
            let values = group.compactMap { $0.measured.sampledFraction?.mean }
            if !values.isEmpty {
                fractions.append(SampledFractionPoint(k: p.hashBitsPerTable, l: p.tableCount, fraction: values.reduce(0, +) / Double(values.count)))
            }
        }
        costs.syntheticSampledFractions = fractions.sorted { ($0.k, $0.l) < ($1.k, $1.l) }
        let system = SystemProfile(
            name: "local", displayName: "This machine (\(host)), CPU only, calibrated", gpu: nil, cpu: fittedCPU.name, sockets: 1,
            threads: threads, cpuMemoryBytes: memory * 0.9, numaLocal: true, link: nil,
            calibration: Calibration(source: "pigplan calibrate\(quick ? " --quick" : "") on \(host)", measuredOn: Self.today(), host: host,
                                     referenceModel: shape.name, cpu: costs),
            note: "Written by `pigplan calibrate`: measured with the executor's kernels on \(s.name)-shaped synthetic layers.")
        return (fittedCPU, system)
    }

    static func today() -> String {
        let f = DateFormatter()
        f.dateFormat = "yyyy-MM-dd"
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date())
    }
}
