import ArgumentParser
import Core
import Foundation
import Planning
import Profiles
import Validation

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
    @Option(help: "With --batch-curve: the (K, L) settings, comma-separated KxL (default 8x75,10x150,10x300).")
    public var kl: String = "8x75,10x150,10x300"
    @OptionGroup public var profiles: ProfilesDirectoryOptions

    public init() {}

    /// The swept contexts, parsed (each named in its error).
    func contexts() throws -> [Int] {
        let parts = ctx.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !parts.isEmpty else { throw ValidationError("--ctx: give contexts separated by commas, e.g. 8k,32k,128k") }
        guard parts.count <= 64 else { throw ValidationError("--ctx: at most 64 contexts per sweep") }
        return try parts.map { part in
            do { return try TokenCount.parse(part).value } catch { throw ValidationError("--ctx \(part): \(error)") }
        }
    }

    /// The (K, L) settings of --kl, each range-checked.
    func settings() throws -> [LSHParameters] {
        try kl.split(separator: ",").map { (item: Substring) throws -> LSHParameters in
            let parts = item.lowercased().split(separator: "x").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let k = parts[0], let l = parts[1] else {
                throw ValidationError("--kl \(item): write K x L as e.g. 10x150")
            }
            do { return try LSHParameters(checkingHashBits: k, tableCount: l, kName: "--kl K", lName: "--kl L") } catch {
                throw ValidationError("\(error)")
            }
        }
    }

    public func validate() throws {
        _ = try contexts()
        _ = try settings()
        if batchCurve {
            guard let hw, !hw.contains(",") else { throw ValidationError("--batch-curve plans one system: pass --hw NAME") }
            guard try contexts().count == 1 else { throw ValidationError("--batch-curve plans one context: pass --ctx, e.g. --ctx 96k") }
            if decisions.batch != nil || decisions.k != nil || decisions.l != nil {
                throw ValidationError("--batch-curve sweeps the batch over the (K, L) of --kl: drop --batch, --k and --l")
            }
        }
        if gen < 0 { throw ValidationError("--gen \(gen): the generated token count cannot be negative") }
        if let hw, hw.split(separator: ",").count > 64 { throw ValidationError("--hw: at most 64 systems per sweep") }
    }

    /// Runs the sweep (progress on standard error when it is a terminal).
    public func sweep(progress: (Int, Int) -> Void = { _, _ in }) throws -> Sweep {
        let store = try profiles.loadStore()
        let names = hw.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? store.names(of: .gpu)
        let profile = try store.model(model)
        // Every name resolves before the first plan, so a typo fails at once.
        let machines = try Dictionary(uniqueKeysWithValues: names.map { ($0, try store.resolveHardware(name: $0)) })
        let engines = Set(machines.values.map { decisions.engineName(on: $0) })
        let engine = engines.count == 1 ? engines.first! : "per system: " + engines.sorted().joined(separator: " or ")
        return try Sweep.run(model: model, engine: engine, hardware: names, contexts: try contexts(), request: { name, ctx in
            try decisions.request(store: store, hardware: machines[name]!, model: profile,
                                  workload: Workload(model: profile.shape, contextTokens: ctx, generatedTokens: gen),
                                  threads: nil, sockets: nil)
        }, progress: progress)
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
        var out = "pigplan sweep: \(s.model), engine \(s.engine); each cell: the winning plan and LSH's speedup over GPU-only\n"
        out += "(lsh = MagicPIG LSH wins, gpu = GPU-only wins, cpu = dense over a CPU KV cache, quest; '*' GPU-only does not fit)\n\n"
        var rows = [["hardware"] + contexts.map { "\(TokenCount($0))" } + ["LSH beats GPU-only from"]]
        for b in s.breakEven {
            var row = [b.hardware]
            for c in contexts {
                guard let p = s.points.first(where: { $0.hardware == b.hardware && $0.contextTokens == c }), let plan = p.plan else {
                    row.append("-"); continue
                }
                let short = ["lsh": "lsh", "gpu-only": "gpu", "cpu-kv-dense": "cpu", "quest": "quest"][plan] ?? plan
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
        var out = "pigplan sweep --batch-curve: \(c.model) on \(c.hardware) at \(TokenCount(c.contextTokens)), engine \(c.engine); tokens/s by batch ('-': does not fit)\n\n"
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
                           xLabel: "batch (log scale)", yLabel: "decode tokens/s (log scale)")
        plot.logScale = true
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
            lines.append([p.hardware, "\(p.contextTokens)", p.plan ?? "", v(p.tokensPerSecond), p.batch.map(String.init) ?? "",
                          v(p.lshTokensPerSecond), v(p.gpuOnlyTokensPerSecond), v(p.lshSpeedupOverGPUOnly)].joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Speedup of the LSH plan over GPU-only against context, one line per system, the break-even
    /// line at 1x, break-even points marked, and where GPU-only does not fit drawn above the rest.
    public static func svg(_ s: Sweep) -> String {
        var plot = SVGPlot(title: "\(s.model): LSH plan vs GPU-only (engine \(s.engine))",
                           xLabel: "context (tokens, log scale)", yLabel: "LSH speedup over GPU-only (log scale)")
        plot.logScale = true
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
