#if canImport(Glibc)
    import Glibc
#endif

/// Splits a byte stream into lines ("\n"-terminated; the last line may lack it) with exact 1-based line
/// numbers. Memory is bounded by `maxLineBytes` (+ one read chunk): a longer line is reported as
/// `.tooLong` and its bytes are skipped without being kept.
final class LineReader {
    enum Line {
        /// The line's bytes without the "\n"; valid until the next call.
        case line(UnsafeRawBufferPointer, number: Int)
        case tooLong(number: Int)
    }

    let source: ByteSource
    let maxLineBytes: Int
    private var buffer: UnsafeMutableRawBufferPointer
    private var start = 0, end = 0
    private var eof = false
    private(set) var lineNumber = 0
    private(set) var bytesRead = 0
    private let chunk = 1 << 20

    init(source: ByteSource, maxLineBytes: Int) {
        self.source = source
        self.maxLineBytes = max(1, maxLineBytes)
        buffer = .allocate(byteCount: min(chunk, self.maxLineBytes + 1), alignment: 16)
    }

    deinit { buffer.deallocate() }

    private func fill() throws(InputError) {
        if start > 0 {
            if end > start { memmove(buffer.baseAddress!, buffer.baseAddress! + start, end - start) }
            end -= start
            start = 0
        }
        if end == buffer.count {
            let bigger = UnsafeMutableRawBufferPointer.allocate(
                byteCount: min(buffer.count * 2, maxLineBytes + 1), alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: end)
            buffer.deallocate()
            buffer = bigger
        }
        let n = try source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[end...]))
        if n == 0 { eof = true }
        end += n
        bytesRead += n
    }

    func next() throws(InputError) -> Line? {
        var searched = start
        while true {
            if searched < end, let hit = memchr(buffer.baseAddress! + searched, 0x0A, end - searched) {
                let k = buffer.baseAddress!.distance(to: hit)
                lineNumber += 1
                let lineStart = start
                start = k + 1
                if k - lineStart > maxLineBytes { return .tooLong(number: lineNumber) }
                return .line(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<k]), number: lineNumber)
            }
            searched = end
            if eof {
                if start < end {
                    lineNumber += 1
                    let lineStart = start
                    start = end
                    return .line(UnsafeRawBufferPointer(rebasing: buffer[lineStart..<end]), number: lineNumber)
                }
                return nil
            }
            if end - start > maxLineBytes {
                lineNumber += 1
                try discardRestOfLine()
                return .tooLong(number: lineNumber)
            }
            let offset = searched - start
            try fill()
            searched = start + offset
        }
    }

    /// Drops bytes up to and including the next "\n" (or the end), keeping nothing.
    private func discardRestOfLine() throws(InputError) {
        start = 0
        end = 0
        while true {
            let n = try source.read(into: buffer)
            bytesRead += n
            if n == 0 {
                eof = true
                return
            }
            if let hit = memchr(buffer.baseAddress!, 0x0A, n) {
                start = buffer.baseAddress!.distance(to: hit) + 1
                end = n
                return
            }
        }
    }
}
