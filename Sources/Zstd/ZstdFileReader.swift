import CZstd

#if canImport(Glibc)
    import Glibc
#endif

/// Streams the decompressed bytes of a `.zst` file chunk by chunk. Memory stays bounded (one input
/// buffer plus the caller's output buffer) whatever the file size; concatenated frames read as one stream.
/// Not thread-safe: one reader per thread (it owns a C stream context).
public final class ZstdFileReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private let context: OpaquePointer
    private var input: [UInt8]
    private var inputStart = 0
    private var inputEnd = 0
    private var inputEOF = false
    /// ZSTD_decompressStream's last hint: 0 when the last frame is complete and flushed.
    private var frameRemainder = 0
    private var finished = false

    public init(path: String, chunkSize: Int = 1 << 20) throws(ZstdError) {
        self.path = path
        guard let file = fopen(path, "rb") else {
            throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        guard let context = ZSTD_createDStream() else {
            fclose(file)
            throw .cannotOpen(file: path, reason: "out of memory creating a decompression context")
        }
        ZSTD_initDStream(context)
        self.file = file
        self.context = context
        self.input = [UInt8](repeating: 0, count: max(chunkSize, Int(ZSTD_DStreamInSize())))
    }

    deinit {
        ZSTD_freeDStream(context)
        fclose(file)
    }

    private func refill() throws(ZstdError) {
        inputStart = 0
        let capacity = input.count
        let got = input.withUnsafeMutableBytes { fread($0.baseAddress, 1, capacity, file) }
        inputEnd = got
        if got < capacity {
            if ferror(file) != 0 { throw .readFailed(file: path, reason: String(cString: strerror(errno))) }
            inputEOF = true
        }
    }

    /// Decompresses up to `buffer.count` bytes into `buffer`; returns how many were written, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(ZstdError) -> Int {
        if finished || buffer.count == 0 { return 0 }
        while true {
            if inputStart == inputEnd && !inputEOF {
                try refill()
            }
            let draining = inputStart == inputEnd // input exhausted: only flush what the context holds
            if draining && frameRemainder == 0 {
                finished = true
                return 0
            }
            var output = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            let start = inputStart
            let end = inputEnd
            let (result, consumed): (Int, Int) = input.withUnsafeBytes { raw in
                var inBuf = ZSTD_inBuffer(src: raw.baseAddress! + start, size: end - start, pos: 0)
                let r = ZSTD_decompressStream(context, &output, &inBuf)
                return (r, inBuf.pos)
            }
            inputStart += consumed
            if ZSTD_isError(result) != 0 {
                finished = true
                throw .corrupt(file: path, reason: String(cString: ZSTD_getErrorName(result)))
            }
            frameRemainder = result
            if output.pos > 0 { return output.pos }
            if draining {
                // No input left, nothing more to flush, and the frame is not complete.
                finished = true
                throw .truncated(file: path)
            }
        }
    }

    /// Reads the next chunk (at most `maxBytes`), or nil at the end of the stream.
    public func readChunk(maxBytes: Int = 1 << 20) throws(ZstdError) -> [UInt8]? {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: maxBytes, alignment: 16)
        defer { scratch.deallocate() }
        let n = try read(into: scratch)
        if n == 0 { return nil }
        return [UInt8](UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
    }
}
