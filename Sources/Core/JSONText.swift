import Foundation

/// The one JSON style of every file and report pigplan writes: pretty, sorted keys, unescaped
/// slashes, and never NaN or infinity (such a value, e.g. the rate of a run without a timing,
/// becomes null).
public func prettyJSON<T: Encodable>(_ value: T) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    // The sentinel cannot occur in real output (it is not a name pigplan uses).
    let sentinel = "\u{1}pigplan-non-finite\u{1}"
    encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: sentinel, negativeInfinity: sentinel, nan: sentinel)
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    return text.replacingOccurrences(of: "\"\\u0001pigplan-non-finite\\u0001\"", with: "null")
}
