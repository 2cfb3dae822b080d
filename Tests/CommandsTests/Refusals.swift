import ArgumentParser
import Executor
import PigPlanCommands
import Planning
import Profiles
import Testing

/// A refusal must be one of pigplan's typed errors and say what happened in words: no Foundation
/// error code, no NaN or infinity. Returns the message as the user sees it.
@discardableResult
func expectClearRefusal(_ error: any Error, _ context: String, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    // ArgumentParser wraps a refusal found while parsing in its (internal) CommandError.
    let typed = error is ProfileError || error is ValidationError || error is PlanError || error is OutputFileError
        || error is ExecutorError || error is GGUFError || String(describing: type(of: error)) == "CommandError"
    #expect(typed, "\(context): untyped \(type(of: error)): \(error)", sourceLocation: sourceLocation)
    let message = PigPlanCommand.message(for: error)
    let words = Set(message.lowercased().split(whereSeparator: { !$0.isLetter }))
    #expect(!message.isEmpty && !message.contains("NSCocoaErrorDomain") && !message.contains("could not be completed")
            && !words.contains("nan") && !words.contains("inf"), "\(context): \(message)", sourceLocation: sourceLocation)
    return message
}
