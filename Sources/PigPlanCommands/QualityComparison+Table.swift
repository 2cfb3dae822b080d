import Core
import Validation

extension QualityComparison {
    /// The `run --compare` table.
    func table() -> String {
        let out = "\(model), \(promptTokens) prompt tokens, \(positions) positions evaluated, seed \(seed)\n"
        let header = ["mode", "keys", "perplexity", "agreement", "attn error", "keys/query", "KB/query"]
        var lines = [header]
        for r in rows {
            lines.append([
                r.mode + (r.attention.lsh.map { " \($0)" } ?? ""),
                r.keyFraction.map { Format.number($0 * 100) + "%" } ?? "100%",
                Format.number(r.perplexity),
                Format.number(r.nextTokenAgreement * 100) + "%",
                r.attentionRelativeL2Error.map { Format.number($0 * 100) + "%" } ?? "-",
                r.keysPerQuery.map { Format.number($0) } ?? "-",
                r.bytesPerQuery.map { Format.number($0 / 1024) } ?? "-",
            ])
        }
        return out + PlanRenderer.columns(lines)
    }
}
