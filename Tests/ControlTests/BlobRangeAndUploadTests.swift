import APIClient
import APITypes
import Checksum
import Foundation
import HTTPClient
import TestSupport
import Workers
import XCTest

/// The blob store's reads (`Range` → 206, `HEAD`) and resumable uploads: chunks only at the stored offset,
/// a dropped connection resumed by the client, `complete` verifying the checksum, stale sessions expiring.
final class BlobRangeAndUploadTests: XCTestCase {
    private let admin = ["Authorization": "Bearer admin"]

    private static func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761 &+ seed) >> 7) }
    }

    func testRangedGetIs206AndHeadHasNoBody() async throws {
        let cluster = try InProcessCluster()
        let bytes = Self.bytes(300_000, seed: 1)
        let source = cluster.directory.path + "/blob.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let record = try ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: BearerToken("admin"), cacheDirectory: cluster.directory.url
        ).store(file: URL(fileURLWithPath: source), name: "blob")
        let client = HTTPClient()
        let url = cluster.plane.baseURL + APIRoute.getBlob.path(record.sha256)

        let ranged = try blocking(
            client,
            HTTPClientRequest(url: url, headers: admin.merging(["Range": "bytes=1000-1999"]) { a, _ in a }))
        XCTAssertEqual(ranged.status, 206)
        XCTAssertEqual([UInt8](ranged.body), Array(bytes[1000...1999]))
        XCTAssertEqual(ranged.header("Content-Range"), "bytes 1000-1999/300000")
        let tail = try blocking(
            client,
            HTTPClientRequest(url: url, headers: admin.merging(["Range": "bytes=-10"]) { a, _ in a }))
        XCTAssertEqual([UInt8](tail.body), Array(bytes.suffix(10)))
        let outside = try blocking(
            client,
            HTTPClientRequest(url: url, headers: admin.merging(["Range": "bytes=400000-"]) { a, _ in a }))
        XCTAssertEqual(outside.status, 416)

        let head = try blocking(client, HTTPClientRequest(method: "HEAD", url: url, headers: admin))
        XCTAssertEqual(head.status, 200)
        XCTAssertEqual(head.header("Content-Length"), "300000")
        XCTAssertEqual(head.header("Accept-Ranges"), "bytes")
        XCTAssertTrue(head.body.isEmpty)
        let missing = try blocking(
            client,
            HTTPClientRequest(
                method: "HEAD", url: cluster.plane.baseURL + APIRoute.headBlob.path(String(repeating: "0", count: 64)),
                headers: admin))
        XCTAssertEqual(missing.status, 404)
        await cluster.shutdown()
    }

    func testChunksOnlyAtTheStoredOffsetAndCompleteVerifies() async throws {
        let cluster = try InProcessCluster()
        let client = HTTPClient()
        let base = cluster.plane.baseURL
        let bytes = Self.bytes(10_000, seed: 2)
        let created = try blocking(
            client,
            HTTPClientRequest(method: "POST", url: base + APIRoute.createUpload.path(), headers: admin))
        XCTAssertEqual(created.status, 201)
        let id = try WireCoding.decode(UploadSessionResponse.self, from: created.body).id

        func put(_ range: Range<Int>, at offset: Int) throws -> HTTPClientResponse {
            try blocking(
                client,
                HTTPClientRequest(
                    method: "PUT", url: base + APIRoute.appendUpload.path(id, query: [("offset", String(offset))]),
                    headers: admin, body: Data(bytes[range])))
        }
        XCTAssertEqual(try put(0..<4000, at: 0).header("Upload-Offset"), "4000")
        // The same chunk again (a retry of one that did arrive): 409 naming the offset, nothing appended.
        let again = try put(0..<4000, at: 0)
        XCTAssertEqual(again.status, 409)
        XCTAssertEqual(again.header("Upload-Offset"), "4000")
        XCTAssertEqual(try put(4000..<10_000, at: 5000).status, 409)
        let status = try blocking(client, HTTPClientRequest(url: base + APIRoute.uploadStatus.path(id), headers: admin))
        XCTAssertEqual(try WireCoding.decode(UploadSessionResponse.self, from: status.body).offset, 4000)
        XCTAssertEqual(try put(4000..<10_000, at: 4000).header("Upload-Offset"), "10000")

        let sha = SHA256.hex(of: bytes)
        let wrong = String(repeating: "ab", count: 32)
        let refused = try blocking(
            client,
            HTTPClientRequest(
                method: "POST", url: base + APIRoute.completeUpload.path(id, query: [("sha256", wrong)]), headers: admin
            ))
        XCTAssertEqual(refused.status, 400)
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.directory.path + "/artifacts/blobs/ab/\(wrong)"))
        // A refused completion ends the session: the client uploads again.
        let gone = try blocking(client, HTTPClientRequest(url: base + APIRoute.uploadStatus.path(id), headers: admin))
        XCTAssertEqual(gone.status, 404)

        let second = try WireCoding.decode(
            UploadSessionResponse.self,
            from: try blocking(
                client,
                HTTPClientRequest(method: "POST", url: base + APIRoute.createUpload.path(), headers: admin)
            ).body
        ).id
        _ = try blocking(
            client,
            HTTPClientRequest(
                method: "PUT", url: base + APIRoute.appendUpload.path(second, query: [("offset", "0")]), headers: admin,
                body: Data(bytes)))
        let completed = try blocking(
            client,
            HTTPClientRequest(
                method: "POST", url: base + APIRoute.completeUpload.path(second, query: [("sha256", sha)]),
                headers: admin))
        XCTAssertEqual(completed.status, 201)
        XCTAssertEqual(
            try WireCoding.decode(BlobUploadResponse.self, from: completed.body).location, "cp://blobs/" + sha)
        let blob = try blocking(client, HTTPClientRequest(url: base + APIRoute.getBlob.path(sha), headers: admin))
        XCTAssertEqual([UInt8](blob.body), bytes)
        XCTAssertEqual(
            try blocking(client, HTTPClientRequest(url: base + APIRoute.uploadStatus.path("not-an-id"), headers: admin))
                .status, 400)
        await cluster.shutdown()
    }

    /// The client uploads above its threshold in chunks; the proxy drops the connection in the middle of the third
    /// chunk; the client asks the offset, resumes, and the stored blob has the file's checksum.
    func testClientResumesAfterADroppedConnection() async throws {
        let cluster = try InProcessCluster()
        let port = try XCTUnwrap(URL(string: cluster.plane.baseURL)?.port)
        let proxy = try CuttingProxy(targetPort: port, cutAfterBytes: 600 << 10)
        defer { proxy.stop() }
        let bytes = Self.bytes((1 << 20) + 123, seed: 3)
        let source = cluster.directory.path + "/large.bin"
        try Data(bytes).write(to: URL(fileURLWithPath: source))
        let store = ControlPlaneArtifactStore(
            baseURL: proxy.baseURL, token: BearerToken("admin"), cacheDirectory: cluster.directory.url,
            resumableAboveBytes: 0, chunkBytes: 256 << 10)
        let record = try store.store(file: URL(fileURLWithPath: source), name: "large")
        XCTAssertEqual(proxy.cuts.current, 1, "the connection was dropped once mid-upload")
        XCTAssertEqual(record.sha256, SHA256.hex(of: bytes))
        XCTAssertEqual(record.bytes, Int64(bytes.count))
        let stored = cluster.directory.path + "/artifacts/blobs/\(record.sha256.prefix(2))/\(record.sha256)"
        XCTAssertEqual(try SHA256.hex(ofFileAt: stored), record.sha256)
        // No session is left behind.
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: cluster.directory.path + "/artifacts/uploads"), [])
        await cluster.shutdown()
    }

    func testStaleSessionsExpire() async throws {
        let cluster = try InProcessCluster()
        let client = HTTPClient()
        let created = try blocking(
            client,
            HTTPClientRequest(method: "POST", url: cluster.plane.baseURL + APIRoute.createUpload.path(), headers: admin)
        )
        let session = try WireCoding.decode(UploadSessionResponse.self, from: created.body)
        let fresh = try WireCoding.decode(
            UploadSessionResponse.self,
            from: try blocking(
                client,
                HTTPClientRequest(
                    method: "POST", url: cluster.plane.baseURL + APIRoute.createUpload.path(), headers: admin)
            ).body)
        // The first session's last chunk was two days ago.
        let path = cluster.directory.path + "/artifacts/uploads/" + session.id
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-2 * 86_400)], ofItemAtPath: path)
        let report = try await cluster.admin.requester.call(
            APIRoute.collectBlobs.request(), as: BlobCollectionReport.self)
        XCTAssertEqual(report.expiredUploads, 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: cluster.directory.path + "/artifacts/uploads/" + fresh.id))
        await cluster.shutdown()
    }
}

/// The blocking `send` (inside an async test the async overload would be chosen).
private func blocking(_ client: HTTPClient, _ request: HTTPClientRequest) throws -> HTTPClientResponse {
    try client.send(request)
}
