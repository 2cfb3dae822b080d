/// Splits text into the pieces that byte-level BPE encodes independently, as the GGUF
/// `tokenizer.ggml.pre` names it.
///
/// - `gpt2` (also `default`): GPT-2's pattern, tried in order at each position:
///   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
/// - `smollm` (and the same family: `starcoder`, `refact`, `codeshell`, `command-r`, `exaone`,
///   `minerva`): first every number character becomes its own piece (`\p{N}`), then the GPT-2
///   pattern splits the remaining runs.
/// - `llama-bpe` (Llama 3):
///   `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// The matchers below are hand-written equivalents of these patterns (leftmost alternative wins,
/// with the backtracking the patterns imply).
public struct PreTokenizer: Sendable {
    public enum Kind: String, Sendable {
        case gpt2, smollm, llama3
    }
    public let kind: Kind

    public init?(ggmlName: String) {
        switch ggmlName {
        case "gpt2", "default", "gpt-2": kind = .gpt2
        case "smollm", "starcoder", "refact", "codeshell", "command-r", "exaone", "minerva": kind = .smollm
        case "llama-bpe", "llama3", "llama-v3": kind = .llama3
        default: return nil
        }
    }

    public init(kind: Kind) { self.kind = kind }

    public func split(_ text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var out: [String] = []
        switch kind {
        case .gpt2: Self.gpt2(scalars[...], into: &out)
        case .llama3: Self.llama3(scalars[...], into: &out)
        case .smollm:
            var start = 0
            for (i, u) in scalars.enumerated() where Self.isNumber(u) {
                if start < i { Self.gpt2(scalars[start..<i], into: &out) }
                out.append(String(u))
                start = i + 1
            }
            if start < scalars.count { Self.gpt2(scalars[start...], into: &out) }
        }
        return out
    }

    static func isLetter(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }
    static func isNumber(_ u: Unicode.Scalar) -> Bool {
        switch u.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }
    static func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }
    static func isOther(_ u: Unicode.Scalar) -> Bool { !isSpace(u) && !isLetter(u) && !isNumber(u) }

    /// Length of a contraction `'s|'t|'re|'ve|'m|'ll|'d` at i (0 when none).
    static func contraction(_ s: ArraySlice<Unicode.Scalar>, _ i: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < s.endIndex else { return 0 }
        func lower(_ u: Unicode.Scalar) -> Unicode.Scalar {
            caseInsensitive && ("A"..."Z").contains(u) ? Unicode.Scalar(u.value + 32)! : u
        }
        let a = lower(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        if i + 2 < s.endIndex {
            let b = lower(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        }
        return 0
    }

    /// Whitespace run rules `\s+(?!\S)|\s+` at i (s[i] is whitespace): the run, minus its last
    /// character when a non-space follows and the run is longer than one.
    static func whitespaceRun(_ s: ArraySlice<Unicode.Scalar>, _ i: Int) -> Int {
        var j = i
        while j < s.endIndex && isSpace(s[j]) { j += 1 }
        if j < s.endIndex && j - i > 1 { return j - i - 1 }
        return j - i
    }

    static func gpt2(_ s: ArraySlice<Unicode.Scalar>, into out: inout [String]) {
        var i = s.startIndex
        while i < s.endIndex {
            var len = contraction(s, i, caseInsensitive: false)
            if len == 0 {
                let sp = s[i] == " " && i + 1 < s.endIndex ? 1 : 0
                let c = s[i + sp]
                var j = i + sp
                if isLetter(c) {
                    while j < s.endIndex && isLetter(s[j]) { j += 1 }
                    len = j - i
                } else if isNumber(c) {
                    while j < s.endIndex && isNumber(s[j]) { j += 1 }
                    len = j - i
                } else if isOther(c) {
                    while j < s.endIndex && isOther(s[j]) { j += 1 }
                    len = j - i
                } else {
                    len = whitespaceRun(s, i)
                }
            }
            out.append(String(String.UnicodeScalarView(s[i..<(i + len)])))
            i += len
        }
    }

    static func llama3(_ s: ArraySlice<Unicode.Scalar>, into out: inout [String]) {
        func isNewline(_ u: Unicode.Scalar) -> Bool { u == "\r" || u == "\n" }
        var i = s.startIndex
        while i < s.endIndex {
            var len = contraction(s, i, caseInsensitive: true)
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if len == 0 {
                var j = i
                if !isNewline(s[j]) && !isLetter(s[j]) && !isNumber(s[j]) && j + 1 < s.endIndex && isLetter(s[j + 1]) { j += 1 }
                if isLetter(s[j]) {
                    while j < s.endIndex && isLetter(s[j]) { j += 1 }
                    len = j - i
                }
            }
            // \p{N}{1,3}
            if len == 0 && isNumber(s[i]) {
                var j = i
                while j < s.endIndex && j - i < 3 && isNumber(s[j]) { j += 1 }
                len = j - i
            }
            // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            if len == 0 {
                let sp = s[i] == " " && i + 1 < s.endIndex ? 1 : 0
                var j = i + sp
                if isOther(s[j]) {
                    while j < s.endIndex && isOther(s[j]) { j += 1 }
                    while j < s.endIndex && isNewline(s[j]) { j += 1 }
                    len = j - i
                }
            }
            // \s*[\r\n]+ : whitespace run up to and including its last newline
            if len == 0 && isSpace(s[i]) {
                var j = i, lastNewline = -1
                while j < s.endIndex && isSpace(s[j]) {
                    if isNewline(s[j]) { lastNewline = j }
                    j += 1
                }
                if lastNewline >= 0 {
                    len = lastNewline + 1 - i
                } else {
                    len = whitespaceRun(s, i)
                }
            }
            if len == 0 { len = 1 }
            out.append(String(String.UnicodeScalarView(s[i..<(i + len)])))
            i += len
        }
    }
}
