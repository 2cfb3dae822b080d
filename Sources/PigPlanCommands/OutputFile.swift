import Foundation
import Core

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every file a command writes goes through here: only a new path or an existing regular file is
/// (re)placed, through a temporary file in the same folder renamed over it, so no partial file is
/// ever left and nothing that is not a regular file (a device, a FIFO, a symbolic link, a folder)
/// is replaced. A replaced file keeps its permission bits (and owner, where allowed); a new one
/// gets the default mode, 0666 less the umask. Errors name the option, the path and the reason in
/// words.
public enum OutputFile {
    /// Writes `text` to `path`, given on the command line as `option` (for messages).
    public static func write(_ text: String, to path: String, option: String) throws {
        try writeAll([(text, path)], option: option)
    }

    /// Writes several files of one command so that they land together: every file is written
    /// in full to a temporary file beside its target first (and synced); only when all are there
    /// are they renamed over their targets, one after another in microseconds. A failure while
    /// writing leaves every target as it was and removes the temporary files.
    public static func writeAll(_ files: [(text: String, path: String)], option: String) throws {
        var staged: [(temporary: String, path: String)] = []
        do {
            for f in files { staged.append((try stage(f.text, for: f.path, option: option), f.path)) }
            for s in staged { try check(s.path, option: option) }
        } catch {
            for s in staged { unlink(s.temporary) }
            throw error
        }
        for (i, s) in staged.enumerated() where rename(s.temporary, s.path) != 0 {
            let e = errno
            for rest in staged[i...] { unlink(rest.temporary) }
            throw failure(option, s.path, "cannot replace it: \(posixReason(e))")
        }
    }

    /// `text` in a synced temporary file in `path`'s folder; returns its path.
    static func stage(_ text: String, for path: String, option: String) throws -> String {
        try check(path, option: option)
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        // The temporary name stays within NAME_MAX (255 bytes) whatever the file's own length.
        let stem = String(decoding: Array(url.lastPathComponent.utf8.prefix(200)), as: UTF8.self)
        let temporary = folder + "/.\(stem).pigplan-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        // A new path gets the mode any new file gets (0666 less the umask), not mkstemp's 0600.
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o666)
        guard fd >= 0 else { throw failure(option, path, "cannot create a file in \(folder): \(posixReason(errno))") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { posixWrite(fd, $0.baseAddress, $0.count) }
            if n <= 0 {
                let e = errno
                close(fd)
                unlink(temporary)
                throw failure(option, path, "writing failed: \(posixReason(e))")
            }
            written += n
        }
        if let problem = keepMode(of: path, on: fd) {
            close(fd)
            unlink(temporary)
            throw failure(option, path, problem)
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let e = errno
            unlink(temporary)
            throw failure(option, path, "writing failed: \(posixReason(e))")
        }
        return temporary
    }

    /// When `path` is an existing regular file, gives the open file `fd` (its replacement) the
    /// same permission bits, and its owner and group where this user may (root, or a group of
    /// the user's): replacing a 0600 file must not widen it, nor a 0644 one narrow it. Returns
    /// why the bits could not be set, nil when done or nothing was there.
    static func keepMode(of path: String, on fd: Int32) -> String? {
        var old = stat()
        guard lstat(path, &old) == 0, old.st_mode & S_IFMT == S_IFREG else { return nil }
        var new = stat()
        if fstat(fd, &new) == 0, new.st_uid != old.st_uid || new.st_gid != old.st_gid {
            _ = fchown(fd, old.st_uid, old.st_gid)  // best effort: only root may give a file away
        }
        guard fchmod(fd, old.st_mode & 0o777) == 0 else {
            return "cannot give the new file the old one's mode \(String(old.st_mode & 0o777, radix: 8)): \(posixReason(errno))"
        }
        return nil
    }

    /// Refuses paths that name a folder or an existing non-regular file, or whose folder is missing.
    public static func check(_ path: String, option: String) throws {
        guard !path.isEmpty else { throw OutputFileError(description: "\(option): the path is empty; name a file") }
        if path.hasSuffix("/") {
            throw failure(option, path, "names a folder (it ends in '/'); name a file in it, e.g. \(path)plan.json")
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            let type = info.st_mode & S_IFMT
            if type != S_IFREG {
                throw failure(option, path, "is \(describe(type)); pigplan only replaces regular files: choose another path\(option == "--out" ? " (or '-' to print)" : "")")
            }
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
            throw failure(option, path, "the folder \(folder) does not exist; create it first")
        }
    }

    /// Makes `path` a folder for several output files (creating it if needed); refuses a path that
    /// exists as something else.
    public static func prepareFolder(_ path: String, option: String) throws {
        if try checkFolder(path, option: option) { return }
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw failure(option, path, "cannot create the folder: \(fileFailureReason(error))")
        }
    }

    /// Before a long run: refuses a path that exists as something other than a folder (true when
    /// the folder exists, false when `prepareFolder` would create it). Creates nothing.
    @discardableResult
    public static func checkFolder(_ path: String, option: String) throws -> Bool {
        guard !path.isEmpty else { throw OutputFileError(description: "\(option): the path is empty; name a folder") }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { return false }
        guard isFolder.boolValue else { throw failure(option, path, "exists and is not a folder; name a folder for the results") }
        return true
    }

    static func describe(_ type: mode_t) -> String {
        switch type {
        case S_IFDIR: return "a folder"
        case S_IFLNK: return "a symbolic link"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a FIFO (named pipe)"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }


    static func failure(_ option: String, _ path: String, _ what: String) -> OutputFileError {
        OutputFileError(description: "\(option) \(path): \(what)")
    }
}

/// The C library's write(2), named apart from `OutputFile.write` (Glibc and Darwin alike).
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int { write(fd, buffer, count) }

/// Why an output file was not written (exit status 1, not a usage error).
public struct OutputFileError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// A word for a POSIX shell: left as is when it holds only characters no shell treats specially,
/// else single-quoted (a single quote inside becomes '\'').
public func shellQuoted(_ word: String) -> String {
    let plain = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:=@%+,")
    if !word.isEmpty && word.allSatisfy({ plain.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
