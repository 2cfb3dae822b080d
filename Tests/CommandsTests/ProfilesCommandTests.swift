import ArgumentParser
import Foundation
import PigPlanCommands
import Profiles
import Testing

@Suite struct ProfilesCommandTests {
    @Test func listShowsEveryProfileWithASummary() throws {
        let store = try ProfileStore.builtIn()
        let table = ProfilesCommand.List.table(store)
        testLog(table)
        let lines = table.split(separator: "\n")
        let count = ProfileKind.allCases.map { store.names(of: $0).count }.reduce(0, +)
        #expect(lines.count == count + 1)
        #expect(lines[0].hasPrefix("KIND"))
        #expect(table.contains("NVIDIA H200 SXM, 141 GB, 4.80 TB/s, 989 TFLOP/s bf16, PCIe 5.0 x16"))
        #expect(table.contains("16.1 GB weights, 131 kB KV per token"))
    }

    @Test func showPrintsSortedResolvedJSON() throws {
        let store = try ProfileStore.builtIn()
        let json = try ProfilesCommand.Show.render(name: "llama-3.1-8b", kind: nil, store: store)
        #expect(json.contains("\"denseLayers\""))
        let keys = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]).keys
        #expect(Set(keys) == ["huggingFaceId", "measuredSampledFractions", "sampledFractionCorrection", "schemaVersion", "shape", "source"])
        #expect(json.firstRange(of: "measuredSampledFractions")!.lowerBound < json.firstRange(of: "schemaVersion")!.lowerBound)
    }

    @Test func showNeedsAKindForSharedNames() throws {
        let store = try ProfileStore.builtIn()
        #expect(throws: ProfileError.ambiguous(name: "h200", kinds: [.gpu, .system])) {
            _ = try ProfilesCommand.Show.render(name: "h200", kind: nil, store: store)
        }
        let gpu = try ProfilesCommand.Show.render(name: "h200", kind: .gpu, store: store)
        #expect(gpu.contains("\"defaultHost\" : \"xeon-8480p\""))
    }

    @Test func argumentsParse() throws {
        let show = try #require(try ProfilesCommand.parseAsRoot(["show", "h200", "--kind", "system", "--profiles-dir", "/tmp/x"])
                                    as? ProfilesCommand.Show)
        #expect(show.name == "h200" && show.kind == .system && show.options.profilesDirectory == "/tmp/x")
        do { _ = try ProfilesCommand.parseAsRoot(["show", "h200", "--kind", "tpu"]); Issue.record("accepted --kind tpu") } catch {
            let message = ProfilesCommand.message(for: error)
            #expect(message.contains("tpu") && message.contains("--kind"), "\(message)")
        }
        #expect(try ProfilesCommand.parseAsRoot([]) is ProfilesCommand.List)
    }
}
