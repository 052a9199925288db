// Zstd: the one Swift wrapper over libzstd (C module CZstd). Nothing else in the package touches the C API.
// Owns: streaming decompression of .zst files (multi-frame, bounded memory) and one-shot compression
// (used by tests and fixtures).
import Primitives

public enum ZstdFormat: CompressionFormat {
    public static let name = "zstd"
    public static let unit = "frame"
}

/// What went wrong, with the file it concerns.
public typealias ZstdError = DecompressionError<ZstdFormat>
