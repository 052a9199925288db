// Zstd: the one Swift wrapper over libzstd (C module CZstd). Nothing else in the package touches the C API.
// Owns: streaming decompression of .zst files (multi-frame, bounded memory) and one-shot compression
// (used by tests and fixtures).

/// What went wrong, with the file it concerns.
public enum ZstdError: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(file: String, reason: String)
    case readFailed(file: String, reason: String)
    case corrupt(file: String, reason: String)
    /// The input ended in the middle of a frame (a cut-off download or a partial copy).
    case truncated(file: String)
    case compressionFailed(reason: String)

    public var description: String {
        switch self {
        case .cannotOpen(let file, let reason): return "cannot open zstd file \(file): \(reason)"
        case .readFailed(let file, let reason): return "cannot read zstd file \(file): \(reason)"
        case .corrupt(let file, let reason): return "zstd file \(file) is corrupt: \(reason) (re-create or re-download it)"
        case .truncated(let file): return "zstd file \(file) is truncated: it ends in the middle of a frame (re-create or re-download it)"
        case .compressionFailed(let reason): return "zstd compression failed: \(reason)"
        }
    }
}
