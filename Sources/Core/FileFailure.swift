import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be read or written, in words ("no such file or directory", "is a
/// directory"), never Foundation's "The operation could not be completed (NSCocoaErrorDomain
/// error 256)": the POSIX error underneath when there is one.
public func fileFailureReason(_ error: any Error) -> String {
    let nsError = error as NSError
    if nsError.domain == NSPOSIXErrorDomain { return posixReason(Int32(truncatingIfNeeded: nsError.code)) }
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? any Error {
        let posix = underlying as NSError
        if posix.domain == NSPOSIXErrorDomain { return posixReason(Int32(truncatingIfNeeded: posix.code)) }
    }
    if nsError.domain == NSCocoaErrorDomain {
        switch nsError.code {
        case NSFileReadNoSuchFileError, NSFileNoSuchFileError: return "no such file or directory"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileReadInapplicableStringEncodingError: return "not valid UTF-8 text"
        default: break
        }
    }
    return nsError.localizedFailureReason ?? "\(error)"
}

/// strerror(3) of a POSIX error code, lower-cased to sit inside a sentence.
public func posixReason(_ code: Int32) -> String { String(cString: strerror(code)).lowercased() }

/// Why `path` cannot be read as an input file, or nil: it must exist, be a regular file (a FIFO
/// or a device such as /dev/zero would never end, or never start), and hold at most
/// `limitBytes`. One check for every file a command reads (texts, GGUFs, configs, tables,
/// plan files, profiles), before anything reads it.
public func inputFileProblem(_ path: String, limitBytes: Double? = nil) -> String? {
    var info = stat()
    guard stat(path, &info) == 0 else { return posixReason(errno) }
    let type = info.st_mode & S_IFMT
    guard type == S_IFREG else {
        switch type {
        case S_IFDIR: return "is a folder, not a file"
        case S_IFCHR: return "is a character device, not a regular file"
        case S_IFBLK: return "is a block device, not a regular file"
        case S_IFIFO: return "is a FIFO (named pipe), not a regular file"
        case S_IFSOCK: return "is a socket, not a regular file"
        default: return "is not a regular file"
        }
    }
    if let limitBytes, Double(info.st_size) > limitBytes {
        return "holds \(Int(info.st_size)) bytes, more than the \(Int(limitBytes)) pigplan reads from such a file"
    }
    return nil
}
