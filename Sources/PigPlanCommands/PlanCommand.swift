import ArgumentParser
import Foundation

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

    public init() {}

    public func run() throws {
        let report = try Self.report(for: try options.request())
        print(try PlanRenderer.render(report, format: format, explain: explain), terminator: "")
    }
}

/// The `pigplan` command: plans by default; other work in subcommands.
public struct PigPlanCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "pigplan",
        abstract: "Plan and validate LLM decoding with LSH-sampled attention (MagicPIG).",
        discussion: "Example: pigplan --hw rtx4090 --ctx 96k",
        subcommands: [PlanCommand.self, ExportCommand.self, SweepCommand.self, RunCommand.self, CalibrateCommand.self, ValidateCommand.self, ProfilesCommand.self],
        defaultSubcommand: PlanCommand.self)
    public init() {}
}
