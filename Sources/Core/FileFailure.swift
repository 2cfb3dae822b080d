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
