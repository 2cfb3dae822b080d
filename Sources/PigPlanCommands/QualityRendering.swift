import Core
import Rendering
import Executor

/// `pigplan quality`'s output: a table per context, CSV, and an SVG of loss against keys
/// attended for each method.
enum QualityRendering {
    static func table(_ r: QualitySweepResult, model: String) -> String {
        var out = "pigplan quality: \(model) (GGUF \(r.modelName)), \(r.exactActivations ? "exact f32 activations" : "8-bit activations into quantised rows"), \(r.threads) threads, seed \(r.seed)\n"
        for c in r.contexts {
            out += "\ncontext \(TokenCount(c.contextTokens)): \(c.promptTokens) prompt tokens (\(c.hashedSpanTokens) hashed), \(c.positions) teacher-forced positions; dense perplexity \(Format.fixed(c.densePerplexity, decimals: 3)); prefill \(Format.seconds(c.prefillSeconds))\n"
            var rows = [["setting", "keys attended", "perplexity", "change ± s.e.", "next-token agreement ± s.e.", "attention error", "time"]]
            for row in c.rows {
                rows.append([
                    QualitySetting.label(of: row.mode),
                    row.sampledFraction.map { Format.fixed($0 * 100, decimals: 2) + "%" } ?? "-",
                    Format.fixed(row.perplexity, decimals: 3),
                    Format.signedPercent(row.perplexityChangePercent) + " ± " + Format.fixed(row.perplexityChangeStandardErrorPercent, decimals: 2),
                    Format.fixed(row.nextTokenAgreement * 100, decimals: 1) + "% ± " + Format.fixed(row.nextTokenAgreementStandardError * 100, decimals: 1),
                    row.attentionRelativeError.map { Format.number($0) } ?? "-",
                    Format.seconds(row.seconds),
                ])
            }
            out += PlanRenderer.columns(rows)
        }
        return out
    }

    static func csv(_ r: QualitySweepResult) -> String {
        var lines = ["contextTokens,method,k,l,pageSize,budgetFraction,sampledFraction,perplexity,densePerplexity,perplexityChangePercent,perplexityChangeStandardErrorPercent,nextTokenAgreement,nextTokenAgreementStandardError,attentionRelativeError,seconds"]
        for c in r.contexts {
            for row in c.rows {
                let s = QualitySetting(mode: row.mode, values: [])
                let cells: [String] = [
                    "\(c.contextTokens)", s.method.rawValue, s.k.map(String.init) ?? "", s.l.map(String.init) ?? "",
                    s.pageSize.map(String.init) ?? "", s.budgetFraction.map { "\($0)" } ?? "", row.sampledFraction.map { "\($0)" } ?? "",
                    "\(row.perplexity)", "\(c.densePerplexity)", "\(row.perplexityChangePercent)", "\(row.perplexityChangeStandardErrorPercent)",
                    "\(row.nextTokenAgreement)", "\(row.nextTokenAgreementStandardError)",
                    row.attentionRelativeError.map { "\($0)" } ?? "", "\(row.seconds)",
                ]
                lines.append(CSV.row(cells))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Perplexity change against the share of keys attended, one series per method (and context).
    static func svg(_ r: QualitySweepResult, model: String) -> String {
        var plot = SVGPlot(title: "\(model): perplexity change against keys attended, per method",
                           xLabel: "keys attended (% of the hashed span, log scale)", yLabel: "perplexity change vs dense (%)")
        plot.logX = true
        let colors = ["lsh": "#1f77b4", "topk": "#2ca02c", "quest": "#d62728"]
        for c in r.contexts {
            for method in ["lsh", "topk", "quest"] {
                let points = c.rows.filter { $0.mode.name == method }.compactMap { row -> (x: Double, y: Double)? in
                    guard let f = row.sampledFraction, f > 0 else { return nil }
                    return (f * 100, row.perplexityChangePercent)
                }.sorted { $0.x < $1.x }
                guard !points.isEmpty else { continue }
                let name = (method == "lsh" ? "MagicPIG LSH" : method == "topk" ? "oracle TopK" : "Quest")
                    + (r.contexts.count > 1 ? " \(TokenCount(c.contextTokens))" : "")
                plot.series.append(.init(name: name, points: points, color: colors[method]!, connected: method != "lsh"))
            }
        }
        plot.notes = ["\(r.contexts.first?.positions ?? 0) teacher-forced positions", r.exactActivations ? "exact activations" : "8-bit activations"]
        return plot.render()
    }
}
