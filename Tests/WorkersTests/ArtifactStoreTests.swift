import APIClient
import APITypes
import Checksum
import Foundation
import HTTPServer
import XCTest

@testable import Workers

final class ArtifactStoreTests: XCTestCase {
    private var directory: URL!

    override func setUp() { directory = temporaryDirectory("artifacts") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    func testFileStoreIsContentAddressedAndAtomic() throws {
        let store = FileArtifactStore(root: directory.appendingPathComponent("store"))
        let file = directory.appendingPathComponent("a.bin")
        try Data(repeating: 7, count: 3000).write(to: file)
        let record = try store.store(file: file, name: "a", kind: "checkpoint")
        XCTAssertEqual(record.bytes, 3000)
        XCTAssertTrue(record.location.hasSuffix("/blobs/\(record.sha256.prefix(2))/\(record.sha256)"))
        XCTAssertEqual(try store.localPath(for: record.location).path, record.location)
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: URL(fileURLWithPath: record.location).deletingLastPathComponent().path)
        XCTAssertEqual(leftovers, [record.sha256], "no temporary files are left behind")
        XCTAssertThrowsError(try store.localPath(for: directory.appendingPathComponent("nope").path))
    }

    /// Upload and fetch through a real HTTP server that keeps blobs by checksum, as the control plane does.
    func testControlPlaneStoreUploadsVerifiesAndCaches() throws {
        let blobs = Locked<[String: Data]>([:])
        let corrupt = Locked(false)
        let gets = Locked(0)
        let server = HTTPServer { request in
            guard request.bearerToken == "worker-token" else { return HTTPResponse(status: 401) }
            let sha = request.pathComponents.last ?? ""
            switch request.method {
            case "PUT":
                guard let body = try? request.bodyData(), SHA256.hex(of: Array(body)) == sha else {
                    return HTTPResponse(
                        status: 400,
                        body: try! WireCoding.encode(APIErrorBody(code: .badRequest, message: "checksum mismatch")))
                }
                blobs.mutate { $0[sha] = body }
                return HTTPResponse(
                    status: 201,
                    body: try! WireCoding.encode(
                        BlobUploadResponse(location: "cp://blobs/\(sha)", sha256: sha, bytes: Int64(body.count))))
            case "GET":
                gets.mutate { $0 += 1 }
                guard var data = blobs.value[sha] else { return HTTPResponse(status: 404) }
                if corrupt.value { data[0] ^= 0xFF }
                return HTTPResponse(status: 200, body: data)
            default:
                return HTTPResponse(status: 405)
            }
        }
        try server.start()
        defer { server.stop(timeoutSeconds: 1) }
        let token = BearerToken("worker-token")
        let store = ControlPlaneArtifactStore(
            baseURL: server.baseURL, token: token, cacheDirectory: directory.appendingPathComponent("cache"))
        let file = directory.appendingPathComponent("weights.bin")
        let payload = Data((0..<100_000).map { UInt8($0 % 251) })
        try payload.write(to: file)

        let record = try store.store(file: file, name: "weights", kind: "checkpoint")
        XCTAssertEqual(record.location, "cp://blobs/\(record.sha256)")
        XCTAssertEqual(record.bytes, 100_000)
        XCTAssertEqual(blobs.value[record.sha256], payload)

        let fetched = try store.localPath(for: record.location)
        XCTAssertEqual(try Data(contentsOf: fetched), payload)
        _ = try store.localPath(for: record.location)
        XCTAssertEqual(gets.value, 1, "the second read comes from the cache")

        // A corrupted transfer is refused and not cached.
        let other = ControlPlaneArtifactStore(
            baseURL: server.baseURL, token: token, cacheDirectory: directory.appendingPathComponent("cache2"))
        corrupt.mutate { $0 = true }
        XCTAssertThrowsError(try other.localPath(for: record.location)) { error in
            XCTAssertTrue("\(error)".contains("hash to"), "\(error)")
        }
        XCTAssertFalse(
            FileManager.default.fileExists(
                atPath: directory.appendingPathComponent("cache2/blobs/\(record.sha256.prefix(2))/\(record.sha256)")
                    .path))
        XCTAssertThrowsError(try other.localPath(for: "cp://blobs/" + String(repeating: "0", count: 64))) { error in
            guard case ArtifactStoreError.notFound = error else { return XCTFail("\(error)") }
        }
        token.value = "wrong"
        XCTAssertThrowsError(try store.store(file: file, name: "w")) { error in
            XCTAssertTrue("\(error)".contains("401"), "\(error)")
        }
    }
}
