import APIClient
import APITypes
import Checksum
import Control
import Foundation
import ObjectStore
import TestSupport
import Workers
import XCTest

/// Garbage collection under both backends: a referenced blob is kept, a young unreferenced one is kept (its row
/// may be on its way), an old unreferenced one is deleted.
final class BlobCollectionTests: XCTestCase {
    private func blob(_ text: String) -> (data: Data, sha: String) {
        let data = Data(text.utf8)
        return (data, SHA256.hex(of: data))
    }

    func testBlobBackendDeletesOnlyOldUnreferencedBlobs() async throws {
        let plane = try StoragePlane(
            storage: StorageConfiguration(garbageGraceSeconds: 3600, garbageIntervalSeconds: 0))
        defer { plane.shutdown() }
        let store = ControlPlaneArtifactStore(
            baseURL: plane.plane.baseURL, token: BearerToken("admin"), cacheDirectory: plane.directory.url)
        var paths: [String: String] = [:]
        for name in ["artifact", "shard", "young", "old"] {
            let file = plane.directory.path + "/\(name).bin"
            try Data("blob \(name)".utf8).write(to: URL(fileURLWithPath: file))
            let record = try store.store(file: URL(fileURLWithPath: file), name: name)
            paths[name] = plane.directory.path + "/artifacts/blobs/\(record.sha256.prefix(2))/\(record.sha256)"
        }
        try plane.reference(blob("blob artifact").sha, name: "artifact")
        try plane.referenceShard(blob("blob shard").sha)
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        for name in ["artifact", "shard", "old"] {
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: paths[name]!)
        }

        let report = try await plane.admin.requester.call(
            APIRoute.collectBlobs.request(), as: BlobCollectionReport.self)
        XCTAssertEqual(
            [report.examined, report.referenced, report.young, report.deleted], [4, 2, 1, 1], "\(report)")
        XCTAssertEqual(report.deletedBytes, Int64("blob old".utf8.count))
        for name in ["artifact", "shard", "young"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: paths[name]!), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: paths["old"]!))

        // Storing an old blob again makes it young: the uploader's row is on its way.
        try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: paths["young"]!)
        _ = try store.store(file: URL(fileURLWithPath: plane.directory.path + "/young.bin"), name: "young")
        let again = try await plane.admin.requester.call(APIRoute.collectBlobs.request(), as: BlobCollectionReport.self)
        XCTAssertEqual(again.deleted, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: paths["young"]!))
    }

    func testS3BackendDeletesOnlyOldUnreferencedObjects() async throws {
        let prefix = "gc\(UInt32.random(in: 0...UInt32.max))"
        let description = try StorageMoto.description(prefix: prefix)
        // A grace of 0 s makes every object "old" (moto's LastModified cannot be set back); a second pass with a
        // grace of an hour keeps everything, which is the young case.
        let plane = try StoragePlane(
            storage: StorageConfiguration(
                description: StorageDescription(backend: .s3, s3: description),
                s3Credentials: try StorageMoto.credentials(), garbageGraceSeconds: 0, garbageIntervalSeconds: 0))
        defer { plane.shutdown() }
        let artifacts = try StorageClients.artifactStore(
            for: try StorageClients.describe(baseURL: plane.plane.baseURL, token: BearerToken("join")),
            controlPlaneURL: plane.plane.baseURL, token: BearerToken("join"),
            credentials: try StorageMoto.credentials(), cacheDirectory: plane.directory.url)
        XCTAssertTrue(artifacts is S3ArtifactStore)
        var records: [String: ArtifactRecord] = [:]
        for name in ["kept", "unreferenced"] {
            let file = plane.directory.path + "/\(name).bin"
            try Data("object \(name)".utf8).write(to: URL(fileURLWithPath: file))
            records[name] = try artifacts.store(file: URL(fileURLWithPath: file), name: name, kind: nil, metadata: nil)
        }
        XCTAssertEqual(
            records["kept"]!.location, "s3://\(StorageMoto.bucket)/\(prefix)/blobs/\(records["kept"]!.sha256)")
        // Outside the blob key space: never examined, never deleted.
        let bucket = try StorageMoto.store()
        try bucket.put(key: "\(prefix)/notes.txt", data: Data("not a blob".utf8))
        try plane.reference(records["kept"]!.sha256, name: "kept")

        let report = try await plane.admin.requester.call(
            APIRoute.collectBlobs.request(), as: BlobCollectionReport.self)
        XCTAssertEqual(report.backend, .s3)
        XCTAssertEqual([report.examined, report.referenced, report.deleted], [2, 1, 1], "\(report)")
        XCTAssertNoThrow(try bucket.head(key: description.blobKey(records["kept"]!.sha256)))
        XCTAssertThrowsError(try bucket.head(key: description.blobKey(records["unreferenced"]!.sha256)))
        XCTAssertNoThrow(try bucket.head(key: "\(prefix)/notes.txt"))
    }

    func testS3BackendKeepsYoungUnreferencedObjects() async throws {
        let prefix = "gcyoung\(UInt32.random(in: 0...UInt32.max))"
        let description = try StorageMoto.description(prefix: prefix)
        let plane = try StoragePlane(
            storage: StorageConfiguration(
                description: StorageDescription(backend: .s3, s3: description),
                s3Credentials: try StorageMoto.credentials(), garbageGraceSeconds: 3600, garbageIntervalSeconds: 0))
        defer { plane.shutdown() }
        let bucket = try StorageMoto.store()
        let sha = SHA256.hex(of: Data("fresh upload".utf8))
        try bucket.put(key: description.blobKey(sha), data: Data("fresh upload".utf8))
        let report = try await plane.admin.requester.call(
            APIRoute.collectBlobs.request(), as: BlobCollectionReport.self)
        XCTAssertEqual([report.examined, report.young, report.deleted], [1, 1, 0], "\(report)")
        XCTAssertNoThrow(try bucket.head(key: description.blobKey(sha)))
    }
}
