import Core

/// Value rules for decoded profiles: one file at a time (ranges, shapes, names) and, once all
/// files are loaded, across files (a system's GPU and CPU exist, a GPU's default host exists).
struct ProfileValidator {
    let decoder: ProfileDecoder
    var file: String { decoder.file }

    private func fail(_ key: String, _ reason: String, _ fix: String) -> ProfileError {
        decoder.invalid(key, reason, fix)
    }
    /// Magnitudes no real machine leaves, per unit: a value outside is a typo (a missing exponent,
    /// a wrong unit) and would reach the solver as a coefficient GLPK cannot scale.
    static let plausible: [String: ClosedRange<Double>] = [
        "bytes/s": 1e3...1e16, "FLOP/s": 1e6...1e19, "bytes": 1...1e17, "seconds": 0...1e4, "seconds per byte": 1e-17...1e-2,
    ]
    private func plausible(_ value: Double, _ key: String, unit: String) throws(ProfileError) {
        guard let range = Self.plausible[unit], value != 0 else { return }
        guard range.contains(value) else {
            throw fail(key, "\(value) \(unit) is outside what any machine has (\(range.lowerBound) to \(range.upperBound))",
                       "check the exponent and the unit: SI base units, e.g. 25e9 bytes/s, 20e-6 seconds")
        }
    }
    private func positive(_ value: Double, _ key: String, unit: String) throws(ProfileError) {
        guard value.isFinite, value > 0 else {
            throw fail(key, "must be a positive number of \(unit), found \(value)", "write the value in \(unit) (SI units, e.g. 25e9)")
        }
        try plausible(value, key, unit: unit)
    }
    private func nonNegative(_ value: Double, _ key: String, unit: String) throws(ProfileError) {
        guard value.isFinite, value >= 0 else {
            throw fail(key, "must be zero or a positive number of \(unit), found \(value)", "write the value in \(unit)")
        }
        try plausible(value, key, unit: unit)
    }
    private func fraction(_ value: Double, _ key: String) throws(ProfileError) {
        guard value.isFinite, value > 0, value <= 1 else {
            throw fail(key, "must be a fraction in (0, 1], found \(value)", "write e.g. 0.8 for 80%")
        }
    }
    /// Counts (cores, sockets, layers, heads, widths, batches, contexts) stay below 2^24, so every
    /// product of two of them fits an integer with room to spare.
    static let countLimit = 1 << 24
    private func count(_ value: Int, _ key: String, atLeast minimum: Int = 1) throws(ProfileError) {
        guard value >= minimum else {
            throw fail(key, "must be an integer of at least \(minimum), found \(value)", "fix the count")
        }
        guard value <= Self.countLimit else {
            throw fail(key, "\(value) is more than pigplan handles (at most \(Self.countLimit))", "fix the count")
        }
    }
    private func matchesFile(_ name: String, _ key: String) throws(ProfileError) {
        guard name == decoder.name else {
            throw fail(key, "is '\(name)' but the file is named '\(decoder.name).json'",
                       "rename the file to '\(name).json' or set \(key) to '\(decoder.name)' (or leave the key out)")
        }
    }
    private func nonEmpty(_ text: String, _ key: String) throws(ProfileError) {
        guard !text.allSatisfy(\.isWhitespace) else {
            throw fail(key, "is empty", "say where the figures come from (datasheet, measurement)")
        }
    }

    // MARK: One file

    func check(_ p: GPUProfile) throws(ProfileError) {
        try matchesFile(p.name, "name")
        try positive(p.memoryBytes, "memoryBytes", unit: "bytes")
        try positive(p.memoryBandwidthBytesPerSecond, "memoryBandwidthBytesPerSecond", unit: "bytes/s")
        try positive(p.denseBF16FlopsPerSecond, "denseBF16FlopsPerSecond", unit: "FLOP/s")
        try check(p.link, "link")
        try fraction(p.efficiency.linearBandwidth, "efficiency.linearBandwidth")
        try fraction(p.efficiency.matmulFlops, "efficiency.matmulFlops")
        try fraction(p.efficiency.attentionBandwidth, "efficiency.attentionBandwidth")
        try fraction(p.efficiency.gatherBandwidth, "efficiency.gatherBandwidth")
        try nonNegative(p.launchOverheadSecondsPerLayer, "launchOverheadSecondsPerLayer", unit: "seconds")
        try positive(p.attentionBlockBytesPerSecond, "attentionBlockBytesPerSecond", unit: "bytes/s")
        try nonNegative(p.reservedBytes, "reservedBytes", unit: "bytes")
        if let fp8 = p.denseFP8FlopsPerSecond { try positive(fp8, "denseFP8FlopsPerSecond", unit: "FLOP/s") }
        for (format, e) in (p.weightFormatEfficiency ?? [:]).sorted(by: { $0.key < $1.key }) {
            let key = "weightFormatEfficiency.\(format)"
            guard WeightFormat(rawValue: format) != nil else {
                throw fail(key, "names no weight format", "use one of: \(WeightFormat.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try fraction(e.bandwidthFactor, key + ".bandwidthFactor")
            guard e.flopsFactor.isFinite, e.flopsFactor > 0, e.flopsFactor <= 8 else {
                throw fail(key + ".flopsFactor", "must be in (0, 8] (the format's FLOP/s over bf16's), found \(e.flopsFactor)", "write e.g. 2 for fp8 tensor cores")
            }
        }
        guard p.reservedBytes < p.memoryBytes else {
            throw fail("reservedBytes", "(\(p.reservedBytes)) leaves no memory of the \(p.memoryBytes) bytes",
                       "reserve less than memoryBytes")
        }
        try nonEmpty(p.source, "source")
    }

    func check(_ link: HostLink, _ key: String) throws(ProfileError) {
        guard (1...7).contains(link.generation) else {
            throw fail(key + ".generation", "must be a PCIe generation 1-7, found \(link.generation)", "write e.g. 4 or 5")
        }
        guard [1, 2, 4, 8, 16].contains(link.lanes) else {
            throw fail(key + ".lanes", "must be 1, 2, 4, 8 or 16, found \(link.lanes)", "write 16 for a full slot")
        }
        try positive(link.practicalBandwidthBytesPerSecond, key + ".practicalBandwidthBytesPerSecond", unit: "bytes/s")
        try nonNegative(link.latencySeconds, key + ".latencySeconds", unit: "seconds")
    }

    func check(_ p: CPUProfile) throws(ProfileError) {
        try matchesFile(p.name, "name")
        try count(p.coresPerSocket, "coresPerSocket")
        try count(p.maxSockets, "maxSockets")
        try positive(p.dramBandwidthBytesPerSecondPerSocket, "dramBandwidthBytesPerSecondPerSocket", unit: "bytes/s")
        try fraction(p.streamEfficiency, "streamEfficiency")
        try positive(p.perCoreReadBytesPerSecond, "perCoreReadBytesPerSecond", unit: "bytes/s")
        try fraction(p.remoteBandwidthFraction, "remoteBandwidthFraction")
        guard p.remoteLatencyFactor.isFinite, p.remoteLatencyFactor >= 1, p.remoteLatencyFactor <= 10 else {
            throw fail("remoteLatencyFactor", "must be between 1 and 10 (remote over local latency), found \(p.remoteLatencyFactor)",
                       "write about 1.6 for a two-socket Xeon")
        }
        try positive(p.defaultMemoryBytesPerSocket, "defaultMemoryBytesPerSocket", unit: "bytes")
        try positive(p.flopsPerSecondPerCore, "flopsPerSecondPerCore", unit: "FLOP/s")
        try nonEmpty(p.source, "source")
    }

    func check(_ p: SystemProfile) throws(ProfileError) {
        try matchesFile(p.name, "name")
        try count(p.sockets, "sockets")
        if let threads = p.threads { try count(threads, "threads") }
        if let memory = p.cpuMemoryBytes { try positive(memory, "cpuMemoryBytes", unit: "bytes") }
        if let link = p.link { try check(link, "link") }
        if let calibration = p.calibration { try check(calibration, "calibration") }
        let gpus = p.gpuCount ?? 1
        try count(gpus, "gpuCount")
        guard gpus <= Self.maxGPUsPerNode else {
            throw fail("gpuCount", "\(gpus) GPUs in one node is more than pigplan plans (at most \(Self.maxGPUsPerNode))",
                       "describe one node; plan several with --nodes")
        }
        if gpus > 1 {
            guard p.gpu != nil else { throw fail("gpuCount", "is \(gpus) but the system names no gpu", "add \"gpu\" or drop gpuCount") }
            guard let link = p.interconnect else {
                throw fail("interconnect", "is missing: a node of \(gpus) GPUs needs its GPU-to-GPU link",
                           "add an interconnect (kind nvlink or pcie, generation, bandwidthBytesPerSecond, latencySecondsPerHop, peerToPeer, source)")
            }
            try check(link, "interconnect")
        }
        if let map = p.gpuSockets {
            guard map.count == gpus else {
                throw fail("gpuSockets", "lists \(map.count) GPU(s) but gpuCount is \(gpus)", "give one socket number per GPU")
            }
            for (i, socket) in map.enumerated() where !(0..<p.sockets).contains(socket) {
                throw fail("gpuSockets[\(i)]", "is socket \(socket), but the system has sockets 0 to \(p.sockets - 1)", "use a socket number below \(p.sockets)")
            }
        }
    }

    /// GPUs one node profile may hold.
    static let maxGPUsPerNode = 64

    func check(_ link: GPUInterconnect, _ key: String) throws(ProfileError) {
        guard (1...10).contains(link.generation) else {
            throw fail(key + ".generation", "must be an NVLink or PCIe generation 1-10, found \(link.generation)", "write e.g. 4")
        }
        try positive(link.bandwidthBytesPerSecond, key + ".bandwidthBytesPerSecond", unit: "bytes/s")
        try nonNegative(link.latencySecondsPerHop, key + ".latencySecondsPerHop", unit: "seconds")
        try nonEmpty(link.source, key + ".source")
    }

    func check(_ c: Calibration, _ key: String) throws(ProfileError) {
        try nonEmpty(c.source, key + ".source")
        if let rows = c.gpuLinearLayers {
            for (i, row) in rows.enumerated() {
                let at = "\(key).gpuLinearLayers[\(i)]"
                try count(row.batch, at + ".batch")
                try positive(row.layerSeconds, at + ".layerSeconds", unit: "seconds")
                try positive(row.lmHeadSeconds, at + ".lmHeadSeconds", unit: "seconds")
                if i > 0, row.batch <= rows[i - 1].batch {
                    throw fail(at + ".batch", "batches must increase row by row (\(rows[i - 1].batch) then \(row.batch))",
                               "sort the rows by batch and drop duplicates")
                }
            }
        }
        if let rows = c.gpuDecodeAttention {
            var seen = Set<[Int]>()
            for (i, row) in rows.enumerated() {
                let at = "\(key).gpuDecodeAttention[\(i)]"
                try count(row.batch, at + ".batch")
                try count(row.contextTokens, at + ".contextTokens")
                try positive(row.seconds, at + ".seconds", unit: "seconds")
                guard seen.insert([row.batch, row.contextTokens]).inserted else {
                    throw fail(at, "repeats batch \(row.batch) at \(row.contextTokens) tokens", "keep one row per (batch, contextTokens)")
                }
            }
        }
        if let rows = c.pcie {
            for (i, row) in rows.enumerated() {
                let at = "\(key).pcie[\(i)]"
                try positive(row.bytes, at + ".bytes", unit: "bytes")
                try positive(row.hostToDeviceSeconds, at + ".hostToDeviceSeconds", unit: "seconds")
                try positive(row.deviceToHostSeconds, at + ".deviceToHostSeconds", unit: "seconds")
                if i > 0, row.bytes <= rows[i - 1].bytes {
                    throw fail(at + ".bytes", "sizes must increase row by row", "sort the rows by bytes and drop duplicates")
                }
            }
        }
        if let cpu = c.cpu {
            try positive(cpu.readBytesPerSecond, key + ".cpu.readBytesPerSecond", unit: "bytes/s")
            try positive(cpu.readBytesPerSecondOneThread, key + ".cpu.readBytesPerSecondOneThread", unit: "bytes/s")
            try count(cpu.threads, key + ".cpu.threads")
            for (i, row) in (cpu.linearLayers ?? []).enumerated() {
                try count(row.batch, "\(key).cpu.linearLayers[\(i)].batch")
                try positive(row.secondsPerByte, "\(key).cpu.linearLayers[\(i)].secondsPerByte", unit: "seconds per byte")
                if let s = row.secondsPerRow { try nonNegative(s, "\(key).cpu.linearLayers[\(i)].secondsPerRow", unit: "seconds") }
            }
            // The calibrated step's other terms: each enters every predicted step, so a negative
            // or NaN value would turn predictions negative or unprintable far from its cause.
            for (name, value) in [("otherSecondsPerLayerPerSequence", cpu.otherSecondsPerLayerPerSequence),
                                  ("otherSecondsPerElement", cpu.otherSecondsPerElement),
                                  ("linearSecondsPerCall", cpu.linearSecondsPerCall),
                                  ("linearSecondsPerCallOneThread", cpu.linearSecondsPerCallOneThread)] {
                if let value { try nonNegative(value, "\(key).cpu.\(name)", unit: "seconds") }
            }
            if let rate = cpu.prefillFlopsPerSecondPerCore {
                try positive(rate, "\(key).cpu.prefillFlopsPerSecondPerCore", unit: "FLOP/s")
            }
            for (i, row) in (cpu.linearStream ?? []).enumerated() {
                let at = "\(key).cpu.linearStream[\(i)]"
                try count(row.batch, at + ".batch")
                try positive(row.bytesPerSecondOneThread, at + ".bytesPerSecondOneThread", unit: "bytes/s")
                try positive(row.bytesPerSecond, at + ".bytesPerSecond", unit: "bytes/s")
            }
            try checkFractionPoints(cpu.syntheticSampledFractions ?? [], key + ".cpu.syntheticSampledFractions")
            if let engine = cpu.engine { try check(engine, key + ".cpu.engine") }
        }
    }

    func check(_ p: ModelProfile) throws(ProfileError) {
        try matchesFile(p.shape.name, "shape.name")
        if let id = p.huggingFaceId {
            // Exported commands put the id where engines read their arguments: it must read as a
            // repository id (owner/name), never as an option or an empty word.
            let parts = id.split(separator: "/", omittingEmptySubsequences: false)
            let word = { (s: Substring) in
                !s.isEmpty && s.first != "-" && s.first != "." && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
            }
            guard (1...2).contains(parts.count), parts.allSatisfy(word), id.count <= 96 else {
                throw fail("huggingFaceId", "'\(id)' is not a Hugging Face repository id",
                           "write owner/name in letters, digits, '-', '_' and '.', not starting with '-' or '.' (e.g. meta-llama/Llama-3.1-8B-Instruct)")
            }
        }
        try check(shape: p.shape, "shape")
        try checkMeasuredFractions(p)
    }

    /// A model shape's counts, divisibility, per-element sizes and dense layers (`key` prefixes
    /// the key paths: "shape" in model profiles, "modelShape" in plan files).
    func check(shape s: ModelShape, _ key: String) throws(ProfileError) {
        try count(s.layerCount, "\(key).layerCount")
        try count(s.hiddenSize, "\(key).hiddenSize")
        try count(s.intermediateSize, "\(key).intermediateSize")
        try count(s.queryHeadCount, "\(key).queryHeadCount")
        try count(s.kvHeadCount, "\(key).kvHeadCount")
        try count(s.headDim, "\(key).headDim")
        try count(s.vocabSize, "\(key).vocabSize")
        guard s.queryHeadCount % s.kvHeadCount == 0 else {
            throw fail("\(key).kvHeadCount", "(\(s.kvHeadCount)) must divide queryHeadCount (\(s.queryHeadCount))",
                       "check num_key_value_heads in the model's config.json")
        }
        try positive(s.ropeTheta, "\(key).ropeTheta", unit: "(a base frequency)")
        try positive(s.rmsNormEpsilon, "\(key).rmsNormEpsilon", unit: "(an epsilon)")
        try positive(s.bytesPerWeight, "\(key).bytesPerWeight", unit: "bytes")
        try positive(s.bytesPerKVElement, "\(key).bytesPerKVElement", unit: "bytes")
        for (i, layer) in s.denseLayers.enumerated() where !(0..<s.layerCount).contains(layer) {
            throw fail("\(key).denseLayers[\(i)]", "layer \(layer) is outside 0..<\(s.layerCount)",
                       "list layer indices counted from 0")
        }
        guard Set(s.denseLayers).count == s.denseLayers.count else {
            throw fail("\(key).denseLayers", "lists a layer twice", "list each dense layer once")
        }
        if let context = s.maxContextTokens { try count(context, "\(key).maxContextTokens") }
    }

    func checkMeasuredFractions(_ p: ModelProfile) throws(ProfileError) {
        try checkFractionPoints(p.measuredSampledFractions ?? [], "measuredSampledFractions")
        try positive(p.sampledFractionCorrection, "sampledFractionCorrection", unit: "(a multiplier)")
        try nonEmpty(p.source, "source")
    }

    /// Sampled fractions by (K, L): K 1-32, L a count, fractions in range, one point per (K, L).
    func checkFractionPoints(_ points: [SampledFractionPoint], _ key: String) throws(ProfileError) {
        var seen = Set<[Int]>()
        for (i, point) in points.enumerated() {
            let at = "\(key)[\(i)]"
            guard (1...32).contains(point.k) else { throw fail(at + ".k", "must be 1-32 bits per table, found \(point.k)", "fix K") }
            try count(point.l, at + ".l")
            try fraction(point.fraction, at + ".fraction")
            guard seen.insert([point.k, point.l]).inserted else {
                throw fail(at, "repeats (K, L) = (\(point.k), \(point.l))", "keep one point per (K, L)")
            }
        }
    }

    /// A quality profile: named after its model, each metric named once with finite values, every
    /// setting's parameters in range and its contexts matched by a full-attention value, no
    /// setting or context given twice.
    func check(_ q: QualityProfile) throws(ProfileError) {
        try matchesFile(q.model, "model")
        try nonEmpty(q.source, "source")
        guard !q.metrics.isEmpty else {
            throw fail("metrics", "is empty", "add at least one metric (its full-attention values and its settings)")
        }
        var names = Set<String>()
        for (i, m) in q.metrics.enumerated() {
            let at = "metrics[\(i)]"
            guard !m.name.isEmpty, m.name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }) else {
                throw fail(at + ".name", "'\(m.name)' is not a metric name", "use letters, digits and '-' (e.g. ruler, perplexity)")
            }
            guard names.insert(m.name).inserted else { throw fail(at + ".name", "repeats metric '\(m.name)'", "keep one entry per metric") }
            try nonEmpty(m.source, at + ".source")
            guard !m.full.isEmpty else { throw fail(at + ".full", "is empty", "give the metric's value under full attention") }
            let fullContexts = try checkValues(m.full, m, at + ".full")
            if fullContexts.contains(nil), fullContexts.count > 1 {
                throw fail(at + ".full", "mixes a value without contextTokens with per-context values",
                           "give either one value without contextTokens or one value per context")
            }
            var seen = Set<AttentionMode>()
            for (j, s) in m.settings.enumerated() {
                let sat = "\(at).settings[\(j)]"
                guard let mode = s.mode else {
                    let needs = s.method == .lsh ? "k and l" : (s.method == .quest ? "pageSize and budgetFraction" : "budgetFraction")
                    throw fail(sat, "a \(s.method.rawValue) setting needs \(needs)", "add the missing key")
                }
                switch mode {
                case .lshSampled(let p):
                    if let problem = LSHParameters.rangeProblem(k: p.hashBitsPerTable, l: p.tableCount, kName: "k", lName: "l") {
                        throw fail(sat, problem, "fix k or l")
                    }
                case .quest(let page, let f):
                    try count(page, sat + ".pageSize")
                    try fraction(f, sat + ".budgetFraction")
                case .topK(let f):
                    try fraction(f, sat + ".budgetFraction")
                case .dense: break
                }
                guard seen.insert(mode).inserted else {
                    throw fail(sat, "repeats the setting \(s.label)", "keep one entry per setting (its values hold every context)")
                }
                if let f = s.sampledFraction { try fraction(f, sat + ".sampledFraction") }
                if let source = s.source { try nonEmpty(source, sat + ".source") }
                guard !s.values.isEmpty else { throw fail(sat + ".values", "is empty", "give at least one value") }
                for (k, c) in try checkValues(s.values, m, sat + ".values").enumerated() {
                    let covered = fullContexts.contains(nil) || fullContexts.contains(c)
                    guard covered else {
                        let what = c.map { "context \($0)" } ?? "a value without contextTokens"
                        throw fail("\(sat).values[\(k)]", "\(what) has no full-attention value in \(at).full",
                                   "add the full-attention value at that context, or drop this value")
                    }
                }
            }
        }
    }

    /// Values finite (perplexities positive, accuracies 0-100), contexts positive and not
    /// repeated; returns the contexts in order.
    private func checkValues(_ values: [QualityValue], _ m: QualityMetric, _ at: String) throws(ProfileError) -> [Int?] {
        var contexts: [Int?] = []
        for (i, v) in values.enumerated() {
            let vat = "\(at)[\(i)]"
            switch m.kind {
            case .accuracy:
                guard v.value.isFinite, (0...100).contains(v.value) else {
                    throw fail(vat + ".value", "an accuracy must be 0-100 points, found \(v.value)", "write percent points, e.g. 83.0")
                }
            case .perplexity:
                guard v.value.isFinite, v.value >= 1 else {
                    throw fail(vat + ".value", "a perplexity must be at least 1, found \(v.value)", "write the perplexity itself, e.g. 3.07")
                }
            }
            if let c = v.contextTokens { try count(c, vat + ".contextTokens") }
            if let f = v.sampledFraction { try fraction(f, vat + ".sampledFraction") }
            if let e = v.lossStandardError, !(e.isFinite && e >= 0) {
                throw fail(vat + ".lossStandardError", "must be zero or positive, found \(e)", "write the standard error of the loss")
            }
            if let e = v.attentionRelativeError, !(e.isFinite && e >= 0) {
                throw fail(vat + ".attentionRelativeError", "must be zero or positive, found \(e)", "write the mean relative L2 error")
            }
            guard !contexts.contains(v.contextTokens) else {
                throw fail(vat + ".contextTokens", "repeats \(v.contextTokens.map(String.init) ?? "the context-free value")",
                           "keep one value per context")
            }
            contexts.append(v.contextTokens)
        }
        return contexts
    }

    /// A plan file (`pigplan export --out`): every count within what pigplan plans, the
    /// attention's parameters within the planner's ranges.
    func check(_ plan: PlanFile) throws(ProfileError) {
        try check(shape: plan.modelShape, "modelShape")
        try count(plan.contextTokens, "contextTokens")
        try count(plan.generatedTokens, "generatedTokens", atLeast: 0)
        try count(plan.batch, "batch")
        try count(plan.placement.cpuThreads, "placement.cpuThreads")
        try count(plan.placement.cpuSockets, "placement.cpuSockets")
        try count(plan.placement.extraDenseLayers, "placement.extraDenseLayers", atLeast: 0)
        if let d = plan.deployment {
            try count(d.tensorParallel, "deployment.tensorParallel")
            guard d.tensorParallel <= 64 else {
                throw fail("deployment.tensorParallel", "\(d.tensorParallel) GPUs per instance is more than any node has (at most 64)", "export the plan again")
            }
        }
        switch plan.attention {
        case .dense: break
        case .lshSampled(let p):
            do { _ = try LSHParameters(checkingHashBits: p.hashBitsPerTable, tableCount: p.tableCount, kName: "k", lName: "l") } catch {
                throw fail("attention", error.description, "write the (K, L) of a plan, or export the plan again")
            }
        case .topK(let f):
            try fraction(f, "attention.budgetFraction")
        case .quest(let pageSize, let f):
            try count(pageSize, "attention.pageSize")
            try fraction(f, "attention.budgetFraction")
        }
    }

    func check(_ p: EngineProfile) throws(ProfileError) {
        try matchesFile(p.name, "name")
        guard !p.kinds.isEmpty, !p.kinds.contains(.topk) else {
            throw fail("kinds", "must name at least one of lsh, gpu-only, cpu-kv-dense, quest (topk is a yardstick, not a plan)",
                       "list the kinds of plan the runtime runs")
        }
        try check(p.parameters, "parameters")
        try nonEmpty(p.derivation, "derivation")
    }

    func check(_ e: EngineParameters, _ key: String) throws(ProfileError) {
        try fraction(e.sampledAttentionBandwidthFraction, key + ".sampledAttentionBandwidthFraction")
        try fraction(e.denseAttentionBandwidthFraction, key + ".denseAttentionBandwidthFraction")
        try nonNegative(e.retrievalSecondsPerTableWalk, key + ".retrievalSecondsPerTableWalk", unit: "seconds")
        try nonNegative(e.retrievalSecondsPerCandidate, key + ".retrievalSecondsPerCandidate", unit: "seconds")
        try nonNegative(e.roundTripOverheadSecondsPerLayer, key + ".roundTripOverheadSecondsPerLayer", unit: "seconds")
        try fraction(e.threadScalingEfficiency, key + ".threadScalingEfficiency")
        if let s = e.hostSecondsPerStep { try nonNegative(s, key + ".hostSecondsPerStep", unit: "seconds") }
        if let u = e.gpuMemoryUtilization { try fraction(u, key + ".gpuMemoryUtilization") }
        if let b = e.tableIndexBytes, ![1.0, 2, 4, 8].contains(b) {
            throw fail(key + ".tableIndexBytes", "must be 1, 2, 4 or 8 bytes, found \(b)", "write the width of one token index")
        }
        if let launch = e.gpuLaunchOverheadSecondsPerLayer {
            try nonNegative(launch, key + ".gpuLaunchOverheadSecondsPerLayer", unit: "seconds")
        }
        if let row = e.sampledRowSecondsPerThread { try positive(row, key + ".sampledRowSecondsPerThread", unit: "seconds") }
        if let call = e.sampledAttentionSecondsPerCall {
            try nonNegative(call, key + ".sampledAttentionSecondsPerCall", unit: "seconds")
        }
        if let f = e.sampledThreadReadFraction { try positive(f, key + ".sampledThreadReadFraction", unit: "(a fraction)") }
        if let f = e.denseThreadReadFraction { try positive(f, key + ".denseThreadReadFraction", unit: "(a fraction)") }
        if let head = e.denseSecondsPerQueryHeadElement {
            try nonNegative(head, key + ".denseSecondsPerQueryHeadElement", unit: "seconds")
        }
        if let threads = e.compiledThreads { try count(threads, key + ".compiledThreads") }
        if let over = e.oversubscriptionWorkShare {
            try nonNegative(over, key + ".oversubscriptionWorkShare", unit: "(a share of the work)")
        }
        if let dispatch = e.hostDispatchSecondsPerLayer {
            try nonNegative(dispatch, key + ".hostDispatchSecondsPerLayer", unit: "seconds")
        }
        if let share = e.memoryLatencyShare {
            guard share.isFinite, share >= 0, share <= 1 else {
                throw fail(key + ".memoryLatencyShare", "must be between 0 and 1, found \(share)",
                           "write the share of the kernels' time spent waiting on DRAM (1 when unknown)")
            }
        }
    }

    // MARK: Across files

    func reference(_ name: String, _ key: String, kind: ProfileKind, known: [String]) throws(ProfileError) {
        guard known.contains(name) else {
            throw fail(key, "names no \(kind.rawValue) profile ('\(name)')",
                       "use one of: \(known.sorted().joined(separator: ", ")), or add \(kind.folder)/\(name).json")
        }
    }

    func checkReferences(_ p: SystemProfile, gpus: [String: GPUProfile], cpus: [String: CPUProfile],
                         models: [String: ModelProfile]) throws(ProfileError) {
        if let gpu = p.gpu { try reference(gpu, "gpu", kind: .gpu, known: Array(gpus.keys)) }
        try reference(p.cpu, "cpu", kind: .cpu, known: Array(cpus.keys))
        let cpu = cpus[p.cpu]!
        guard p.sockets <= cpu.maxSockets else {
            throw fail("sockets", "\(p.sockets) sockets exceed the \(cpu.maxSockets) a \(cpu.name) host has",
                       "use at most \(cpu.maxSockets)")
        }
        if let threads = p.threads, threads > cpu.coresPerSocket * p.sockets {
            throw fail("threads", "\(threads) threads exceed the \(cpu.coresPerSocket * p.sockets) cores of \(p.sockets) x \(cpu.name)",
                       "use at most \(cpu.coresPerSocket * p.sockets), or more sockets")
        }
        if let model = p.calibration?.referenceModel {
            try reference(model, "calibration.referenceModel", kind: .model, known: Array(models.keys))
        }
    }
}
