import Foundation

/// Why a child could not be started or waited for. The message names the program and the C library's reason.
public enum SpawnError: Error, Equatable, CustomStringConvertible {
    /// `posix_spawn` refused: the program is missing or not executable, the directory is missing, no memory...
    case cannotStart(program: String, reason: String)
    /// A pipe or a file for the child's output could not be made.
    case cannotRedirect(program: String, reason: String)
    /// `waitpid` failed for a reason other than an interrupted call.
    case cannotWait(program: String, reason: String)
    /// The C library lacks a function this needs (glibc older than 2.34).
    case unsupported(function: String)

    public var description: String {
        switch self {
        case .cannotStart(let program, let reason): "cannot start \(program): \(reason)"
        case .cannotRedirect(let program, let reason): "cannot connect the output of \(program): \(reason)"
        case .cannotWait(let program, let reason): "cannot wait for \(program): \(reason)"
        case .unsupported(let function):
            "this C library lacks \(function) (glibc 2.34 or later is needed to start programs safely)"
        }
    }

    /// The plain reason alone (no program name), for callers that put the program in their own words.
    public var reason: String {
        switch self {
        case .cannotStart(_, let reason), .cannotRedirect(_, let reason), .cannotWait(_, let reason): reason
        case .unsupported: description
        }
    }

    static func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
}
