/// Seconds of one decode step, term by term (`StepTerm`): what the cost model predicts and what
/// the executor measures, in one vocabulary.
///
/// A term is present (a number, possibly 0) or absent: a prediction has every term, a CPU run
/// measures only `Executor.measuredTerms` (it has no GPU, copies or dispatch). Encoded as one
/// JSON object keyed by the terms' names (`{"linearLayers": 0.0173, ...}`), absent terms omitted.
public struct StepTimes: Sendable, Hashable {
    private var seconds: [Double]
    /// Bit `i` set: term `StepTerm.allCases[i]` is present.
    private var presence: UInt32

    /// Every term present at 0 s (what a prediction fills in).
    public init() { self.init(terms: StepTerm.allCases) }

    /// Only `terms` present, each at 0 s.
    public init<S: Sequence>(terms: S) where S.Element == StepTerm {
        seconds = Array(repeating: 0, count: StepTerm.allCases.count)
        presence = 0
        for t in terms { presence |= 1 << UInt32(t.index) }
    }

    /// Seconds of `term`, 0 when absent; setting marks it present.
    public subscript(_ term: StepTerm) -> Double {
        get { seconds[term.index] }
        set {
            seconds[term.index] = newValue
            presence |= 1 << UInt32(term.index)
        }
    }

    /// Seconds of `term`, nil when absent (not measured).
    public func value(_ term: StepTerm) -> Double? { has(term) ? seconds[term.index] : nil }

    public func has(_ term: StepTerm) -> Bool { presence & (1 << UInt32(term.index)) != 0 }

    /// The present terms in display order.
    public var terms: [StepTerm] { StepTerm.allCases.filter(has) }

    /// The present terms with their seconds, in display order.
    public var named: [(term: StepTerm, seconds: Double)] { terms.map { ($0, seconds[$0.index]) } }

    /// Sum of the given terms (absent ones count 0).
    public func sum<S: Sequence>(_ terms: S) -> Double where S.Element == StepTerm {
        terms.reduce(0) { $0 + seconds[$1.index] }
    }

    /// Sum of all terms.
    public var totalSeconds: Double { seconds.reduce(0, +) }
    /// Work on the GPU side (or the linear-layer device), including copies.
    public var gpuSideSeconds: Double { sum(StepTerm.gpuSideTerms) }
    /// Work on the CPU attention side.
    public var cpuSideSeconds: Double { sum(StepTerm.cpuSideTerms) }

    /// Term-wise sum; a term is present in the result when it is present in either.
    public static func + (a: StepTimes, b: StepTimes) -> StepTimes {
        var r = a
        for i in r.seconds.indices { r.seconds[i] += b.seconds[i] }
        r.presence |= b.presence
        return r
    }

    /// Every term multiplied by `factor` (two micro-batches report twice the half-batch work;
    /// totals over steps become per-step figures).
    public func scaled(by factor: Double) -> StepTimes {
        var r = self
        for i in r.seconds.indices { r.seconds[i] *= factor }
        return r
    }
}

extension StepTimes: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init(terms: [])
        for key in c.allKeys {
            guard let term = StepTerm(rawValue: key.stringValue) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: c,
                    debugDescription: "unknown step term '\(key.stringValue)'; the terms are "
                        + StepTerm.allCases.map(\.rawValue).joined(separator: ", "))
            }
            self[term] = try c.decode(Double.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        for (term, s) in named { try c.encode(s, forKey: Key(stringValue: term.rawValue)) }
    }
}

extension StepTerm {
    /// Position in `allCases` (storage index of `StepTimes`).
    var index: Int {
        switch self {
        case .linearLayers: 0
        case .lmHead: 1
        case .hashing: 2
        case .gpuAttention: 3
        case .exactPart: 4
        case .transfers: 5
        case .overhead: 6
        case .dispatch: 7
        case .retrieval: 8
        case .sampledAttention: 9
        case .cpuAttention: 10
        case .tensorParallel: 11
        }
    }

    /// The terms of each side (a step's sides are summed for every evaluation the optimizer makes).
    static let gpuSideTerms = allCases.filter { !$0.isCPUSide }
    static let cpuSideTerms = allCases.filter(\.isCPUSide)

    /// The terms of attention work on the CPU executor (everything but the projections and the
    /// rest of the step).
    public static let attentionTerms: [StepTerm] = [.hashing, .retrieval, .sampledAttention, .exactPart, .cpuAttention]
}
