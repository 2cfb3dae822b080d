/// A number of tokens, parsed once at the edge from `96k`, `96K`, `98304`, `1M` or `1.5k`.
/// `k` and `K` mean 1024 and `M` 1024 x 1024, as context lengths are quoted (96k = 98304).
public struct TokenCount: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public var value: Int
    public init(_ value: Int) { self.value = value }

    public enum ParseError: Error, Hashable, CustomStringConvertible {
        case empty
        case malformed(String)
        case notPositive(String)
        case tooLarge(String)
        public var description: String {
            switch self {
            case .empty: return "a token count is empty; write e.g. 96k, 128K, 98304 or 1M"
            case .malformed(let s):
                return "'\(s)' is not a token count; write e.g. 96k, 128K, 98304 or 1M"
            case .notPositive(let s): return "'\(s)' must be at least 1 token"
            case .tooLarge(let s): return "'\(s)' is larger than 1G tokens"
            }
        }
    }

    public static func parse(_ text: String) throws(ParseError) -> TokenCount {
        let trimmed = text.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw .empty }
        var number = Substring(trimmed)
        var multiplier = 1.0
        switch number.last {
        case "k", "K": multiplier = 1024; number = number.dropLast()
        case "m", "M": multiplier = 1024 * 1024; number = number.dropLast()
        default: break
        }
        guard let x = Double(number), x.isFinite,
            number.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" })
        else { throw .malformed(text) }
        let tokens = x * multiplier
        guard tokens >= 1 else { throw .notPositive(text) }
        guard tokens <= 1_073_741_824 else { throw .tooLarge(text) }
        guard tokens == tokens.rounded() else { throw .malformed(text) }
        return TokenCount(Int(tokens))
    }

    public static func < (a: TokenCount, b: TokenCount) -> Bool { a.value < b.value }
    /// `98304` prints as `96k`; counts that are not a multiple of 1024 print as digits.
    public var description: String {
        if value >= 1024 * 1024 && value % (1024 * 1024) == 0 { return "\(value / 1024 / 1024)M" }
        if value >= 1024 && value % 1024 == 0 { return "\(value / 1024)k" }
        return "\(value)"
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
