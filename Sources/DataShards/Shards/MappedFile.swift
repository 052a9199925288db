// A read-only memory mapping of a whole file. Shards are read through the page cache without copies; the
// mapping is released when the last reference goes away.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class MappedFile: @unchecked Sendable {
    public let path: String
    public let byteCount: Int
    /// nil for an empty file (mmap of length 0 is invalid).
    private let base: UnsafeRawPointer?

    public init(path: String) throws(ShardError) {
        self.path = path
        let fd = try PosixFile.openForReading(path)
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { throw PosixFile.error(path, "stat") }
        byteCount = Int(st.st_size)
        if byteCount == 0 {
            base = nil
            return
        }
        let address = mmap(nil, byteCount, PROT_READ, MAP_SHARED, fd, 0)
        if address == MAP_FAILED || address == nil { throw PosixFile.error(path, "mmap") }
        base = UnsafeRawPointer(address!)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), byteCount) }
    }

    /// The mapped bytes; valid while `self` is alive.
    public var bytes: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base, count: byteCount)
    }

    /// Tells the kernel the access pattern (sequential read-ahead for checksumming, random for shuffled reads).
    public func advise(sequential: Bool) {
        guard let base else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), byteCount, sequential ? MADV_SEQUENTIAL : MADV_RANDOM)
    }
}
