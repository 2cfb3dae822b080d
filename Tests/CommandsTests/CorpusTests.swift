import Foundation
import PigPlanCommands
import Testing

/// Every input that once failed (Corpus/cases.json) runs through the real command and is refused
/// with a message naming the input; a case marked `runs` is a command that must go on despite
/// the input (a broken profile file it does not need), warning about it on standard error.
@Suite struct CorpusTests {
    init() { quietProfileWarnings() }

    struct Case: Decodable, CustomTestStringConvertible {
        var args: [String]
        var expect: [String]
        /// The command must succeed, and its output (standard output and error) hold every
        /// fragment of `expect`.
        var runs: Bool?
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
        if c.runs == true {
            try expectRuns(args, c)
            return
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

    /// Runs the built binary (its output is what the user sees) or, without one, the command in
    /// this process.
    func expectRuns(_ args: [String], _ c: Case) throws {
        guard let binary = ExamplesTests.binary else {
            var command = try PigPlanCommand.parseAsRoot(args)
            try command.run()
            return
        }
        let (status, text) = try runProcess(URL(fileURLWithPath: binary), args)
        #expect(status == 0, "\(c.testDescription): \(text)")
        for fragment in c.expect {
            #expect(text.contains(fragment), "\(c.testDescription): \(text)")
        }
    }
}
