// Gzip: the one Swift wrapper over zlib (C module CZlib). Nothing else in the package touches the C API.
// Owns: streaming decompression of .gz files (concatenated members, bounded memory) and one-shot gzip
// compression (used by tests and fixtures).

/// What went wrong, with the file it concerns.
public enum GzipError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(file: String, reason: String)
    case readFailed(file: String, reason: String)
    case corrupt(file: String, reason: String)
    /// The input ended in the middle of a gzip member.
    case truncated(file: String)
    case compressionFailed(reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): return "cannot open gzip file \(file): \(reason)"
        case .readFailed(let file, let reason): return "cannot read gzip file \(file): \(reason)"
        case .corrupt(let file, let reason): return "gzip file \(file) is corrupt: \(reason) (re-create or re-download it)"
        case .truncated(let file): return "gzip file \(file) is truncated: it ends in the middle of a member (re-create or re-download it)"
        case .compressionFailed(let reason): return "gzip compression failed: \(reason)"
        }
    }
}
