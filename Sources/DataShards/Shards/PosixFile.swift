import Foundation

// Thin POSIX file helpers for the exactly-once shard commit: full writes, fsync of files and directories,
// atomic rename, and an advisory directory lock. Foundation's FileHandle hides fsync of directories and flock.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

enum PosixFile {
    static func error(_ file: String, _ operation: String) -> ShardError {
        let code = errno
        return .io(file: file, operation: operation, errno: code, message: String(cString: strerror(code)))
    }

    /// Opens `path` for writing, failing if it already exists (temporary names are unique).
    static func createExclusive(_ path: String) throws(ShardError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        if fd < 0 { throw error(path, "create") }
        return fd
    }

    static func openForReading(_ path: String) throws(ShardError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw error(path, "open") }
        return fd
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(ShardError) {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw error(path, "write")
            }
            offset += n
        }
    }

    static func writeAll(_ fd: Int32, bytes: [UInt8], path: String) throws(ShardError) {
        let outcome = bytes.withUnsafeBytes { raw in
            Result { () throws(ShardError) in try writeAll(fd, raw, path: path) }
        }
        try outcome.get()
    }

    static func writeAll(_ fd: Int32, data: Data, path: String) throws(ShardError) {
        let outcome = data.withUnsafeBytes { raw in
            Result { () throws(ShardError) in try writeAll(fd, raw, path: path) }
        }
        try outcome.get()
    }

    static func sync(_ fd: Int32, path: String) throws(ShardError) {
        if fsync(fd) != 0 { throw error(path, "fsync") }
    }

    static func syncDirectory(_ directory: String) throws(ShardError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw error(directory, "open directory") }
        defer { close(fd) }
        if fsync(fd) != 0 && errno != EINVAL { throw error(directory, "fsync directory") }
    }

    static func renameAtomically(_ from: String, to: String) throws(ShardError) {
        if rename(from, to) != 0 { throw error(to, "rename from \(from)") }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func size(_ path: String) throws(ShardError) -> Int64 {
        var st = stat()
        if stat(path, &st) != 0 { throw error(path, "stat") }
        return Int64(st.st_size)
    }

    static func removeIfPresent(_ path: String) {
        _ = unlink(path)
    }

    /// Runs `body` while holding an exclusive advisory lock on `directory`, so concurrent writers of the same
    /// shard (a duplicated task) serialise their check-and-rename.
    static func withDirectoryLock<T>(_ directory: String, _ body: () throws(ShardError) -> T) throws(ShardError) -> T {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd < 0 { throw error(directory, "open directory") }
        defer { close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            throw error(directory, "lock directory")
        }
        defer { _ = flock(fd, LOCK_UN) }
        return try body()
    }
}
