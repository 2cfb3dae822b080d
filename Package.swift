// swift-tools-version: 6.1
import PackageDescription

// Layers (left uses right; Tests/CoreTests/LayeringTests checks the rules):
//   pigplan -> PigPlanCommands (parse, call, render) -> { Planning, Validation, Rendering }
//   Planning (requests, planner, baselines, reports) -> { Optimizer, Profiles } -> CostModel -> Core
//     (planning never reaches the measuring side: no Validation, Executor or CKernels)
//   Validation (calibration fits, the validator, plan checks) -> { Optimizer, Executor, Rendering }
//   Optimizer -> Solver -> CGLPK (Debian libglpk-dev)
//   Executor -> { CKernels, Core }   (Executor never imports CostModel)
//   Rendering (SVG figures) -> Core
let package = Package(
    name: "pigplan",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "pigplan", targets: ["pigplan"]),
        .library(name: "PigPlanKit", targets: ["PigPlanCommands"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .executableTarget(name: "pigplan", dependencies: ["PigPlanCommands"]),
        .target(
            name: "PigPlanCommands",
            dependencies: [
                "Core", "CostModel", "Optimizer", "Planning", "Profiles", "Executor", "Validation", "Rendering",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .target(name: "Planning", dependencies: ["Core", "CostModel", "Optimizer", "Profiles", "Solver"]),
        .target(name: "Rendering", dependencies: ["Core"]),
        .target(name: "Core"),
        .target(name: "CostModel", dependencies: ["Core"]),
        .systemLibrary(name: "CGLPK", path: "Sources/CGLPK", providers: [.apt(["libglpk-dev"])]),
        .target(name: "Solver", dependencies: ["CGLPK"]),
        .target(name: "Optimizer", dependencies: ["Core", "CostModel", "Solver"]),
        // The profile files at the package root (Profiles/), compiled into the binary by the
        // EmbedProfiles plugin so that a copied executable needs no resource folder beside it.
        .executableTarget(name: "profile-embedder", path: "Sources/profile-embedder"),
        .plugin(name: "EmbedProfiles", capability: .buildTool(), dependencies: ["profile-embedder"]),
        .target(name: "Profiles", dependencies: ["Core"], plugins: ["EmbedProfiles"]),
        // The kernels at -O2 in every configuration: SwiftPM builds C at -O0 in debug, where the
        // intrinsics run 10-30x slower and `swift test` on real models would crawl. pigplan is an
        // application (the root package), so unsafe flags cost nothing here.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "Executor", dependencies: ["Core", "CKernels"]),
        .target(name: "Validation", dependencies: ["Core", "CostModel", "Optimizer", "Executor", "Rendering"]),
        .executableTarget(name: "planner-bench", dependencies: ["PigPlanCommands", "Planning", "Optimizer", "Profiles", "CostModel", "Core"],
                          path: "Benchmarks/PlannerBench"),
        .target(name: "Fixtures", dependencies: ["Core", "CostModel"], path: "Tests/Fixtures"),
        // Kernel-vs-bandwidth and LSH-vs-dense ratios (not a test): swift build -c release --product executor-bench
        .executableTarget(name: "executor-bench", dependencies: ["Executor", "Core"], path: "Benchmarks/ExecutorBench"),
        .testTarget(name: "CoreTests", dependencies: ["Core"]),
        .testTarget(name: "CostModelTests", dependencies: ["CostModel", "Profiles", "Fixtures"]),
        .testTarget(name: "SolverTests", dependencies: ["Solver"]),
        .testTarget(name: "OptimizerTests", dependencies: ["Optimizer", "Solver", "Profiles", "Fixtures"]),
        .testTarget(name: "ProfilesTests", dependencies: ["Profiles"], exclude: ["h200-host-kernels.json"]),
        // Golden/ holds reference outputs read by path (scripts/reference_smollm2.py writes them).
        .testTarget(name: "ExecutorTests", dependencies: ["Executor"], exclude: ["Golden"]),
        // Corpus/ holds inputs that once failed, read by path (CorpusTests).
        .testTarget(name: "CommandsTests", dependencies: ["PigPlanCommands", "Planning", "Executor", "Validation", "Rendering"], exclude: ["Corpus", "EngineFlags"]),
        .testTarget(name: "ValidationTests", dependencies: ["Validation", "CostModel", "Core", "Executor"]),
    ],
    swiftLanguageModes: [.v6]
)
