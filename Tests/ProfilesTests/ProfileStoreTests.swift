import Core
import Foundation
import Profiles
import Testing

@Suite struct BuiltInProfileTests {
    @Test func everyBuiltInProfileLoadsAndValidates() throws {
        let store = try ProfileStore.builtIn()
        #expect(store.names(of: .gpu) == ["a100-40g", "a100-80g", "h100", "h200", "l20", "l40", "rtx4090"])
        #expect(store.names(of: .cpu) == ["epyc-9654", "xeon-6338", "xeon-8380", "xeon-8480p", "xeon-8563c"])
        #expect(store.names(of: .model) == ["codellama-13b", "codellama-34b", "llama-2-7b", "llama-3.1-70b",
                                            "llama-3.1-8b", "llama3-8b-prolong-512k", "megabeam-mistral-7b-512k", "smollm2-135m"])
        #expect(Set(store.names(of: .system)).isSuperset(of: ["h200", "h200-host16", "rtx4090-epyc", "a100-2s-8563c"]))
        for kind in ProfileKind.allCases {
            for name in store.names(of: kind) {
                let json = try store.json(of: kind, named: name)
                #expect(json.contains("\"schemaVersion\" : 1"), "\(kind) \(name)")
                #expect(store.origin(of: kind, named: name)?.contains("\(kind.folder)/\(name).json") == true)
            }
        }
    }

    @Test func llama31_8bShapeMatchesTheDatasheet() throws {
        let shape = try ProfileStore.builtIn().model("llama-3.1-8b").shape
        #expect(abs(shape.weightBytes - 16.06e9) < 0.01e9, "weightBytes \(shape.weightBytes)")
        #expect(shape.kvBytesPerToken == 131_072)
        #expect(shape.denseLayers == [0, 16])
        #expect(abs(shape.linearBytesPerLayer - 436e6) < 1e6)
    }

    @Test func llama31_70bShapeMatchesTheDatasheet() throws {
        let shape = try ProfileStore.builtIn().model("llama-3.1-70b").shape
        #expect(abs(shape.weightBytes - 141.1e9) < 0.1e9, "weightBytes \(shape.weightBytes)")
        #expect(shape.kvBytesPerToken == 327_680)
        #expect(shape.denseLayers == [0, 16, 32, 48])
    }

    @Test func table9IsTheLlamaSampledFractionGrid() throws {
        let model = try ProfileStore.builtIn().model("llama-3.1-8b")
        let points = try #require(model.measuredSampledFractions)
        #expect(points.count == 30)
        #expect(points.contains(SampledFractionPoint(k: 10, l: 150, fraction: 0.02)))
        #expect(points.contains(SampledFractionPoint(k: 9, l: 300, fraction: 0.154)))
        #expect(model.sampledFractionCorrection == 1.8)
    }

    @Test func h200SystemCarriesTheMeasuredTables() throws {
        let store = try ProfileStore.builtIn()
        let h200 = try store.system("h200")
        let calibration = try #require(h200.calibration)
        #expect(calibration.gpuLinearLayers?.count == 10)
        #expect(calibration.gpuDecodeAttention?.count == 11)
        #expect(calibration.pcie?.count == 6)
        #expect(calibration.cpu?.readBytesPerSecond == 97.99e9)
        #expect(calibration.referenceModel == "llama-3.1-8b")
        // The alias shares the same tables through calibrationFrom.
        #expect(try store.system("h200-host16").calibration == calibration)
        #expect(try store.json(of: .system, named: "h200-host16").contains("gpuLinearLayers"))
    }

    @Test func unknownNameListsKnownNames() throws {
        let store = try ProfileStore.builtIn()
        #expect {
            _ = try store.gpu("b200")
        } throws: { error in
            let message = (error as? LocalizedError)?.errorDescription ?? ""
            return message.contains("b200") && message.contains("h100, h200") && message.contains("rtx4090")
        }
        #expect(throws: ProfileError.unknown(kind: .model, name: "llama-4", known: store.names(of: .model))) {
            _ = try store.model("llama-4")
        }
    }

    @Test func kindLookupReportsAmbiguityAndUnknownNames() throws {
        let store = try ProfileStore.builtIn()
        #expect(throws: ProfileError.ambiguous(name: "h200", kinds: [.gpu, .system])) {
            _ = try store.kind(of: "h200")
        }
        #expect(try store.kind(of: "h200", preferring: .gpu) == .gpu)
        #expect(try store.kind(of: "xeon-8380") == .cpu)
        #expect {
            _ = try store.kind(of: "nope")
        } throws: { error in
            ((error as? LocalizedError)?.errorDescription ?? "").contains("llama-3.1-8b")
        }
    }
}
