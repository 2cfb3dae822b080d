import Core
import CostModel
import Foundation
import Profiles
import Testing

struct SampledFractionTests {
    @Test func theoryAtHalfCollision() {
        // (10, 150): P = 2^-10, u = 1 - (1 - P)^150 - 150 P (1 - P)^149 = 0.009684.
        let u = SampledFractionModel.theory(LSHParameters(hashBitsPerTable: 10, tableCount: 150))
        let p = 1.0 / 1024
        let expected = 1 - pow(1 - p, 150) - 150 * p * pow(1 - p, 149)
        #expect(abs(u - expected) < 1e-15)
        #expect(abs(u - 0.009_684) < 0.000_001)
    }

    @Test func measuredPointsAreReproducedAndCorrectionInterpolates() throws {
        let profile = try ProfileStore.builtIn().model("llama-3.1-8b")
        let model = SampledFractionModel(profile: profile)
        for point in profile.measuredSampledFractions ?? [] {
            let f = model.fraction(LSHParameters(hashBitsPerTable: point.k, tableCount: point.l))
            #expect(abs(f - point.fraction) <= 1e-12 * point.fraction, "(\(point.k), \(point.l))")
        }
        // Between measured L values the fraction lies between its neighbours.
        let mid = model.fraction(LSHParameters(hashBitsPerTable: 10, tableCount: 175))
        #expect(mid > 0.02 && mid < 0.03)
        // An override wins over the model.
        #expect(SampledFractionModel(profile: profile, override: 0.0157).fraction(LSHParameters(hashBitsPerTable: 8, tableCount: 75)) == 0.0157)
    }

    @Test func fractionShrinksWithKAndGrowsWithL() throws {
        let model = SampledFractionModel(profile: try ProfileStore.builtIn().model("codellama-13b"))
        for k in 6...11 {
            for l in stride(from: 50, to: 400, by: 25) {
                let f = model.fraction(LSHParameters(hashBitsPerTable: k, tableCount: l))
                guard f < 0.5 else { continue }  // saturates at 1 for small K and many tables
                #expect(model.fraction(LSHParameters(hashBitsPerTable: k + 1, tableCount: l)) < f)
                #expect(model.fraction(LSHParameters(hashBitsPerTable: k, tableCount: l + 25)) > f)
            }
        }
    }
}
