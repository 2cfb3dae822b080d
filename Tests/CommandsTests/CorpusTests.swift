import Foundation
import PigPlanCommands
import Testing

/// Every input that once failed (Corpus/cases.json) runs through the real command and is refused
/// with a message naming the input.
@Suite struct CorpusTests {
    struct Case: Decodable, CustomTestStringConvertible {
        var args: [String]
        var expect: [String]
        var testDescription: String { args.joined(separator: " ") }
    }
    struct Cases: Decodable { var cases: [Case] }

    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus")
    static let cases: [Case] = {
        do { return try JSONDecoder().decode(Cases.self, from: Data(contentsOf: corpus.appendingPathComponent("cases.json"))).cases } catch {
            return [Case(args: ["unreadable cases.json: \(error)"], expect: [])]
        }
    }()

    @Test(arguments: cases)
    func onceFailedInputIsRefusedByName(_ c: Case) throws {
        let tmp = try makeTemporaryDirectory("corpus")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let args = c.args.map {
            $0.replacingOccurrences(of: "{corpus}", with: Self.corpus.path).replacingOccurrences(of: "{tmp}", with: tmp.path)
        }
        let message: String
        do {
            var command = try PigPlanCommand.parseAsRoot(args)
            try command.run()
            Issue.record("accepted: \(c.testDescription)")
            return
        } catch {
            message = expectClearRefusal(error, c.testDescription)
        }
        for fragment in c.expect {
            #expect(message.contains(fragment), "\(c.testDescription): \(message)")
        }
        #expect(!c.expect.isEmpty)
        // Nothing was written where the case pointed a folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty)
    }
}
