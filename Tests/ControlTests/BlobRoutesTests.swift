import APIClient
import Checksum
import Foundation
import TestSupport
import Workers
import XCTest

/// The control plane's artifact store: a worker uploads a blob (named by its SHA-256), another reads it back;
/// a body that does not match its name is refused and nothing is stored.
final class BlobRoutesTests: XCTestCase {
    func testUploadDownloadAndChecksumMismatch() async throws {
        let cluster = try InProcessCluster()
        let source = cluster.directory.path + "/weights.bin"
        let bytes = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(bytes).write(to: URL(fileURLWithPath: source))

        let uploader = ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: BearerToken("admin"),
            cacheDirectory: URL(fileURLWithPath: cluster.directory.path + "/cache-a"))
        let record = try uploader.store(file: URL(fileURLWithPath: source), name: "weights", kind: "checkpoint")
        XCTAssertEqual(record.sha256, SHA256.hex(of: bytes))
        XCTAssertEqual(record.bytes, Int64(bytes.count))
        // Storing the same content again is a no-op that answers the same location.
        XCTAssertEqual(
            try uploader.store(file: URL(fileURLWithPath: source), name: "weights").location, record.location)

        let reader = ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: BearerToken("admin"),
            cacheDirectory: URL(fileURLWithPath: cluster.directory.path + "/cache-b"))
        let local = try reader.localPath(for: record.location)
        XCTAssertEqual(try Data(contentsOf: local), Data(bytes))

        // A body whose checksum is not its name: 400, nothing stored.
        let wrong = String(repeating: "ab", count: 32)
        let response = try await RawHTTP(baseURL: cluster.plane.baseURL).send(
            "PUT", "/v1/blobs/\(wrong)", token: "admin", body: Data("hello".utf8))
        XCTAssertEqual(response.status, 400)
        XCTAssertTrue(try response.apiError().error.message.contains("sha256"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.directory.path + "/artifacts/blobs/ab/\(wrong)"))
        // Unauthenticated reads are refused.
        let anonymous = try await RawHTTP(baseURL: cluster.plane.baseURL).send(
            "GET", "/v1/blobs/\(record.sha256)", token: nil)
        XCTAssertEqual(anonymous.status, 401)
        await cluster.shutdown()
    }
}
