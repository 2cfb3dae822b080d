/// A plan as `pigplan export` writes it and `pigplan run --plan` reads it
/// (schema: README, "Plan file").
public struct PlanFile: Codable, Sendable, Hashable {
    public static let currentSchemaVersion = 1

    public struct Predicted: Codable, Sendable, Hashable {
        public var tokensPerSecond: Double
        public var stepSeconds: Double
        public var sampledFraction: Double?
        public init(tokensPerSecond: Double, stepSeconds: Double, sampledFraction: Double?) {
            self.tokensPerSecond = tokensPerSecond
            self.stepSeconds = stepSeconds
            self.sampledFraction = sampledFraction
        }
    }

    public var schemaVersion: Int
    /// Model profile name (or the config.json path it was read from).
    public var model: String
    public var modelShape: ModelShape
    public var contextTokens: Int
    public var generatedTokens: Int
    public var batch: Int
    public var attention: AttentionMode
    public var placement: Placement
    /// Hardware (system or GPU) the plan was made for.
    public var hardware: String
    public var engine: String
    public var predicted: Predicted
    /// GPUs per model instance and weight storage the plan was predicted with (absent in files
    /// written before they were recorded: one GPU, the model's own bytes).
    public var deployment: Deployment?

    public init(model: String, modelShape: ModelShape, contextTokens: Int, generatedTokens: Int, batch: Int,
                attention: AttentionMode, placement: Placement, hardware: String, engine: String, predicted: Predicted,
                deployment: Deployment? = nil) {
        schemaVersion = Self.currentSchemaVersion
        self.model = model
        self.modelShape = modelShape
        self.contextTokens = contextTokens
        self.generatedTokens = generatedTokens
        self.batch = batch
        self.attention = attention
        self.placement = placement
        self.hardware = hardware
        self.engine = engine
        self.predicted = predicted
        self.deployment = deployment
    }
}
