import CZlib

#if canImport(Glibc)
    import Glibc
#endif

/// Streams the decompressed bytes of a `.gz` file chunk by chunk with bounded memory. Concatenated
/// members (`cat a.gz b.gz`) read as one stream. A zero-byte file reads as an empty stream.
/// Not thread-safe: one reader per thread (it owns a z_stream).
public final class GzipFileReader {
    public let path: String
    private let file: UnsafeMutablePointer<FILE>
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputEOF = false
    private var inMember = false
    private var finished = false

    public init(path: String, chunkSize: Int = 1 << 20) throws(GzipError) {
        self.path = path
        guard let file = fopen(path, "rb") else {
            throw .cannotOpen(file: path, reason: String(cString: strerror(errno)))
        }
        self.file = file
        self.stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.input = .allocate(byteCount: chunkSize, alignment: 16)
        // 16 + MAX_WBITS: expect a gzip header and trailer.
        let rc = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        if rc != Z_OK {
            fclose(file)
            stream.deallocate()
            input.deallocate()
            throw .cannotOpen(file: path, reason: "inflateInit2 failed (\(rc))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
        input.deallocate()
        fclose(file)
    }

    private func refill() throws(GzipError) {
        let got = fread(input.baseAddress, 1, input.count, file)
        if got < input.count {
            if ferror(file) != 0 { throw .readFailed(file: path, reason: String(cString: strerror(errno))) }
            inputEOF = true
        }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(got)
    }

    /// Decompresses up to `buffer.count` bytes into `buffer`; returns how many were written, 0 at the end.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(GzipError) -> Int {
        if finished || buffer.count == 0 { return 0 }
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(min(buffer.count, Int(UInt32.max)))
        let capacity = Int(stream.pointee.avail_out)
        while true {
            if stream.pointee.avail_in == 0 && !inputEOF { try refill() }
            if stream.pointee.avail_in == 0 && inputEOF && !inMember {
                finished = true
                return capacity - Int(stream.pointee.avail_out)
            }
            inMember = true
            let rc = inflate(stream, Z_NO_FLUSH)
            let produced = capacity - Int(stream.pointee.avail_out)
            switch rc {
            case Z_STREAM_END:
                // End of one member; another may follow.
                inMember = false
                inflateReset(stream)
                if produced > 0 { return produced }
            case Z_OK:
                if produced > 0 { return produced }
            case Z_BUF_ERROR:
                // No progress possible: the output is full (cannot be: produced would be > 0) or input ran out.
                if produced > 0 { return produced }
                if stream.pointee.avail_in == 0 && inputEOF {
                    finished = true
                    throw .truncated(file: path)
                }
            default:
                finished = true
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw .corrupt(file: path, reason: message)
            }
        }
    }

    /// Reads the next chunk (at most `maxBytes`), or nil at the end of the stream.
    public func readChunk(maxBytes: Int = 1 << 20) throws(GzipError) -> [UInt8]? {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: maxBytes, alignment: 16)
        defer { scratch.deallocate() }
        let n = try read(into: scratch)
        if n == 0 { return nil }
        return [UInt8](UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
    }
}
