import ArgumentParser
import Core
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every text file a command reads goes through here: `inputFileProblem` first (a regular file,
/// at most `limitBytes`), then UTF-8; errors name the option, the path and the reason.
enum InputFile {
    static let limitBytes = 1 << 30

    static func readText(_ path: String, option: String, limitBytes: Int = InputFile.limitBytes) throws -> String {
        if let problem = inputFileProblem(path, limitBytes: Double(limitBytes)) {
            throw ValidationError("\(option) \(path): \(problem); give a text file")
        }
        do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ValidationError("\(option) \(path): cannot be read as UTF-8 text (\(fileFailureReason(error)))")
        }
    }
}

/// Names that become file names under a profiles folder.
enum ProfileName {
    /// Why `name` cannot name a profile file, or nil.
    static func problem(_ name: String) -> String? {
        guard !name.isEmpty, name.count <= 128 else { return "give a name of 1 to 128 characters" }
        guard name.first != ".", name.first != "-",
              name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
            return "use letters, digits, '-', '_' and '.' (not first), e.g. my-model"
        }
        return nil
    }
}
