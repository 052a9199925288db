import Foundation
import HTTPClient
import XCTest

@testable import HTTPServer

final class HTTPFileAndRetryTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("httptests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testRangeDownloadOfAFile() throws {
        let content = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) })
        let shard = directory.appendingPathComponent("shard-0.bin").path
        try content.write(to: URL(fileURLWithPath: shard))
        let server = try startServer(self) { request in
            request.path == "/shard" ? .file(path: shard) : .file(path: shard + ".missing")
        }
        let client = HTTPClient()
        let target = directory.appendingPathComponent("out.bin").path

        let whole = try client.download(url: "\(server.baseURL)/shard", to: target)
        XCTAssertEqual(whole.status, 200)
        XCTAssertEqual(whole.header("Accept-Ranges"), "bytes")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), content)

        let part = try client.download(url: "\(server.baseURL)/shard", to: target, range: 1_000_000...1_999_999)
        XCTAssertEqual(part.status, 206)
        XCTAssertEqual(part.header("Content-Range"), "bytes 1000000-1999999/\(content.count)")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), content[1_000_000...1_999_999])

        // A range running past the end is clipped to the file.
        let tail = try client.download(
            url: "\(server.baseURL)/shard", to: target, range: Int64(content.count - 10)...Int64(content.count + 100))
        XCTAssertEqual(tail.status, 206)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), content.suffix(10))

        try? FileManager.default.removeItem(atPath: target)
        let beyond = try client.download(
            url: "\(server.baseURL)/shard", to: target, range: Int64(content.count)...Int64(content.count + 5))
        XCTAssertEqual(beyond.status, 416)
        XCTAssertEqual(beyond.header("Content-Range"), "bytes */\(content.count)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "no file is written for an error response")

        let missing = try client.download(url: "\(server.baseURL)/gone", to: target)
        XCTAssertEqual(missing.status, 404)
        XCTAssertTrue(missing.text.contains("file not found"), missing.text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))

        XCTAssertThrowsError(
            try client.download(
                url: "\(server.baseURL)/shard", to: directory.appendingPathComponent("no/such/dir/x").path)
        ) { error in
            guard case .fileError = error as? HTTPClientError else { return XCTFail("\(error)") }
        }
    }

    func testLargeUploadStreamsFromFileAndSpoolsToDisk() throws {
        let content = Data((0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 13) })
        let source = directory.appendingPathComponent("checkpoint.bin").path
        try content.write(to: URL(fileURLWithPath: source))
        let kept = directory.appendingPathComponent("kept.bin").path
        let spoolDirectory = directory.appendingPathComponent("spool").path
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        let seenSpoolFiles = LockedBox<String>()
        let configuration = HTTPServerConfiguration(
            maxBodyBytes: { _, _ in 64 << 20 }, spoolBodiesLargerThan: 1 << 20,
            spoolDirectory: spoolDirectory)
        let server = try startServer(self, configuration: configuration) { request in
            guard let file = request.bodyFile else {
                return .json(["spooled": false, "inMemory": request.body.count == request.bodyLength])
            }
            seenSpoolFiles.set(file)
            XCTAssertTrue(request.body.isEmpty)
            XCTAssertEqual(
                request.bodyLength, (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? -1)
            if request.path == "/keep" { XCTAssertEqual(rename(file, kept), 0) }
            return .json(["spooled": true])
        }
        let client = HTTPClient()
        let keep = try client.upload(url: "\(server.baseURL)/keep", fromFile: source)
        XCTAssertEqual(try keep.decodeJSON([String: Bool].self), ["spooled": true])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: kept)), content, "the spooled body is byte-identical")

        let drop = try client.upload(url: "\(server.baseURL)/drop", method: "POST", fromFile: source)
        XCTAssertEqual(try drop.decodeJSON([String: Bool].self), ["spooled": true])
        XCTAssertEqual(seenSpoolFiles.count, 2)
        XCTAssertEqual(
            try FileManager.default.contentsOfDirectory(atPath: spoolDirectory), [],
            "spool files are removed after the handler")

        let small = try client.send(
            HTTPClientRequest(method: "POST", url: "\(server.baseURL)/small", body: Data(count: 1000)))
        XCTAssertEqual(try small.decodeJSON([String: Bool].self), ["spooled": false, "inMemory": true])

        XCTAssertThrowsError(try client.upload(url: "\(server.baseURL)/x", fromFile: source + ".missing")) { error in
            guard case .fileError = error as? HTTPClientError else { return XCTFail("\(error)") }
        }
    }

    func testByteRangeHeaderParsing() {
        XCTAssertEqual(ByteRangeRequest.parse(nil, fileSize: 100), .whole)
        XCTAssertEqual(ByteRangeRequest.parse("bytes=0-9", fileSize: 100), .partial(start: 0, end: 9))
        XCTAssertEqual(ByteRangeRequest.parse("bytes=90-", fileSize: 100), .partial(start: 90, end: 99))
        XCTAssertEqual(ByteRangeRequest.parse("bytes=-30", fileSize: 100), .partial(start: 70, end: 99))
        XCTAssertEqual(ByteRangeRequest.parse("bytes=-300", fileSize: 100), .partial(start: 0, end: 99))
        XCTAssertEqual(ByteRangeRequest.parse("bytes=100-200", fileSize: 100), .unsatisfiable)
        XCTAssertEqual(ByteRangeRequest.parse("bytes=5-2", fileSize: 100), .whole)
        XCTAssertEqual(ByteRangeRequest.parse("bytes=0-1,5-6", fileSize: 100), .whole)
        XCTAssertEqual(ByteRangeRequest.parse("items=0-1", fileSize: 100), .whole)
    }

    func testClosedPortIsATypedConnectError() {
        let url = "http://127.0.0.1:\(unusedPort())/v1/healthz"
        XCTAssertThrowsError(try HTTPClient().send(HTTPClientRequest(url: url))) { error in
            guard let error = error as? HTTPClientError, case .couldNotConnect = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(error.url, url)
            XCTAssertTrue(error.isTransient)
            XCTAssertTrue(error.description.contains(url), error.description)
        }
        XCTAssertThrowsError(try HTTPClient().send(HTTPClientRequest(url: "notascheme://x"))) { error in
            guard case .invalidURL = error as? HTTPClientError else { return XCTFail("\(error)") }
        }
    }

    func testRetryReachesAServerThatStartsLate() throws {
        let port = unusedPort()
        let server = HTTPServer(configuration: HTTPServerConfiguration(port: port)) { _ in .text("up") }
        addTeardownBlock { server.stop() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.6) { try? server.start() }
        let retries = LockedCounter()
        let policy = HTTPRetryPolicy(maxAttempts: 40, initialDelaySeconds: 0.05, maxDelaySeconds: 0.2)
        let response = try withRetry(
            policy: policy,
            onRetry: { event in
                XCTAssertNotNil(event.error)
                retries.increment()
            }
        ) { () throws(HTTPClientError) in
            try HTTPClient().send(HTTPClientRequest(url: "http://127.0.0.1:\(port)/healthz", connectTimeoutSeconds: 1))
        }
        XCTAssertEqual(response.text, "up")
        XCTAssertGreaterThan(retries.value, 0)

        // Out of attempts: the last transient error is thrown.
        let closed = "http://127.0.0.1:\(unusedPort())/"
        XCTAssertThrowsError(
            try withRetry(policy: HTTPRetryPolicy(maxAttempts: 3, initialDelaySeconds: 0.01)) {
                () throws(HTTPClientError) in
                try HTTPClient().send(HTTPClientRequest(url: closed))
            }
        ) { error in
            guard case .couldNotConnect = error as? HTTPClientError else { return XCTFail("\(error)") }
        }
    }

    func testRetryOn503AndNotOn4xx() async throws {
        let calls = LockedCounter()
        let server = try startServer(self) { request in
            calls.increment()
            if request.path == "/bad" { return .error(status: 400, message: "bad") }
            return calls.value <= 2 ? .error(status: 503, message: "starting up") : .text("ready")
        }
        let client = HTTPClient()
        let policy = HTTPRetryPolicy(maxAttempts: 5, initialDelaySeconds: 0.01)
        let url = server.baseURL
        let ready = try await withRetry(policy: policy) { () async throws(HTTPClientError) -> HTTPClientResponse in
            try await client.send(HTTPClientRequest(url: "\(url)/ready"))
        }
        XCTAssertEqual(ready.status, 200)
        XCTAssertEqual(calls.value, 3)

        let bad = try withRetry(policy: policy) { () throws(HTTPClientError) -> HTTPClientResponse in
            try client.send(HTTPClientRequest(url: "\(url)/bad"))
        }
        XCTAssertEqual(bad.status, 400)
        XCTAssertEqual(calls.value, 4, "a 4xx is final")
    }

    func testRetryDelaysGrowAndAreCapped() {
        let policy = HTTPRetryPolicy(initialDelaySeconds: 0.1, maxDelaySeconds: 1, multiplier: 2, jitter: 0)
        XCTAssertEqual(policy.delay(afterAttempt: 1), 0.1, accuracy: 1e-9)
        XCTAssertEqual(policy.delay(afterAttempt: 3), 0.4, accuracy: 1e-9)
        XCTAssertEqual(policy.delay(afterAttempt: 10), 1, accuracy: 1e-9)
        let jittered = HTTPRetryPolicy(initialDelaySeconds: 1, maxDelaySeconds: 1, jitter: 0.5)
        let delays = (0..<50).map { _ in jittered.delay(afterAttempt: 1) }
        XCTAssertTrue(delays.allSatisfy { $0 >= 0.5 && $0 <= 1 })
        XCTAssertGreaterThan(Set(delays).count, 1)
    }
}
