import Foundation
import Testing

/// The layering rule of Package.swift, checked on its target graph: planning never reaches the
/// measuring side (Validation, Executor, CKernels), the executor never reaches the cost model,
/// and each source file imports only modules its target may use.
@Suite struct LayeringTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Target name -> direct dependencies (target names; products by their package), read from
    /// the `.target(name:dependencies:)` declarations of Package.swift.
    static func graph() throws -> [String: [String]] {
        let text = try String(contentsOf: root.appendingPathComponent("Package.swift"), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: #"\.(?:target|executableTarget|testTarget)\(\s*name:\s*"([^"]+)"(?:,\s*dependencies:\s*\[([^\]]*)\])?"#)
        var graph: [String: [String]] = [:]
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(m.range(at: 1), in: text)!])
            let deps = m.range(at: 2).location == NSNotFound ? "" : String(text[Range(m.range(at: 2), in: text)!])
            let names = try NSRegularExpression(pattern: #""([^"]+)""#).matches(in: deps, range: NSRange(deps.startIndex..., in: deps))
                .map { String(deps[Range($0.range(at: 1), in: deps)!]) }
            graph[name] = names
        }
        return graph
    }

    static func reach(_ target: String, _ graph: [String: [String]]) -> Set<String> {
        var seen = Set<String>(), stack = graph[target] ?? []
        while let next = stack.popLast() {
            if seen.insert(next).inserted { stack += graph[next] ?? [] }
        }
        return seen
    }

    @Test func planningNeverReachesTheMeasuringSide() throws {
        let g = try Self.graph()
        #expect(g["Planning"] != nil, "Package.swift declares Planning")
        let planning = Self.reach("Planning", g)
        for measuring in ["Validation", "Executor", "CKernels"] {
            #expect(!planning.contains(measuring), "Planning reaches \(measuring) through \(g["Planning"] ?? [])")
        }
        #expect(!Self.reach("Executor", g).contains("CostModel"), "the executor never imports the cost model")
        #expect(!Self.reach("Rendering", g).contains("Planning"))
    }

    /// Every `import X` of a source file names a module its target depends on, directly or
    /// through the targets it uses (Foundation, Glibc and the like aside).
    @Test func importsMatchTheDeclaredDependencies() throws {
        let g = try Self.graph()
        let sources = Self.root.appendingPathComponent("Sources")
        let system: Set<String> = ["Foundation", "Glibc", "Musl", "Darwin", "WinSDK", "Dispatch", "PackagePlugin", "ArgumentParser", "Synchronization"]
        for target in try FileManager.default.contentsOfDirectory(atPath: sources.path) where g[target] != nil {
            let allowed = Self.reach(target, g).union([target])
            guard let walker = FileManager.default.enumerator(atPath: sources.appendingPathComponent(target).path) else { continue }
            for case let file as String in walker where file.hasSuffix(".swift") {
                let text = try String(contentsOf: sources.appendingPathComponent(target).appendingPathComponent(file), encoding: .utf8)
                for line in text.split(separator: "\n") where line.hasPrefix("import ") || line.hasPrefix("@testable import ") {
                    let module = String(line.split(separator: " ").last!)
                    if system.contains(module) { continue }
                    #expect(allowed.contains(module), "Sources/\(target)/\(file) imports \(module), which \(target) does not declare")
                }
            }
        }
    }
}
