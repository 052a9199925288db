import Checksum
import Foundation
import HTTPServer
import Primitives
import TestSupport
import XCTest

@testable import ObjectStore

/// S3ObjectStore against a real S3-compatible server (moto, signature checking on), with what it wrote read
/// back by an independent client (boto3).
final class S3ObjectStoreTests: XCTestCase {
    private var directory: TemporaryDirectory!

    override func setUpWithError() throws {
        directory = try TemporaryDirectory.make(prefix: "objectstore-test-")
    }

    override func tearDown() {
        directory.remove()
    }

    private func randomBytes(_ count: Int, seed: UInt64) -> Data {
        var generator = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
        return Data(bytes)
    }

    func testPutAndGetRoundTripInMemoryAndThroughFiles() throws {
        let store = try MotoFixture.store()
        let payload = randomBytes(100_000, seed: 1)
        let info = try store.put(key: "round trip/data.bin", data: payload)
        XCTAssertEqual(info.sha256, SHA256.hex(of: payload))
        XCTAssertEqual(try store.get(key: "round trip/data.bin"), payload)

        let source = directory.path + "/source.bin"
        let target = directory.path + "/target.bin"
        try payload.write(to: URL(fileURLWithPath: source))
        try store.put(key: "from-file.bin", fromFile: source)
        try store.get(key: "from-file.bin", toFile: target)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), payload)
        XCTAssertEqual(try MotoFixture.server().independentSHA256(key: "from-file.bin").sha256, SHA256.hex(of: payload))
    }

    func testMultipartUploadIsWhatBoto3DownloadsAndLeavesNoUploadOpen() throws {
        let store = try MotoFixture.store(partSizeBytes: 5 << 20)
        // 2 full parts and a short third: the last part may be below the 5 MiB minimum.
        let payload = randomBytes((12 << 20) + 123, seed: 2)
        let source = directory.path + "/large.bin"
        try payload.write(to: URL(fileURLWithPath: source))
        let info = try store.put(key: "multipart/large.bin", fromFile: source)
        XCTAssertTrue(info.etag.hasSuffix("-3"), "a 3-part upload's ETag ends in -3, got \(info.etag)")

        let independent = try MotoFixture.server().independentSHA256(key: "multipart/large.bin")
        XCTAssertEqual(independent.sha256, SHA256.hex(of: payload))
        XCTAssertEqual(independent.sizeBytes, Int64(payload.count))
        XCTAssertEqual(try store.head(key: "multipart/large.bin").sha256, SHA256.hex(of: payload))
        XCTAssertEqual(try MotoFixture.server().multipartUploadsInProgress(), 0)
    }

    func testFailedMultipartUploadIsAborted() throws {
        let server = try MotoFixture.server()
        // The second part is refused for good (400 is not retried): the upload must be aborted, not left open.
        let proxy = try FaultProxy(target: server.endpoint) { _, request in
            request.query("partNumber") == "2"
                ? HTTPResponse(
                    status: 400,
                    body: Data("<Error><Code>InvalidPart</Code><Message>refused by the test</Message></Error>".utf8))
                : nil
        }
        defer { proxy.stop() }
        let store = try MotoFixture.store(endpoint: proxy.endpoint)
        let source = directory.path + "/aborted.bin"
        try randomBytes((10 << 20) + 1, seed: 3).write(to: URL(fileURLWithPath: source))
        XCTAssertThrowsError(try store.put(key: "multipart/aborted.bin", fromFile: source)) { error in
            guard case .unexpectedStatus(_, _, .uploadPart, 400, "InvalidPart", _) = error as? ObjectStoreError else {
                return XCTFail("expected the refused part, got \(error)")
            }
        }
        XCTAssertEqual(try server.multipartUploadsInProgress(), 0)
        XCTAssertThrowsError(try store.head(key: "multipart/aborted.bin"))
    }

    func testRangedGetReturnsExactlyTheSlice() throws {
        let store = try MotoFixture.store()
        let payload = randomBytes(4096, seed: 4)
        try store.put(key: "ranged.bin", data: payload)
        XCTAssertEqual(try store.get(key: "ranged.bin", range: 100...1099), payload[100...1099])
        let target = directory.path + "/slice.bin"
        try store.get(key: "ranged.bin", toFile: target, range: 4000...4095, expectedSHA256: nil)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), payload[4000...4095])
    }

    func testHeadListAndDelete() throws {
        let store = try MotoFixture.store()
        // The prefix has no '/': moto 5.2 checks a query's signature against its percent-decoded form and
        // refuses a correctly signed `prefix=a%2F` (boto3's own ListObjectsV2 included); real S3 accepts it.
        for name in ["b", "a", "c"] { try store.put(key: "listing-\(name).txt", data: Data(name.utf8)) }
        try store.put(key: "other/x.txt", data: Data("x".utf8))
        let listed = try store.list(prefix: "listing-")
        XCTAssertEqual(listed.map(\.key), ["listing-a.txt", "listing-b.txt", "listing-c.txt"])
        XCTAssertEqual(listed.map(\.sizeBytes), [1, 1, 1])

        let head = try store.head(key: "listing-b.txt")
        XCTAssertEqual(head.sizeBytes, 1)
        XCTAssertEqual(head.etag, listed[1].etag)
        XCTAssertEqual(head.sha256, SHA256.hex(of: Data("b".utf8)))

        try store.delete(key: "listing-b.txt")
        XCTAssertEqual(try store.list(prefix: "listing-").map(\.key), ["listing-a.txt", "listing-c.txt"])
        XCTAssertThrowsError(try store.head(key: "listing-b.txt")) { error in
            XCTAssertEqual(error as? ObjectStoreError, .noSuchKey(bucket: MotoFixture.bucket, key: "listing-b.txt"))
        }
    }

    func testMissingObjectIsNotFoundAndLeavesNoFile() throws {
        let store = try MotoFixture.store()
        let target = directory.path + "/missing.bin"
        XCTAssertThrowsError(try store.get(key: "no/such/object", toFile: target)) { error in
            XCTAssertEqual(error as? ObjectStoreError, .noSuchKey(bucket: MotoFixture.bucket, key: "no/such/object"))
            XCTAssertTrue("\(error)".contains("no object \"no/such/object\" in bucket \"llmops-test\""), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testWrongSecretNamesTheBucketAndThePermission() throws {
        let store = try MotoFixture.store(secret: "not-the-secret")
        XCTAssertThrowsError(try store.get(key: "anything")) { error in
            guard case .accessDenied(let bucket, _, .getObject, let code, _) = error as? ObjectStoreError else {
                return XCTFail("expected accessDenied, got \(error)")
            }
            XCTAssertEqual(bucket, MotoFixture.bucket)
            XCTAssertEqual(code, "SignatureDoesNotMatch")
            let message = "\(error)"
            XCTAssertTrue(message.contains("bucket \"llmops-test\"") && message.contains("s3:GetObject"), message)
            XCTAssertFalse(message.contains("not-the-secret"), message)
        }
        XCTAssertThrowsError(try store.put(key: "refused", data: Data("x".utf8))) { error in
            XCTAssertTrue("\(error)".contains("s3:PutObject"), "\(error)")
        }
    }

    func testWrongExpectedChecksumIsCaughtAfterFetchingAgain() throws {
        let messages = Locked<[String]>([])
        let store = try MotoFixture.store(log: { message in messages.withLock { $0.append(message) } })
        try store.put(key: "checked.bin", data: Data("payload".utf8))
        let wrong = String(repeating: "0", count: 64)
        XCTAssertThrowsError(
            try store.get(
                key: "checked.bin", toFile: directory.path + "/checked.bin", range: nil, expectedSHA256: wrong)
        ) { error in
            guard
                case .checksumMismatch(_, "checked.bin", wrong, SHA256.hex(of: Data("payload".utf8))) = error
                    as? ObjectStoreError
            else {
                return XCTFail("expected checksumMismatch, got \(error)")
            }
        }
        XCTAssertEqual(messages.current.filter { $0.contains("SHA-256 mismatch") }.count, 1)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), [])
    }

    func testSlowDownIsRetriedWithBackoffThenSucceeds() throws {
        let server = try MotoFixture.server()
        let proxy = try FaultProxy(target: server.endpoint) { index, _ in index <= 2 ? FaultProxy.slowDown() : nil }
        defer { proxy.stop() }
        try MotoFixture.store().put(key: "retried.bin", data: Data("after two 503s".utf8))
        let messages = Locked<[String]>([])
        let store = try MotoFixture.store(
            endpoint: proxy.endpoint, log: { message in messages.withLock { $0.append(message) } })
        XCTAssertEqual(try store.get(key: "retried.bin"), Data("after two 503s".utf8))
        XCTAssertEqual(proxy.requestCount.current, 3)
        XCTAssertEqual(messages.current.count, 2)
        XCTAssertTrue(
            messages.current[0].contains("HTTP 503 SlowDown") && messages.current[0].contains("attempt 1 of 4"),
            "\(messages.current)")
    }

    func testRetryBudgetEndsWithAClearError() throws {
        let proxy = try FaultProxy(target: try MotoFixture.server().endpoint) { _, _ in FaultProxy.slowDown() }
        defer { proxy.stop() }
        XCTAssertThrowsError(try MotoFixture.store(endpoint: proxy.endpoint).get(key: "any")) { error in
            guard case .unexpectedStatus(_, "any", .getObject, 503, "SlowDown", _) = error as? ObjectStoreError else {
                return XCTFail("expected the last 503, got \(error)")
            }
        }
        XCTAssertEqual(proxy.requestCount.current, MotoFixture.quickRetry.maxAttempts)

        let closed = "http://127.0.0.1:\(try FreePort.next())"
        XCTAssertThrowsError(try MotoFixture.store(endpoint: closed).head(key: "any")) { error in
            guard
                case .unreachable(MotoFixture.bucket, "any", .headObject, MotoFixture.quickRetry.maxAttempts, _) = error
                    as? ObjectStoreError
            else {
                return XCTFail("expected unreachable after every attempt, got \(error)")
            }
        }
    }
}
