import Core
import CostModel

/// Pipeline parallelism over several identical nodes, on paper (`pigplan --nodes N`): each node
/// holds a contiguous 1/N of the layers (a stage) and runs the node's own best plan for them;
/// activations cross to the next node over the network once per stage.
///
/// A decode token of one micro-batch passes every stage in turn, so one micro-batch alone keeps
/// one node busy and the others idle: with m micro-batches of B sequences in flight the nodes
/// deliver min(m, N) x B tokens per N stage periods, period = stage step(B) + transfer. With N
/// micro-batches (N x B sequences per instance in flight) the pipeline is full:
/// tokens/s = replicas x B / period; with one batch of B the bubble leaves (N - 1) / N of the time idle.
public struct PipelineEstimate: Codable, Sendable {
    public var nodes: Int
    public var layersPerNode: Int
    /// The stage's plan (the first stage, which holds layer 0 and the model's first dense layers,
    /// planned with the LM head too, so the slowest stage is not underestimated).
    public var kind: PlanKind
    public var deployment: Deployment
    /// Sequences per micro-batch (per instance), and micro-batches in flight for a full pipeline.
    public var batch: Int
    public var microBatches: Int
    public var stageSeconds: Double
    /// Moving one micro-batch's activations (B x h x 2 bytes) to the next node.
    public var transferSeconds: Double
    /// Tokens/s of the N nodes with the pipeline full (N micro-batches in flight).
    public var tokensPerSecond: Double
    /// Tokens/s with a single batch of B sequences in flight: the bubble at the decode batch.
    public var oneBatchTokensPerSecond: Double
    public var bubbleFraction: Double
    /// The network between nodes assumed.
    public var link: String
}

/// The network between nodes for `--nodes`: one InfiniBand NDR port (400 Gb/s = 50 GB/s per
/// direction, InfiniBand Trade Association figures) per GPU, 5 us per message (an estimate of
/// RDMA send latency through one switch, not a measurement).
public enum NodeLink {
    public static let bandwidthBytesPerSecond = 50e9
    public static let latencySeconds = 5e-6
    public static let description = "InfiniBand NDR, 50 GB/s and 5 us per transfer (assumed)"
}

extension Planner {
    /// The pipeline over `nodes` nodes of `request`'s hardware (see `PipelineEstimate`).
    public static func pipeline(_ request: PlanRequest, nodes: Int) throws -> PipelineEstimate {
        let shape = request.workload.model
        let layers = (shape.layerCount + nodes - 1) / nodes
        // Stages of `layers` layers: only ceil(L / layers) of them hold any.
        let used = (shape.layerCount + layers - 1) / layers
        guard used == nodes else {
            throw PlanError.invalid("--nodes \(nodes): \(shape.name) has \(shape.layerCount) layers, so stages of \(layers) layers fill only \(used) nodes; pass --nodes \(used) or fewer")
        }
        var stage = request
        var stageShape = shape
        stageShape.layerCount = layers
        stageShape.denseLayers = shape.denseLayers.filter { $0 < layers }
        if stageShape.denseLayers.isEmpty { stageShape.denseLayers = [0] }
        stage.workload.model = stageShape
        stage.model.shape = stageShape
        stage.comparisonEngines = []
        stage.whatIfEngines = []
        let report = try plan(stage)
        let batch = report.plan.batch
        let transfer = NodeLink.latencySeconds + Double(batch) * Double(shape.hiddenSize) * 2 / NodeLink.bandwidthBytesPerSecond
        let period = report.prediction.stepSeconds + transfer
        let replicas = Double(report.plan.replicas)
        let full = replicas * Double(batch) / period
        return PipelineEstimate(
            nodes: nodes, layersPerNode: layers, kind: report.plan.kind,
            deployment: Deployment(tensorParallel: report.plan.tensorParallel, weights: WeightFormat(rawValue: report.plan.weights)),
            batch: batch, microBatches: nodes, stageSeconds: report.prediction.stepSeconds, transferSeconds: transfer,
            tokensPerSecond: full, oneBatchTokensPerSecond: full / Double(nodes),
            bubbleFraction: Double(nodes - 1) / Double(nodes), link: NodeLink.description)
    }
}
