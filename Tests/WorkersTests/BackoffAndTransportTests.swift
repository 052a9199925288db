import APIClient
import APITypes
import ClusterModel
import Foundation
import HTTPServer
import XCTest

@testable import Workers

final class BackoffAndTransportTests: XCTestCase {
    func testBackoffGrowsExponentiallyUpToTheCapWithBoundedJitter() {
        let backoff = Backoff(initialSeconds: 0.1, maximumSeconds: 1, multiplier: 2, jitter: 0.5)
        XCTAssertEqual(backoff.delay(afterFailures: 1, unit: 1), 0.1, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(afterFailures: 2, unit: 1), 0.2, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(afterFailures: 4, unit: 1), 0.8, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(afterFailures: 5, unit: 1), 1, accuracy: 1e-9, "capped")
        XCTAssertEqual(backoff.delay(afterFailures: 500, unit: 1), 1, accuracy: 1e-9)
        XCTAssertEqual(backoff.delay(afterFailures: 4, unit: 0), 0.4, accuracy: 1e-9, "jitter takes at most half")
        for _ in 0..<100 {
            let d = backoff.delay(afterFailures: 3)
            XCTAssertTrue((0.2...0.4).contains(d), "\(d)")
        }
    }

    func testRetryRetriesTransientErrorsOnlyAndSleepsByTheBackoff() async throws {
        let calls = Locked(0)
        let sleeps = Locked<[Double]>([])
        let backoff = Backoff(initialSeconds: 1, maximumSeconds: 8, multiplier: 2, jitter: 0)
        let value = try await withControlPlaneRetry(
            "test", backoff: backoff, log: { _ in },
            sleep: { seconds in sleeps.mutate { $0.append(seconds) } }
        ) { () async throws(ControlPlaneError) -> Int in
            calls.mutate { $0 += 1 }
            if calls.value < 4 { throw ControlPlaneError.unreachable(url: "http://127.0.0.1:1", reason: "refused") }
            return 42
        }
        XCTAssertEqual(value, 42)
        XCTAssertEqual(sleeps.value, [1, 2, 4])

        let fatalCalls = Locked(0)
        do {
            _ = try await withControlPlaneRetry("test", backoff: backoff, log: { _ in }, sleep: { _ in }) {
                () async throws(ControlPlaneError) -> Int in
                fatalCalls.mutate { $0 += 1 }
                throw ControlPlaneError.rejected(
                    route: "POST /x", status: 403, body: APIErrorBody(code: .forbidden, message: "no"))
            }
            XCTFail("a 403 must not be retried")
        } catch let error as ControlPlaneError {
            XCTAssertEqual(error.status, 403)
        }
        XCTAssertEqual(fatalCalls.value, 1)
    }

    func testErrorClassification() {
        XCTAssertTrue(ControlPlaneError.rejected(route: "r", status: 503, body: nil).isRetryable)
        XCTAssertTrue(ControlPlaneError.rejected(route: "r", status: 429, body: nil).isRetryable)
        XCTAssertFalse(ControlPlaneError.rejected(route: "r", status: 400, body: nil).isRetryable)
        XCTAssertTrue(
            ControlPlaneError.rejected(route: "r", status: 409, body: APIErrorBody(code: .staleAttempt, message: "m"))
                .isStaleAttempt)
        XCTAssertFalse(
            ControlPlaneError.rejected(route: "r", status: 409, body: APIErrorBody(code: .conflict, message: "m"))
                .isStaleAttempt)
        XCTAssertTrue(
            ControlPlaneError.rejected(route: "r", status: 404, body: APIErrorBody(code: .unknownWorker, message: "m"))
                .isUnknownWorker)
    }

    /// The admin client against a real HTTP server: bearer token, query strings, error bodies, bad JSON.
    func testOpsClientSendsTheTokenAndMapsErrorBodies() async throws {
        let seen = Locked<[String]>([])
        let server = HTTPServer { request in
            seen.mutate {
                $0.append(
                    "\(request.method) \(request.path)?\(request.queryItems.map { "\($0.name)=\($0.value)" }.joined(separator: "&")) \(request.bearerToken ?? "-")"
                )
            }
            switch request.path {
            case "/v1/jobs":
                let job = JobView(
                    id: JobID(1), name: "a", type: "noop", state: .running, submittedAt: Date(timeIntervalSince1970: 0))
                let page =
                    request.query("cursor") == nil
                    ? ListResponse(items: [job], nextCursor: "p2") : ListResponse(items: [job], nextCursor: nil)
                return HTTPResponse(status: 200, body: try! WireCoding.encode(page))
            case "/v1/jobs/missing":
                return HTTPResponse(
                    status: 404,
                    body: try! WireCoding.encode(APIErrorBody(code: .notFound, message: "no job named missing")))
            case "/v1/workers":
                return HTTPResponse(status: 200, body: Data("{not json".utf8))
            default:
                return HTTPResponse(status: 500, body: Data())
            }
        }
        try server.start()
        defer { server.stop(timeoutSeconds: 1) }
        let client = OpsClient(baseURL: server.baseURL + "/", token: "admin-token", transport: CurlTransport())
        let jobs = try await client.jobs(state: .running)
        XCTAssertEqual(jobs.count, 2, "both pages")
        XCTAssertEqual(seen.value.first, "GET /v1/jobs?state=running&limit=5000 admin-token")
        XCTAssertEqual(seen.value.last, "GET /v1/jobs?state=running&limit=5000&cursor=p2 admin-token")
        do {
            _ = try await client.job("missing")
            XCTFail("expected a 404")
        } catch {
            guard case .rejected(_, 404, let body?) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(body.error.message, "no job named missing")
        }
        do {
            _ = try await client.workers()
            XCTFail("expected a decoding failure")
        } catch {
            guard case .invalidResponse = error else { return XCTFail("\(error)") }
        }
        let unreachable = OpsClient(baseURL: "http://127.0.0.1:1", token: nil, transport: CurlTransport())
        do {
            _ = try await unreachable.health()
            XCTFail("nothing listens on port 1")
        } catch {
            XCTAssertTrue(error.isRetryable)
        }
    }

    func testTokenIsNeverInDescriptions() {
        let token = BearerToken("super-secret")
        XCTAssertEqual("\(token)", "<redacted>")
        let api = HTTPControlPlaneAPI(baseURL: "http://127.0.0.1:1", token: "super-secret", transport: CurlTransport())
        XCTAssertFalse(String(describing: api).contains("super-secret"))
    }
}
