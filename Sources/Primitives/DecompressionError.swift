/// The name of a compressed format and of its unit, for `DecompressionError` messages.
public protocol CompressionFormat: Sendable {
    /// "gzip", "zstd".
    static var name: String { get }
    /// What a truncated file ends in the middle of: "member" (gzip), "frame" (zstd).
    static var unit: String { get }
}

/// What went wrong reading or writing a compressed file, with the file it concerns: one definition for both
/// decompressors (`GzipError` and `ZstdError` are this type for their format).
public enum DecompressionError<Format: CompressionFormat>: Error, CustomStringConvertible, Sendable, Equatable {
    case cannotOpen(file: String, reason: String)
    case readFailed(file: String, reason: String)
    case corrupt(file: String, reason: String)
    /// The input ended in the middle of a member or frame (a cut-off download or a partial copy).
    case truncated(file: String)
    case compressionFailed(reason: String)

    public var description: String {
        let format = Format.name
        switch self {
        case .cannotOpen(let file, let reason): return "cannot open \(format) file \(file): \(reason)"
        case .readFailed(let file, let reason): return "cannot read \(format) file \(file): \(reason)"
        case .corrupt(let file, let reason):
            return "\(format) file \(file) is corrupt: \(reason) (re-create or re-download it)"
        case .truncated(let file):
            return
                "\(format) file \(file) is truncated: it ends in the middle of a \(Format.unit) (re-create or re-download it)"
        case .compressionFailed(let reason): return "\(format) compression failed: \(reason)"
        }
    }
}
