import Foundation

/// A JSON document held as plain values, so that profile files can be completed with defaults,
/// checked for unknown keys and inspected for error messages before (and after) typed decoding.
/// Numbers keep their integer-ness so that re-encoding never turns `16` into `16.0`.
enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }
    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 1e15: return Int(d)
        default: return nil
        }
    }

    /// The value at a coding path, if the document has one there.
    func value(at path: [any CodingKey]) -> JSONValue? {
        var current = self
        for key in path {
            switch current {
            case .object(let o):
                guard let next = o[key.stringValue] else { return nil }
                current = next
            case .array(let a):
                guard let i = key.intValue, a.indices.contains(i) else { return nil }
                current = a[i]
            default:
                return nil
            }
        }
        return current
    }

    /// How a value reads in an error message: `the string "fast"`, `the number 3`, `a list`.
    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .int(let i): return "the number \(i)"
        case .double(let d): return "the number \(d)"
        case .string(let s): return "the string \"\(s)\""
        case .array: return "a list"
        case .object: return "an object"
        }
    }

    /// `self` with every key of `defaults` it lacks added, recursively into objects present in both.
    func filling(_ defaults: [String: JSONValue]) -> JSONValue {
        guard case .object(var o) = self else { return self }
        for (key, fallback) in defaults {
            if let existing = o[key] {
                if case .object(let nested) = fallback, existing.objectValue != nil {
                    o[key] = existing.filling(nested)
                }
            } else {
                o[key] = fallback
            }
        }
        return .object(o)
    }

    /// Coding paths (rendered) of keys present in `self` but absent from `known` (the typed value
    /// re-encoded). Null values and keys starting with `_` (comments) are never reported.
    func unknownKeys(comparedWith known: JSONValue, path: String = "") -> [String] {
        switch (self, known) {
        case (.object(let mine), .object(let theirs)):
            var found: [String] = []
            for key in mine.keys.sorted() where !key.hasPrefix("_") {
                let child = path.isEmpty ? key : path + "." + key
                guard let value = mine[key], value != .null else { continue }
                if let other = theirs[key] {
                    found += value.unknownKeys(comparedWith: other, path: child)
                } else {
                    found.append(child)
                }
            }
            return found
        case (.array(let mine), .array(let theirs)):
            return zip(mine, theirs).enumerated().flatMap { i, pair in
                pair.0.unknownKeys(comparedWith: pair.1, path: path + "[\(i)]")
            }
        default:
            return []
        }
    }
}

extension JSONValue {
    /// Rendered paths (`placement.cpuThreads`, `rows[2].ms`) and values of every number that is
    /// not a whole number within Int's range: the candidates when a decode fails on a number.
    func fractionalOrHugeNumbers(path: String = "") -> [(path: String, value: JSONValue)] {
        switch self {
        case .double(let d) where d.rounded() != d || !(abs(d) < 9.2e18): return [(path, self)]
        case .object(let o):
            return o.keys.sorted().flatMap { o[$0]!.fractionalOrHugeNumbers(path: path.isEmpty ? $0 : path + "." + $0) }
        case .array(let a):
            return a.indices.flatMap { a[$0].fractionalOrHugeNumbers(path: path + "[\($0)]") }
        default: return []
        }
    }

    /// `self` with the value at a rendered path replaced.
    func replacing(_ path: Substring, with value: JSONValue) -> JSONValue {
        if path.isEmpty { return value }
        switch self {
        case .object(var o):
            let end = path.firstIndex(where: { $0 == "." || $0 == "[" }) ?? path.endIndex
            let key = String(path[..<end])
            var rest = path[end...]
            if rest.first == "." { rest = rest.dropFirst() }
            guard let child = o[key] else { return self }
            o[key] = child.replacing(rest, with: value)
            return .object(o)
        case .array(var a):
            guard path.first == "[", let close = path.firstIndex(of: "]"),
                  let i = Int(path[path.index(after: path.startIndex)..<close]), a.indices.contains(i) else { return self }
            var rest = path[path.index(after: close)...]
            if rest.first == "." { rest = rest.dropFirst() }
            a[i] = a[i].replacing(rest, with: value)
            return .array(a)
        default:
            return self
        }
    }

    /// The number that stops `T` from decoding when Foundation says only "not valid JSON" (a
    /// fraction or a huge number where an integer belongs): the candidates are made whole one by
    /// one until the failure goes away or changes; the last one changed is a culprit.
    func numberNotFitting<T: Decodable>(_ type: T.Type) -> (path: String, value: JSONValue)? {
        var patched = self
        for (path, value) in fractionalOrHugeNumbers() {
            patched = patched.replacing(path[...], with: .int(0))
            do {
                _ = try JSONDecoder().decode(T.self, from: JSONEncoder().encode(patched))
                return (path, value)
            } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
                continue
            } catch {
                return (path, value)
            }
        }
        return nil
    }
}

extension JSONValue: Codable {
    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o): try container.encode(o)
        }
    }
}
