import ArgumentParser
import Foundation
import Planning

/// `pigplan [plan]`: choose batch size, (K, L) and placement, predict and compare.
public struct PlanCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Choose batch size, (K, L) and placement for LSH-sampled decoding, and predict it.")

    @OptionGroup public var options: PlanOptions
    @Option(help: "Output format: table, json or csv.")
    public var format: OutputFormat = .table
    @Flag(help: "Show each term of the step time and of memory.")
    public var explain = false
    @Option(parsing: .unconditional, help: "Also estimate pipeline parallelism over this many such nodes, on paper (layers split across nodes, InfiniBand between them).")
    public var nodes: Int?

    public init() {}

    public func validate() throws {
        if let nodes, !(2...64).contains(nodes) { throw ValidationError("--nodes \(nodes): give 2 to 64 nodes (one node needs no pipeline)") }
    }

    public func run() throws {
        let request = try options.request()
        var report = try Self.report(for: request)
        if let nodes {
            if nodes > request.workload.model.layerCount {
                throw ValidationError("--nodes \(nodes): more nodes than the model's \(request.workload.model.layerCount) layers; pass at most \(request.workload.model.layerCount)")
            }
            do { report.pipeline = try Planner.pipeline(request, nodes: nodes) } catch PlanError.infeasible(let i) {
                throw PlanError.invalid("--nodes \(nodes): a stage of \(nodes) nodes has no feasible plan: \(i.commandLineMessage)")
            }
        }
        print(try PlanRenderer.render(report, format: format, explain: explain), terminator: "")
    }
}

/// The `pigplan` command: plans by default; other work in subcommands.
public struct PigPlanCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pigplan",
        abstract: "Plan and validate LLM decoding with LSH-sampled attention (MagicPIG).",
        discussion: "Example: pigplan --hw rtx4090 --ctx 96k",
        subcommands: [PlanCommand.self, ExportCommand.self, SweepCommand.self, RunCommand.self, QualityCommand.self, CalibrateCommand.self, ValidateCommand.self, ProfilesCommand.self],
        defaultSubcommand: PlanCommand.self)
    public init() {}
}
