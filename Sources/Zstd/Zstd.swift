import CZstd

/// One-shot compression for small payloads (tests, fixtures). Reading goes through `ZstdFileReader`.
public enum Zstd {
    /// Compresses `bytes` into one zstd frame. Concatenate results to build multi-frame streams.
    public static func compress(_ bytes: [UInt8], level: Int32 = 3) throws(ZstdError) -> [UInt8] {
        let bound = ZSTD_compressBound(bytes.count)
        var out = [UInt8](repeating: 0, count: bound)
        let n = out.withUnsafeMutableBytes { dst in
            bytes.withUnsafeBytes { src in ZSTD_compress(dst.baseAddress, bound, src.baseAddress, src.count, level) }
        }
        if ZSTD_isError(n) != 0 { throw .compressionFailed(reason: String(cString: ZSTD_getErrorName(n))) }
        out.removeLast(bound - n)
        return out
    }
}
