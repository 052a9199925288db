import Gzip
import Zstd

#if canImport(Glibc)
    import Glibc
    import Primitives
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

/// A streaming decompressor of one file: the wrappers' `GzipFileReader` and `ZstdFileReader`.
protocol FileDecompressor: AnyObject {
    associatedtype Failure: Error & CustomStringConvertible
    init(path: String) throws(Failure)
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(Failure) -> Int
    /// The input error for a failure (opening and reading keep their kind; anything else is bad data).
    static func inputError(_ failure: Failure, path: String) -> InputError
}

extension DecompressionError {
    /// The input error for a failure: opening and reading keep their kind; anything else is bad data.
    func inputError(path: String) -> InputError {
        switch self {
        case .cannotOpen(_, let reason): return .cannotOpen(file: path, reason: reason)
        case .readFailed(_, let reason): return .readFailed(file: path, reason: reason)
        default: return .decompressionFailed(file: path, reason: description)
        }
    }
}

extension GzipFileReader: FileDecompressor {
    convenience init(path: String) throws(GzipError) { try self.init(path: path, chunkSize: 1 << 20) }
    static func inputError(_ failure: GzipError, path: String) -> InputError { failure.inputError(path: path) }
}

extension ZstdFileReader: FileDecompressor {
    convenience init(path: String) throws(ZstdError) { try self.init(path: path, chunkSize: 1 << 20) }
    static func inputError(_ failure: ZstdError, path: String) -> InputError { failure.inputError(path: path) }
}

/// The decompressed bytes of a .gz or .zst file, with the wrapper's errors turned into input errors that
/// name the file.
final class DecompressingSource<Decompressor: FileDecompressor>: ByteSource {
    private let reader: Decompressor
    let path: String

    init(path: String) throws(InputError) {
        self.path = path
        do { reader = try Decompressor(path: path) } catch { throw Decompressor.inputError(error, path: path) }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(InputError) -> Int {
        do { return try reader.read(into: buffer) } catch { throw Decompressor.inputError(error, path: path) }
    }
}

typealias GzipSource = DecompressingSource<GzipFileReader>
typealias ZstdSource = DecompressingSource<ZstdFileReader>
