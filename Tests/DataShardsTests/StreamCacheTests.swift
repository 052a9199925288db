// Remote shards through the local cache: same samples as local reads, LRU eviction within the size limit,
// integrity checks on fetched bytes. Remote here is a file:// location read by byte ranges (the HTTP
// fetcher is exercised against a real local server separately).
import Foundation
import XCTest

@testable import DataShards

final class StreamCacheTests: XCTestCase {
    func testLeastRecentlyUsedFilesAreEvictedWithinTheLimit() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 250)
        var fetches: [String] = []
        func get(_ key: String, _ size: Int64 = 100) throws -> String {
            try cache.path(forKey: key, bytes: size) { (fd, path) throws(FetchError) in
                fetches.append(key)
                do {
                    try PosixFile.writeAll(
                        fd, bytes: Array(repeating: UInt8(key.utf8.first!), count: Int(size)), path: path)
                } catch {
                    throw FetchError(url: key, reason: "\(error)", retryable: false)
                }
            }
        }
        let a = try get("http://h/a.bin")
        _ = try get("http://h/b.bin")
        XCTAssertEqual(try get("http://h/a.bin"), a) // hit: a becomes most recent
        _ = try get("http://h/c.bin") // evicts b, the least recently used
        XCTAssertEqual(fetches, ["http://h/a.bin", "http://h/b.bin", "http://h/c.bin"])
        XCTAssertEqual(
            cache.cachedFileNames, [cache.fileName(forKey: "http://h/a.bin"), cache.fileName(forKey: "http://h/c.bin")])
        XCTAssertLessThanOrEqual(cache.usedBytes, 250)
        _ = try get("http://h/b.bin") // b again: fetched, evicts a
        XCTAssertEqual(fetches.last, "http://h/b.bin")
        XCTAssertFalse(cache.cachedFileNames.contains(cache.fileName(forKey: "http://h/a.bin")))
        XCTAssertThrowsError(try get("http://h/huge.bin", 251))
        XCTAssertThrowsError(
            try cache.path(forKey: "http://h/short.bin", bytes: 50) { (fd, path) throws(FetchError) in
                try? PosixFile.writeAll(fd, bytes: [1, 2, 3], path: path)
            })
        XCTAssertEqual(
            filesIn(cache.directory).filter { $0.hasPrefix(".fetch-") || $0.hasPrefix(".key-tmp-") }, [],
            "no partial file stays")
        XCTAssertEqual(
            Set(filesIn(cache.directory).filter { $0.hasPrefix(".key-") }),
            Set(cache.cachedFileNames.map { ".key-" + $0 }),
            "one key beside each cached file, none left by evicted ones")
    }

    func testCachedKeysListTheURLsOfCompleteFilesMostRecentlyUsedFirst() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 250)
        func get(_ key: String) throws {
            _ = try cache.path(forKey: key, bytes: 100) { (fd, path) throws(FetchError) in
                try? PosixFile.writeAll(fd, bytes: Array(repeating: 7, count: 100), path: path)
            }
        }
        XCTAssertEqual(cache.cachedKeys(), [])
        try get("http://h/ds/ds-00000.bin")
        try get("http://h/ds/ds-00001.bin")
        XCTAssertThrowsError(
            try cache.path(forKey: "http://h/ds/broken.bin", bytes: 50) { (fd, path) throws(FetchError) in
                try? PosixFile.writeAll(fd, bytes: [1], path: path)
            })
        XCTAssertEqual(
            cache.cachedKeys(), ["http://h/ds/ds-00001.bin", "http://h/ds/ds-00000.bin"], "a failed fetch is not listed"
        )
        try get("http://h/ds/ds-00000.bin") // hit: most recent now
        XCTAssertEqual(cache.cachedKeys(limit: 1), ["http://h/ds/ds-00000.bin"])
        try get("http://h/ds/ds-00002.bin") // evicts 00001
        XCTAssertEqual(cache.cachedKeys(), ["http://h/ds/ds-00002.bin", "http://h/ds/ds-00000.bin"])
        // Another process using the same directory sees the same keys (they live beside the files).
        XCTAssertEqual(
            try ShardCache(directory: dir.sub("cache"), capacityBytes: 250).cachedKeys(),
            ["http://h/ds/ds-00002.bin", "http://h/ds/ds-00000.bin"])
    }

    func testPinnedFilesAreNotEvicted() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 250)
        func get(_ key: String, pin: Bool = false) throws -> String {
            try cache.path(forKey: key, bytes: 100, pin: pin) { (fd, path) throws(FetchError) in
                try? PosixFile.writeAll(fd, bytes: Array(repeating: 7, count: 100), path: path)
            }
        }
        let a = try get("k/a", pin: true) // oldest, but pinned (being mapped)
        _ = try get("k/b")
        _ = try get("k/c") // evicts b, not the pinned a
        XCTAssertEqual(Set(cache.cachedFileNames), [cache.fileName(forKey: "k/a"), cache.fileName(forKey: "k/c")])
        cache.unpin(path: a)
        _ = try get("k/d") // now a, the least recently used, goes
        XCTAssertEqual(Set(cache.cachedFileNames), [cache.fileName(forKey: "k/c"), cache.fileName(forKey: "k/d")])
    }

    func testRemoteDatasetStreamsTheSameSamplesThroughASmallCache() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("remote"), name: "r", shards: 8, documentsPerShard: 10...30, documentLength: 5...60, seed: 41)
        let largestShard = ds.index.shards.map { $0.binBytes + $0.idxBytes }.max()!
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 3 * largestShard)
        let remote = try StreamSource.remote(
            baseURL: "file://" + ds.directory, fetcher: FileURLFetcher(), cache: cache,
            retry: FetchRetry(attempts: 2, initialDelaySeconds: 0, chunkBytes: 1000))
        XCTAssertEqual(remote.index, ds.index)
        let local = try StreamSource.directory(ds.directory)
        func all(_ source: StreamSource) throws -> [Int32] {
            let s = try TokenStream(
                StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 8, seed: 5, maxOpenShards: 2))
            var out: [Int32] = []
            for _ in 0..<Int(s.samplesPerEpoch / 8) {
                out += try s.nextBatch().tokens
                XCTAssertLessThanOrEqual(cache.usedBytes, cache.capacityBytes)
            }
            return out
        }
        XCTAssertEqual(try all(remote), try all(local))
        XCTAssertLessThan(filesIn(cache.directory).count, 16, "evicted some of the 16 files")
    }

    /// A shard evicted from the cache and fetched again is new bytes: it is verified again before use.
    func testRefetchedShardsAreVerifiedAgain() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("remote"), name: "rf", shards: 8, documentsPerShard: 10...30, documentLength: 5...60, seed: 43)
        let largestShard = ds.index.shards.map { $0.binBytes + $0.idxBytes }.max()!
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 3 * largestShard)
        let source = try StreamSource.remote(baseURL: "file://" + ds.directory, fetcher: FileURLFetcher(), cache: cache)
        let s = try TokenStream(
            StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 8, seed: 5, maxOpenShards: 2))
        let steps = Int(s.samplesPerEpoch / 8)
        for _ in 0..<steps { _ = try s.nextBatch() }
        for shard in ds.index.shards { // the remote copies go bad after the first epoch
            let path = ds.directory + "/" + shard.binFile
            var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            bytes[0] ^= 0x01
            try bytes.write(to: URL(fileURLWithPath: path))
        }
        do {
            for _ in 0..<(2 * steps) { _ = try s.nextBatch() }
            XCTFail("re-fetched corrupt shards were used without verification")
        } catch {
            guard case .corruptShard(let id, .checksumMismatch) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(id.dataset, "rf")
        }
    }

    func testCorruptRemoteShardIsNamedWithItsURL() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("remote"), name: "rc", shards: 3, documentsPerShard: 10...20, documentLength: 5...40, seed: 42)
        let victim = ds.index.shards[2]
        let path = ds.directory + "/" + victim.binFile
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[7] ^= 1
        try bytes.write(to: URL(fileURLWithPath: path))
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 1 << 20)
        let source = try StreamSource.remote(baseURL: "file://" + ds.directory, fetcher: FileURLFetcher(), cache: cache)
        let s = try TokenStream(StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 4, seed: 1))
        do {
            for _ in 0..<Int(s.samplesPerEpoch / 4) { _ = try s.nextBatch() }
            XCTFail("the corrupt shard was not detected")
        } catch {
            XCTAssertEqual(
                error.shard, ShardIdentity(dataset: "rc", shard: victim.name, location: "file://" + ds.directory))
            guard case .corruptShard(_, .checksumMismatch) = error else { return XCTFail("\(error)") }
        }
    }

    func testUnreachableRemoteFilesFailAfterRetries() throws {
        let dir = TemporaryDirectory()
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 1 << 20)
        XCTAssertThrowsError(
            try StreamSource.remote(baseURL: "file://" + dir.path + "/nothing", fetcher: FileURLFetcher(), cache: cache)
        ) { error in
            guard case .invalidConfiguration(let field, _)? = error as? StreamError else { return XCTFail("\(error)") }
            XCTAssertTrue(field.contains("/nothing"))
        }
    }
}
