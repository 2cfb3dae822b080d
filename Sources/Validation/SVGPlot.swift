import Foundation

/// A minimal SVG chart writer for validation reports: scatter series, line series, an optional
/// y = x reference line, linear or log axes with ticks and labels. Pure text, no dependencies.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        public var connected: Bool
        public init(name: String, points: [(x: Double, y: Double)], color: String, connected: Bool) {
            self.name = name
            self.points = points
            self.color = color
            self.connected = connected
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series] = []
    public var diagonal = false
    /// Lines of text under the title, inside the plot's top-left corner.
    public var notes: [String] = []
    public var logScale = false
    public var width = 560.0
    public var height = 420.0

    public init(title: String, xLabel: String, yLabel: String) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
    }

    public func render() -> String {
        let margin = (left: 70.0, right: 150.0, top: 40.0, bottom: 55.0)
        let plotW = width - margin.left - margin.right, plotH = height - margin.top - margin.bottom
        let all = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite && (!logScale || ($0.x > 0 && $0.y > 0)) }
        func t(_ v: Double) -> Double { logScale ? log10(v) : v }
        var xs = all.map { t($0.x) }, ys = all.map { t($0.y) }
        if diagonal { xs += ys; ys = xs }
        var (x0, x1) = (xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = (ys.min() ?? 0, ys.max() ?? 1)
        if !logScale { x0 = min(x0, 0); y0 = min(y0, 0) }
        if x1 <= x0 { x1 = x0 + 1 }
        if y1 <= y0 { y1 = y0 + 1 }
        let padX = (x1 - x0) * 0.05, padY = (y1 - y0) * 0.05
        x1 += padX; y1 += padY
        if logScale { x0 -= padX; y0 -= padY }
        func px(_ v: Double) -> Double { margin.left + (t(v) - x0) / (x1 - x0) * plotW }
        func py(_ v: Double) -> Double { margin.top + plotH - (t(v) - y0) / (y1 - y0) * plotH }
        func f(_ v: Double) -> String { "\((v * 10).rounded() / 10)" }
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        out += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        out += "<text x=\"\(f(margin.left + plotW / 2))\" y=\"20\" text-anchor=\"middle\" font-size=\"13\">\(escape(title))</text>\n"
        out += "<rect x=\"\(f(margin.left))\" y=\"\(f(margin.top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"none\" stroke=\"#444\"/>\n"
        for i in 0...4 {
            let xv = x0 + (x1 - x0) * Double(i) / 4, yv = y0 + (y1 - y0) * Double(i) / 4
            let xr = logScale ? pow(10, xv) : xv, yr = logScale ? pow(10, yv) : yv
            let gx = margin.left + plotW * Double(i) / 4, gy = margin.top + plotH - plotH * Double(i) / 4
            out += "<line x1=\"\(f(gx))\" y1=\"\(f(margin.top))\" x2=\"\(f(gx))\" y2=\"\(f(margin.top + plotH))\" stroke=\"#eee\"/>\n"
            out += "<line x1=\"\(f(margin.left))\" y1=\"\(f(gy))\" x2=\"\(f(margin.left + plotW))\" y2=\"\(f(gy))\" stroke=\"#eee\"/>\n"
            out += "<text x=\"\(f(gx))\" y=\"\(f(margin.top + plotH + 15))\" text-anchor=\"middle\">\(tick(xr))</text>\n"
            out += "<text x=\"\(f(margin.left - 6))\" y=\"\(f(gy + 4))\" text-anchor=\"end\">\(tick(yr))</text>\n"
        }
        out += "<text x=\"\(f(margin.left + plotW / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        out += "<text transform=\"translate(16,\(f(margin.top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"
        for (i, note) in notes.enumerated() {
            out += "<text x=\"\(f(margin.left + 5))\" y=\"\(f(margin.top + 14 + 14 * Double(i)))\" fill=\"#555\">\(escape(note))</text>\n"
        }
        if diagonal {
            let lo = logScale ? pow(10, max(x0, y0)) : max(x0, y0), hi = logScale ? pow(10, min(x1, y1)) : min(x1, y1)
            out += "<line x1=\"\(f(px(lo)))\" y1=\"\(f(py(lo)))\" x2=\"\(f(px(hi)))\" y2=\"\(f(py(hi)))\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n"
        }
        for (i, s) in series.enumerated() {
            let pts = s.points.filter { $0.x.isFinite && $0.y.isFinite && (!logScale || ($0.x > 0 && $0.y > 0)) }
            if s.connected && pts.count > 1 {
                let path = pts.sorted { $0.x < $1.x }.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
                out += "<polyline points=\"\(path)\" fill=\"none\" stroke=\"\(s.color)\" stroke-width=\"1.5\"/>\n"
            }
            for p in pts {
                out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(s.color)\"/>\n"
            }
            guard !s.name.isEmpty else { continue }
            let ly = margin.top + 14 + Double(series.prefix(i).filter { !$0.name.isEmpty }.count) * 16
            out += "<circle cx=\"\(f(width - margin.right + 14))\" cy=\"\(f(ly - 4))\" r=\"4\" fill=\"\(s.color)\"/>\n"
            out += "<text x=\"\(f(width - margin.right + 24))\" y=\"\(f(ly))\">\(escape(s.name))</text>\n"
        }
        return out + "</svg>\n"
    }

    func tick(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0" }
        if a >= 100 { return "\(Int(v.rounded()))" }
        if a >= 1 { return "\((v * 10).rounded() / 10)" }
        if a >= 0.01 { return "\((v * 1000).rounded() / 1000)" }
        return "\((v * 1e5).rounded() / 1e5)"
    }

    func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
