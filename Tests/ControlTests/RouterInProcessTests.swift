import APITypes
import ClusterModel
import Foundation
import HTTPServer
import TestSupport
import XCTest

@testable import Control

/// The router called in-process with request values (no socket, no server): route matching with path
/// parameters, 404 for an unknown path, 405 for a known path with another method, and the token each route's
/// scope asks for. Handlers that read the store use a fresh database on the throwaway PostgreSQL.
final class RouterInProcessTests: InProcessRouterTestCase {
    private func send(
        _ method: String, _ path: String, token: String?, json: String? = nil,
        query: [HTTPQueryItem] = []
    ) -> HTTPResponse {
        let headers: HTTPHeaders = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        return router.handle(
            HTTPRequest(method: method, path: path, queryItems: query, headers: headers, body: Data((json ?? "").utf8)))
    }

    private func send(_ line: APIRequestLine, token: String?, json: String? = nil) -> HTTPResponse {
        send(line.method.rawValue, line.path, token: token, json: json)
    }

    private func send<Body: Encodable>(_ line: APIRequestLine, token: String?, body: Body) throws -> HTTPResponse {
        send(line, token: token, json: String(decoding: try WireCoding.encode(body), as: UTF8.self))
    }

    /// Registers a worker with the join token; its id and its own token.
    private func registerWorker() throws -> (id: WorkerID, token: String) {
        let request = RegisterWorkerRequest(
            name: "w1", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
            kinds: [], maxConcurrentTasks: 1)
        let response = try send(APIRoute.workerRegister.request(), token: "join", body: request)
        XCTAssertEqual(response.status, 200)
        let registered = try WireCoding.decode(RegisterWorkerResponse.self, from: response.bodyBytes)
        return (registered.workerID, try XCTUnwrap(registered.workerToken))
    }

    private func error(_ response: HTTPResponse) throws -> APIErrorDetail {
        try WireCoding.decode(APIErrorBody.self, from: response.bodyBytes).error
    }

    /// A `/v1/` path that no pattern fits is a 404; one that fits with another method is a 405 naming the method.
    func testUnknownPathIs404AndWrongMethodIs405() throws {
        let unknown = send("GET", "/v1/nothing-here", token: "admin")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(try error(unknown).code, .notFound)
        XCTAssertTrue(try error(unknown).message.contains("no route GET /v1/nothing-here"))
        // One segment too many for `/v1/jobs/{name}/tasks`.
        XCTAssertEqual(send("GET", APIRoute.jobTasks.path("a") + "/more", token: "admin").status, 404)

        let wrongMethod = send("DELETE", APIRoute.jobs.path(), token: "admin")
        XCTAssertEqual(wrongMethod.status, 405)
        XCTAssertEqual(try error(wrongMethod).code, .methodNotAllowed)
        XCTAssertTrue(try error(wrongMethod).message.contains("DELETE is not allowed on /v1/jobs"))
        // A pattern with a parameter, and a path whose pattern has two methods (GET and PUT, not DELETE).
        XCTAssertEqual(send("GET", APIRoute.cancelJob.path("a"), token: "admin").status, 405)
        XCTAssertEqual(
            send("DELETE", APIRoute.getBlob.path(String(repeating: "ab", count: 32)), token: "admin").status, 405)
    }

    /// The path parameter reaches the handler decoded, and the handler's own 404 names it.
    func testPathParametersReachTheHandler() throws {
        let job = send(APIRoute.job.request("pre train"), token: "admin")
        XCTAssertEqual(job.status, 404)
        XCTAssertEqual(try error(job).message, "no job named pre train; `opsctl get jobs` lists them")
        let queue = send(APIRoute.deleteQueue.request("batch"), token: "admin")
        XCTAssertEqual(queue.status, 404)
        XCTAssertTrue(try error(queue).message.hasPrefix("no configured queue named batch;"))
        let shards = send(APIRoute.datasetShards.request("corpus"), token: "admin")
        XCTAssertTrue(try error(shards).message.hasPrefix("no dataset named corpus;"))
        let blob = send(APIRoute.getBlob.request("not-a-checksum"), token: "admin")
        XCTAssertEqual(blob.status, 400)
        XCTAssertTrue(try error(blob).message.contains("got \"not-a-checksum\""))
    }

    /// A submitted job is found by name, its tasks by the job in the path or in the query.
    func testSubmitThenReadAJobByName() throws {
        let manifest =
            #"{"documents":[{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"work"},"spec":{"type":"noop"}}]}"#
        XCTAssertEqual(send(APIRoute.manifests.request(), token: "admin", json: manifest).status, 201)
        XCTAssertEqual(
            send(APIRoute.manifests.request(), token: "admin", json: manifest).status, 200,
            "an identical re-apply changes nothing")
        let job = try WireCoding.decode(
            JobView.self, from: send(APIRoute.job.request("work"), token: "admin").bodyBytes)
        XCTAssertEqual(job.name, "work")
        let tasks = try WireCoding.decode(
            ListResponse<TaskView>.self, from: send(APIRoute.jobTasks.request("work"), token: "admin").bodyBytes)
        XCTAssertEqual(tasks.items.map(\.jobName), ["work"])
        let byQuery = send(
            "GET", APIRoute.tasks.path(), token: "admin", query: [HTTPQueryItem(name: "job", value: "work")])
        XCTAssertEqual(
            try WireCoding.decode(ListResponse<TaskView>.self, from: byQuery.bodyBytes).items.map(\.id),
            tasks.items.map(\.id))
        let badState = send(
            "GET", APIRoute.jobs.path(), token: "admin", query: [HTTPQueryItem(name: "state", value: "sleeping")])
        XCTAssertEqual(badState.status, 400)
        XCTAssertTrue(try error(badState).message.hasPrefix("query parameter state: expected one of pending, "))
    }

    /// Every route of the table, called with each kind of token: the scope decides 401/403 before the handler runs.
    func testEveryRouteChecksItsScope() throws {
        let workerToken = try registerWorker().token
        for endpoint in APIRoute.all {
            let path = endpoint.path(filling: endpoint.parameterNames.map { _ in String(repeating: "ab", count: 32) })
            let method = endpoint.method.rawValue
            let anonymous = send(method, path, token: nil)
            let join = send(method, path, token: "join")
            let worker = send(method, path, token: workerToken)
            let admin = send(method, path, token: "admin")
            let stranger = send(method, path, token: "not-a-token")
            if endpoint.credential == .sessionCookie {
                // A bearer token, even the admin's, is no dashboard session: a page sends the browser to sign in,
                // the poll and the forms answer 401 (docs/dashboard.md; DashboardRouterTests signs in).
                let expected = endpoint == APIRoute.dashboardJobLive || endpoint.method == .post ? 401 : 303
                XCTAssertEqual(
                    [anonymous, stranger, join, worker, admin].map(\.status), Array(repeating: expected, count: 5),
                    "\(endpoint)")
                continue
            }
            switch endpoint.scope {
            case .open:
                // The probes answer 200; the dashboard's sign-in without a token field is a 400, an asset of
                // another name a 404.
                let expected = [APIRoute.dashboardLogin: 400, APIRoute.dashboardAsset: 404][endpoint] ?? 200
                XCTAssertEqual(anonymous.status, expected, "\(endpoint)")
            case .admin, .read, .submit:
                XCTAssertEqual(
                    [anonymous.status, stranger.status, join.status, worker.status], [401, 401, 403, 403], "\(endpoint)"
                )
                XCTAssertFalse([401, 403].contains(admin.status), "\(endpoint): \(admin.status)")
            case .worker:
                XCTAssertEqual([anonymous.status, stranger.status, join.status], [401, 401, 403], "\(endpoint)")
                // Past the scope check: the handler answers (a 400 for the empty body, a 404 for the unknown blob).
                XCTAssertFalse([401, 403].contains(worker.status), "\(endpoint): \(worker.status)")
                XCTAssertFalse([401, 403].contains(admin.status), "\(endpoint): \(admin.status)")
            case .member:
                XCTAssertEqual([anonymous.status, stranger.status], [401, 401], "\(endpoint)")
                XCTAssertEqual([join.status, worker.status, admin.status], [200, 200, 200], "\(endpoint)")
            case .registration:
                XCTAssertEqual([anonymous.status, stranger.status, worker.status], [401, 401, 403], "\(endpoint)")
                XCTAssertEqual(
                    [join.status, admin.status], [400, 400], "\(endpoint): the token passes, the empty body does not")
            }
        }
    }

    /// A worker's token acts only for its own worker id (checked by the handler against the body).
    func testWorkerCallsNameTheirOwnWorker() throws {
        let (worker, token) = try registerWorker()
        XCTAssertEqual(
            try send(
                APIRoute.workerHeartbeat.request(), token: token, body: HeartbeatRequest(workerID: worker, attempts: [])
            ).status, 200)
        let other = try send(
            APIRoute.workerHeartbeat.request(), token: token,
            body: HeartbeatRequest(workerID: WorkerID(worker.rawValue + 1), attempts: []))
        XCTAssertEqual(other.status, 403)
        XCTAssertEqual(
            try send(APIRoute.workerReports.request(), token: token, body: ReportBatch(workerID: worker)).status, 200)
        let poll = try send(
            APIRoute.workerPoll.request(), token: token,
            body: PollRequest(workerID: worker, maxTasks: 0, waitSeconds: 0, available: Resources(cpuMillis: 1000)))
        XCTAssertEqual(poll.status, 400)
        XCTAssertEqual(try error(poll).message, "maxTasks: expected an integer in 1...1024, got 0")
        XCTAssertEqual(
            try send(APIRoute.workerDeregister.request(), token: token, body: DeregisterWorkerRequest(workerID: worker))
                .status, 204)
    }
}
