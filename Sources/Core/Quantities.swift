/// Parsers for human quantities typed on the command line. SI inside: bytes and seconds.
public enum Quantity {
    public struct ParseError: Error, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// `24GB`, `24 GB`, `24G` (10^9), `24GiB` (2^30), `512MB`, `1.5TB`, plain bytes.
    public static func bytes(_ text: String) throws(ParseError) -> Double {
        let units: [(String, Double)] = [
            ("tib", 1_099_511_627_776), ("gib", 1_073_741_824), ("mib", 1_048_576), ("kib", 1024),
            ("tb", 1e12), ("gb", 1e9), ("mb", 1e6), ("kb", 1e3),
            ("t", 1e12), ("g", 1e9), ("m", 1e6), ("k", 1e3), ("b", 1),
        ]
        return try parse(text, units: units, what: "a memory size", example: "24GB, 80GiB or 512MB")
    }

    /// `100ms`, `0.1s`, `250us`, `2` (seconds).
    public static func seconds(_ text: String) throws(ParseError) -> Double {
        let units: [(String, Double)] = [("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("s", 1)]
        return try parse(text, units: units, what: "a duration", example: "100ms, 0.25s or 500us")
    }

    private static func parse(
        _ text: String, units: [(String, Double)], what: String, example: String
    ) throws(ParseError) -> Double {
        let lower = text.trimmingWhitespace().lowercased()
        var scale = 1.0
        var number = lower
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            scale = factor
            number = String(lower.dropLast(suffix.count)).trimmingWhitespace()
            break
        }
        guard let x = Double(number), x.isFinite else {
            throw ParseError(description: "'\(text)' is not \(what); write e.g. \(example)")
        }
        guard x > 0 else {
            throw ParseError(description: "'\(text)' must be greater than zero")
        }
        // 1e308TB overflows to infinity and 1e-322us underflows to a denormal: neither is a size.
        guard (x * scale).isFinite, x * scale >= Double.leastNormalMagnitude else {
            throw ParseError(description: "'\(text)' is out of range for \(what); write e.g. \(example)")
        }
        return x * scale
    }
}

/// Human rendering of SI quantities, used only when printing.
public enum Format {
    public static func bytes(_ b: Double) -> String {
        guard b.isFinite else { return "n/a" }
        let a = abs(b)
        if a >= 1e12 { return String(format2: b / 1e12, suffix: " TB") }
        if a >= 1e9 { return String(format2: b / 1e9, suffix: " GB") }
        if a >= 1e6 { return String(format2: b / 1e6, suffix: " MB") }
        if a >= 1e3 { return String(format2: b / 1e3, suffix: " kB") }
        return "\(Int(b)) B"
    }
    public static func seconds(_ s: Double) -> String {
        if s >= 1 { return String(format2: s, suffix: " s") }
        if s >= 1e-3 { return String(format2: s * 1e3, suffix: " ms") }
        return String(format2: s * 1e6, suffix: " us")
    }
    /// Three significant digits.
    public static func number(_ x: Double) -> String { String(format2: x, suffix: "") }
    /// A signed percentage with three significant digits: "+4.20%", "-12.0%".
    public static func signedPercent(_ x: Double) -> String { (x >= 0 ? "+" : "") + String(format2: x, suffix: "%") }
    /// Up to three decimals, trailing zeros dropped ("2", "1.3", "0.125"): a value as typed.
    public static func plain(_ x: Double) -> String {
        var s = fixed(x, decimals: 3)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }
    /// `decimals` digits after the point ("81.5", "-1.30"); "n/a" when not finite.
    public static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<max(0, decimals) { scale *= 10 }
        var r = (x * scale).rounded() / scale
        if r == 0 { r = 0 }  // no "-0.0"
        var s = "\(r)"
        if decimals == 0, s.hasSuffix(".0") { s.removeLast(2) }
        if decimals > 0, let dot = s.firstIndex(of: ".") {
            let have = s.distance(from: dot, to: s.endIndex) - 1
            if have < decimals { s += String(repeating: "0", count: decimals - have) }
        }
        return s
    }
}

extension String {
    /// Three significant digits without Foundation (Core has no dependencies).
    init(format2 x: Double, suffix: String) {
        // Never print NaN or infinity: a quantity that has no value is "n/a".
        guard x.isFinite else { self = "n/a"; return }
        let a = abs(x)
        let decimals = a >= 100 ? 0 : (a >= 10 ? 1 : (a >= 1 ? 2 : 3))
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let r = (x * scale).rounded() / scale
        var s = "\(r)"
        if decimals == 0, s.hasSuffix(".0") { s.removeLast(2) }
        if let dot = s.firstIndex(of: ".") {
            let have = s.distance(from: dot, to: s.endIndex) - 1
            if have < decimals { s += String(repeating: "0", count: decimals - have) }
        }
        self = s + suffix
    }
}
