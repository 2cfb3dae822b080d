/// Comma-separated values as RFC 4180 writes them: a field holding a comma, a double quote or a
/// line break is quoted, its quotes doubled (names come from profile files a user wrote).
public enum CSV {
    public static func field(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line of fields.
    public static func row(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") }
}
