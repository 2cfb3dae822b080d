import Core
import CostModel
import Profiles
import Testing

/// The h200 system's measured tables drive the model where they apply.
struct CalibratedModelTests {
    func h200Model(context: Int = 98_304) throws -> (DecodeCostModel, Hardware) {
        let store = try ProfileStore.builtIn()
        let hw = try store.resolveHardware(name: "h200")
        let shape = try store.model("llama-3.1-8b").shape
        let engine = try store.engine("pigplan").parameters
        let model = DecodeCostModel(hardware: hw, workload: Workload(model: shape, contextTokens: context, generatedTokens: 0),
                                    engine: engine, fractions: SampledFractionModel(override: 0.02), calibrationShape: shape)
        return (model, hw)
    }

    @Test func linearLayersFollowTheMeasuredTable() throws {
        let (model, hw) = try h200Model()
        let rows = try #require(hw.calibration?.gpuLinearLayers)
        var worst = 0.0, last = 0.0
        for row in rows {
            let predicted = model.linearLayersSeconds(batch: Double(row.batch))
            worst = max(worst, abs(predicted - 32 * row.layerSeconds) / (32 * row.layerSeconds))
            worst = max(worst, abs(model.lmHeadSeconds(batch: Double(row.batch)) - row.lmHeadSeconds) / row.lmHeadSeconds)
            #expect(predicted >= last, "nondecreasing at batch \(row.batch)")
            last = predicted
        }
        testLog("GPU linear layers: worst relative difference to the measured rows \(worst)")
        #expect(worst < 0.08)  // batch 1 pools with batches 2-16 (its o projection measured 50% slower)
        // Rows 256 and 512 are increasing already: plain interpolation between them.
        let r256 = rows.first { $0.batch == 256 }!, r512 = rows.first { $0.batch == 512 }!
        #expect(abs(model.linearLayersSeconds(batch: 384) - 32 * (r256.layerSeconds + r512.layerSeconds) / 2) < 1e-12)
    }

    @Test func isotonicFitPoolsDips() {
        let table = PiecewiseLinear(points: [(1, 3), (2, 1), (3, 2), (4, 5)], nondecreasing: true)
        #expect(table.ys == [2, 2, 2, 5])
    }

    @Test func attentionFitTracksTheMeasuredTable() throws {
        let (model, hw) = try h200Model()
        var worst = 0.0
        for row in try #require(hw.calibration?.gpuDecodeAttention) {
            let predicted = model.gpuAttentionLayerSeconds(batch: Double(row.batch), tokens: Double(row.contextTokens))
            worst = max(worst, abs(predicted - row.seconds) / row.seconds)
        }
        testLog("GPU attention fit: worst relative error over the measured rows \(worst)")
        #expect(worst < 0.15)
    }

    @Test func copiesInterpolateThePCIeTable() throws {
        let (model, hw) = try h200Model()
        let config = DecodeConfiguration(batch: 1, attention: .lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150)),
                                         placement: Placement(kvDevice: .cpu, cpuThreads: 16))
        // 17,792 bytes up and 8,320 down per sparse layer: between the 4 KiB and 64 KiB rows.
        let rows = try #require(hw.calibration?.pcie)
        func interp(_ bytes: Double, _ y: (Calibration.CopyRow) -> Double) -> Double {
            let a = rows[0], b = rows[1]
            return y(a) + (bytes - a.bytes) / (b.bytes - a.bytes) * (y(b) - y(a))
        }
        let expected = 30 * (interp(17_792, \.deviceToHostSeconds) + interp(8_320, \.hostToDeviceSeconds))
        #expect(abs(model.transferSeconds(config, batch: 1) - expected) < 1e-15)
    }

    @Test func stepTimeGrowsWithContext() throws {
        var last = 0.0
        for context in [4096, 16_384, 32_768, 65_536, 98_304, 131_072] {
            let (model, _) = try h200Model(context: context)
            let lsh = model.step(DecodeConfiguration(batch: 4, attention: .lshSampled(LSHParameters(hashBitsPerTable: 10, tableCount: 150)),
                                                     placement: Placement(kvDevice: .cpu, cpuThreads: 16)), batch: 4)
            #expect(lsh.stepSeconds > last)
            last = lsh.stepSeconds
        }
    }
}
