import Core

/// A machine's calibration tables fitted once, before any model is built from them: the GPU's
/// projections (per call, bandwidth, matmul rate) and decode attention (blocks, cap), the copy
/// tables, and the CPU executor's per-byte and per-row linear costs. A request builds one and
/// hands it to every model it makes (one per engine and kind); a model built without one fits
/// its own.
public struct FittedCalibration: Sendable {
    /// What was fitted: the machine, and the shape the GPU tables were measured on (the
    /// calibration's reference model, else the workload's model).
    public let hardware: Hardware
    public let calibrationShape: ModelShape?
    public let reference: ModelShape

    /// GPU projections: fitted to the calibration's rows with a reference shape, else the
    /// profile's roofline; nil without a GPU.
    public let gpuLinear: GPULinearTiming?
    /// The calibration's measured rows (batch -> seconds) of one layer and of the LM head, used
    /// only with a reference shape.
    let linearTable: PiecewiseLinear?
    let lmHeadTable: PiecewiseLinear?
    /// GPU decode attention as the calibration measured it (or the roofline), before an
    /// engine's own kernel choice; nil without a GPU.
    public let gpuAttention: GPUAttentionTiming?
    let hostToDevice: PiecewiseLinear?
    let deviceToHost: PiecewiseLinear?
    /// CPU-only executor: seconds per weight byte and per output row by batch.
    let cpuLinearTable: PiecewiseLinear?
    let cpuLinearRowTable: PiecewiseLinear?
    /// CPU-only executor: the product's weight stream by batch with one thread and with all.
    let cpuLinearStreamOneThread: PiecewiseLinear?
    let cpuLinearStreamAll: PiecewiseLinear?

    public init(hardware: Hardware, calibrationShape: ModelShape?, model: ModelShape) {
        self.hardware = hardware
        self.calibrationShape = calibrationShape
        let reference = calibrationShape ?? model
        self.reference = reference
        let calibration = hardware.calibration
        var linearTable: PiecewiseLinear? = nil, lmHeadTable: PiecewiseLinear? = nil
        if let gpu = hardware.gpu {
            let roofline = GPULinearTiming(gpu: gpu)
            var linear = roofline
            if let rows = calibration?.gpuLinearLayers, !rows.isEmpty, calibrationShape != nil {
                linearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.layerSeconds) }, nondecreasing: true)
                lmHeadTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.lmHeadSeconds) }, nondecreasing: true)
                linear = GPULinearTiming.fit(
                    rows: rows, callsPerLayer: DecodeCostModel.projectionCallsPerLayer, layerBytes: reference.linearBytesPerLayer,
                    layerParameters: reference.linearParametersPerLayer, lmHeadBytes: reference.lmHeadBytes,
                    lmHeadParameters: reference.embeddingParameters, fallback: roofline)
            }
            gpuLinear = linear
            let attentionRoofline = GPUAttentionTiming(gpu: gpu)
            if let rows = calibration?.gpuDecodeAttention, !rows.isEmpty {
                gpuAttention = GPUAttentionTiming.fit(
                    rows: rows, kvHeads: Double(reference.kvHeadCount), kvBytesPerToken: reference.kvBytesPerTokenPerLayer,
                    splitsKV: calibration?.gpuDecodeAttentionSplitsKV ?? false, fallback: attentionRoofline)
            } else {
                gpuAttention = attentionRoofline
            }
        } else {
            gpuLinear = nil
            gpuAttention = nil
        }
        self.linearTable = linearTable
        self.lmHeadTable = lmHeadTable
        if let rows = calibration?.pcie, !rows.isEmpty {
            hostToDevice = PiecewiseLinear(points: rows.map { ($0.bytes, $0.hostToDeviceSeconds) }, nondecreasing: true)
            deviceToHost = PiecewiseLinear(points: rows.map { ($0.bytes, $0.deviceToHostSeconds) }, nondecreasing: true)
        } else {
            hostToDevice = nil
            deviceToHost = nil
        }
        if let rows = calibration?.cpu?.linearLayers, !rows.isEmpty {
            cpuLinearTable = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.secondsPerByte) }, nondecreasing: true)
            let perRow = rows.compactMap { r in r.secondsPerRow.map { (Double(r.batch), $0) } }
            cpuLinearRowTable = perRow.isEmpty ? nil : PiecewiseLinear(points: perRow, clampAbove: true)
        } else {
            cpuLinearTable = nil
            cpuLinearRowTable = nil
        }
        if let rows = calibration?.cpu?.linearStream, !rows.isEmpty {
            cpuLinearStreamOneThread = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.bytesPerSecondOneThread) }, clampAbove: true)
            cpuLinearStreamAll = PiecewiseLinear(points: rows.map { (Double($0.batch), $0.bytesPerSecond) }, clampAbove: true)
        } else {
            cpuLinearStreamOneThread = nil
            cpuLinearStreamAll = nil
        }
    }

    /// These fits serve a model of `model` on `hardware` with `calibrationShape`.
    public func serves(hardware: Hardware, calibrationShape: ModelShape?, model: ModelShape) -> Bool {
        self.calibrationShape == calibrationShape && reference == (calibrationShape ?? model) && self.hardware == hardware
    }
}
