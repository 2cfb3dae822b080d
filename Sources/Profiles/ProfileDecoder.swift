import Foundation

/// Turns one profile file's text into a typed value: parses the JSON, checks `schemaVersion`,
/// adds defaults for optional keys, decodes, rejects unknown keys, and turns every
/// `DecodingError` into a `ProfileError` naming the file and the key.
struct ProfileDecoder {
    static let supportedSchemaVersions = [1]

    /// The file as the user should see it in messages.
    let file: String
    /// The profile kind, or nil for a plan file (`pigplan export --out`), which has no defaults.
    let kind: ProfileKind?
    /// The profile name, from the file name.
    let name: String

    /// Parses `text` into a JSON object and checks its `schemaVersion`.
    func parse(_ text: String) throws(ProfileError) -> JSONValue {
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        } catch {
            throw invalid(nil, "is not valid JSON (\(Self.syntaxDetail(text) ?? Self.underlyingReason(error)))",
                          "fix the syntax: keys and strings in double quotes, no trailing commas, no comments")
        }
        guard document.objectValue != nil else {
            throw invalid(nil, "must hold one JSON object, found \(document.description)",
                          "wrap the keys in { ... } (Profiles/README.md shows each kind)")
        }
        guard let version = document.objectValue?["schemaVersion"] else {
            throw invalid("schemaVersion", "is missing",
                          "add \"schemaVersion\": \(Self.supportedSchemaVersions.last!) as the first key")
        }
        guard let number = version.intValue else {
            throw invalid("schemaVersion", "expected an integer, found \(version.description)",
                          "write \"schemaVersion\": \(Self.supportedSchemaVersions.last!)")
        }
        guard Self.supportedSchemaVersions.contains(number) else {
            let supported = Self.supportedSchemaVersions.map(String.init).joined(separator: ", ")
            throw invalid("schemaVersion", "version \(number) is not supported by this pigplan (supported: \(supported))",
                          "use a pigplan that reads version \(number), or rewrite the file for version \(supported)")
        }
        return document
    }

    /// Decodes `document` (with defaults added) as `T` and rejects keys that `T` does not have.
    func decode<T: Codable>(_ type: T.Type, from document: JSONValue) throws(ProfileError) -> T {
        let completed = kind.map { document.filling(ProfileDefaults.defaults(for: $0, name: name, document: document)) } ?? document
        let value: T
        do {
            let data = try JSONEncoder().encode(completed)
            value = try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw describe(error, in: completed, decoding: T.self)
        } catch {
            throw invalid(nil, "could not be decoded (\(error))", "check it against Profiles/README.md")
        }
        let known: JSONValue
        do {
            known = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(value))
        } catch {
            throw invalid(nil, "could not be re-encoded (\(error))", "report this as a pigplan bug")
        }
        if let unknown = document.unknownKeys(comparedWith: known).first {
            throw invalid(unknown, "is not a key of \(what)",
                          "check its spelling (\(docs)), or start it with '_' to keep it as a comment")
        }
        return value
    }

    func invalid(_ keyPath: String?, _ reason: String, _ fix: String) -> ProfileError {
        .invalidFile(file: file, keyPath: keyPath, reason: reason, fix: fix)
    }

    /// What the file is, for messages: "a gpu profile", "a plan file".
    var what: String { kind.map { "a \($0.rawValue) profile" } ?? "a plan file" }
    /// Where its keys are documented.
    var docs: String { kind.map { "see Profiles/README.md (\($0.folder))" } ?? "write plan files with `pigplan export --out FILE`" }

    /// `error` in words, naming the key. `decoding` (the type being decoded) lets a number that fits
    /// no integer be found: Foundation reports it as invalid JSON with no key.
    func describe<T: Decodable>(_ error: DecodingError, in document: JSONValue, decoding: T.Type) -> ProfileError {
        if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
           let (path, value) = document.numberNotFitting(T.self) {
            return invalid(path, "expected an integer, found \(value.description)", "write a whole number there; \(docs)")
        }
        return describe(error, in: document)
    }

    func describe(_ error: DecodingError, in document: JSONValue) -> ProfileError {
        switch error {
        case .typeMismatch(let type, let context):
            let found = document.value(at: context.codingPath)?.description ?? "another type"
            return invalid(Self.render(context.codingPath), "expected \(Self.describe(type)), found \(found)",
                           "write \(Self.describe(type)) there; \(docs)")
        case .valueNotFound(let type, let context):
            return invalid(Self.render(context.codingPath), "is null, expected \(Self.describe(type))",
                           "give it a value or remove the key if it is optional; \(docs)")
        case .keyNotFound(let key, let context):
            return invalid(Self.render(context.codingPath + [key]), "required key is missing",
                           "add it; \(docs)")
        case .dataCorrupted(let context):
            let found = document.value(at: context.codingPath).map { ", found \($0.description)" } ?? ""
            return invalid(context.codingPath.isEmpty ? nil : Self.render(context.codingPath),
                           "\(Self.underlyingReason(error))\(found)", "fix the value; \(docs)")
        @unknown default:
            return invalid(nil, "\(error)", docs)
        }
    }

    /// `calibration.pcie[2].bytes` from a coding path.
    static func render(_ path: [any CodingKey]) -> String {
        var text = ""
        for key in path {
            if let index = key.intValue {
                text += "[\(index)]"
            } else {
                text += (text.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return text
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: return "a number"
        case is Int.Type: return "an integer"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") || name.hasPrefix("[") { return "a list" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "an object (\(name))"
        }
    }

    /// Where the JSON syntax breaks, e.g. `invalid value at line 3, column 7`, if Foundation's
    /// parser can tell.
    static func syntaxDetail(_ text: String) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            return nil
        } catch {
            guard var detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String else { return nil }
            if detail.hasSuffix(".") { detail.removeLast() }
            let marker = "around character "
            if let range = detail.range(of: marker), let offset = Int(detail[range.upperBound...]) {
                let prefix = text.utf8.prefix(offset)
                let line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
                let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { prefix.distance(from: prefix.startIndex, to: $0) + 1 } ?? 0) + 1
                detail = detail[..<range.lowerBound] + "at line \(line), column \(column)"
            }
            return detail
        }
    }

    static func underlyingReason(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            if let underlying = context.underlyingError {
                let nsError = underlying as NSError
                if let detail = nsError.userInfo[NSDebugDescriptionErrorKey] as? String { return detail }
                return "\(underlying)"
            }
            return context.debugDescription
        }
        return "\(error)"
    }
}
