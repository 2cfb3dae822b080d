import Core

extension DecodeCostModel {
    /// Model instances the node runs: its GPUs over the tensor-parallel degree (1 on one GPU or
    /// on a CPU-only machine).
    public var replicas: Int {
        guard gpu != nil else { return 1 }
        return max(1, hardware.gpuCount / max(1, deployment.tensorParallel))
    }

    /// Why `deployment` cannot run this model on this machine, or nil when it can: the degree
    /// divides the node's GPUs and splits the model evenly (`ModelShape.splitsEvenly`).
    public func deploymentProblem(_ deployment: Deployment) -> String? {
        let tp = deployment.tensorParallel
        if tp == 1 { return nil }
        guard gpu != nil else { return "tensor parallelism needs GPUs; \(hardware.name) has none" }
        guard tp >= 1, hardware.gpuCount % tp == 0 else {
            return "tensor-parallel degree \(tp) does not divide the \(hardware.gpuCount) GPU(s) of \(hardware.name)"
        }
        guard model.splitsEvenly(tensorParallel: tp) else {
            return "\(model.name) does not split evenly over \(tp) GPUs (\(model.queryHeadCount) query heads, \(model.kvHeadCount) KV heads, MLP width \(model.intermediateSize))"
        }
        return nil
    }

    /// Tensor-parallel degrees the machine and model allow: the divisors of the GPU count that
    /// split the model evenly (1 alone on one GPU).
    public var tensorParallelDegrees: [Int] {
        guard gpu != nil, hardware.gpuCount > 1 else { return [1] }
        return (1...hardware.gpuCount).filter { deploymentProblem(Deployment(tensorParallel: $0)) == nil }
    }

    /// The model of one GPU under `deployment`, built from this (whole-machine) model: the
    /// model's shard (`ModelShape.shard`) with the weight format's bytes, the machine as one GPU
    /// of the node sees it (`Hardware.perGPUView`), and the format's efficiency applied to the GPU
    /// projections. On a node the engine's CPU loops are taken as built for the GPU's share of
    /// the cores (one process per GPU). The default deployment on one GPU is this model itself.
    public func deployed(_ deployment: Deployment) -> DecodeCostModel {
        if deployment == self.deployment { return self }
        if let cached = variants[deployment] { return cached }
        return makeVariant(deployment)
    }

    func makeVariant(_ d: Deployment) -> DecodeCostModel {
        var w = workload
        w.model = workload.model.shard(d)
        let view = hardware.perGPUView
        var e = engine
        if hardware.gpuCount > 1 { e.compiledThreads = nil }
        var variant = DecodeCostModel(hardware: view, workload: w, engine: e, fractions: fractions, calibrationShape: calibrationShape)
        variant.deployment = d
        variant.lshCache = lshCache
        if let weights = d.weights, let side = variant.gpu {
            let eff = weights.efficiency(on: side.gpu)
            variant.gpu?.linear = GPULinearTiming(
                secondsPerCall: side.linear.secondsPerCall,
                bandwidthBytesPerSecond: side.linear.bandwidthBytesPerSecond * eff.bandwidthFactor,
                flopsPerSecond: side.linear.flopsPerSecond * eff.flopsFactor)
        }
        return variant
    }

    /// Builds the models of `deployments` once, so the optimizer's many evaluations reuse them.
    public mutating func prepare(_ deployments: [Deployment]) {
        for d in deployments where d != deployment && variants[d] == nil { variants[d] = makeVariant(d) }
    }

    /// The configuration's memory fits each GPU and the host, as its deployment's model checks it.
    public func fits(_ config: DecodeConfiguration, batch: Double) -> Bool {
        let m = deployed(config.deployment)
        return m.fits(m.memory(config, batch: batch))
    }
}
