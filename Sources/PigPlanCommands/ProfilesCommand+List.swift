import ArgumentParser
import Core
import Foundation
import Profiles

extension ProfilesCommand {
    /// `pigplan profiles list`: one line per profile.
    public struct List: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "List every profile with a one-line summary.")

        @OptionGroup public var options: ProfilesDirectoryOptions

        public init() {}

        public func run() throws {
            // Broken files are rows of the listing, not warnings.
            print(Self.table(try options.loadStore(warnings: false)), terminator: "")
        }

        /// The listing: a header and one aligned row (kind, name, summary) per profile; a profile
        /// skipped as broken reads `BROKEN: ` and its error, after the others of its kind (a file
        /// in no profile folder: kind `-`, named by its path).
        public static func table(_ store: ProfileStore) -> String {
            var rows: [[String]] = [["KIND", "NAME", "SUMMARY"]]
            for kind in ProfileKind.allCases {
                for name in store.names(of: kind) {
                    rows.append([kind.rawValue, name, summary(of: kind, named: name, in: store)])
                }
                for broken in store.brokenProfiles where broken.kind == kind {
                    rows.append([kind.rawValue, broken.name, "BROKEN: \(broken.error)"])
                }
            }
            for broken in store.brokenProfiles where broken.kind == nil {
                rows.append(["-", broken.name, "BROKEN: \(broken.error)"])
            }
            return PlanRenderer.columns(rows)
        }

        /// E.g. `NVIDIA H200 SXM, 141 GB, 4.80 TB/s, 989 TFLOP/s bf16, PCIe 5.0 x16`.
        public static func summary(of kind: ProfileKind, named name: String, in store: ProfileStore) -> String {
            switch kind {
            case .gpu:
                guard let g = try? store.gpu(name) else { return "" }
                return "\(g.displayName), \(Format.bytes(g.memoryBytes)), \(Format.bytes(g.memoryBandwidthBytesPerSecond))/s, "
                    + "\(Format.number(g.denseBF16FlopsPerSecond / 1e12)) TFLOP/s bf16, PCIe \(g.link.generation).0 x\(g.link.lanes)"
            case .cpu:
                guard let c = try? store.cpu(name) else { return "" }
                return "\(c.displayName), \(c.coresPerSocket) cores x up to \(c.maxSockets) sockets, "
                    + "\(Format.bytes(c.dramBandwidthBytesPerSecondPerSocket))/s per socket, \(c.vectorISA.joined(separator: " "))"
            case .system:
                guard let s = try? store.system(name) else { return "" }
                let threads = s.threads.map { ", \($0) threads" } ?? ""
                let memory = s.cpuMemoryBytes.map { ", \(Format.bytes($0)) host memory" } ?? ""
                let gpus = s.gpuCount ?? 1, link = s.interconnect.map { " (\($0.kind.rawValue) \($0.generation))" } ?? ""
                return "\(gpus > 1 ? "\(gpus) x " : "")\(s.gpu ?? "no GPU")\(link) + \(s.sockets) x \(s.cpu)\(threads)\(memory)"
                    + (s.calibration != nil ? ", calibrated" : "")
            case .model:
                guard let m = try? store.model(name) else { return "" }
                let shape = m.shape
                return "\(shape.layerCount) layers, \(shape.queryHeadCount)/\(shape.kvHeadCount) heads x \(shape.headDim), "
                    + "\(Format.bytes(shape.weightBytes)) weights, \(Format.bytes(shape.kvBytesPerToken)) KV per token"
            case .engine:
                guard let e = try? store.engine(name) else { return "" }
                return e.displayName
            case .quality:
                guard let q = try? store.quality(name) else { return "" }
                return q.metrics.map { m in
                    let contexts = Set(m.settings.flatMap { $0.values.compactMap(\.contextTokens) }).sorted()
                    let range = contexts.isEmpty ? "" : " \(TokenCount(contexts.first!))-\(TokenCount(contexts.last!))"
                    return "\(m.name)\(range) (\(m.settings.count) settings)"
                }.joined(separator: ", ")
            }
        }
    }
}
