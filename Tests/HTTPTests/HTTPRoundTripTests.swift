import Foundation
import HTTPClient
import HTTPServer
import XCTest

final class HTTPRoundTripTests: XCTestCase {
    func testMethodsHeadersQueryAndBodyRoundTrip() throws {
        let server = try startServer(self, handler: echoHandler)
        let client = HTTPClient(defaultHeaders: ["X-Test-Header": "default"])
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            let body = method == "GET" ? nil : Data("payload of \(method)".utf8)
            let response = try client.send(
                HTTPClientRequest(
                    method: method, url: "\(server.baseURL)/v1/jobs/a%20b?state=running&name=x%26y&plus=a+b",
                    headers: method == "PUT" ? ["x-test-header": "override"] : [:], body: body))
            XCTAssertEqual(response.status, 200, method)
            XCTAssertEqual(response.header("content-type"), "application/json")
            let echo = try response.decodeJSON(Echo.self)
            XCTAssertEqual(echo.method, method)
            XCTAssertEqual(echo.path, "/v1/jobs/a b")
            XCTAssertEqual(
                echo.query, ["state": "running", "name": "x&y", "plus": "a b"], "+ decodes to a space, as in forms")
            XCTAssertEqual(echo.header, method == "PUT" ? "override" : "default")
            XCTAssertEqual(echo.body, body.map { String(decoding: $0, as: UTF8.self) } ?? "")
            XCTAssertEqual(echo.remote, "127.0.0.1")
        }
    }

    func testJSONRoundTripAndErrorStatusesAreResponses() throws {
        struct Job: Codable, Equatable {
            var name: String
            var replicas: Int
            var labels: [String: String]
        }
        let server = try startServer(self) { request in
            guard request.bearerToken == "secret" else {
                return .error(status: 401, message: "missing or wrong bearer token")
            }
            guard let job = try? request.decodeJSON(Job.self) else {
                return .error(status: 400, message: "malformed JSON")
            }
            var updated = job
            updated.replicas *= 2
            return .json(updated, status: 201)
        }
        let client = HTTPClient(bearerToken: "secret")
        let job = Job(name: "train-1", replicas: 4, labels: ["zone": "a"])
        let response = try client.send(.json(url: "\(server.baseURL)/v1/jobs", body: job))
        XCTAssertEqual(response.status, 201)
        XCTAssertEqual(try response.decodeJSON(Job.self), Job(name: "train-1", replicas: 8, labels: ["zone": "a"]))

        let malformed = try client.send(
            HTTPClientRequest(method: "POST", url: "\(server.baseURL)/v1/jobs", body: Data("{nope".utf8)))
        XCTAssertEqual(malformed.status, 400)
        XCTAssertTrue(malformed.text.contains("malformed JSON"), malformed.text)

        let anonymous = try HTTPClient().send(HTTPClientRequest(url: "\(server.baseURL)/v1/jobs"))
        XCTAssertEqual(anonymous.status, 401)
        let error = try JSONSerialization.jsonObject(with: anonymous.body) as? [String: [String: Any]]
        XCTAssertEqual(error?["error"]?["status"] as? Int, 401)
        XCTAssertEqual(error?["error"]?["code"] as? String, "unauthorized")
        XCTAssertEqual(error?["error"]?["message"] as? String, "missing or wrong bearer token")
    }

    func testManySequentialRequestsReuseConnections() throws {
        let server = try startServer(self, handler: echoHandler)
        let client = HTTPClient()
        for i in 0..<200 {
            let response = try client.send(
                HTTPClientRequest(method: "POST", url: "\(server.baseURL)/n", body: Data("\(i)".utf8)))
            XCTAssertEqual(try response.decodeJSON(Echo.self).body, "\(i)")
        }
    }

    func testConcurrentClientsFromManyThreads() throws {
        let server = try startServer(self, handler: echoHandler)
        let client = HTTPClient()
        let failures = LockedCounter()
        DispatchQueue.concurrentPerform(iterations: 16) { thread in
            for i in 0..<20 {
                let body = "t\(thread)-\(i)"
                let response = try? client.send(
                    HTTPClientRequest(method: "POST", url: "\(server.baseURL)/c", body: Data(body.utf8)))
                if (try? response?.decodeJSON(Echo.self).body) != body { failures.increment() }
            }
        }
        XCTAssertEqual(failures.value, 0)
    }

    func testAsyncSend() async throws {
        let server = try startServer(self, handler: echoHandler)
        let client = HTTPClient()
        let url = server.baseURL
        try await withThrowingTaskGroup(of: String.self) { group in
            for i in 0..<10 {
                group.addTask {
                    let response = try await client.send(
                        HTTPClientRequest(method: "POST", url: "\(url)/async", body: Data("\(i)".utf8)))
                    return try response.decodeJSON(Echo.self).body
                }
            }
            var bodies: Set<String> = []
            for try await body in group { bodies.insert(body) }
            XCTAssertEqual(bodies, Set((0..<10).map { "\($0)" }))
        }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}
