/// Measured kernel timings for one system (schema: Profiles/README.md, "calibration").
/// The GPU tables were measured for `referenceModel`'s shape; other shapes are scaled by bytes.
public struct Calibration: Codable, Sendable, Hashable {
    public var source: String
    public var measuredOn: String?
    public var host: String?
    /// Model profile whose shape the GPU tables were measured with (e.g. "llama-3.1-8b").
    public var referenceModel: String?
    public var gpuLinearLayers: [LinearLayerRow]?
    public var gpuDecodeAttention: [AttentionRow]?
    /// The measured attention kernel split each sequence's KV over several thread blocks
    /// (flash-decoding); nil or false: one block per (sequence, KV head), as torch SDPA's flash
    /// backend does at decode.
    public var gpuDecodeAttentionSplitsKV: Bool?
    public var pcie: [CopyRow]?
    public var cpu: CPUKernelCosts?

    public init(source: String, measuredOn: String? = nil, host: String? = nil, referenceModel: String? = nil,
                gpuLinearLayers: [LinearLayerRow]? = nil, gpuDecodeAttention: [AttentionRow]? = nil,
                pcie: [CopyRow]? = nil, cpu: CPUKernelCosts? = nil) {
        self.source = source
        self.measuredOn = measuredOn
        self.host = host
        self.referenceModel = referenceModel
        self.gpuLinearLayers = gpuLinearLayers
        self.gpuDecodeAttention = gpuDecodeAttention
        self.pcie = pcie
        self.cpu = cpu
    }

    /// One decode step's projections of one layer, and the LM head, at a batch size.
    public struct LinearLayerRow: Codable, Sendable, Hashable {
        public var batch: Int
        public var layerSeconds: Double
        public var lmHeadSeconds: Double
        public init(batch: Int, layerSeconds: Double, lmHeadSeconds: Double) {
            self.batch = batch; self.layerSeconds = layerSeconds; self.lmHeadSeconds = lmHeadSeconds
        }
    }
    /// One layer's decode attention over `contextTokens` per sequence at a batch size.
    public struct AttentionRow: Codable, Sendable, Hashable {
        public var batch: Int
        public var contextTokens: Int
        public var seconds: Double
        public init(batch: Int, contextTokens: Int, seconds: Double) {
            self.batch = batch; self.contextTokens = contextTokens; self.seconds = seconds
        }
    }
    /// One pinned copy of `bytes` each way.
    public struct CopyRow: Codable, Sendable, Hashable {
        public var bytes: Double
        public var hostToDeviceSeconds: Double
        public var deviceToHostSeconds: Double
        public init(bytes: Double, hostToDeviceSeconds: Double, deviceToHostSeconds: Double) {
            self.bytes = bytes; self.hostToDeviceSeconds = hostToDeviceSeconds; self.deviceToHostSeconds = deviceToHostSeconds
        }
    }
}

/// CPU-side costs measured on the host (by `pigplan calibrate` or imported).
public struct CPUKernelCosts: Codable, Sendable, Hashable {
    /// Read bandwidth with all measured threads, bytes/s (cold: data larger than the LLC).
    public var readBytesPerSecond: Double
    /// Read bandwidth of one thread, bytes/s.
    public var readBytesPerSecondOneThread: Double
    /// Threads used for `readBytesPerSecond`.
    public var threads: Int
    /// CPU decode linear layers (CPU-only systems): effective weight bytes/s per batch.
    public var linearLayers: [CPULinearRow]?
    /// Engine parameters fitted on this host (override the engine profile's).
    public var engine: EngineParameters?
    /// CPU-only machines: per layer and sequence, the decode work outside the projections and
    /// attention (embedding, norms, RoPE, KV stores, residuals), seconds; for the calibration's
    /// shape only (older calibrations; `otherSecondsPerElement` carries to other shapes).
    public var otherSecondsPerLayerPerSequence: Double?
    /// CPU-only machines: that work per vector element it touches (ModelShape.otherElementsPerSequence
    /// per sequence and step), seconds.
    public var otherSecondsPerElement: Double?
    /// CPU-only machines: fixed cost of one matrix product (handing it to the thread pool), seconds.
    public var linearSecondsPerCall: Double?
    /// CPU-only machines: the same with one thread (no hand-off), seconds; nil: not measured.
    public var linearSecondsPerCallOneThread: Double?
    /// CPU-only machines: weight bytes per second the executor's product streams, by batch, with
    /// one thread and with `threads` (binary16 matrices larger than the caches). A product's
    /// thread is slower than a plain read (it widens and multiplies what it reads, more so at a
    /// larger batch), so these, not the read bandwidths, carry the measured per-byte rows to
    /// other thread counts; nil: not measured (older calibrations), the read bandwidths stand in.
    public var linearStream: [LinearStreamRow]?

    public struct LinearStreamRow: Codable, Sendable, Hashable {
        public var batch: Int
        public var bytesPerSecondOneThread: Double
        public var bytesPerSecond: Double
        public init(batch: Int, bytesPerSecondOneThread: Double, bytesPerSecond: Double) {
            self.batch = batch; self.bytesPerSecondOneThread = bytesPerSecondOneThread; self.bytesPerSecond = bytesPerSecond
        }
    }
    /// CPU-only machines: FLOP/s per thread of the executor's matrix product over a prefill chunk
    /// (256 tokens, binary16 weights; compute-bound), the rate prefill's projections and causal
    /// attention run at; nil: not measured (older calibrations), the CPU profile's FLOP/s is used.
    public var prefillFlopsPerSecondPerCore: Double?
    /// Sampled fractions measured on the synthetic keys calibration ran (used by `validate`,
    /// not for real models, whose keys differ).
    public var syntheticSampledFractions: [SampledFractionPoint]?

    public struct CPULinearRow: Codable, Sendable, Hashable {
        public var batch: Int
        /// Seconds to apply `bytes` of weights to `batch` tokens.
        public var secondsPerByte: Double
        /// Seconds per output row of a product (each row starts a new stream of weights), with
        /// all `threads`; nil: not measured (older calibrations).
        public var secondsPerRow: Double?
        public init(batch: Int, secondsPerByte: Double, secondsPerRow: Double? = nil) {
            self.batch = batch; self.secondsPerByte = secondsPerByte; self.secondsPerRow = secondsPerRow
        }
    }
    public init(readBytesPerSecond: Double, readBytesPerSecondOneThread: Double, threads: Int,
                linearLayers: [CPULinearRow]? = nil, engine: EngineParameters? = nil) {
        self.readBytesPerSecond = readBytesPerSecond
        self.readBytesPerSecondOneThread = readBytesPerSecondOneThread
        self.threads = threads
        self.linearLayers = linearLayers
        self.engine = engine
    }
}
