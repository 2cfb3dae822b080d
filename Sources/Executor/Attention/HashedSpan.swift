import Core

/// The prompt keys MagicPIG samples from: positions [start, end) = [sinks, promptLength - local).
/// The first `ExactTokens.sinkCount` tokens, the last `ExactTokens.localWindow` prompt tokens and
/// every generated token are attended exactly instead.
public struct HashedSpan: Sendable, Hashable {
    public let start: Int
    public let end: Int
    public var count: Int { max(0, end - start) }
    public var isEmpty: Bool { count == 0 }

    public init(promptLength: Int, sinks: Int = ExactTokens.sinkCount, local: Int = ExactTokens.localWindow) {
        start = min(sinks, promptLength)
        end = max(start, promptLength - local)
    }
}
