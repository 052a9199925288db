import APIClient
import Checksum
import Foundation
import HTTPClient
import HTTPServer
import Primitives
import TestSupport
import Workers
import XCTest

/// Faults between a worker and the blob store: 5xx answers to chunks are retried with backoff and the upload
/// completes within the budget; a budget spent on 5xx ends in an error naming the upload and the attempts.
final class BlobFaultTests: XCTestCase {
    /// Forwards to the control plane, answering 503 to the chunk `PUT`s whose index `fail` selects.
    private final class Flaky: @unchecked Sendable { // `server` is set once in init
        private var server: HTTPServer!
        let chunkPuts = Primitives.Locked(0)

        init(target: String, fail: @escaping @Sendable (Int) -> Bool) throws {
            let client = HTTPClient()
            server = HTTPServer(
                configuration: HTTPServerConfiguration(
                    address: "127.0.0.1", port: 0, maxBodyBytes: { _, _ in 64 << 20 })
            ) { [chunkPuts] request in
                if request.method == "PUT" && request.path.hasPrefix("/v1/uploads/") {
                    let index = chunkPuts.withLock { count -> Int in
                        count += 1
                        return count
                    }
                    if fail(index) { return .error(status: 503, message: "overloaded") }
                }
                let query = request.queryItems.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
                var headers: [String: String] = [:]
                for (name, value) in request.headers
                where !["content-length", "connection", "host"].contains(name.lowercased()) {
                    headers[name] = value
                }
                let forwarded = HTTPClientRequest(
                    method: request.method, url: target + request.path + (query.isEmpty ? "" : "?" + query),
                    headers: headers, body: request.method == "GET" ? nil : (try? request.bodyData()) ?? Data())
                guard let response = try? client.send(forwarded) else { return .error(status: 502, message: "down") }
                var answer = HTTPHeaders()
                for (name, value) in response.headers
                where !["content-length", "transfer-encoding", "connection", "date"].contains(name.lowercased()) {
                    answer.add(name, value)
                }
                return HTTPResponse(status: response.status, headers: answer, body: response.body)
            }
            try server.start()
        }

        var baseURL: String { server.baseURL }
        func stop() { server.stop() }
    }

    func testChunk503sAreRetriedAndTheUploadCompletes() async throws {
        let cluster = try InProcessCluster()
        let flaky = try Flaky(target: cluster.plane.baseURL) { $0 == 2 || $0 == 3 }
        defer { flaky.stop() }
        let bytes = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 11) })
        let file = URL(fileURLWithPath: cluster.directory.path + "/flaky.bin")
        try bytes.write(to: file)
        let store = ControlPlaneArtifactStore(
            baseURL: flaky.baseURL, token: BearerToken("admin"), cacheDirectory: cluster.directory.url,
            resumableAboveBytes: 0, chunkBytes: 100_000)
        let record = try store.store(file: file, name: "flaky")
        XCTAssertEqual(record.sha256, SHA256.hex(of: bytes))
        XCTAssertEqual(flaky.chunkPuts.current, 5, "3 chunks, 2 of them answered 503 once")
        XCTAssertEqual(try Data(contentsOf: try store.localPath(for: record.location)), bytes)
        await cluster.shutdown()
    }

    func testPersistent503sEndInAClearError() async throws {
        let cluster = try InProcessCluster()
        let flaky = try Flaky(target: cluster.plane.baseURL) { _ in true }
        defer { flaky.stop() }
        let file = URL(fileURLWithPath: cluster.directory.path + "/down.bin")
        try Data(repeating: 1, count: 1000).write(to: file)
        let store = ControlPlaneArtifactStore(
            baseURL: flaky.baseURL, token: BearerToken("admin"), cacheDirectory: cluster.directory.url,
            resumableAboveBytes: 0, chunkBytes: 500)
        XCTAssertThrowsError(try store.store(file: file, name: "down")) { error in
            let text = "\(error)"
            XCTAssertTrue(
                text.contains("/v1/uploads/") && text.contains("HTTP 503") && text.contains("6 attempts"), text)
        }
        XCTAssertEqual(flaky.chunkPuts.current, 6)
        await cluster.shutdown()
    }
}
