import Core
import Foundation
import Testing

@Suite("Step times")
struct StepTimesTests {
    @Test("each term has its own slot, in the order of StepTerm.allCases")
    func slotsFollowTheTerms() {
        var t = StepTimes()
        for (i, term) in StepTerm.allCases.enumerated() { t[term] = Double(i + 1) }
        for (i, term) in StepTerm.allCases.enumerated() { #expect(t[term] == Double(i + 1), "\(term)") }
        #expect(t.named.map(\.term) == StepTerm.allCases)
        let n = Double(StepTerm.allCases.count)
        #expect(t.totalSeconds == n * (n + 1) / 2)
        #expect(t.gpuSideSeconds + t.cpuSideSeconds == t.totalSeconds)
    }

    @Test("absent terms are absent in JSON and read as nil; present zeros are kept")
    func absentTermsStayAbsent() throws {
        var t = StepTimes(terms: [.linearLayers, .overhead])
        t[.linearLayers] = 0.0173
        #expect(t.value(.transfers) == nil && t.value(.overhead) == 0)
        let json = String(decoding: try JSONEncoder().encode(t), as: UTF8.self)
        #expect(json.contains("\"linearLayers\":0.0173") && json.contains("\"overhead\":0") && !json.contains("transfers"))
        let back = try JSONDecoder().decode(StepTimes.self, from: Data(json.utf8))
        #expect(back == t && back.terms == [.linearLayers, .overhead])
    }

    @Test("an unknown term in JSON is refused with the known names")
    func unknownTermIsRefused() {
        #expect {
            try JSONDecoder().decode(StepTimes.self, from: Data(#"{"linearSeconds": 1}"#.utf8))
        } throws: { error in
            "\(error)".contains("unknown step term 'linearSeconds'") && "\(error)".contains("linearLayers")
        }
    }

    @Test("sums and scaling keep presence")
    func arithmetic() {
        var a = StepTimes(terms: [.hashing]), b = StepTimes(terms: [.retrieval])
        a[.hashing] = 1
        b[.retrieval] = 2
        let c = (a + b).scaled(by: 0.5)
        #expect(c.terms == [.hashing, .retrieval] && c[.hashing] == 0.5 && c[.retrieval] == 1)
    }
}
