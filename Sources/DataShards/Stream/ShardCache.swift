import Checksum
import Foundation
import Primitives

// Local cache directory for remote shard files, bounded in bytes. Which file goes when room is needed: a
// reader that knows its future (a `TokenStream`, see ShardFuture.swift) tells the cache when it will next
// use each file, and the cache evicts the file used furthest in the future (Belady's rule): files no reader
// will use within its horizon first, least recently used among them, then by next use, furthest first.
// Over epochs this matters: with a cache of a fraction f of a dataset read in a new shuffled order each
// epoch, least-recently-used keeps the files just read, which the next epoch needs last, and re-fetches
// nearly the whole dataset every epoch; eviction by next use re-fetches about (1 - f) of it. Without a
// told future (or for files of other processes sharing the directory) the order is least recently used.
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
    /// Held to look up, choose victims and finish a fetch — not while bytes arrive, so the stream's hits and
    /// its own fetches never wait behind a prefetch of another file. A file being fetched is `inFlight`: a
    /// second reader of it waits for the first instead of fetching it again.
    private let state = Guarded(State())
    private struct State {
        var lastStamp: Int64 = 0
        /// Files handed out and not yet released (being opened/mapped): never evicted. Pins are transient,
        /// so while they last the cache may exceed its capacity by the pinned files.
        var pins: [String: Int] = [:]
        /// Files being fetched (temporary files, not yet in `entries()`), with the bytes reserved for them.
        var inFlight: [String: Int64] = [:]
        /// Readers that told the cache their future, by identity.
        var futures: [ObjectIdentifier: any ShardCacheFuture] = [:]
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

    /// Adds a reader's future to the eviction order (until `forget`); several readers' futures combine, each
    /// file counting at its soonest use.
    public func tell(_ future: any ShardCacheFuture) {
        state.withLock { $0.futures[ObjectIdentifier(future)] = future }
    }

    public func forget(_ future: any ShardCacheFuture) {
        state.withLock { _ = $0.futures.removeValue(forKey: ObjectIdentifier(future)) }
    }

    /// The local path of `key`'s bytes. On a miss, makes room (evicting by next use, else least recently
    /// used), then calls `fill` with a temporary file descriptor and path to write exactly `bytes` bytes into.
    public func path(
        forKey key: String, bytes: Int64, pin: Bool = false,
        fill: (Int32, String) throws(FetchError) -> Void
    ) throws(FetchError) -> String {
        switch try claim(key, bytes: bytes, pin: pin, keepingSoonerThan: nil) {
        case .cached(let path): return path
        case .noRoom: preconditionFailure("a fetch without a next-use limit always makes room")
        case .mine(let name): return try fetch(key, name: name, bytes: bytes, pin: pin, fill: fill)
        }
    }

    /// Fetches `key` ahead of its use, if it is missing and room can be made without evicting a file some
    /// reader needs sooner (`nextUse` is the key's own next use, as the reader told it). Its access time
    /// stays the fetch time until the reader uses it.
    public func prefetch(
        forKey key: String, bytes: Int64, nextUse: Int, fill: (Int32, String) throws(FetchError) -> Void
    ) throws(FetchError) -> PrefetchOutcome {
        switch try claim(key, bytes: bytes, pin: false, keepingSoonerThan: nextUse, touching: false) {
        case .cached: return .cached
        case .noRoom: return .noRoom
        case .mine(let name):
            _ = try fetch(key, name: name, bytes: bytes, pin: false, fill: fill)
            return .fetched
        }
    }

    private enum Claim {
        case cached(String)
        /// Missing: room was made and the name is reserved (in flight, pinned) for this caller to fetch.
        case mine(String)
        case noRoom
    }

    /// Waits while another thread fetches the same file, then: a hit (touched and pinned as asked), or room
    /// made for the caller to fetch it; `.noRoom` when `keepingSoonerThan` is set and room would cost a
    /// file needed at or before that use (or pinned files hold it).
    private func claim(
        _ key: String, bytes: Int64, pin: Bool, keepingSoonerThan limit: Int?, touching: Bool = true
    ) throws(FetchError) -> Claim {
        guard bytes <= capacityBytes else {
            throw FetchError(
                url: key,
                reason: "file of \(bytes) bytes does not fit the cache capacity of \(capacityBytes) bytes",
                retryable: false)
        }
        let name = fileName(forKey: key)
        return state.wait(until: nil) { (state: inout State) -> Claim? in
            guard state.inFlight[name] == nil else { return nil }
            if let hit = lookUp(key, name: name, bytes: bytes) {
                if touching { touch(hit, after: &state.lastStamp) }
                if pin { state.pins[name, default: 0] += 1 }
                return .cached(hit)
            }
            let victims = evictionOrder(state)
            var used = victims.present.reduce(0) { $0 + $1.bytes } + state.inFlight.values.reduce(0, +)
            var chosen: [Entry] = []
            for victim in victims.order where used + bytes > capacityBytes {
                if let limit, let next = victims.nextUse[victim.name], next <= limit { return .noRoom }
                chosen.append(victim)
                used -= victim.bytes
            }
            if limit != nil && used + bytes > capacityBytes { return .noRoom }
            for victim in chosen { remove(victim.name) }
            state.inFlight[name] = bytes
            state.pins[name, default: 0] += 1 // not evictable between its rename and the caller's use
            return .mine(name)
        }!
    }

    /// Fetches a claimed file outside the lock. A full disk (ENOSPC) — fuller than the capacity says, as other
    /// files share it — evicts unpinned files until the file's size is freed and retries once.
    private func fetch(
        _ key: String, name: String, bytes: Int64, pin: Bool, fill: (Int32, String) throws(FetchError) -> Void
    ) throws(FetchError) -> String {
        let final = directory + "/" + name
        var failure: FetchError? = nil
        do {
            try write(key, name: name, bytes: bytes, to: final, fill: fill)
        } catch  where error.noSpace {
            let freed = state.withLock { state in
                var freed: Int64 = 0
                for victim in evictionOrder(state).order where freed < bytes {
                    remove(victim.name)
                    freed += victim.bytes
                }
                return freed
            }
            do { try write(key, name: name, bytes: bytes, to: final, fill: fill) } catch  where error.noSpace {
                failure = FetchError(
                    url: key,
                    reason:
                        "the disk holding the shard cache \(directory) is full (\(error.reason)), even after evicting \(freed) bytes of cached files: free space on it, or set the cache size (--shard-cache-size) below its free space",
                    retryable: false, noSpace: true)
            } catch {
                failure = error
            }
        } catch {
            failure = error
        }
        state.update { state in
            state.inFlight[name] = nil
            if failure == nil { touch(final, after: &state.lastStamp) }
            if !pin || failure != nil, let count = state.pins[name] {
                state.pins[name] = count > 1 ? count - 1 : nil
            }
        }
        if let failure { throw failure }
        return final
    }

    /// The complete file of `key` if cached (its key recorded), nil on a miss; removes stale content.
    private func lookUp(_ key: String, name: String, bytes: Int64) -> String? {
        let final = directory + "/" + name
        guard let size = try? PosixFile.size(final) else { return nil }
        if size == bytes {
            if access(keyPath(name), F_OK) != 0 { recordKey(key, name: name) }
            return final
        }
        remove(name) // stale or partial content from an older version
        return nil
    }

    /// Writes `key`'s bytes under a temporary name and renames them into place when complete and of the
    /// right size; removes the temporary file on any failure.
    private func write(
        _ key: String, name: String, bytes: Int64, to final: String, fill: (Int32, String) throws(FetchError) -> Void
    ) throws(FetchError) {
        let temp = directory + "/.fetch-" + UUID().uuidString.prefix(8) + "-" + name
        let fd: Int32
        do { fd = try PosixFile.createExclusive(temp) } catch {
            throw FetchError(url: key, reason: "cache: \(error)", retryable: false, noSpace: error.isNoSpace)
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
            throw FetchError(url: key, reason: "cache: \(error)", retryable: false, noSpace: error.isNoSpace)
        }
    }

    /// The unpinned cached files in the order they go, with the told next use of each file name.
    private func evictionOrder(_ state: State) -> (present: [Entry], order: [Entry], nextUse: [String: Int]) {
        var nextUse: [String: Int] = [:]
        for future in state.futures.values {
            for (key, use) in future.nextUses() {
                let name = fileName(forKey: key)
                nextUse[name] = min(use, nextUse[name] ?? .max)
            }
        }
        let present = entries()
        let order = Self.evictionOrder(present.filter { state.pins[$0.name] == nil }, nextUse: nextUse)
        return (present, order, nextUse)
    }

    /// Belady's order: files without a next use (least recently used first), then by next use, furthest first.
    /// `entries` are least recently used first.
    static func evictionOrder(_ entries: [Entry], nextUse: [String: Int]) -> [Entry] {
        let unused = entries.filter { nextUse[$0.name] == nil }
        let used = entries.enumerated().filter { nextUse[$0.element.name] != nil }
            .sorted { (nextUse[$0.element.name]!, $1.offset) > (nextUse[$1.element.name]!, $0.offset) }
            .map(\.element)
        return unused + used
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

/// What `ShardCache.prefetch` did.
public enum PrefetchOutcome: Sendable, Equatable {
    case cached
    case fetched
    /// Room would have cost a file needed sooner (or pinned): nothing fetched.
    case noRoom
}

/// A reader's known future for a `ShardCache`: for each key (URL) it will read within its horizon, how soon
/// (smaller is sooner; ranks of different readers are compared as they are). Called under the cache's lock
/// whenever it must evict, so it must be quick and must not call the cache.
public protocol ShardCacheFuture: AnyObject, Sendable {
    func nextUses() -> [String: Int]
}

extension ShardError {
    /// The device is full (ENOSPC) or the user's quota is exhausted (EDQUOT).
    var isNoSpace: Bool {
        if case .io(_, _, let code, _) = self { return code == ENOSPC || code == EDQUOT }
        return false
    }
}
