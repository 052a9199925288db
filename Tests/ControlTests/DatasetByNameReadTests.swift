import APIClient
import APITypes
import Checksum
import ClusterModel
import Control
import DataShards
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

/// Reading datasets over the network against a real control plane on 127.0.0.1 (and its PostgreSQL): ranged
/// reads of `cp://blobs/` locations, the checksum check of every download (a corrupt one is fetched again
/// once, then fails naming the file), and a dataset read by name through `GET /v1/datasets/{name}/files`.
final class DatasetByNameReadTests: XCTestCase {
    private var cluster: InProcessCluster!
    private var pool: PostgresPool!
    private var store: ControlPlaneArtifactStore!
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        cluster = try InProcessCluster()
        pool = PostgresPool(conninfo: cluster.database, maxConnections: 2)
        directory = try TemporaryDirectory.make(prefix: "by-name-")
        store = ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: BearerToken("admin"),
            cacheDirectory: URL(fileURLWithPath: directory.path + "/artifact-cache"))
    }

    override func tearDown() async throws {
        pool?.close()
        await cluster?.shutdown()
        directory?.remove()
    }

    private func blob(_ bytes: [UInt8], name: String) throws -> ArtifactRecord {
        let path = directory.path + "/" + name
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        return try store.store(file: URL(fileURLWithPath: path), name: name, kind: nil, metadata: nil)
    }

    private var fetcher: ControlPlaneBlobFetcher {
        ControlPlaneBlobFetcher(baseURL: cluster.plane.baseURL, token: BearerToken("admin"))
    }

    func testBlobFetcherReadsByteRangesAndRefusesUnknownBlobsForGood() async throws {
        var state: UInt64 = 7
        let bytes = (0..<100_003).map { _ -> UInt8 in
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return UInt8(truncatingIfNeeded: state >> 56)
        }
        let record = try blob(bytes, name: "data.bin")
        XCTAssertEqual(try fetcher.contentLength(of: record.location), 100_003)
        for range in [Int64(0)..<10, 5_000..<70_001, 99_996..<100_003] {
            XCTAssertEqual(
                try fetcher.fetch(record.location, byteRange: range),
                Array(bytes[Int(range.lowerBound)..<Int(range.upperBound)]), "range \(range)")
        }
        let unknown = "cp://blobs/" + String(repeating: "ab", count: 32)
        XCTAssertThrowsError(try fetcher.fetch(unknown, byteRange: 0..<1)) { error in
            let fetch = error as? FetchError
            XCTAssertEqual(fetch?.retryable, false)
            XCTAssertTrue(fetch?.reason.contains("404") == true, "\(error)")
        }
        XCTAssertThrowsError(try fetcher.fetch("cp://blobs/not-a-checksum", byteRange: 0..<1)) { error in
            XCTAssertTrue("\(error)".contains("expected cp://blobs/<64 lower-case hex digits>"), "\(error)")
        }
        // The missing-blobs route names exactly the unknown one.
        let client = OpsClient(baseURL: cluster.plane.baseURL, token: "admin", transport: CurlTransport())
        let missing = try await client.missingBlobs([record.sha256, String(unknown.suffix(64))])
        XCTAssertEqual(missing, [String(unknown.suffix(64))])
    }

    func testCorruptDownloadIsFetchedOnceMoreThenFailsNamingTheFile() throws {
        let record = try blob(Array(repeating: 42, count: 4096), name: "shard.bin")
        let index = DatasetIndex(name: "d", tokenizerHash: "", vocabularySize: 256, endOfTextID: 0)
        let file = ListedShardLocator.File(location: record.location, sha256: record.sha256, bytes: record.bytes)
        // The network flips a byte of the first download only: the second download is used.
        let flaky = CorruptingFetcher(inner: fetcher, corruptDownloads: 1)
        let cache = try ShardCache(directory: directory.path + "/cache", capacityBytes: 1 << 20)
        let locator = ListedShardLocator(
            location: "cp://datasets/d", index: index, files: ["shard-00000.bin": file],
            fetcher: { _ in flaky }, cache: cache, retry: FetchRetry(initialDelaySeconds: 0))
        let path = try locator.localPath(for: "shard-00000.bin", expectedBytes: 4096)
        locator.release(localPath: path)
        XCTAssertEqual(try SHA256.hex(ofFileAt: path), record.sha256)
        XCTAssertEqual(flaky.calls, 2)
        XCTAssertEqual(cache.cachedKeys(), ["cp://datasets/d/\(record.sha256).bin"])
        // Cached: the same blob is not fetched again.
        _ = try locator.localPath(for: "shard-00000.bin", expectedBytes: 4096)
        XCTAssertEqual(flaky.calls, 2)

        // Every download corrupt: two tries, then an error that names the file and says why.
        let broken = CorruptingFetcher(inner: fetcher, corruptDownloads: .max)
        let other = ListedShardLocator(
            location: "cp://datasets/e", index: index, files: ["shard-00000.bin": file],
            fetcher: { _ in broken }, cache: cache, retry: FetchRetry(initialDelaySeconds: 0))
        XCTAssertThrowsError(try other.localPath(for: "shard-00000.bin", expectedBytes: 4096)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("shard-00000.bin"), text)
            XCTAssertTrue(text.contains("expected \(record.sha256)"), text)
            XCTAssertTrue(text.contains("download 2 of 2"), text)
        }
        XCTAssertEqual(broken.calls, 2)
    }

    func testDatasetByNameIsListedOnlyWhenWholeAndReadsThroughTheBlobStore() throws {
        // Two shards written on "another node", uploaded, and registered as tokenize completions record them.
        let local = directory.path + "/writer"
        try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
        var infos: [ShardInfo] = []
        for shard in 0..<2 {
            let name = TokenizeTaskSpec.shardName(index: shard)
            let writer = try ShardWriter(directory: local, name: name, dtype: .uint16, endOfTextID: 0)
            for document in 0..<20 { try writer.appendDocument((0..<(10 + document)).map { UInt32($0 * (shard + 1)) }) }
            infos.append(try writer.finish())
        }
        func register(_ shard: Int) throws {
            let info = infos[shard]
            let bin = try store.store(
                file: URL(fileURLWithPath: local + "/" + info.binFile), name: info.binFile, kind: nil, metadata: nil)
            let idx = try store.store(
                file: URL(fileURLWithPath: local + "/" + info.idxFile), name: info.idxFile, kind: nil, metadata: nil)
            var facts = DatasetShardFacts(
                dataset: "docs", datasetDirectory: DatasetByName.location("docs"), index: shard, name: info.name,
                location: bin.location, sha256: bin.sha256, bytes: bin.bytes, idxSHA256: idx.sha256,
                idxBytes: idx.bytes, tokens: info.tokens, documents: info.documents, dtype: "uint16",
                tokenizerHash: "t", tokenizerPath: "cp://blobs/" + String(repeating: "0", count: 64),
                vocabularySize: 1000, endOfTextID: 0)
            facts.idxLocation = idx.location
            facts.shardCount = 2
            let completion = ShardCompletion(facts: facts)
            let dataset = try DatasetStore(pool: pool).register(
                name: completion.dataset, location: completion.location, format: completion.format,
                metadata: completion.metadata)
            try ShardStore(pool: pool).add(dataset: dataset.id, shard: completion.shard)
        }
        let datasets = ControlPlaneDatasets(baseURL: cluster.plane.baseURL, token: BearerToken("admin"))
        let context = ExecutionContext(
            task: TaskAssignment(
                taskID: TaskID(1), attemptID: AttemptID(1), attemptNumber: 1, maxAttempts: 1,
                leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(1), jobName: "v", jobType: "verify",
                taskIndex: 0, spec: .object([:]), resources: Resources(cpuMillis: 100)),
            workDirectory: URL(fileURLWithPath: directory.path + "/reader"),
            workerResources: Resources(cpuMillis: 1000),
            artifactStore: FileArtifactStore(root: URL(fileURLWithPath: directory.path + "/reader-store")),
            reports: ReportQueue(), datasets: datasets)
        let cache = try XCTUnwrap(try context.shardCache(for: ["cp://datasets/docs"]))

        XCTAssertThrowsError(try context.streamSource(at: "cp://datasets/docs", cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("no dataset named docs"), "\(error)")
        }
        try register(0)
        XCTAssertThrowsError(try context.streamSource(at: "cp://datasets/docs", cache: cache)) { error in
            XCTAssertTrue("\(error)".contains("1 of 2 shards registered"), "\(error)")
            XCTAssertEqual((error as? TaskFailure)?.retryable, true)
        }
        try register(1)
        let source = try context.streamSource(at: "cp://datasets/docs", cache: cache)
        XCTAssertEqual(source.index.shards, infos)
        XCTAssertEqual(StreamMaterializer.verify(source), [])
        let cached = Set(cache.cachedKeys())
        XCTAssertEqual(
            cached,
            Set(infos.flatMap { ["cp://datasets/docs/\($0.binSHA256).bin", "cp://datasets/docs/\($0.idxSHA256).idx"] }))
        XCTAssertEqual(
            Set(ShardCacheChoice.cachedShardURLs(cache)), Set(infos.map { "cp://datasets/docs/\($0.binSHA256).bin" }))
    }
}

/// A network that flips a byte in the first `corruptDownloads` downloads (a download starts at offset 0):
/// a fault injected around the real fetcher, not a stand-in for it.
final class CorruptingFetcher: ShardFetcher, @unchecked Sendable {
    let inner: any ShardFetcher
    let corruptDownloads: Int
    private let lock = NSLock()
    private var downloads = 0
    var calls: Int { lock.withLock { downloads } }

    init(inner: any ShardFetcher, corruptDownloads: Int) {
        self.inner = inner
        self.corruptDownloads = corruptDownloads
    }

    func contentLength(of url: String) throws(FetchError) -> Int64 { try inner.contentLength(of: url) }

    func fetch(_ url: String, byteRange: Range<Int64>) throws(FetchError) -> [UInt8] {
        var bytes = try inner.fetch(url, byteRange: byteRange)
        guard byteRange.lowerBound == 0 else { return bytes }
        let number = lock.withLock {
            downloads += 1
            return downloads
        }
        if number <= corruptDownloads, !bytes.isEmpty { bytes[0] ^= 0xFF }
        return bytes
    }
}
