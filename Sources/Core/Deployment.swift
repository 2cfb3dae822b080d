import Foundation

/// How one model instance is spread over a node's GPUs and how its weights are stored: the
/// decisions beyond attention and placement that a multi-GPU system or a precision choice adds.
/// The default (one GPU, the model's own weight bytes) is what a single-GPU plan always was.
public struct Deployment: Codable, Sendable, Hashable, CustomStringConvertible {
    /// GPUs one model instance is split over (tensor parallelism): each holds 1/TP of the
    /// projections' rows or columns, of the query heads and of the KV heads (KV heads are
    /// replicated when TP exceeds them). The node's other GPUs run further instances
    /// (data-parallel replicas) with the same plan.
    public var tensorParallel: Int
    /// How the weights are stored; nil keeps the model profile's bytes per weight.
    public var weights: WeightFormat?

    public init(tensorParallel: Int = 1, weights: WeightFormat? = nil) {
        self.tensorParallel = tensorParallel
        self.weights = weights
    }

    public var description: String {
        "TP \(tensorParallel)" + (weights.map { ", \($0.rawValue) weights" } ?? "")
    }

    private enum CodingKeys: String, CodingKey { case tensorParallel, weights }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        tensorParallel = try c.decodeIfPresent(Int.self, forKey: .tensorParallel) ?? 1
        weights = try c.decodeIfPresent(WeightFormat.self, forKey: .weights)
    }
}

/// What a GPU-to-GPU link gives a collective: per-direction bandwidth of one GPU and the cost of
/// one step of the collective's algorithm (a hop from one GPU to the next).
public struct GPUInterconnect: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable, Hashable {
        case nvlink, pcie
        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            let text = try c.decode(String.self)
            guard let kind = Kind(rawValue: text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "'\(text)' is not an interconnect kind (use nvlink or pcie)")
            }
            self = kind
        }
    }
    public var kind: Kind
    /// NVLink or PCIe generation.
    public var generation: Int
    /// Bytes per second one GPU sends (and receives) at once to its peers, as collectives reach
    /// it (the datasheet's per-direction figure times what NCCL-style rings sustain).
    public var bandwidthBytesPerSecond: Double
    /// Seconds one step of a ring or tree costs before any byte moves (synchronisation, launch
    /// of the step, the link's latency).
    public var latencySecondsPerHop: Double
    /// GPUs read and write each other's memory directly; false when copies go through host
    /// memory (consumer cards with peer-to-peer disabled).
    public var peerToPeer: Bool
    public var source: String

    public init(kind: Kind, generation: Int, bandwidthBytesPerSecond: Double, latencySecondsPerHop: Double,
                peerToPeer: Bool, source: String) {
        self.kind = kind
        self.generation = generation
        self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
        self.latencySecondsPerHop = latencySecondsPerHop
        self.peerToPeer = peerToPeer
        self.source = source
    }

    /// All-reduce of `bytes` (each GPU holds a full-size partial and ends with the sum) over
    /// `gpus` GPUs, by the faster of two algorithms, as NCCL picks per size:
    /// - ring: 2 (p - 1) steps, each sending bytes / p: 2 (p - 1) alpha + 2 (p - 1) / p x bytes / beta;
    /// - tree (reduce up, broadcast down a binary tree): 2 ceil(log2 p) alpha + 2 bytes / beta.
    public func allReduceSeconds(bytes: Double, gpus: Int) -> Double {
        guard gpus > 1 else { return 0 }
        let p = Double(gpus)
        let ring = 2 * (p - 1) * latencySecondsPerHop + 2 * (p - 1) / p * bytes / bandwidthBytesPerSecond
        let depth = (log2(p)).rounded(.up)
        let tree = 2 * depth * latencySecondsPerHop + 2 * bytes / bandwidthBytesPerSecond
        return min(ring, tree)
    }

    /// Gather of `bytes` in total (each GPU holds 1/p) onto one GPU: a ring of p - 1 steps of
    /// bytes / p each.
    public func gatherSeconds(bytes: Double, gpus: Int) -> Double {
        guard gpus > 1 else { return 0 }
        let p = Double(gpus)
        return (p - 1) * latencySecondsPerHop + (p - 1) / p * bytes / bandwidthBytesPerSecond
    }
}
