import Core
import Foundation

extension PlanFile {
    /// Reads and checks a plan file (`pigplan export --out FILE`): errors name the file, the key
    /// and the fix, as for profiles (a fraction where a count belongs, a missing key, an unknown
    /// key, another schemaVersion).
    public static func read(path: String) throws(ProfileError) -> PlanFile {
        let data: Data
        if let problem = inputFileProblem(path, limitBytes: 64e6) { throw .unreadable(path: path, reason: problem) }
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .unreadable(path: path, reason: fileFailureReason(error))
        }
        let decoder = ProfileDecoder(file: path, kind: nil, name: "")
        let document = try decoder.parse(String(decoding: data, as: UTF8.self))
        let plan = try decoder.decode(PlanFile.self, from: document)
        try ProfileValidator(decoder: decoder).check(plan)
        return plan
    }
}
