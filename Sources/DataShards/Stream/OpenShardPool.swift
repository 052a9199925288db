#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
// Opens shards on first use — fetching them if remote, validating the Megatron layout and verifying both
// checksums against the dataset index — and keeps a bounded number memory-mapped (least recently used
// are unmapped), so memory does not grow with the dataset.

final class OpenShardPool {
    private struct Key: Hashable { var dataset: Int; var shard: Int }
    private var open: [Key: ShardReader] = [:]
    private var recency: [Key] = []
    /// Shards verified by this stream, with the identity of the files that were checked: a file that was
    /// replaced since (re-fetched into the cache after eviction, rewritten on the shared filesystem) is
    /// verified again before use.
    private var verified: [Key: [FileIdentity]] = [:]
    private let sources: [StreamSource]
    private let capacity: Int

    init(sources: [StreamSource], capacity: Int) {
        self.sources = sources
        self.capacity = capacity
    }

    func identity(dataset: Int, shard: Int) -> ShardIdentity {
        let source = sources[dataset]
        return ShardIdentity(dataset: source.index.name, shard: source.index.shards[shard].name, location: source.locator.location)
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
        let source = sources[dataset]
        let info = source.index.shards[shard]
        let id = identity(dataset: dataset, shard: shard)
        let binPath: String
        let idxPath: String
        do {
            idxPath = try source.locator.localPath(for: info.idxFile, expectedBytes: info.idxBytes)
            binPath = try source.locator.localPath(for: info.binFile, expectedBytes: info.binBytes)
        } catch {
            if case .shardUnavailable(_, let reason) = error { throw .shardUnavailable(id, reason: reason) }
            throw error
        }
        let reader: ShardReader
        do {
            for (path, expected) in [(idxPath, info.idxBytes), (binPath, info.binBytes)] {
                let actual: Int64
                do { actual = try PosixFile.size(path) } catch { throw StreamError.shardUnavailable(id, reason: error.description) }
                if actual != expected { throw StreamError.corruptShard(id, .sizeMismatch(file: path, expectedBytes: expected, actualBytes: actual)) }
            }
            reader = try ShardReader(binPath: binPath, idxPath: idxPath)
            let files = [FileIdentity(path: idxPath), FileIdentity(path: binPath)]
            if verified[key] != files {
                try ShardVerifier.verify(info, reader: reader)
                verified[key] = files
            }
        } catch let error as StreamError {
            throw error
        } catch let error as ShardError {
            throw .corruptShard(id, error)
        } catch {
            throw .shardUnavailable(id, reason: "\(error)")
        }
        open[key] = reader
        recency.append(key)
        while recency.count > capacity {
            open[recency.removeFirst()] = nil  // unmapped when no batch in flight holds it
        }
        return reader
    }

    var openCount: Int { open.count }
}

/// Which file a path named when it was checked (device, inode, size, modification time).
struct FileIdentity: Equatable {
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
