import Foundation
import Rendering
import Testing

/// The figures' axes: ticks on whole multiples of a 1-2-5 step (zero among them when the range
/// spans it), and legend names escaped.
@Suite struct RenderingTests {
    /// The tick labels of the y axis (text anchored at the end, left of the plot).
    func yTicks(_ svg: String) -> [String] {
        svg.split(separator: "\n").filter { $0.contains("text-anchor=\"end\"") }.compactMap { line in
            guard let a = line.lastIndex(of: "<"), let b = line[..<a].lastIndex(of: ">") else { return nil }
            return String(line[line.index(after: b)..<a])
        }
    }

    @Test func linearTicksAreMultiplesOfTheirStep() {
        var plot = SVGPlot(title: "t", xLabel: "x", yLabel: "y")
        plot.xAxis = .log10
        plot.yAxis = .linear(fromZero: true)
        plot.series = [.init(name: "a & <b>", points: [(0.5, -2), (60, 44)], color: "#123456", connected: false)]
        let svg = plot.render()
        #expect(yTicks(svg) == ["-10", "0", "10", "20", "30", "40", "50"], "\(yTicks(svg))")
        #expect(svg.contains("a &amp; &lt;b&gt;") && !svg.contains("a & <b>"))
    }
}
