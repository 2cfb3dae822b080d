import ArgumentParser
import Core
import Rendering
import Foundation
import Planning
import Profiles

/// `pigplan sweep`: the decision map. For one model, over GPUs (or systems) and contexts, the
/// best plan at each point and where MagicPIG's LSH sampling overtakes GPU-only decoding.
public struct SweepCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "For one model, plan every (GPU or system, context) point: the best plan, and where LSH sampling beats GPU-only decoding.")

    @Option(help: "Model profile (see `pigplan profiles list`).")
    public var model: String = "llama-3.1-8b"
    @Option(help: "GPUs or systems to sweep, comma-separated (default: every GPU profile, each with its default host).")
    public var hw: String?
    @Option(help: "Contexts to sweep, comma-separated (default: 4k,8k,16k,32k,64k,128k,256k,512k).")
    public var ctx: String = "4k,8k,16k,32k,64k,128k,256k,512k"
    @Option(parsing: .unconditional, help: "Tokens generated per sequence.")
    public var gen: Int = 128
    @OptionGroup(title: "Decisions") public var decisions: DecisionOptions
    @Option(help: "Output format: table, json or csv.")
    public var format: OutputFormat = .table
    @Option(help: "Also write the decision map as a self-contained SVG figure to this file.")
    public var svg: String?
    @Flag(help: "For one system (--hw) and context (--ctx): tokens/s against batch for each (K, L) of --kl, as in the MagicPIG paper's batch-size figure.")
    public var batchCurve = false
    @Flag(help: "For one system (--hw) and context (--ctx): tokens/s at the best batch against quality loss for every setting the model's quality profile measured (LSH, Quest, and the full-attention kinds), the Pareto front marked.")
    public var pareto = false
    @Option(help: "With --batch-curve: the (K, L) settings, comma-separated KxL (default 8x75,10x150,10x300).")
    public var kl: String = "8x75,10x150,10x300"
    @OptionGroup public var profiles: ProfilesDirectoryOptions

    public init() {}

    /// The swept contexts, parsed (each named in its error).
    func contexts() throws -> [Int] { try Parse.contextList(ctx, limit: 64) }

    /// The (K, L) settings of --kl, each range-checked.
    func settings() throws -> [LSHParameters] { try Parse.klList(kl) }

    public func validate() throws {
        _ = try contexts()
        _ = try settings()
        _ = try hardwareNames()
        if pareto {
            if batchCurve { throw ValidationError("--pareto and --batch-curve are two figures: pass one") }
            guard let names = try hardwareNames(), names.count == 1, try contexts().count == 1 else {
                throw ValidationError("--pareto is for one system and one context: pass --hw NAME --ctx N (e.g. --hw rtx4090 --ctx 96k)")
            }
        }
        if batchCurve {
            guard let hw, !hw.contains(",") else { throw ValidationError("--batch-curve plans one system: pass --hw NAME") }
            guard try contexts().count == 1 else { throw ValidationError("--batch-curve plans one context: pass --ctx, e.g. --ctx 96k") }
            if decisions.batch != nil || decisions.k != nil || decisions.l != nil {
                throw ValidationError("--batch-curve sweeps the batch over the (K, L) of --kl: drop --batch, --k and --l")
            }
        }
        try Parse.checkGenerated(gen)
        if let hw, hw.split(separator: ",").count > 64 { throw ValidationError("--hw: at most 64 systems per sweep") }
    }

    /// Runs the sweep (progress on standard error when it is a terminal).
    public func sweep(progress: (Int, Int) -> Void = { _, _ in }) throws -> Sweep {
        let store = try profiles.loadStore()
        let names = try hardwareNames() ?? store.names(of: .gpu)
        let profile = try store.model(model)
        // Every name resolves before the first plan, so a typo fails at once.
        let machines = try Dictionary(uniqueKeysWithValues: names.map { ($0, try store.resolveHardware(name: $0)) })
        let engines = Set(machines.values.map { decisions.engineName(on: $0) })
        let engine = engines.count == 1 ? engines.first! : "per system: " + engines.sorted().joined(separator: " or ")
        var sweep = try Sweep.run(model: model, engine: engine, hardware: names, contexts: try contexts(), request: { name, ctx in
            try decisions.request(store: store, hardware: machines[name]!, model: profile,
                                  workload: Workload(model: profile.shape, contextTokens: ctx, generatedTokens: gen),
                                  threads: nil, sockets: nil)
        }, progress: progress)
        // The GPU-only side's runtime, as the planner chooses it on the systems with a GPU.
        sweep.baselineEngine = decisions.baselineEngine ?? machines.values.first { $0.gpu != nil }.map {
            Planner.defaultBaselineEngine(store: store, hardware: $0, planEngine: decisions.engineName(on: $0))
        }
        return sweep
    }

    /// The systems of --hw, each once (nil: every GPU profile).
    func hardwareNames() throws -> [String]? {
        guard let hw else { return nil }
        let names = hw.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.contains(where: \.isEmpty) else { throw ValidationError("--hw '\(hw)': a name is empty; list GPUs or systems separated by commas, e.g. rtx4090,h200") }
        guard names.count <= 256 else { throw ValidationError("--hw: at most 256 systems per sweep (got \(names.count))") }
        for (i, n) in names.enumerated() where names[..<i].contains(n) {
            throw ValidationError("--hw \(n): given twice; list each system once")
        }
        return names
    }

    /// The speed/quality front at one system and context.
    public func front() throws -> ParetoFront {
        let store = try profiles.loadStore()
        let machine = try store.resolveHardware(name: hw ?? "")
        let profile = try store.model(model)
        let request = try decisions.request(store: store, hardware: machine, model: profile,
                                            workload: Workload(model: profile.shape, contextTokens: try contexts()[0], generatedTokens: gen),
                                            threads: nil, sockets: nil)
        return try ParetoFront.run(request)
    }

    /// Tokens/s against batch (powers of two up to --max-batch) for each (K, L) of --kl.
    public func curve() throws -> BatchCurve {
        let store = try profiles.loadStore()
        let name = hw ?? ""
        let machine = try store.resolveHardware(name: name)
        let profile = try store.model(model)
        let ctx = try contexts()[0]
        var batches: [Int] = []
        var b = 1
        while b <= decisions.maxBatch { batches.append(b); b *= 2 }
        let engine = decisions.engineName(on: machine)
        return try BatchCurve.run(hardware: name, model: model, contextTokens: ctx, engine: engine, settings: try settings(),
                                  batches: batches, request: { p, batch in
            var fixed = decisions
            fixed.batch = batch
            fixed.k = p.hashBitsPerTable
            fixed.l = p.tableCount
            return try fixed.request(store: store, hardware: machine, model: profile,
                                     workload: Workload(model: profile.shape, contextTokens: ctx, generatedTokens: gen),
                                     threads: nil, sockets: nil)
        })
    }

    public func run() throws {
        // Checked before the sweep (seconds to minutes), written after it.
        if let svg { try OutputFile.check(svg, option: "--svg") }
        if pareto {
            let f = try front()
            if let svg { try OutputFile.write(Self.svg(f), to: svg, option: "--svg") }
            switch format {
            case .json: print(try PlanRenderer.json(f), terminator: "")
            case .csv: print(Self.csv(f), terminator: "")
            case .table: print(Self.table(f), terminator: "")
            }
            return
        }
        if batchCurve {
            let c = try curve()
            if let svg { try OutputFile.write(Self.svg(c), to: svg, option: "--svg") }
            switch format {
            case .json: print(try PlanRenderer.json(c), terminator: "")
            case .csv:
                print((["k,l,batch,tokensPerSecond,stepSeconds"] + c.points.map {
                    "\($0.k),\($0.l),\($0.batch),\($0.tokensPerSecond.map { "\($0)" } ?? ""),\($0.stepSeconds.map { "\($0)" } ?? "")"
                }).joined(separator: "\n") + "\n", terminator: "")
            case .table: print(Self.table(c), terminator: "")
            }
            return
        }
        let tty = isatty(STDERR_FILENO) != 0
        let result = try sweep { done, total in
            if tty { FileHandle.standardError.write(Data("\rsweep: \(done)/\(total) points\(done == total ? "\n" : "")".utf8)) }
        }
        if let svg { try OutputFile.write(Self.svg(result), to: svg, option: "--svg") }
        switch format {
        case .json: print(try PlanRenderer.json(result), terminator: "")
        case .csv: print(Self.csv(result), terminator: "")
        case .table: print(Self.table(result), terminator: "")
        }
    }

    public static func table(_ s: Sweep) -> String {
        let contexts = Array(Set(s.points.map(\.contextTokens))).sorted()
        var out = "pigplan sweep: \(s.model), engine \(s.engine)\(s.baselineEngine.map { ", GPU-only on \($0)" } ?? ""); each cell: the winning plan and LSH's speedup over GPU-only\n"
        out += "(lsh = MagicPIG LSH wins, gpu = GPU-only wins, cpu = dense over a CPU KV cache, quest; '*' GPU-only does not fit)\n\n"
        var rows = [["hardware"] + contexts.map { "\(TokenCount($0))" } + ["LSH beats GPU-only from"]]
        for b in s.breakEven {
            var row = [b.hardware]
            for c in contexts {
                guard let p = s.points.first(where: { $0.hardware == b.hardware && $0.contextTokens == c }), let plan = p.plan else {
                    row.append("-"); continue
                }
                let shortNames: [PlanKind: String] = [.lsh: "lsh", .gpuOnly: "gpu", .cpuKVDense: "cpu", .quest: "quest"]
                let short = shortNames[plan] ?? plan.rawValue
                if let x = p.lshSpeedupOverGPUOnly { row.append("\(short) \(Format.number(x))x") }
                else { row.append(p.gpuOnlyTokensPerSecond == nil && p.lshTokensPerSecond != nil ? "\(short) *" : short) }
            }
            if b.fromFirstContext { row.append("every context swept") }
            else if let c = b.contextTokens { row.append("~\(TokenCount(max(1, Int((c / 1024).rounded())) * 1024))") }
            else if let c = b.gpuOnlyStopsFittingAt { row.append("\(TokenCount(c)) (GPU-only stops fitting)") }
            else if !s.points.contains(where: { $0.hardware == b.hardware && $0.plan != nil }) { row.append("nothing fits") }
            else { row.append("not in this range") }
            rows.append(row)
        }
        return out + PlanRenderer.columns(rows)
    }

    public static func table(_ c: BatchCurve) -> String {
        let batches = Array(Set(c.points.map(\.batch))).sorted()
        let out = "pigplan sweep --batch-curve: \(c.model) on \(c.hardware) at \(TokenCount(c.contextTokens)), engine \(c.engine); tokens/s by batch ('-': does not fit)\n\n"
        var rows = [["(K, L)"] + batches.map { "\($0)" }]
        for (k, l) in settings(of: c) {
            rows.append(["(\(k), \(l))"] + batches.map { b in
                c.points.first { $0.k == k && $0.l == l && $0.batch == b }?.tokensPerSecond.map { Format.number($0) } ?? "-"
            })
        }
        return out + PlanRenderer.columns(rows)
    }

    /// The (K, L) settings of a curve, in order of first appearance.
    static func settings(of c: BatchCurve) -> [(Int, Int)] {
        var seen: [(Int, Int)] = []
        for p in c.points where !seen.contains(where: { kl in kl == (p.k, p.l) }) { seen.append((p.k, p.l)) }
        return seen
    }

    public static func svg(_ c: BatchCurve) -> String {
        var plot = SVGPlot(title: "\(c.model) on \(c.hardware) at \(TokenCount(c.contextTokens)) (engine \(c.engine))",
                           xLabel: "batch", yLabel: "decode tokens/s")
        plot.xAxis = .log2
        plot.yAxis = .linear(fromZero: true)
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
        for (i, (k, l)) in settings(of: c).enumerated() {
            let points = c.points.filter { $0.k == k && $0.l == l }.compactMap { p in p.tokensPerSecond.map { (x: Double(p.batch), y: $0) } }
            plot.series.append(.init(name: "(K, L) = (\(k), \(l))", points: points, color: colors[i % colors.count], connected: true))
        }
        return plot.render()
    }

    public static func csv(_ s: Sweep) -> String {
        var lines = ["hardware,contextTokens,plan,tokensPerSecond,batch,lshTokensPerSecond,gpuOnlyTokensPerSecond,lshSpeedupOverGPUOnly"]
        func v(_ x: Double?) -> String { x.map { "\($0)" } ?? "" }
        for p in s.points {
            lines.append([p.hardware, "\(p.contextTokens)", p.plan?.rawValue ?? "", v(p.tokensPerSecond), p.batch.map(String.init) ?? "",
                          v(p.lshTokensPerSecond), v(p.gpuOnlyTokensPerSecond), v(p.lshSpeedupOverGPUOnly)].map(CSV.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Speedup of the LSH plan over GPU-only against context, one line per system, the break-even
    /// line at 1x, break-even points marked, and where GPU-only does not fit drawn above the rest.
    public static func svg(_ s: Sweep) -> String {
        var plot = SVGPlot(title: "\(s.model): speedup of the LSH plan over GPU-only against context (engine \(s.engine)\(s.baselineEngine.map { ", GPU-only on \($0)" } ?? ""))",
                           xLabel: "context (tokens)", yLabel: "LSH speedup over GPU-only (log scale)")
        plot.xAxis = .log2Tokens
        plot.yAxis = .log10
        plot.width = 720
        plot.height = 460
        let colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]
        let finite = s.points.compactMap(\.lshSpeedupOverGPUOnly)
        let top = max(2, (finite.max() ?? 1) * 1.6)
        let contexts = s.points.map { Double($0.contextTokens) }
        if let lo = contexts.min(), let hi = contexts.max() {
            plot.series.append(.init(name: "break-even (1x)", points: [(lo, 1), (hi, 1)], color: "#999999", connected: true))
        }
        for (i, b) in s.breakEven.enumerated() {
            let row = s.points.filter { $0.hardware == b.hardware }
            let points = row.compactMap { p in p.lshSpeedupOverGPUOnly.map { (x: Double(p.contextTokens), y: $0) } }
            plot.series.append(.init(name: b.hardware, points: points, color: colors[i % colors.count], connected: true))
            let noFit = row.filter { $0.gpuOnlyTokensPerSecond == nil && $0.lshTokensPerSecond != nil }.map { (x: Double($0.contextTokens), y: top) }
            if !noFit.isEmpty { plot.series.append(.init(name: "", points: noFit, color: colors[i % colors.count], connected: false)) }
        }
        let crossings = s.breakEven.compactMap { $0.contextTokens.map { (x: $0, y: 1.0) } }
        if !crossings.isEmpty { plot.series.append(.init(name: "break-even points", points: crossings, color: "#000000", connected: false)) }
        plot.notes = ["points along the top: GPU-only does not fit; only the LSH plan runs"]
        return plot.render()
    }
}

extension SweepCommand {
    public static func table(_ f: ParetoFront) -> String {
        var out = "pigplan sweep --pareto: \(f.model) on \(f.hardware) at \(TokenCount(f.contextTokens)), engine \(f.engine); quality: \(f.metric) loss against full attention\n"
        out += "('*' on the speed/quality front: nothing else is at least as fast with at most the same loss)\n\n"
        var rows = [["", "setting", "\(f.metric) loss", "value", "tokens/s", "batch", "keys sampled", "quality source"]]
        for p in f.points {
            let basis = p.quality.basis == .extrapolated ? " (extrapolated)" : (p.quality.basis == .interpolated ? " (interpolated)" : "")
            rows.append([p.onFront ? "*" : "", p.setting, QualityMetric.lossText(p.quality.loss, unit: f.lossUnit) + basis,
                         Format.fixed(p.quality.value, decimals: p.quality.kind == .accuracy ? 1 : 3),
                         p.tokensPerSecond.map { Format.number($0) } ?? "infeasible", p.batch.map(String.init) ?? "-",
                         p.sampledFraction.map { Format.fixed($0 * 100, decimals: 2) + "%" } ?? "-",
                         p.quality.source.components(separatedBy: "; ").first ?? ""])
        }
        return out + PlanRenderer.columns(rows)
    }

    public static func csv(_ f: ParetoFront) -> String {
        var lines = ["kind,setting,onFront,feasible,qualityMetric,qualityValue,qualityLoss,tokensPerSecond,batch,sampledFraction"]
        for p in f.points {
            lines.append([p.kind.rawValue, p.setting, "\(p.onFront)", "\(p.feasible)", f.metric, "\(p.quality.value)", "\(p.quality.loss)",
                          p.tokensPerSecond.map { "\($0)" } ?? "", p.batch.map(String.init) ?? "",
                          p.sampledFraction.map { "\($0)" } ?? ""].map(CSV.field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Tokens/s against quality loss, one colour per kind, the front joined by a line.
    public static func svg(_ f: ParetoFront) -> String {
        var plot = SVGPlot(title: "\(f.model) on \(f.hardware) at \(TokenCount(f.contextTokens)): decode speed against \(f.metric) loss",
                           xLabel: "\(f.metric) loss against full attention (\(f.lossUnit == "%" ? "%" : "points"))", yLabel: "decode tokens/s at the best batch")
        plot.xAxis = .linear(fromZero: true)
        plot.yAxis = .linear(fromZero: true)
        let colors: [PlanKind: String] = [.lsh: "#1f77b4", .quest: "#d62728", .gpuOnly: "#2ca02c", .cpuKVDense: "#9467bd"]
        let names: [PlanKind: String] = [.lsh: "MagicPIG LSH", .quest: "Quest", .gpuOnly: "GPU-only (full)", .cpuKVDense: "dense, KV in CPU memory (full)"]
        let front = f.points.filter(\.onFront).compactMap { p in p.tokensPerSecond.map { (x: p.quality.loss, y: $0) } }
        if front.count > 1 { plot.series.append(.init(name: "speed/quality front", points: front, color: "#333333", connected: true)) }
        for kind in [PlanKind.lsh, .quest, .gpuOnly, .cpuKVDense] {
            let pts = f.points.filter { $0.kind == kind && $0.feasible }
            guard !pts.isEmpty else { continue }
            let on = pts.filter(\.onFront).compactMap { p in p.tokensPerSecond.map { (x: p.quality.loss, y: $0) } }
            let off = pts.filter { !$0.onFront }.compactMap { p in p.tokensPerSecond.map { (x: p.quality.loss, y: $0) } }
            if !on.isEmpty { plot.series.append(.init(name: names[kind]!, points: on, color: colors[kind]!, connected: false)) }
            if !off.isEmpty { plot.series.append(.init(name: on.isEmpty ? names[kind]! + " (dominated)" : "", points: off, color: colors[kind]!, connected: false, hollow: true)) }
        }
        plot.notes = ["filled: on the front; hollow: dominated"]
        return plot.render()
    }
}
