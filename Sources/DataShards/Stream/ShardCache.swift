import Checksum
import Foundation
import Primitives

// Local cache directory for remote shard files, bounded in bytes, evicting the least recently used files.
// Recency is the file's access time (set explicitly on every use; the modification time stays the time
// of the fetch, which the stream uses to notice a re-fetched file), so the LRU order survives restarts and
// is shared by processes using the same directory. Files arrive under a temporary name and are renamed
// into place only when complete; a file of the wrong size is never served. Each file's key (its URL) is
// kept beside it in a hidden `.key-<name>` file, so a worker can tell the scheduler what it caches.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

public final class ShardCache: Sendable {
    public let directory: String
    public let capacityBytes: Int64
    /// Held across a whole lookup-or-fill, so two threads never fetch the same file or evict each other's.
    private let state = Locked(State())
    private struct State {
        var lastStamp: Int64 = 0
        /// Files handed out and not yet released (being opened/mapped): never evicted. Pins are transient,
        /// so while they last the cache may exceed its capacity by the pinned files.
        var pins: [String: Int] = [:]
    }

    public init(directory: String, capacityBytes: Int64) throws(StreamError) {
        guard capacityBytes > 0 else {
            throw .invalidConfiguration(field: "cache.capacityBytes", reason: "must be positive, got \(capacityBytes)")
        }
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw .invalidConfiguration(
                field: "cache.directory", reason: "cannot create \(directory): \(error.localizedDescription)")
        }
        self.directory = directory
        self.capacityBytes = capacityBytes
    }

    /// Cache file name: a hash of the key (the URL) plus its last path component, for humans.
    public func fileName(forKey key: String) -> String {
        let base = key.split(separator: "/").last.map(String.init) ?? "file"
        return String(SHA256.hex(of: Array(key.utf8)).prefix(24)) + "-" + base
    }

    struct Entry {
        var name: String
        var bytes: Int64
        var lastUse: Double
    }

    /// Complete cached files, least recently used first.
    func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var result: [Entry] = []
        for name in names where !name.hasPrefix(".") {
            var st = stat()
            guard stat(directory + "/" + name, &st) == 0 else { continue }
            result.append(
                Entry(
                    name: name, bytes: Int64(st.st_size),
                    lastUse: Double(st.st_atim.tv_sec) + Double(st.st_atim.tv_nsec) / 1e9))
        }
        return result.sorted { ($0.lastUse, $0.name) < ($1.lastUse, $1.name) }
    }

    /// The keys (URLs) of complete cached files, most recently used first, at most `limit` of them.
    /// Files cached by a version that kept no key are left out until their next use records it.
    public func cachedKeys(limit: Int = .max) -> [String] {
        state.withLock { _ in
            var keys: [String] = []
            for entry in entries().reversed() where keys.count < limit {
                if let key = try? String(contentsOfFile: keyPath(entry.name), encoding: .utf8), !key.isEmpty {
                    keys.append(key)
                }
            }
            return keys
        }
    }

    private func keyPath(_ name: String) -> String { directory + "/.key-" + name }

    /// Writes `key` beside file `name` (temporary name, then rename: readers never see half a key).
    private func recordKey(_ key: String, name: String) {
        let temp = directory + "/.key-tmp-" + UUID().uuidString.prefix(8)
        guard FileManager.default.createFile(atPath: temp, contents: Data(key.utf8)) else { return }
        if rename(temp, keyPath(name)) != 0 { PosixFile.removeIfPresent(temp) }
    }

    private func remove(_ name: String) {
        PosixFile.removeIfPresent(directory + "/" + name)
        PosixFile.removeIfPresent(keyPath(name))
    }

    public var usedBytes: Int64 { state.withLock { _ in entries().reduce(0) { $0 + $1.bytes } } }
    /// Cached file names, least recently used first.
    public var cachedFileNames: [String] { state.withLock { _ in entries().map(\.name) } }

    /// The local path of `key`'s bytes. On a miss, makes room (evicting least recently used files), then
    /// calls `fill` with a temporary file descriptor and path to write exactly `bytes` bytes into.
    public func path(
        forKey key: String, bytes: Int64, pin: Bool = false,
        fill: (Int32, String) throws(FetchError) -> Void
    ) throws(FetchError) -> String {
        try state.withLock { (state: inout State) throws(FetchError) -> String in
            let name = fileName(forKey: key)
            let final = directory + "/" + name
            if let size = try? PosixFile.size(final) {
                if size == bytes {
                    if access(keyPath(name), F_OK) != 0 { recordKey(key, name: name) }
                    touch(final, after: &state.lastStamp)
                    if pin { state.pins[name, default: 0] += 1 }
                    return final
                }
                remove(name) // stale or partial content from an older version
            }
            guard bytes <= capacityBytes else {
                throw FetchError(
                    url: key,
                    reason: "file of \(bytes) bytes does not fit the cache capacity of \(capacityBytes) bytes",
                    retryable: false)
            }
            let present = entries()
            var used = present.reduce(0) { $0 + $1.bytes }
            for victim in present where used + bytes > capacityBytes && state.pins[victim.name] == nil {
                remove(victim.name)
                used -= victim.bytes
            }
            let temp = directory + "/.fetch-" + UUID().uuidString.prefix(8) + "-" + name
            let fd: Int32
            do { fd = try PosixFile.createExclusive(temp) } catch {
                throw FetchError(url: key, reason: "cache: \(error)", retryable: false)
            }
            do throws(FetchError) {
                try fill(fd, temp)
                close(fd)
            } catch {
                close(fd)
                PosixFile.removeIfPresent(temp)
                throw error
            }
            let written = (try? PosixFile.size(temp)) ?? -1
            guard written == bytes else {
                PosixFile.removeIfPresent(temp)
                throw FetchError(url: key, reason: "fetched \(written) bytes, expected \(bytes)", retryable: false)
            }
            recordKey(key, name: name)
            do { try PosixFile.renameAtomically(temp, to: final) } catch {
                PosixFile.removeIfPresent(temp)
                throw FetchError(url: key, reason: "cache: \(error)", retryable: false)
            }
            touch(final, after: &state.lastStamp)
            if pin { state.pins[name, default: 0] += 1 }
            return final
        }
    }

    /// Ends one pin of a path returned with `pin: true`.
    public func unpin(path: String) {
        let name = String(path.split(separator: "/").last ?? "")
        state.withLock { state in
            if let count = state.pins[name] { state.pins[name] = count > 1 ? count - 1 : nil }
        }
    }

    /// Marks a use: sets the access time to now, strictly after every earlier stamp of this cache (the
    /// kernel clock is coarser than back-to-back uses); the modification time is left alone.
    private func touch(_ path: String, after lastStamp: inout Int64) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var nanos = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        nanos = max(nanos, lastStamp + 1_000)
        lastStamp = nanos
        let utimeOmit = (1 << 30) - 2 // UTIME_OMIT, not imported into Swift
        var times = [
            timespec(tv_sec: Int(nanos / 1_000_000_000), tv_nsec: Int(nanos % 1_000_000_000)),
            timespec(tv_sec: 0, tv_nsec: utimeOmit),
        ]
        _ = utimensat(AT_FDCWD, path, &times, 0)
    }
}
