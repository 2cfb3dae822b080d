import Core
import Foundation

/// Why a run was refused or failed (file-format problems are `GGUFError`s).
public enum ExecutorError: LocalizedError, Sendable, Equatable {
    case invalidRequest(field: String, reason: String)
    /// `requiredBytes` exceed `limitBytes` (from `limitSource`: the request or MemAvailable).
    case insufficientMemory(required: MemoryRequirement, limitBytes: Double, limitSource: String)
    case promptTooShort(tokens: Int, needed: Int, reason: String)
    case tokenizer(String)

    public var errorDescription: String? {
        switch self {
        case .invalidRequest(let f, let r): return "invalid request: \(f): \(r)"
        case .insufficientMemory(let m, let limit, let source):
            return """
                the run needs \(Format.bytes(m.totalBytes)) (weights \(Format.bytes(m.weightsBytes)), KV cache \
                \(Format.bytes(m.kvCacheBytes)), hash tables/indices \(Format.bytes(m.indexBytes)), scratch \
                \(Format.bytes(m.scratchBytes + m.activationBytes))) but \(source) allows \(Format.bytes(limit)); \
                use fewer layers (synthetic weights), a shorter context, a smaller batch, or smaller (K, L)
                """
        case .promptTooShort(let t, let n, let r): return "the prompt has \(t) tokens but \(n) are needed: \(r)"
        case .tokenizer(let s): return "tokenizer: \(s)"
        }
    }
}
