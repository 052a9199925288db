// Issue 16.5 "Tenants": named tokens with a scope (viewer, submitter limited to queues, admin), created, listed
// and revoked by an admin, stored hashed and shown once; every route's permission (its `RouteScope`) decides who
// passes; a submitter sees and changes only the jobs of its queues; events name who made each change. The router
// is called in-process with request values against a real PostgreSQL database. Before, only the one admin token
// existed: `/v1/tokens` was a 404 and `events` had no `actor`.

import APITypes
import Checksum
import ClusterModel
import Foundation
import HTTPServer
import Postgres
import TestSupport
import XCTest

@testable import Control

final class TokenScopeTests: InProcessRouterTestCase {
    override var adminToken: String { "root" }

    // MARK: Helpers

    private func send(
        _ method: HTTPMethodName, _ path: String, token: String?, json: String = "", query: [HTTPQueryItem] = []
    ) -> HTTPResponse {
        let headers: HTTPHeaders = token.map { ["Authorization": "Bearer \($0)"] } ?? [:]
        return router.handle(
            HTTPRequest(
                method: method.rawValue, path: path, queryItems: query, headers: headers, body: Data(json.utf8)))
    }

    private func send<Body: Encodable>(_ line: APIRequestLine, token: String?, body: Body) throws -> HTTPResponse {
        send(line.method, line.path, token: token, json: String(decoding: try WireCoding.encode(body), as: UTF8.self))
    }

    private func message(_ response: HTTPResponse) -> String {
        (try? WireCoding.decode(APIErrorBody.self, from: response.bodyBytes).error.message) ?? "<no error body>"
    }

    /// Creates a token with the root admin token; its secret.
    private func createToken(_ name: String, _ scope: TokenScope, queues: [String] = []) throws -> String {
        let response = try send(
            APIRoute.createToken.request(), token: "root",
            body: CreateTokenRequest(name: name, scope: scope, queues: queues))
        XCTAssertEqual(response.status, 201, message(response))
        return try WireCoding.decode(CreatedTokenResponse.self, from: response.bodyBytes).secret
    }

    private func manifests(_ jobs: [(name: String, queue: String)], dryRun: Bool = false) -> String {
        let documents = jobs.map { job in
            #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"\#(job.name)"},"spec":{"type":"noop","queue":"\#(job.queue)"}}"#
        }
        return #"{"documents":[\#(documents.joined(separator: ","))],"dryRun":\#(dryRun)}"#
    }

    private func submit(_ jobs: [(name: String, queue: String)], token: String, dryRun: Bool = false) -> HTTPResponse {
        send(.post, APIRoute.manifests.path(), token: token, json: manifests(jobs, dryRun: dryRun))
    }

    // MARK: Tests

    /// Created with a secret shown once (only its SHA-256 stored), listed without it, usable, revoked: 401 after.
    func testATokenIsShownOnceStoredHashedListedAndRevoked() throws {
        let secret = try createToken("ci", .viewer)
        XCTAssertTrue(secret.hasPrefix("ops_"), secret)
        XCTAssertEqual(secret.count, 4 + 64)
        let stored = try pool.withConnection { c in
            try c.queryOne("SELECT secret_sha256, created_by, scope FROM api_tokens WHERE name = 'ci'")
        }
        XCTAssertEqual(try stored.string("secret_sha256"), SHA256.hex(of: Array(secret.utf8)))
        XCTAssertEqual(try stored.string("created_by"), "admin")
        XCTAssertEqual(
            try sqlInt("SELECT count(*) FROM api_tokens t WHERE strpos(row_to_json(t)::text, $1) > 0", [.text(secret)]),
            0, "the secret itself is stored nowhere in the row")

        let listed = send(.get, APIRoute.tokens.path(), token: "root")
        XCTAssertEqual(listed.status, 200)
        XCTAssertFalse(String(decoding: listed.bodyBytes, as: UTF8.self).contains(secret))
        let views = try WireCoding.decode(ListResponse<TokenView>.self, from: listed.bodyBytes).items
        XCTAssertEqual(views.map(\.name), ["ci"])
        XCTAssertEqual(views.first?.scope, .viewer)
        XCTAssertNil(views.first?.revokedAt)

        XCTAssertEqual(send(.get, APIRoute.jobs.path(), token: secret).status, 200)
        let revoked = send(.delete, APIRoute.revokeToken.path("ci"), token: "root")
        XCTAssertEqual(revoked.status, 200, message(revoked))
        XCTAssertNotNil(try WireCoding.decode(TokenView.self, from: revoked.bodyBytes).revokedAt)
        XCTAssertEqual(send(.get, APIRoute.jobs.path(), token: secret).status, 401)
        XCTAssertEqual(send(.delete, APIRoute.revokeToken.path("ci"), token: "root").status, 200, "idempotent")
        XCTAssertEqual(send(.delete, APIRoute.revokeToken.path("nobody"), token: "root").status, 404)

        // A revoked name stays taken; bad requests say what to do.
        let again = try send(
            APIRoute.createToken.request(), token: "root", body: CreateTokenRequest(name: "ci", scope: .viewer))
        XCTAssertEqual(again.status, 409)
        XCTAssertTrue(message(again).contains("choose another name"), message(again))
        let cases: [(CreateTokenRequest, String)] = [
            (CreateTokenRequest(name: "admin", scope: .viewer), "reserved"),
            (CreateTokenRequest(name: "Bad Name", scope: .viewer), "use 1 to 63"),
            (CreateTokenRequest(name: "sub", scope: .submitter), "needs 1 to 64 queues"),
            (CreateTokenRequest(name: "view", scope: .viewer, queues: ["a"]), "takes no --queue"),
        ]
        for (request, expected) in cases {
            let response = try send(APIRoute.createToken.request(), token: "root", body: request)
            XCTAssertEqual(response.status, 400, request.name)
            XCTAssertTrue(message(response).contains(expected), message(response))
        }
        XCTAssertEqual(send(.get, APIRoute.jobs.path(), token: "ops_" + String(repeating: "0", count: 64)).status, 401)
    }

    /// The permission matrix: each kind of token × a representative route of each permission → the status.
    func testEachScopeOnARouteOfEachPermission() throws {
        let viewer = try createToken("viewer", .viewer)
        let submitter = try createToken("submitter", .submitter, queues: ["research"])
        let namedAdmin = try createToken("ops-admin", .admin)
        let registered = try send(
            APIRoute.workerRegister.request(), token: "join",
            body: RegisterWorkerRequest(
                name: "w1", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test", kinds: [],
                maxConcurrentTasks: 1))
        let worker = try XCTUnwrap(
            try WireCoding.decode(RegisterWorkerResponse.self, from: registered.bodyBytes).workerToken)
        XCTAssertEqual(submit([("parked", "research")], token: "root").status, 201)

        let blob = String(repeating: "ab", count: 32)
        struct Case {
            let permission: RouteScope
            let method: HTTPMethodName
            let path: String
            let json: String
        }
        let routes = [
            Case(permission: .read, method: .get, path: APIRoute.job.path("parked"), json: ""),
            Case(
                permission: .submit, method: .post, path: APIRoute.manifests.path(),
                json: manifests([("new-job", "research")], dryRun: true)),
            Case(permission: .admin, method: .get, path: APIRoute.tokens.path(), json: ""),
            Case(permission: .worker, method: .get, path: APIRoute.getBlob.path(blob), json: ""),
        ]
        // Expected status per token, in the order of `tokens`.
        let tokens = [
            ("root", "root"), ("ops-admin", namedAdmin), ("submitter", submitter), ("viewer", viewer),
            ("worker", worker), ("join", "join"),
        ]
        let expected: [RouteScope: [Int]] = [
            .read: [200, 200, 200, 200, 403, 403],
            .submit: [200, 200, 200, 403, 403, 403],
            .admin: [200, 200, 403, 403, 403, 403],
            .worker: [404, 404, 403, 403, 404, 403],
        ]
        for route in routes {
            XCTAssertEqual(
                APIRoute.all.first {
                    $0.method == route.method && $0.match(route.path.split(separator: "/").map(String.init)) != nil
                }?.scope, route.permission)
            let statuses = tokens.map { send(route.method, route.path, token: $0.1, json: route.json).status }
            XCTAssertEqual(
                statuses, expected[route.permission], "\(route.method.rawValue) \(route.path): \(tokens.map(\.0))")
        }
        // A 403 names the scope needed and the token's own.
        let denied = send(.post, APIRoute.manifests.path(), token: viewer, json: manifests([("x", "research")]))
        XCTAssertTrue(message(denied).contains("scope submitter"), message(denied))
        XCTAssertTrue(message(denied).contains("token viewer has scope viewer"), message(denied))
        let notAdmin = send(.delete, APIRoute.revokeToken.path("viewer"), token: submitter)
        XCTAssertEqual(notAdmin.status, 403)
        XCTAssertTrue(message(notAdmin).contains("scope admin"), message(notAdmin))
        XCTAssertEqual(send(.post, APIRoute.cancelJob.path("parked"), token: viewer).status, 403)
        XCTAssertEqual(send(.delete, APIRoute.deleteQueue.path("research"), token: submitter).status, 403)
    }

    /// A submitter submits, cancels and deletes only jobs of its queues (403 naming the queue otherwise), and
    /// sees nothing of the other queues' jobs: describe, tasks, logs, metrics and events are 403, lists leave
    /// them out, and the listings across jobs need one of its jobs named.
    func testASubmitterIsHeldToItsQueues() throws {
        let submitter = try createToken("ci", .submitter, queues: ["research"])
        XCTAssertEqual(submit([("mine", "research")], token: submitter).status, 201)
        XCTAssertEqual(submit([("theirs", "prod")], token: "root").status, 201)

        let refused = submit([("sneaky", "prod")], token: submitter)
        XCTAssertEqual(refused.status, 403)
        XCTAssertTrue(message(refused).contains("queue prod"), message(refused))
        let mixed = submit([("fine", "research"), ("sneaky", "prod")], token: submitter)
        XCTAssertEqual(mixed.status, 403, "all or nothing")
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM jobs WHERE name IN ('fine', 'sneaky')"), 0)
        let configuring = send(
            .post, APIRoute.manifests.path(), token: submitter,
            json:
                #"{"documents":[{"apiVersion":"llmops/v1","kind":"Queue","metadata":{"name":"research"},"spec":{"weight":5}}]}"#
        )
        XCTAssertEqual(configuring.status, 403, message(configuring))

        let theirs: [(HTTPMethodName, String)] = [
            (.get, APIRoute.job.path("theirs")), (.get, APIRoute.jobTasks.path("theirs")),
            (.get, APIRoute.jobLogs.path("theirs")), (.get, APIRoute.jobMetrics.path("theirs")),
            (.get, APIRoute.jobEvents.path("theirs")), (.post, APIRoute.cancelJob.path("theirs")),
            (.delete, APIRoute.deleteJob.path("theirs")), (.post, APIRoute.rerunJob.path("theirs")),
            (.get, APIRoute.tasks.path(query: [("job", "theirs")])),
        ]
        for (method, path) in theirs {
            let (bare, query) = split(path)
            let response = send(method, bare, token: submitter, query: query)
            XCTAssertEqual(response.status, 403, "\(method.rawValue) \(path)")
            XCTAssertTrue(message(response).contains("is in queue prod"), "\(path): \(message(response))")
        }
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM jobs WHERE name = 'theirs' AND NOT cancel_requested"), 1)
        for path in [APIRoute.tasks.path(), APIRoute.events.path(), APIRoute.artifacts.path()] {
            XCTAssertEqual(send(.get, path, token: submitter).status, 403, path)
        }
        let jobs = send(.get, APIRoute.jobs.path(), token: submitter)
        XCTAssertEqual(jobs.status, 200)
        XCTAssertEqual(
            try WireCoding.decode(ListResponse<JobView>.self, from: jobs.bodyBytes).items.map(\.name), ["mine"])
        XCTAssertEqual(
            send(.get, APIRoute.jobs.path(), token: submitter, query: [HTTPQueryItem(name: "queue", value: "prod")])
                .status, 403)

        // A submitter of two queues lists the jobs of both, of one when it asks for one.
        XCTAssertEqual(submit([("elsewhere", "other")], token: "root").status, 201)
        let two = try createToken("two", .submitter, queues: ["research", "other"])
        let both = send(.get, APIRoute.jobs.path(), token: two)
        XCTAssertEqual(
            try WireCoding.decode(ListResponse<JobView>.self, from: both.bodyBytes).items.map(\.name),
            ["elsewhere", "mine"])
        let one = send(.get, APIRoute.jobs.path(), token: two, query: [HTTPQueryItem(name: "queue", value: "other")])
        XCTAssertEqual(
            try WireCoding.decode(ListResponse<JobView>.self, from: one.bodyBytes).items.map(\.name), ["elsewhere"])

        // Its own job: everything works.
        XCTAssertEqual(send(.get, APIRoute.job.path("mine"), token: submitter).status, 200)
        XCTAssertEqual(send(.get, APIRoute.jobLogs.path("mine"), token: submitter).status, 200)
        XCTAssertEqual(
            send(.get, APIRoute.tasks.path(), token: submitter, query: [HTTPQueryItem(name: "job", value: "mine")])
                .status, 200)
        XCTAssertEqual(send(.post, APIRoute.cancelJob.path("mine"), token: submitter).status, 200)
        // Viewers and admins see every queue.
        let viewer = try createToken("viewer", .viewer)
        let all = send(.get, APIRoute.jobs.path(), token: viewer)
        XCTAssertEqual(
            Set(try WireCoding.decode(ListResponse<JobView>.self, from: all.bodyBytes).items.map(\.name)),
            ["mine", "theirs", "elsewhere"])
        XCTAssertEqual(send(.get, APIRoute.job.path("theirs"), token: viewer).status, 200)
    }

    /// Every change made through the API names its maker in the events trail: a named token by its name, the
    /// root admin token as `admin`; what the cluster does by itself names no one.
    func testEventsNameWhoMadeEachChange() throws {
        let submitter = try createToken("ci", .submitter, queues: ["research"])
        XCTAssertEqual(submit([("by-ci", "research")], token: submitter).status, 201)
        XCTAssertEqual(submit([("by-root", "research")], token: "root").status, 201)
        XCTAssertEqual(send(.post, APIRoute.cancelJob.path("by-ci"), token: submitter).status, 200)
        let opsAdmin = try createToken("ops", .admin)
        XCTAssertEqual(send(.post, APIRoute.cancelJob.path("by-root"), token: opsAdmin).status, 200)

        func actors(_ job: String) throws -> [String: Set<String>] {
            let response = send(.get, APIRoute.jobEvents.path(job), token: "root")
            XCTAssertEqual(response.status, 200)
            let events = try WireCoding.decode(ListResponse<EventView>.self, from: response.bodyBytes).items
            return Dictionary(grouping: events, by: \.type).mapValues { Set($0.map { $0.actor ?? "-" }) }
        }
        let byCI = try actors("by-ci")
        XCTAssertEqual(byCI["job.pending"], ["ci"], "\(byCI)")
        XCTAssertEqual(byCI["task.cancelled"], ["ci"], "\(byCI)")
        XCTAssertEqual(Set(byCI.values.flatMap { $0 }), ["ci"], "\(byCI)")
        let byRoot = try actors("by-root")
        XCTAssertEqual(byRoot["job.pending"], ["admin"], "\(byRoot)")
        XCTAssertEqual(byRoot["task.cancelled"], ["ops"], "\(byRoot)")
        // No request leaves its actor on a pooled connection: a change outside any request names no one.
        let left = try pool.withConnection { c in
            try c.queryOne("SELECT coalesce(current_setting('ops.actor', true), '') AS a").string("a")
        }
        XCTAssertEqual(left, "")
        try Events.recordOutsideRequest(pool)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM events WHERE reason = 'outside' AND actor IS NULL"), 1)
        // The two token creations are the only changes of this test outside a job (their own test is below).
        XCTAssertEqual(
            try sqlInt("SELECT count(*) FROM events WHERE actor IS NOT NULL AND job_id IS NULL AND entity <> 'token'"),
            0)
    }

    /// Creating and revoking a token is in the events trail itself: one `token` event each, naming the admin who
    /// did it as the actor and the token's scope and queues in the reason; a second revocation adds nothing, and a
    /// refused creation (name taken) writes no event. Before, both changes were only in `api_tokens`.
    func testTokenCreationAndRevocationAreInTheEventsTrail() throws {
        let ops = try createToken("ops", .admin)
        _ = try createToken("ci", .submitter, queues: ["research", "eval"])
        XCTAssertEqual(send(.delete, APIRoute.revokeToken.path("ci"), token: ops).status, 200)
        XCTAssertEqual(send(.delete, APIRoute.revokeToken.path("ci"), token: "root").status, 200)
        let taken = try send(
            APIRoute.createToken.request(), token: "root", body: CreateTokenRequest(name: "ci", scope: .viewer))
        XCTAssertEqual(taken.status, 409)

        let response = send(.get, APIRoute.events.path(), token: "root")
        XCTAssertEqual(response.status, 200)
        let events = try WireCoding.decode(ListResponse<EventView>.self, from: response.bodyBytes).items
            .filter { $0.type.hasPrefix("token.") }.sorted { $0.id < $1.id }
        XCTAssertEqual(events.map(\.type), ["token.created", "token.created", "token.revoked"], "\(events)")
        XCTAssertEqual(events.map { $0.actor ?? "-" }, ["admin", "admin", "ops"])
        XCTAssertEqual(
            events.map(\.message),
            [
                "token ops created with scope admin", "token ci created with scope submitter for queues eval, research",
                "token ci revoked",
            ])
    }

    private func split(_ path: String) -> (String, [HTTPQueryItem]) {
        let parts = path.split(separator: "?", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (path, []) }
        let items = parts[1].split(separator: "&").map { pair -> HTTPQueryItem in
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            return HTTPQueryItem(name: kv[0], value: kv.count > 1 ? kv[1] : "")
        }
        return (parts[0], items)
    }
}

extension Events {
    /// One event written the way the cluster's own changes are (no request bound an actor).
    fileprivate static func recordOutsideRequest(_ pool: PostgresPool) throws {
        try pool.withConnection { c in try record(c, .queue, 1, from: nil, to: "configured", reason: "outside") }
    }
}
