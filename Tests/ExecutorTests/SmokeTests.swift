import Foundation
import Testing
import Core
@testable import Executor

@Test func smokeSmolLM2() throws {
    guard let path = TestFiles.smolLM2 else { print(TestFiles.skipMessage("smoke")); return }
    let r = try Executor.run(ExecutorRequest(weights: .gguf(path: path), prompt: .text("The capital of France is"), decodeSteps: 12))
    print(r.generatedText ?? [], r.generatedTokens, r.measured.prefillSeconds, r.measured.stepSeconds)
}
