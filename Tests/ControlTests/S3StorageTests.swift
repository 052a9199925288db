import APIClient
import APITypes
import Checksum
import Control
import DataShards
import Foundation
import ObjectStore
import TestSupport
import Workers
import XCTest

/// The worker side of the cluster's backends: `GET /v1/storage`, `StorageClients.artifactStore`, the S3 artifact
/// store (content-addressed, HEAD first, verified fetches, clear permission errors) and the S3 shard fetcher,
/// against moto with signature checking on.
final class S3StorageTests: XCTestCase {
    func testStorageRouteTellsAnyClusterTokenTheBackend() async throws {
        let cluster = try InProcessCluster()
        let described = try StorageClients.describe(baseURL: cluster.plane.baseURL, token: BearerToken("join"))
        XCTAssertEqual(described, .blob)
        let store = try StorageClients.artifactStore(
            for: described, controlPlaneURL: cluster.plane.baseURL, token: BearerToken("join"),
            cacheDirectory: cluster.directory.url)
        XCTAssertTrue(store is ControlPlaneArtifactStore)
        XCTAssertThrowsError(try StorageClients.describe(baseURL: cluster.plane.baseURL, token: BearerToken(nil))) {
            XCTAssertTrue("\($0)".contains("HTTP 401"), "\($0)")
        }
        await cluster.shutdown()

        let s3 = try StorageMoto.description(prefix: "described")
        let plane = try StoragePlane(
            storage: StorageConfiguration(
                description: StorageDescription(backend: .s3, s3: s3), s3Credentials: try StorageMoto.credentials(),
                garbageIntervalSeconds: 0))
        defer { plane.shutdown() }
        let raw = try await RawHTTP(baseURL: plane.plane.baseURL).send("GET", APIRoute.storage.path(), token: "join")
        XCTAssertEqual(
            try WireCoding.decode(StorageDescription.self, from: raw.body), StorageDescription(backend: .s3, s3: s3))
        let text = String(decoding: raw.body, as: UTF8.self)
        XCTAssertFalse(text.contains(try StorageMoto.credentials().secretAccessKey), "never credentials")
        XCTAssertFalse(text.contains(try StorageMoto.credentials().accessKeyID), "never credentials")
    }

    func testS3ArtifactStoreIsContentAddressedVerifiedAndHeadsFirst() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let description = try StorageMoto.description(prefix: "artifacts\(UInt32.random(in: 0...UInt32.max))")
        let store = try StorageClients.artifactStore(
            for: StorageDescription(backend: .s3, s3: description), controlPlaneURL: "http://unused",
            token: BearerToken(nil), credentials: try StorageMoto.credentials(),
            cacheDirectory: URL(fileURLWithPath: directory.path + "/cache"))
        let bytes = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let file = URL(fileURLWithPath: directory.path + "/weights.bin")
        try bytes.write(to: file)
        let record = try store.store(file: file, name: "weights", kind: "checkpoint", metadata: nil)
        XCTAssertEqual(record.sha256, SHA256.hex(of: bytes))
        XCTAssertEqual(record.location, "s3://\(StorageMoto.bucket)/\(description.blobKey(record.sha256))")

        // Replace the object with other bytes of the same size: a second store HEADs, finds a fresh object of
        // that key and size, and uploads nothing (the impostor stays).
        let bucket = try StorageMoto.store()
        let impostor = Data(repeating: 7, count: bytes.count)
        try bucket.put(key: description.blobKey(record.sha256), data: impostor)
        XCTAssertEqual(try store.store(file: file, name: "weights", kind: nil, metadata: nil).location, record.location)
        XCTAssertEqual(try bucket.get(key: description.blobKey(record.sha256)), impostor)

        // The corrupt object is caught by its checksum (fetched twice), with an error naming both digests; no file
        // is left in the cache.
        XCTAssertThrowsError(try store.localPath(for: record.location)) { error in
            XCTAssertTrue(
                "\(error)".contains(record.sha256) && "\(error)".contains(SHA256.hex(of: impostor)), "\(error)")
        }
        let cached = directory.path + "/cache/blobs/\(record.sha256.prefix(2))/\(record.sha256)"
        XCTAssertFalse(FileManager.default.fileExists(atPath: cached))
        try bucket.put(key: description.blobKey(record.sha256), data: bytes)
        XCTAssertEqual(try Data(contentsOf: try store.localPath(for: record.location)), bytes)
        XCTAssertEqual(try store.localPath(for: record.location).path, cached)

        XCTAssertThrowsError(
            try store.localPath(
                for: "s3://\(StorageMoto.bucket)/\(description.blobKey(String(repeating: "1", count: 64)))")
        ) { error in
            guard case .notFound = error as? ArtifactStoreError else { return XCTFail("\(error)") }
        }
    }

    func testWrongCredentialsNameTheBucketAndThePermission() throws {
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let store = try StorageClients.artifactStore(
            for: StorageDescription(backend: .s3, s3: try StorageMoto.description(prefix: "denied")),
            controlPlaneURL: "http://unused", token: BearerToken(nil),
            credentials: try StorageMoto.credentials(secret: "wrong-secret"), cacheDirectory: directory.url)
        let file = URL(fileURLWithPath: directory.path + "/x.bin")
        try Data("x".utf8).write(to: file)
        XCTAssertThrowsError(try store.store(file: file, name: "x", kind: nil, metadata: nil)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("\"\(StorageMoto.bucket)\"") && text.contains("s3:GetObject"), text)
            XCTAssertFalse(text.contains("wrong-secret"), "never the secret")
        }
        XCTAssertThrowsError(
            try StorageClients.artifactStore(
                for: StorageDescription(backend: .s3, s3: try StorageMoto.description(prefix: "p")),
                controlPlaneURL: "http://unused", token: BearerToken(nil), cacheDirectory: directory.url)
        ) { error in
            // No keys in this process's environment (the test runner has none): the bucket and what to set.
            if ProcessInfo.processInfo.environment["AWS_ACCESS_KEY_ID"] == nil,
                !FileManager.default.fileExists(atPath: NSHomeDirectory() + "/.aws/credentials")
            {
                XCTAssertTrue(
                    "\(error)".contains(StorageMoto.bucket) && "\(error)".contains("AWS_ACCESS_KEY_ID"), "\(error)")
            }
        }
    }

    func testS3ShardFetcherReadsRangesAndRefusesMissingObjects() throws {
        let server = try StorageMoto.server()
        let bucket = try StorageMoto.store()
        let bytes = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 13) })
        try bucket.put(key: "datasets/web/shard-0.bin", data: bytes)
        let fetcher = S3ShardFetcher(
            endpoint: server.endpoint, region: "us-east-1", credentials: try StorageMoto.credentials())
        let url = "s3://\(StorageMoto.bucket)/datasets/web/shard-0.bin"
        XCTAssertEqual(try fetcher.contentLength(of: url), 50_000)
        XCTAssertEqual(try fetcher.fetch(url, byteRange: 1000..<1100), [UInt8](bytes[1000..<1100]))
        XCTAssertEqual(try fetcher.fetch(url, byteRange: 0..<50_000), [UInt8](bytes))

        // Through the stream's cache, as a dataset in a bucket is read.
        let directory = try TemporaryDirectory.make()
        defer { directory.remove() }
        let cache = try ShardCache(directory: directory.path, capacityBytes: 1 << 20)
        let locator = CachedRemoteShardLocator(
            baseURL: "s3://\(StorageMoto.bucket)/datasets/web", fetcher: fetcher, cache: cache,
            retry: FetchRetry(attempts: 2, initialDelaySeconds: 0, chunkBytes: 16 << 10))
        let local = try locator.localPath(for: "shard-0.bin", expectedBytes: 50_000)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: local)), bytes)
        locator.release(localPath: local)

        XCTAssertThrowsError(try fetcher.contentLength(of: "s3://\(StorageMoto.bucket)/datasets/web/missing.bin")) {
            guard let error = $0 as? FetchError else { return XCTFail("\($0)") }
            XCTAssertFalse(error.retryable)
            XCTAssertTrue(error.reason.contains(StorageMoto.bucket), error.reason)
        }
        XCTAssertThrowsError(try fetcher.fetch("https://example.com/x", byteRange: 0..<1)) {
            XCTAssertFalse(($0 as? FetchError)?.retryable ?? true)
        }
    }
}
