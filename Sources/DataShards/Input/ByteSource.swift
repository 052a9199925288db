import Gzip
import Zstd
#if canImport(Glibc)
import Glibc
#endif

/// Decompressed bytes of one input file, read chunk by chunk.
protocol ByteSource: AnyObject {
    /// Fills up to `buffer.count` bytes; 0 at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int
}

final class PlainFileSource: ByteSource {
    let path: String
    private let file: UnsafeMutablePointer<FILE>

    init(path: String) throws(InputError) {
        self.path = path
        guard let f = fopen(path, "rb") else { throw .cannotOpen(file: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        if fstat(fileno(f), &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
            fclose(f)
            throw .cannotOpen(file: path, reason: "is a directory")
        }
        file = f
    }

    deinit { fclose(file) }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        let n = fread(buffer.baseAddress, 1, buffer.count, file)
        if n == 0 && ferror(file) != 0 { throw .readFailed(file: path, reason: String(cString: strerror(errno))) }
        return n
    }
}

final class GzipSource: ByteSource {
    private let reader: GzipFileReader
    let path: String

    init(path: String) throws(InputError) {
        self.path = path
        do { reader = try GzipFileReader(path: path) } catch { throw Self.map(error, path) }
    }

    static func map(_ e: GzipError, _ path: String) -> InputError {
        switch e {
        case .cannotOpen(_, let r): return .cannotOpen(file: path, reason: r)
        case .readFailed(_, let r): return .readFailed(file: path, reason: r)
        default: return .decompressionFailed(file: path, reason: e.description)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        do { return try reader.read(into: buffer) } catch { throw Self.map(error, path) }
    }
}

final class ZstdSource: ByteSource {
    private let reader: ZstdFileReader
    let path: String

    init(path: String) throws(InputError) {
        self.path = path
        do { reader = try ZstdFileReader(path: path) } catch { throw Self.map(error, path) }
    }

    static func map(_ e: ZstdError, _ path: String) -> InputError {
        switch e {
        case .cannotOpen(_, let r): return .cannotOpen(file: path, reason: r)
        case .readFailed(_, let r): return .readFailed(file: path, reason: r)
        default: return .decompressionFailed(file: path, reason: e.description)
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        do { return try reader.read(into: buffer) } catch { throw Self.map(error, path) }
    }
}
