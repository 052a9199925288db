// Which local cache remote (http/https) datasets are read through. The worker's own cache outlives
// attempts, so a task that lands on a worker that read the same shards before finds them on disk, and the
// worker's heartbeats tell the scheduler which shards it holds (data locality). A manifest's
// `cacheDirectory` overrides it for one job.

import APITypes
import DataShards
import Foundation

extension ExecutionContext {
    /// The cache for `locations`: nil when none is remote; else the job's own `cacheDirectory`, the
    /// worker's shard cache, or (a context made without one, as in unit tests) a cache in the attempt's directory.
    public func shardCache(for locations: [String], cacheDirectory: String? = nil) throws(StreamError) -> ShardCache? {
        guard locations.contains(where: ShardCacheChoice.isRemote) else { return nil }
        if let cacheDirectory {
            return try ShardCache(directory: cacheDirectory, capacityBytes: ShardCacheChoice.defaultCapacityBytes)
        }
        if let shardCache = workerShardCache { return shardCache }
        return try ShardCache(
            directory: workDirectory.appendingPathComponent("shard-cache").path,
            capacityBytes: ShardCacheChoice.defaultCapacityBytes)
    }
}

public enum ShardCacheChoice {
    /// 64 GiB unless `--shard-cache-size` says otherwise.
    public static let defaultCapacityBytes: Int64 = 64 << 30

    static func isRemote(_ location: String) -> Bool {
        let lower = location.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://") || DatasetByName.name(of: location) != nil
    }

    /// The heartbeat's list: URLs of whole shard data files (`.bin`) in the cache, most recently used first.
    public static func cachedShardURLs(_ cache: ShardCache, limit: Int = 4096) -> [String] {
        Array(cache.cachedKeys().lazy.filter { $0.hasSuffix(".bin") }.prefix(limit))
    }
}
