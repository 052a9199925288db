// Gzip: the one Swift wrapper over zlib (C module CZlib). Nothing else in the package touches the C API.
// Owns: streaming decompression of .gz files (concatenated members, bounded memory) and one-shot gzip
// compression (used by tests and fixtures).
import Primitives

public enum GzipFormat: CompressionFormat {
    public static let name = "gzip"
    public static let unit = "member"
}

/// What went wrong, with the file it concerns.
public typealias GzipError = DecompressionError<GzipFormat>
