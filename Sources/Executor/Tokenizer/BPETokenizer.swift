/// Byte-level BPE (GPT-2 family) built from GGUF metadata: `tokenizer.ggml.tokens` (the vocabulary
/// as byte-level-mapped strings), `tokenizer.ggml.merges` ("left right", in priority order),
/// `tokenizer.ggml.token_type` (3 = control tokens such as `<|im_start|>`),
/// `tokenizer.ggml.pre` (the pre-tokenizer) and `tokenizer.ggml.add_bos_token`.
///
/// Encoding: pre-tokenise, map each piece's UTF-8 bytes to scalars (ByteLevelMapping), start from
/// single scalars and repeatedly merge the adjacent pair with the lowest merge rank until no pair
/// has a rank; look the symbols up in the vocabulary.
public final class BPETokenizer: @unchecked Sendable {
    public let tokens: [String]
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    public let addBOS: Bool
    public let preTokenizer: PreTokenizer
    let ids: [String: Int]
    let ranks: [String: Int]
    let mapping = ByteLevelMapping()
    /// Control tokens by text, longest first (matched in text when `parseSpecial` is on).
    let controlTokens: [(String, Int)]
    let controlIDs: Set<Int>
    private var cache: [String: [Int]] = [:]

    public enum TokenizerError: Error, CustomStringConvertible, Equatable {
        case unsupportedModel(String)
        case unsupportedPreTokenizer(String)
        case badMerge(index: Int, text: String)
        public var description: String {
            switch self {
            case .unsupportedModel(let m):
                return "tokenizer model '\(m)' is not supported (only byte-level BPE, tokenizer.ggml.model = gpt2)"
            case .unsupportedPreTokenizer(let p):
                return "pre-tokenizer '\(p)' is not supported (supported: gpt2/default, smollm family, llama-bpe)"
            case .badMerge(let i, let t): return "merge #\(i) '\(t)' is not two symbols separated by a space"
            }
        }
    }

    public init(tokens: [String], merges: [String], tokenTypes: [Int]?, preTokenizer: PreTokenizer,
                bosTokenID: Int?, eosTokenID: Int?, addBOS: Bool) throws(TokenizerError) {
        self.tokens = tokens
        self.preTokenizer = preTokenizer
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.addBOS = addBOS
        var ids: [String: Int] = [:]
        ids.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where ids[t] == nil { ids[t] = i }
        self.ids = ids
        var ranks: [String: Int] = [:]
        ranks.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() {
            guard m.utf8.contains(UInt8(ascii: " ")) else { throw .badMerge(index: i, text: m) }
            if ranks[m] == nil { ranks[m] = i }
        }
        self.ranks = ranks
        var control: [(String, Int)] = []
        if let types = tokenTypes {
            for (i, t) in types.enumerated() where t == 3 && i < tokens.count && !tokens[i].isEmpty {
                control.append((tokens[i], i))
            }
        }
        control.sort { $0.0.utf8.count > $1.0.utf8.count }
        controlTokens = control
        controlIDs = Set(control.map(\.1))
    }

    /// Token ids of `text`. With `parseSpecial`, control-token texts in `text` (e.g.
    /// `<|im_start|>`) become their ids; otherwise they are tokenised as plain text. A BOS token is
    /// prepended only when the metadata says `add_bos_token = true`.
    public func encode(_ text: String, parseSpecial: Bool = false) -> [Int] {
        var out: [Int] = []
        if addBOS, let b = bosTokenID { out.append(b) }
        if parseSpecial && !controlTokens.isEmpty {
            var rest = Substring(text)
            while !rest.isEmpty {
                var hit: (String.Index, String, Int)? = nil
                for (t, id) in controlTokens {
                    if let r = rest.range(of: t), hit == nil || r.lowerBound < hit!.0 { hit = (r.lowerBound, t, id) }
                }
                guard let (at, t, id) = hit else { break }
                encodePlain(String(rest[..<at]), into: &out)
                out.append(id)
                rest = rest[rest.index(at, offsetBy: t.count)...]
            }
            encodePlain(String(rest), into: &out)
        } else {
            encodePlain(text, into: &out)
        }
        return out
    }

    /// The first `maxTokens` ids of `text`, tokenising only as much of it as they need: prefixes
    /// of 16 bytes per token wanted, doubled until two in a row agree on those ids (a prefix may
    /// cut its last word, which changes only the ids after it), or the whole text is reached. A
    /// long file cut to a short context costs the context, not the file.
    public func encode(_ text: String, maxTokens: Int, parseSpecial: Bool = false) -> [Int] {
        let utf8 = text.utf8
        func prefix(_ bytes: Int) -> String? {
            guard bytes < utf8.count else { return nil }
            var end = utf8.index(utf8.startIndex, offsetBy: bytes)
            while end < utf8.endIndex && end.samePosition(in: text.unicodeScalars) == nil { end = utf8.index(after: end) }
            return String(text[..<end])
        }
        var bytes = max(256, maxTokens > Int.max / 32 ? Int.max / 4 : maxTokens * 16)
        var previous: [Int]? = nil
        while let p = prefix(bytes) {
            let ids = Array(encode(p, parseSpecial: parseSpecial).prefix(maxTokens + 1))
            if ids.count > maxTokens, let previous, previous == ids { return Array(ids.prefix(maxTokens)) }
            previous = ids.count > maxTokens ? ids : nil
            bytes = bytes > Int.max / 4 ? utf8.count : bytes * 2
        }
        return Array(encode(text, parseSpecial: parseSpecial).prefix(maxTokens))
    }

    func encodePlain(_ text: String, into out: inout [Int]) {
        if text.isEmpty { return }
        for piece in preTokenizer.split(text) {
            if let c = cache[piece] { out.append(contentsOf: c); continue }
            let ids = bpe(mapping.encode(piece.utf8))
            if cache.count < 100_000 { cache[piece] = ids }
            out.append(contentsOf: ids)
        }
    }

    /// Merges one mapped piece by rank and returns its ids: the adjacent pair of lowest rank
    /// first, the leftmost of equal ones (so every occurrence of a pair merges left to right
    /// before any later merge), in O(n log n): symbols in a linked list, candidate pairs in a
    /// heap by (rank, position), stale entries (a side since merged) skipped when popped. A
    /// 100 KB unbroken word takes milliseconds, not the quadratic rescan's minutes.
    func bpe(_ word: String) -> [Int] {
        var symbols = word.unicodeScalars.map { String($0) }
        let n = symbols.count
        if n > 1 {
            var next = Array(1...n), prev = Array(-1..<(n - 1))
            var alive = [Bool](repeating: true, count: n), version = [Int](repeating: 0, count: n)
            var heap = PairHeap()
            func push(_ i: Int) {
                let j = next[i]
                guard j < n, let r = ranks[symbols[i] + " " + symbols[j]] else { return }
                heap.push(.init(rank: r, left: i, leftVersion: version[i], rightVersion: version[j]))
            }
            for i in 0..<(n - 1) { push(i) }
            while let c = heap.pop() {
                let i = c.left, j = next[i]
                guard alive[i], version[i] == c.leftVersion, j < n, version[j] == c.rightVersion else { continue }
                symbols[i] += symbols[j]
                version[i] += 1
                alive[j] = false
                next[i] = next[j]
                if next[j] < n { prev[next[j]] = i }
                if prev[i] >= 0 { push(prev[i]) }
                push(i)
            }
            symbols = (0..<n).filter { alive[$0] }.map { symbols[$0] }
        }
        var out: [Int] = []
        for s in symbols {
            if let id = ids[s] {
                out.append(id)
            } else {
                // Not in the vocabulary: fall back to single scalars (byte-level vocabularies hold
                // all 256 byte symbols, so this only matters for malformed vocabularies).
                for u in s.unicodeScalars { out.append(ids[String(u)] ?? 0) }
            }
        }
        return out
    }

    /// Text of token ids (control tokens as their text).
    public func decode(_ ids: [Int]) -> String {
        var bytes: [UInt8] = []
        for id in ids where id >= 0 && id < tokens.count {
            if controlIDs.contains(id) { bytes.append(contentsOf: Array(tokens[id].utf8)) } else {
                mapping.decode(tokens[id], into: &bytes)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension BPETokenizer {
    /// The tokenizer described by a GGUF file's metadata.
    public convenience init(gguf: GGUFFile) throws {
        let model = (try? gguf.string("tokenizer.ggml.model")) ?? "gpt2"
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }
        let preName = (try? gguf.string("tokenizer.ggml.pre")) ?? "default"
        guard let pre = PreTokenizer(ggmlName: preName) else { throw TokenizerError.unsupportedPreTokenizer(preName) }
        let types = gguf.metadata["tokenizer.ggml.token_type"]?.array?.map { $0.int ?? 1 }
        try self.init(
            tokens: try gguf.strings("tokenizer.ggml.tokens"),
            merges: try gguf.strings("tokenizer.ggml.merges"),
            tokenTypes: types, preTokenizer: pre,
            bosTokenID: gguf.metadata["tokenizer.ggml.bos_token_id"]?.int,
            eosTokenID: gguf.metadata["tokenizer.ggml.eos_token_id"]?.int,
            addBOS: gguf.metadata["tokenizer.ggml.add_bos_token"]?.bool ?? false)
    }
}

/// A binary min-heap of candidate merges ordered by (rank, position).
struct PairHeap {
    struct Candidate {
        var rank: Int
        var left: Int
        var leftVersion: Int
        var rightVersion: Int
        func precedes(_ o: Candidate) -> Bool { rank != o.rank ? rank < o.rank : left < o.left }
    }
    private var items: [Candidate] = []

    mutating func push(_ c: Candidate) {
        items.append(c)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].precedes(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> Candidate? {
        guard let first = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var m = i
                if l < items.count && items[l].precedes(items[m]) { m = l }
                if r < items.count && items[r].precedes(items[m]) { m = r }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}
