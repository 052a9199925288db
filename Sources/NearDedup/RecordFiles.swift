// Flat files of 16-byte records (two little-endian UInt64s: bucket records and duplicate pairs), written and read
// through a fixed buffer, so a file of any size costs a reader or writer only its buffer. A file whose size is not
// a multiple of 16 is damaged and refused (a killed writer leaves a temporary, never a short file: `finish` renames).

import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public enum RecordFileError: Error, CustomStringConvertible, Equatable {
    case cannotOpen(path: String, errno: Int32)
    case io(path: String, errno: Int32)
    case damaged(path: String, bytes: Int)

    public var description: String {
        switch self {
        case .cannotOpen(let path, let code):
            return "cannot open \(path): \(String(cString: strerror(code))); check the directory exists and is writable"
        case .io(let path, let code):
            return "I/O error on \(path): \(String(cString: strerror(code))) (disk full?)"
        case .damaged(let path, let bytes):
            return
                "\(path) is damaged: \(bytes) bytes is not a multiple of \(BucketRecord.encodedBytes); delete it and re-run the task that writes it"
        }
    }
}

/// Writes records to `<path>.tmp`, renamed to `path` by `finish` (so a reader never sees a partial file).
public final class RecordFileWriter {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8]
    private let bufferBytes: Int
    public private(set) var records = 0
    private var finished = false

    public init(path: String, bufferBytes: Int = 1 << 16) throws {
        precondition(bufferBytes >= BucketRecord.encodedBytes)
        self.path = path
        self.bufferBytes = bufferBytes - bufferBytes % BucketRecord.encodedBytes
        fd = open(path + ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw RecordFileError.cannotOpen(path: path + ".tmp", errno: errno) }
        buffer = []
        buffer.reserveCapacity(self.bufferBytes)
    }

    deinit {
        if !finished {
            close(fd)
            unlink(path + ".tmp")
        }
    }

    @inline(__always)
    public func append(_ first: UInt64, _ second: UInt64) throws {
        if buffer.count + BucketRecord.encodedBytes > bufferBytes { try flush() }
        withUnsafeBytes(of: first.littleEndian) { buffer.append(contentsOf: $0) }
        withUnsafeBytes(of: second.littleEndian) { buffer.append(contentsOf: $0) }
        records += 1
    }

    private func flush() throws {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordFileError.io(path: path, errno: errno)
            }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, fsyncs when asked (files other tasks read; spill runs need not survive a crash), and renames into place.
    public func finish(durable: Bool = false) throws {
        try flush()
        if durable && fsync(fd) != 0 { throw RecordFileError.io(path: path, errno: errno) }
        close(fd)
        finished = true
        guard rename(path + ".tmp", path) == 0 else { throw RecordFileError.io(path: path, errno: errno) }
    }
}

/// Reads a record file through a buffer of `bufferRecords` records.
public final class RecordFileReader {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8]
    private var position = 0
    private var filled = 0
    private var atEnd = false

    public init(path: String, bufferRecords: Int = 4096) throws {
        precondition(bufferRecords >= 1)
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RecordFileError.cannotOpen(path: path, errno: errno) }
        var info = stat()
        if fstat(fd, &info) == 0 && Int(info.st_size) % BucketRecord.encodedBytes != 0 {
            close(fd)
            throw RecordFileError.damaged(path: path, bytes: Int(info.st_size))
        }
        buffer = [UInt8](repeating: 0, count: bufferRecords * BucketRecord.encodedBytes)
    }

    deinit { close(fd) }

    /// The buffer's bytes: what a reader costs in memory.
    public var bufferBytes: Int { buffer.count }

    public func next() throws -> (UInt64, UInt64)? {
        if position + BucketRecord.encodedBytes > filled {
            if atEnd { return nil }
            try refill()
            if filled < BucketRecord.encodedBytes { return nil }
        }
        let pair = buffer.withUnsafeBytes { raw in
            (
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)),
                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self))
            )
        }
        position += BucketRecord.encodedBytes
        return pair
    }

    private func refill() throws {
        // Keep a partial record's bytes (a read may end mid-record).
        let left = filled - position
        if left > 0 {
            buffer.withUnsafeMutableBytes {
                $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[position..<filled]))
            }
        }
        filled = left
        position = 0
        while filled < buffer.count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + filled, $0.count - filled) }
            if n < 0 {
                if errno == EINTR { continue }
                throw RecordFileError.io(path: path, errno: errno)
            }
            if n == 0 {
                atEnd = true
                break
            }
            filled += n
        }
    }
}
