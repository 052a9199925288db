import Dispatch
import Foundation

// Opens shards on first use — fetching them if remote, validating the Megatron layout and verifying both
// checksums against the dataset index — and keeps a bounded number memory-mapped (least recently used
// are unmapped), so memory does not grow with the dataset. The stream announces the next shard of its
// order with `prepare`, which fetches and verifies it on a background thread so the first epoch does not
// stall on checksums; a shard is still only used after its verification succeeded.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

final class OpenShardPool {
    struct Key: Hashable, Sendable {
        var dataset: Int
        var shard: Int
    }
    private var open: [Key: ShardReader] = [:]
    private var recency: [Key] = []
    /// Shards verified by this stream, with the identity of the files that were checked: a file that was
    /// replaced since (re-fetched into the cache after eviction, rewritten on the shared filesystem) is
    /// verified again before use.
    private var verified: [Key: [FileIdentity]] = [:]
    private let sources: [StreamSource]
    private let capacity: Int
    private let ahead: PreparedShards?

    init(sources: [StreamSource], capacity: Int, verifyAhead: Bool) {
        self.sources = sources
        self.capacity = capacity
        ahead = verifyAhead ? PreparedShards() : nil
    }

    func identity(dataset: Int, shard: Int) -> ShardIdentity {
        let source = sources[dataset]
        return ShardIdentity(
            dataset: source.index.name, shard: source.index.shards[shard].name, location: source.locator.location)
    }

    /// Starts fetching and verifying a shard the stream will need soon (no-op if open or under way).
    func prepare(dataset: Int, shard: Int) {
        guard let ahead else { return }
        let key = Key(dataset: dataset, shard: shard)
        if open[key] != nil { return }
        let sources = self.sources
        let known = verified[key]
        ahead.start(key) {
            Self.openAndVerify(sources: sources, key: key, knownGood: known)
        }
    }

    /// The reader of shard `shard` (index into the dataset's `shards`) of dataset `dataset`.
    func reader(dataset: Int, shard: Int) throws(StreamError) -> ShardReader {
        let key = Key(dataset: dataset, shard: shard)
        if let reader = open[key] {
            if recency.last != key, let at = recency.firstIndex(of: key) {
                recency.remove(at: at)
                recency.append(key)
            }
            return reader
        }
        let outcome = ahead?.take(key) ?? Self.openAndVerify(sources: sources, key: key, knownGood: verified[key])
        let prepared = try outcome.get()
        verified[key] = prepared.files
        open[key] = prepared.reader
        recency.append(key)
        while recency.count > capacity {
            open[recency.removeFirst()] = nil // unmapped when no batch in flight holds it
        }
        return prepared.reader
    }

    var openCount: Int { open.count }

    struct Prepared: @unchecked Sendable {
        var reader: ShardReader
        var files: [FileIdentity]
    }

    /// Fetches (if remote), maps, validates and — unless these exact files were verified before — checks
    /// the checksums of one shard. Thread-safe: touches only immutable sources and the thread-safe cache.
    static func openAndVerify(sources: [StreamSource], key: Key, knownGood: [FileIdentity]?) -> Result<
        Prepared, StreamError
    > {
        let source = sources[key.dataset]
        let info = source.index.shards[key.shard]
        let id = ShardIdentity(dataset: source.index.name, shard: info.name, location: source.locator.location)
        do {
            let idxPath: String
            let binPath: String
            do throws(StreamError) {
                idxPath = try source.locator.localPath(for: info.idxFile, expectedBytes: info.idxBytes)
                do throws(StreamError) {
                    binPath = try source.locator.localPath(for: info.binFile, expectedBytes: info.binBytes)
                } catch {
                    source.locator.release(localPath: idxPath)
                    throw error
                }
            } catch {
                if case .shardUnavailable(_, let reason) = error {
                    throw StreamError.shardUnavailable(id, reason: reason)
                }
                throw error
            }
            // Pinned until mapped: a cache must not evict the files between lookup and mmap.
            defer {
                source.locator.release(localPath: idxPath)
                source.locator.release(localPath: binPath)
            }
            for (path, expected) in [(idxPath, info.idxBytes), (binPath, info.binBytes)] {
                let actual: Int64
                do { actual = try PosixFile.size(path) } catch {
                    throw StreamError.shardUnavailable(id, reason: error.description)
                }
                if actual != expected {
                    throw StreamError.corruptShard(
                        id, .sizeMismatch(file: path, expectedBytes: expected, actualBytes: actual))
                }
            }
            let files = [FileIdentity(path: idxPath), FileIdentity(path: binPath)]
            let reader = try ShardReader(binPath: binPath, idxPath: idxPath)
            if knownGood != files { try ShardVerifier.verify(info, reader: reader) }
            return .success(Prepared(reader: reader, files: files))
        } catch let error as StreamError {
            return .failure(error)
        } catch let error as ShardError {
            return .failure(.corruptShard(id, error))
        } catch {
            return .failure(.shardUnavailable(id, reason: "\(error)"))
        }
    }
}

/// Shards being opened and verified on a background thread, one at a time, at most two kept ready.
final class PreparedShards: @unchecked Sendable {
    private let queue = DispatchQueue(label: "datashards.verify-ahead")
    private let changed = NSCondition()
    private enum State {
        case running
        case done(Result<OpenShardPool.Prepared, StreamError>)
    }
    private var entries: [OpenShardPool.Key: State] = [:]
    private var order: [OpenShardPool.Key] = []
    private let limit = 2

    func start(_ key: OpenShardPool.Key, _ work: @escaping @Sendable () -> Result<OpenShardPool.Prepared, StreamError>)
    {
        changed.lock()
        defer { changed.unlock() }
        guard entries[key] == nil else { return }
        // Drop the oldest finished preparation when full; never start more than `limit`.
        if order.count >= limit {
            guard
                let finished = order.firstIndex(where: {
                    if case .done? = entries[$0] { return true } else { return false }
                })
            else { return }
            entries[order.remove(at: finished)] = nil
        }
        entries[key] = .running
        order.append(key)
        queue.async {
            let outcome = work()
            self.changed.lock()
            if self.entries[key] != nil { self.entries[key] = .done(outcome) }
            self.changed.broadcast()
            self.changed.unlock()
        }
    }

    /// The prepared result for `key` (waiting for it if under way), or nil if it was never started.
    func take(_ key: OpenShardPool.Key) -> Result<OpenShardPool.Prepared, StreamError>? {
        changed.lock()
        defer { changed.unlock() }
        guard entries[key] != nil else { return nil }
        while case .running? = entries[key] { changed.wait() }
        guard case .done(let outcome)? = entries[key] else { return nil }
        entries[key] = nil
        order.removeAll { $0 == key }
        return outcome
    }
}

/// Which file a path named when it was checked (device, inode, size, modification time).
struct FileIdentity: Equatable, Sendable {
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var size: Int64 = -1
    var modified: Int64 = 0

    init(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return }
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
        size = Int64(st.st_size)
        modified = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
    }
}
