import Core
import CostModel
import Foundation
import Planning
import Rendering

/// Turns a `PlanReport` into text: an aligned table, JSON or CSV.
public enum PlanRenderer {
    public static func render(_ report: PlanReport, format: OutputFormat, explain: Bool) throws -> String {
        switch format {
        case .json: return try json(report)
        case .csv: return csv(report)
        case .table: return table(report, explain: explain)
        }
    }

    /// JSON output (`prettyJSON`, Core) ending in a newline.
    public static func json<T: Encodable>(_ value: T) throws -> String { try prettyJSON(value) + "\n" }

    static func csv(_ r: PlanReport) -> String {
        // The plan (kind = the winner), then the best plan of every other kind.
        var lines = ["name,kind,feasible,batch,k,l,tokensPerSecond,stepSeconds,gpuBytes,cpuBytes,qualityMetric,qualityValue,qualityLoss"]
        func quality(_ q: QualityEstimate?) -> [String] {
            guard let q else { return ["", "", ""] }
            return [q.metric, "\(q.value)", "\(q.loss)"]
        }
        lines.append(([
            "plan", r.plan.kind.rawValue, "true", "\(r.plan.batch)", r.plan.k.map(String.init) ?? "", r.plan.l.map(String.init) ?? "",
            "\(r.prediction.tokensPerSecond)", "\(r.prediction.stepSeconds)", "\(r.memory.gpuBytes)", "\(r.memory.cpuBytes)",
        ] + quality(r.plan.quality)).map(CSV.field).joined(separator: ","))
        for b in r.bestByKind where b.name != r.plan.kind {
            lines.append(([b.name.rawValue, b.name.rawValue, "\(b.feasible)", b.batch.map(String.init) ?? "", "", "",
                          b.tokensPerSecond.map { "\($0)" } ?? "", b.stepSeconds.map { "\($0)" } ?? "", "", ""] + quality(b.quality)).map(CSV.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The runtime an engine name stands for, in words (its profile's display name).
    static func runtime(_ engine: String, _ r: PlanReport) -> String {
        guard let name = r.engines?[engine] else { return "engine \(engine)" }
        return "\(name) (engine \(engine))"
    }

    static func placementText(_ r: PlanReport) -> String {
        let p = r.plan.placement
        var parts: [String] = []
        if r.plan.attention == "dense" {
            parts.append(p.kvDevice == .gpu ? "KV cache in GPU memory" : "KV cache in CPU memory")
        } else {
            parts.append(p.kvDevice == .gpu ? "KV + hash tables in GPU memory" : "KV + hash tables in CPU memory")
            parts.append("\(r.plan.denseLayers) dense layers (\(p.extraDenseLayers) extra)")
        }
        if p.kvDevice == .cpu {
            parts.append("\(p.cpuThreads) threads on \(p.cpuSockets) socket\(p.cpuSockets == 1 ? "" : "s")")
            parts.append(p.schedule.rawValue)
        }
        return parts.joined(separator: ", ")
    }

    public static func table(_ r: PlanReport, explain: Bool) -> String {
        var out = ""
        let c = r.context
        let machine = [c.gpu.map { c.gpuCount > 1 ? "\(c.gpuCount) x \($0)" : $0 }, "\(c.sockets) x \(c.cpu)"].compactMap { $0 }.joined(separator: " + ")
        out += "pigplan: \(c.model) on \(c.hardware) (\(machine), \(c.threads) threads\(c.calibrated ? ", calibrated" : "")), context \(TokenCount(c.contextTokens)), \(c.generatedTokens) generated"
            + (c.bytesPerWeight != 2 || c.bytesPerKVElement != 2 ? ", \(Format.number(c.bytesPerWeight)) bytes per weight, \(Format.number(c.bytesPerKVElement)) bytes per KV element" : "") + "\n"
        out += "predicted for the \(runtime(r.plan.engine, r)) runtime"
            + (c.gpuCount > 1 && r.plan.engine == "magicpig" && r.plan.tensorParallel > 1
               ? " (its kernels and orchestration per GPU; the reference itself runs one GPU per process, so a tensor-parallel plan needs an engine that adds it)" : "") + "\n\n"
        let winner = r.bestByKind.first { $0.name == r.plan.kind }
        let mode = r.plan.attention == "lsh" ? "MagicPIG LSH (K, L) = (\(r.plan.k ?? 0), \(r.plan.l ?? 0))" : (winner?.description ?? r.plan.attention)
        var rows: [(String, String)] = [
            ("plan", "\(mode), batch \(r.plan.batch)"),
        ]
        if let q = r.plan.quality {
            rows.append(("quality", q.summary))
        }
        if let note = r.plan.qualityNote { rows.append((r.plan.quality == nil ? "quality" : "", note)) }
        if c.gpuCount > 1 {
            let instances = r.plan.replicas > 1 ? "\(r.plan.replicas) instances of \(r.plan.tensorParallel) GPU\(r.plan.tensorParallel == 1 ? "" : "s") each, \(r.plan.batch) sequences each" : "one instance over all \(c.gpuCount) GPUs"
            rows.append(("GPUs", "tensor parallel \(r.plan.tensorParallel): \(instances); \(r.plan.weights) weights"))
        }
        if r.plan.weights != "bf16" || c.bytesPerKVElement != 2 {
            rows.append(("precision", "\(r.plan.weights) weights, \(c.bytesPerKVElement == 1 ? "fp8" : "bf16") KV cache (speed only: pigplan does not predict the quality of low precision)"))
        }
        rows += [
            ("placement", placementText(r)),
            ("throughput", "\(Format.number(r.prediction.tokensPerSecond)) tokens/s"),
            ("step time", "\(Format.seconds(r.prediction.stepSeconds)) per token (\(r.prediction.schedule.rawValue); \(c.gpu == nil ? "projections" : "GPU side") \(Format.seconds(r.prediction.gpuSideSeconds))"
                + (r.prediction.cpuSideSeconds > 0 ? ", \(c.gpu == nil ? "attention" : "CPU side") \(Format.seconds(r.prediction.cpuSideSeconds)))" : ")")),
            ("time to first token", Format.seconds(r.prediction.timeToFirstTokenSeconds) + (r.plan.batch > 1 ? " (prefill of the whole batch)" : "")),
        ]
        if let f = r.prediction.sampledFraction {
            rows.append(("sampled keys", "\(Format.number(f * 100))% of the hashed span (\(r.prediction.sampledFractionSource ?? "model")), \(Format.number(r.prediction.keysPerQuery)) keys per query head"))
        }
        if c.gpu != nil { rows.append(("GPU memory", "\(Format.bytes(r.memory.gpuBytes)) of \(Format.bytes(r.memory.gpuAvailableBytes))" + (c.gpuCount > 1 ? " on each GPU" : ""))) }
        rows.append(("CPU memory", "\(Format.bytes(r.memory.cpuBytes)) of \(Format.bytes(r.memory.cpuAvailableBytes))"))
        if r.plan.kind != .lsh, let lsh = r.bestByKind.first(where: { $0.name == .lsh }) {
            if lsh.feasible, let rate = lsh.tokensPerSecond, let batch = lsh.batch {
                rows.append(("best LSH plan", "\(lsh.description), batch \(batch): \(Format.number(rate)) tokens/s; the plan above is \(Format.number(r.prediction.tokensPerSecond / rate))x faster"))
            } else {
                rows.append(("best LSH plan", "infeasible: \(lsh.note ?? "")"))
            }
        }
        for what in r.whatIf ?? [] where r.plan.kind == .lsh {
            let kernels = what.engine == "pigplan" ? "pigplan's own CPU kernels (runnable today only in `pigplan run`)" : "engine \(what.engine)"
            rows.append(("what-if", "with \(kernels): \(Format.number(what.tokensPerSecond)) tokens/s"))
        }
        out += aligned(rows)

        if explain {
            out += "\nwhere the time goes (one step)\n"
            out += aligned(termRows(r.prediction.breakdown) { s, share in "\(Format.seconds(s))  \(Format.number(share))%" })
            if r.prediction.schedule == .pipelined {
                out += "  (pipelined: two micro-batches; the step is 2 x max(GPU side, CPU side) + fill, not the sum)\n"
            }
            let d = r.memory.detail
            out += "\nmemory\n"
            out += aligned([
                ("  GPU weights", Format.bytes(d.gpuWeightsBytes)), ("  GPU KV cache", Format.bytes(d.gpuKVCacheBytes)),
                ("  GPU exact buffers", Format.bytes(d.gpuExactBufferBytes)), ("  GPU activations", Format.bytes(d.gpuActivationBytes)),
                ("  GPU reserved", Format.bytes(d.gpuReservedBytes)), ("  GPU hash tables", Format.bytes(d.gpuHashTableBytes)),
                ("  CPU KV cache", Format.bytes(d.cpuKVCacheBytes)), ("  CPU hash tables", Format.bytes(d.cpuHashTableBytes)),
                ("  CPU key norms", Format.bytes(d.cpuKeyNormBytes)), ("  CPU weights", Format.bytes(d.cpuWeightsBytes)),
            ].filter { $0.1 != "0 B" })
        }

        out += "\nthe best plan of each kind on the same hardware\n"
        var baselineRows: [(String, String)] = []
        let rowEngines = Set(r.bestByKind.compactMap(\.engine))
        for b in r.bestByKind where b.name != r.plan.kind {
            var name = "  " + b.description
            if rowEngines.count > 1, let e = b.engine { name += " [\(e)]" }
            if let f = b.budgetFraction { name += ", \(Format.number(f * 100))% budget" }
            if c.gpuCount > 1 || b.deployment?.weights != nil, b.feasible, let d = b.deployment { name += ", \(d)" }
            if b.feasible, let rate = b.tokensPerSecond, let batch = b.batch {
                let questNote = b.name == .quest && r.plan.kind != .quest
                    ? (b.quality == nil ? " (a quality baseline: wins only with --quality fast)" : (b.note.map { " (\($0))" } ?? "")) : ""
                baselineRows.append((name, "\(Format.number(rate)) tokens/s at batch \(batch)" + (b.quality.map { ", " + shortQuality($0) } ?? "") + questNote))
            } else {
                baselineRows.append((name, "infeasible: \(b.note ?? "")"))
            }
        }
        baselineRows.append(("  this plan" + (rowEngines.count > 1 ? " [\(r.plan.engine)]" : ""), "\(Format.number(r.prediction.tokensPerSecond)) tokens/s at batch \(r.plan.batch)"
                             + (r.plan.quality.map { ", " + shortQuality($0) } ?? "")
                             + (r.speedupOverBestBaseline.map { ", \(Format.number($0))x the next best kind" } ?? "")))
        out += aligned(baselineRows)
        if let speedup = r.speedupOverBestBaseline, speedup < 1,
           let best = r.bestByKind.filter({ $0.feasible && $0.name != .quest && $0.name != r.plan.kind }).max(by: { ($0.tokensPerSecond ?? 0) < ($1.tokensPerSecond ?? 0) }) {
            out += "verdict: on this hardware \(best.description) is faster (\(Format.number(1 / speedup))x); the attention was fixed by the flags (drop --attention, --k and --l to let the planner choose).\n"
        }
        if let p = r.pipeline {
            out += "\npipeline over \(p.nodes) nodes (on paper: \(p.layersPerNode) layers per node, \(p.link))\n"
            out += aligned([
                ("  stage plan", "\(p.kind), \(p.deployment), batch \(p.batch) per micro-batch: \(Format.seconds(p.stageSeconds)) per stage step + \(Format.seconds(p.transferSeconds)) to the next node"),
                ("  pipeline full", "\(Format.number(p.tokensPerSecond)) tokens/s with \(p.microBatches) micro-batches in flight"),
                ("  one batch", "\(Format.number(p.oneBatchTokensPerSecond)) tokens/s with a single batch of \(p.batch): \(Format.number(p.bubbleFraction * 100))% of the time is bubble"),
            ])
        }
        if let comparison = r.engineComparison {
            out += "\nthe same configuration on other engines\n"
            out += aligned(comparison.map { ("  " + $0.engine, "\(Format.number($0.tokensPerSecond)) tokens/s, \(Format.seconds($0.stepSeconds)) per step") })
        }
        let s = r.solver
        out += "\nsolver: \(s.status) in \(Format.seconds(s.seconds)) (cost model \(Format.seconds(s.modelSeconds)); \(s.method); \(s.iterations) iterations over \(s.options) options, \(s.segments) batch segments, \(s.segmentsInProgram) left after bounding, \(s.variables) variables)\n"
        return out
    }

    /// Rows of cells in left-aligned columns two spaces apart (the last column unpadded).
    static func columns(_ rows: [[String]]) -> String {
        let count = rows.map(\.count).max() ?? 0
        let widths = (0..<count).map { c in rows.map { c < $0.count ? $0[c].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell.padding(toLength: widths[i] + 2, withPad: " ", startingAt: 0)
            }.joined()
        }.joined(separator: "\n") + "\n"
    }

    /// `ruler 81.5 (loss 1.5 points)`, `ruler 83.0 (full)`.
    static func shortQuality(_ q: QualityEstimate) -> String {
        let digits = q.kind == .accuracy ? 1 : 3
        let value = "\(q.metric) \(Format.fixed(q.value, decimals: digits))"
        if q.loss == 0 && q.value == q.fullValue { return value + " (full attention)" }
        let loss = QualityMetric.lossText(q.loss, unit: q.lossUnit)
        return value + " (loss \(loss)" + (q.basis == .extrapolated ? ", extrapolated" : "") + ")"
    }

    /// One row per non-zero term of `times` (the terms' names, indented), `text` given the term's
    /// seconds and its percent of the total: the plan's `--explain` and the run table share it.
    static func termRows(_ times: StepTimes, _ text: (_ seconds: Double, _ percent: Double) -> String) -> [(String, String)] {
        let total = max(times.totalSeconds, 1e-30)
        return times.named.filter { $0.seconds > 0 }.map { ("  " + $0.term.rawValue, text($0.seconds, 100 * $0.seconds / total)) }
    }

    static func aligned(_ rows: [(String, String)]) -> String {
        let width = (rows.map(\.0.count).max() ?? 0) + 2
        return rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + $0.1 }.joined(separator: "\n") + "\n"
    }
}
