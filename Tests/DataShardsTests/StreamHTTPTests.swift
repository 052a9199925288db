// Remote shards over real HTTP on 127.0.0.1 (HTTPServer serving a dataset directory with Range support):
// the stream through the cache equals the local stream, failing requests are retried, and a corrupt
// remote shard is caught and named with its URL location.
import Foundation
import HTTPClient
import HTTPServer
import XCTest

@testable import DataShards

final class StreamHTTPTests: XCTestCase {
    /// Serves `directory` read-only; the first `failFirst` requests of every path answer 503.
    final class DatasetServer: @unchecked Sendable {
        let server: HTTPServer
        let counter: Counter

        init(directory: String, failFirst: Int = 0) throws {
            let counter = Counter()
            server = HTTPServer(configuration: HTTPServerConfiguration(address: "127.0.0.1", port: 0)) { request in
                let name = String(request.path.split(separator: "/").last ?? "")
                let seen = counter.bump(name, isRange: request.headers["Range"] != nil)
                if seen <= failFirst { return .error(status: 503, message: "warming up") }
                guard !name.isEmpty, !name.hasPrefix("."),
                    FileManager.default.fileExists(atPath: directory + "/" + name)
                else {
                    return .error(status: 404, message: "no such file")
                }
                return .file(path: directory + "/" + name)
            }
            self.counter = counter
            try server.start()
        }
        var baseURL: String { server.baseURL + "/data" }
        func stop() { server.stop() }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var byName: [String: Int] = [:]
        private(set) var ranged = 0
        func bump(_ name: String, isRange: Bool) -> Int {
            lock.withLock {
                byName[name, default: 0] += 1
                if isRange { ranged += 1 }
                return byName[name]!
            }
        }
        var snapshot: (names: [String: Int], ranged: Int) { lock.withLock { (byName, ranged) } }
    }

    func testStreamOverHTTPMatchesLocalWithRangeRequestsRetriesAndEviction() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("served"), name: "web", shards: 6, documentsPerShard: 10...30, documentLength: 5...60, seed: 71)
        let server = try DatasetServer(directory: ds.directory, failFirst: 1)
        defer { server.stop() }
        let largest = ds.index.shards.map { $0.binBytes + $0.idxBytes }.max()!
        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 3 * largest)
        let retry = FetchRetry(attempts: 3, initialDelaySeconds: 0.01, chunkBytes: 4096)
        let remote = try StreamSource.remote(
            baseURL: server.baseURL, fetcher: HTTPShardFetcher(), cache: cache, retry: retry)
        XCTAssertEqual(remote.index, ds.index)
        let local = try StreamSource.directory(ds.directory)
        func all(_ source: StreamSource) throws -> [Int32] {
            let s = try TokenStream(
                StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 8, seed: 9, maxOpenShards: 2))
            var out: [Int32] = []
            for _ in 0..<Int(s.samplesPerEpoch / 8) { out += try s.nextBatch().tokens }
            return out
        }
        XCTAssertEqual(try all(remote), try all(local))
        let seen = server.counter.snapshot
        XCTAssertGreaterThan(seen.ranged, 12, "files arrive in 4 KiB range requests")
        XCTAssertTrue(
            seen.names.values.allSatisfy { $0 >= 2 }, "every file's first request failed with 503 and was retried")
        XCTAssertLessThanOrEqual(cache.usedBytes, cache.capacityBytes)
        XCTAssertEqual(StreamMaterializer.verify(remote), [])
    }

    func testCorruptRemoteShardIsNamedAndMissingOnesAreUnavailable() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.sub("served"), name: "code", shards: 3, documentsPerShard: 10...20, documentLength: 5...40, seed: 72
        )
        let server = try DatasetServer(directory: ds.directory)
        defer { server.stop() }
        let victim = ds.index.shards[1]
        var bytes = try Data(contentsOf: URL(fileURLWithPath: ds.directory + "/" + victim.binFile))
        bytes[bytes.count - 1] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: ds.directory + "/" + victim.binFile))
        try FileManager.default.removeItem(atPath: ds.directory + "/" + ds.index.shards[2].idxFile)

        let cache = try ShardCache(directory: dir.sub("cache"), capacityBytes: 1 << 20)
        let source = try StreamSource.at(server.baseURL, cache: cache)
        let failures = StreamMaterializer.verify(source)
        XCTAssertEqual(
            failures.map(\.shard),
            [
                ShardIdentity(dataset: "code", shard: victim.name, location: server.baseURL),
                ShardIdentity(dataset: "code", shard: ds.index.shards[2].name, location: server.baseURL),
            ])
        XCTAssertTrue(failures[0].reason.contains("sha256"), failures[0].reason)
        XCTAssertTrue(failures[1].reason.contains("404"), failures[1].reason)

        let s = try TokenStream(StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 4, seed: 1))
        do {
            for _ in 0..<Int(s.samplesPerEpoch / 4) { _ = try s.nextBatch() }
            XCTFail("bad shards were not detected")
        } catch {
            XCTAssertEqual(error.shard?.location, server.baseURL)
            XCTAssertTrue([victim.name, ds.index.shards[2].name].contains(error.shard?.shard ?? ""), "\(error)")
        }
    }
}
