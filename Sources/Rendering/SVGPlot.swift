import Core
import Foundation

/// The one SVG chart writer every figure uses (decision map, batch curves, validation, quality
/// and the speed/quality front): scatter and line series, an optional y = x line, axes that are
/// linear (1-2-5 ticks), integer (whole-number ticks), log10 (decades) or powers of two of
/// tokens (`4k 8k 16k`), and a legend sized to its names. Pure text, no dependencies.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        public var connected: Bool
        /// Points drawn hollow (e.g. dominated settings beside a Pareto front).
        public var hollow: Bool
        public init(name: String, points: [(x: Double, y: Double)], color: String, connected: Bool, hollow: Bool = false) {
            self.name = name
            self.points = points
            self.color = color
            self.connected = connected
            self.hollow = hollow
        }
    }

    /// How an axis maps values and where its ticks go.
    public enum Axis: Sendable, Hashable {
        /// Ticks at 1, 2 or 5 times a power of ten; the range includes zero when `fromZero`.
        case linear(fromZero: Bool)
        /// Whole-number ticks (batch sizes).
        case integer
        /// Decades (with 2 and 5 between when the range spans less than three).
        case log10
        /// Powers of two labelled as token counts (`4k`, `8k`, `1M`).
        case log2Tokens
        /// Powers of two labelled as integers (batch sizes swept by doubling).
        case log2

        var isLog: Bool { self == .log10 || self == .log2Tokens || self == .log2 }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    public var diagonal = false
    /// Lines of text under the title, inside the plot's top-left corner.
    public var notes: [String] = []
    public var xAxis: Axis = .linear(fromZero: true)
    public var yAxis: Axis = .linear(fromZero: true)
    public var width = 640.0
    public var height = 440.0

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    /// Both axes log10 (predicted against measured).
    public var logScale: Bool {
        get { xAxis == .log10 && yAxis == .log10 }
        set { xAxis = newValue ? .log10 : .linear(fromZero: true); yAxis = newValue ? .log10 : .linear(fromZero: true) }
    }
    /// The x axis log10, the y axis as it is.
    public var logX: Bool {
        get { xAxis == .log10 }
        set { xAxis = newValue ? .log10 : .linear(fromZero: true) }
    }

    /// Approximate width of `text` at `size` px in a sans-serif face (for layout only).
    static func textWidth(_ text: String, size: Double = 11) -> Double { Double(text.count) * size * 0.64 }

    public func render() -> String {
        let legendNames = series.map(\.name).filter { !$0.isEmpty }
        let legendWidth = legendNames.isEmpty ? 0 : min(300, (legendNames.map { Self.textWidth($0) }.max() ?? 0) + 34)
        let margin = (left: 64.0, right: 16.0 + legendWidth, top: 44.0, bottom: 52.0)
        let plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom
        func usable(_ p: (x: Double, y: Double)) -> Bool {
            p.x.isFinite && p.y.isFinite && (!xAxis.isLog || p.x > 0) && (!yAxis.isLog || p.y > 0)
        }
        let all = series.flatMap(\.points).filter(usable)
        var xs = all.map(\.x), ys = all.map(\.y)
        if diagonal { xs += ys; ys = xs }
        let xScale = Scale(axis: xAxis, values: xs), yScale = Scale(axis: yAxis, values: ys)
        func px(_ v: Double) -> Double { margin.left + xScale.position(v) * plotW }
        func py(_ v: Double) -> Double { margin.top + plotH - yScale.position(v) * plotH }
        func f(_ v: Double) -> String { "\((v * 10).rounded() / 10)" }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        // The title shrinks to fit the figure's width.
        let titleSize = min(14, max(9, (width - 20) / max(1, Double(title.count) * 0.58)))
        out += "<text x=\"\(f(width / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"\(f(titleSize))\">\(escape(title))</text>\n"
        out += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
        for t in xScale.ticks() {
            let gx = px(t.value)
            out += "<line x1=\"\(f(gx))\" y1=\"\(f(margin.top))\" x2=\"\(f(gx))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#e6e6e6\"/>\n"
            out += "<text x=\"\(f(gx))\" y=\"\(f(margin.top + plotH + 15))\" text-anchor=\"middle\">\(escape(t.label))</text>\n"
        }
        for t in yScale.ticks() {
            let gy = py(t.value)
            out += "<line x1=\"\(f(margin.left))\" y1=\"\(f(gy))\" x2=\"\(f(margin.left + plotW))\" y2=\"\(f(gy))\" stroke=\"#e6e6e6\"/>\n"
            out += "<text x=\"\(f(margin.left - 6))\" y=\"\(f(gy + 4))\" text-anchor=\"end\">\(escape(t.label))</text>\n"
        }
        out += "<text x=\"\(f(margin.left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16,\(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, note) in notes.enumerated() {
            out += "<text x=\"\(f(margin.left + 6))\" y=\"\(f(margin.top + 15 + 14 * Double(i)))\" fill=\"#555\">\(escape(note))</text>\n"
        }
        if diagonal, let lo = [xScale.low, yScale.low].max(), let hi = [xScale.high, yScale.high].min(), hi > lo {
            out += "<line x1=\"\(f(px(lo)))\" y1=\"\(f(py(lo)))\" x2=\"\(f(px(hi)))\" y2=\"\(f(py(hi)))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        var legendRow = 0
        for s in series {
            let pts = s.points.filter(usable)
            if s.connected && pts.count > 1 {
                let path = pts.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(escape(s.color))\" stroke-width=\"1.5\"/>\n"
            }
            let fill = s.hollow ? "fill=\"white\" stroke=\"\(escape(s.color))\"" : "fill=\"\(escape(s.color))\""
            for p in pts {
                out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" \(fill)/>\n"
            }
            guard !s.name.isEmpty else { continue }
            let ly = margin.top + 12 + Double(legendRow) * 16
            legendRow += 1
            let lx = width - margin.right + 12
            if s.connected {
                out += "<line x1=\"\(f(lx - 2))\" y1=\"\(f(ly - 4))\" x2=\"\(f(lx + 12))\" y2=\"\(f(ly - 4))\" stroke=\"\(escape(s.color))\" stroke-width=\"1.5\"/>\n"
            }
            out += "<circle cx=\"\(f(lx + 5))\" cy=\"\(f(ly - 4))\" r=\"3.5\" \(fill)/>\n"
            // Names longer than the legend's width are cut with an ellipsis (the width is capped).
            let room = Int((legendWidth - 34) / (11 * 0.64))
            let name = s.name.count > room ? String(s.name.prefix(max(1, room - 1))) + "…" : s.name
            out += "<text x=\"\(f(lx + 18))\" y=\"\(f(ly))\">\(escape(name))</text>\n"
        }
        return out + "</svg>\n"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&apos;")
    }
}

/// One axis's range (padded to whole ticks) and its ticks.
struct Scale {
    let axis: SVGPlot.Axis
    /// The range in data units.
    let low: Double
    let high: Double
    /// Between ticks on linear and integer axes (the range is whole steps of it, so every tick
    /// is a multiple of it); unused on log axes.
    let step: Double

    init(axis: SVGPlot.Axis, values: [Double]) {
        self.axis = axis
        var lo = values.min() ?? (axis.isLog ? 1 : 0), hi = values.max() ?? (axis.isLog ? 10 : 1)
        var step = 1.0
        switch axis {
        case .linear(let fromZero):
            if fromZero { lo = min(lo, 0); hi = max(hi, 0) }
            if hi <= lo { hi = lo + 1 }
            step = Scale.niceStep((hi - lo) / 5)
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        case .integer:
            lo = min(lo, 0).rounded(.down)
            hi = max(hi.rounded(.up), lo + 1)
            step = max(1, Scale.niceStep((hi - lo) / 6).rounded())
            lo = (lo / step).rounded(.down) * step
            hi = (hi / step).rounded(.up) * step
        case .log10:
            if hi <= lo { hi = lo * 10 }
            lo = pow(10, log10(lo).rounded(.down))
            hi = pow(10, log10(hi).rounded(.up))
        case .log2Tokens, .log2:
            if hi <= lo { hi = lo * 2 }
            lo = pow(2, log2(lo).rounded(.down))
            hi = pow(2, log2(hi).rounded(.up))
        }
        low = lo
        high = hi
        self.step = step
    }

    /// 1, 2 or 5 times a power of ten, the first at least `raw`.
    static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let power = pow(10, log10(raw).rounded(.down))
        for m in [1.0, 2, 5, 10] where m * power >= raw * (1 - 1e-9) { return m * power }
        return 10 * power
    }

    /// 0 at `low`, 1 at `high`.
    func position(_ v: Double) -> Double {
        switch axis {
        case .log10: return (log10(v) - log10(low)) / (log10(high) - log10(low))
        case .log2Tokens, .log2: return (log2(v) - log2(low)) / (log2(high) - log2(low))
        default: return (v - low) / (high - low)
        }
    }

    func ticks() -> [(value: Double, label: String)] {
        switch axis {
        case .linear:
            return stride(from: low, through: high + step / 2, by: step).map { v in
                let x = abs(v) < step * 1e-9 ? 0 : v
                return (x, Scale.label(x, step: step))
            }
        case .integer:
            return stride(from: low, through: high + 0.5, by: step).map { ($0, "\(Int($0))") }
        case .log10:
            let a = Int(log10(low).rounded()), b = Int(log10(high).rounded())
            var out: [(Double, String)] = []
            for e in a...max(a, b) {
                let base = pow(10, Double(e))
                out.append((base, Scale.label(base, step: base)))
                if b - a < 3 && e < b {
                    for m in [2.0, 5.0] { out.append((m * base, Scale.label(m * base, step: m * base))) }
                }
            }
            return out
        case .log2Tokens, .log2:
            let a = Int(log2(low).rounded()), b = Int(log2(high).rounded())
            // At most about eight labels: every other power when the range is wide.
            let every = max(1, (b - a + 7) / 8)
            return stride(from: a, through: b, by: every).map { e in
                let v = pow(2, Double(e))
                return (v, axis == .log2 ? "\(Int(v))" : TokenCount(max(1, Int(v))).description)
            }
        }
    }

    /// A tick label with just the decimals `step` needs ("0.25", "2", "1500", "1e+06").
    static func label(_ v: Double, step: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 1e6 || abs(v) < 1e-4 { return String(format: "%.0e", v) }
        let decimals = max(0, -Int(log10(step).rounded(.down)))
        return String(format: "%.\(decimals)f", v)
    }
}
