// The training exchange's routes on a real control plane (real PostgreSQL, real HTTP), spoken through the typed
// client (`TrainingExchangeAPI`): first-writer-wins, versions, the long-poll woken by another connection's put,
// and the 400/403/404 answers that name what was wrong.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import TestSupport
import Workers
import XCTest

final class TrainingExchangeRouteTests: XCTestCase {
    private var cluster: InProcessCluster!
    private var adminAPI: HTTPControlPlaneAPI!

    override func setUpWithError() throws {
        cluster = try InProcessCluster(leaseSeconds: 60)
        adminAPI = HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "admin", transport: CurlTransport())
    }

    override func tearDown() async throws { await cluster?.shutdown() }

    /// A registered worker (its own token) holding the one attempt of a new `noop` job.
    private func workerHoldingAnAttempt(job: String) async throws -> (api: HTTPControlPlaneAPI, job: JobID) {
        let api = HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "join", transport: CurlTransport())
        let worker = try await api.register(
            RegisterWorkerRequest(
                name: "w-\(job)", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
                kinds: ["noop"], maxConcurrentTasks: 1))
        _ = try await cluster.admin.submit([
            [
                "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(job)],
                "spec": ["type": "noop", "resources": ["cpu": 1]],
            ]
        ])
        let poll = try await api.poll(
            PollRequest(workerID: worker.workerID, maxTasks: 1, waitSeconds: 10, available: .zero))
        let assignment = try XCTUnwrap(poll.assignments.first, "the worker got the job's task")
        return (api, assignment.jobID)
    }

    private func put(_ sha: Character, exclusive: Bool) -> ExchangePutRequest {
        let digest = String(repeating: sha, count: 64)
        return ExchangePutRequest(location: "cp://blobs/\(digest)", sha256: digest, bytes: 7, exclusive: exclusive)
    }

    func testExclusivePutIsFirstWriterWinsAndEveryWriteHasANewerVersion() async throws {
        let (api, job) = try await workerHoldingAnAttempt(job: "versions")
        let first = try await api.putExchangeEntry(job: job, name: "round-000001.members", put("a", exclusive: true))
        let created = try XCTUnwrap(first)
        XCTAssertEqual(created.sha256, String(repeating: "a", count: 64))
        let second = try await api.putExchangeEntry(job: job, name: "round-000001.members", put("b", exclusive: true))
        XCTAssertNil(second, "an exclusive put of an existing name loses (409): the first writer won")
        let kept = try await api.listExchange(job: job, prefix: "round-", after: 0, waitSeconds: 0)
        XCTAssertEqual(kept.entries, [created], "the losing put changed nothing")

        let replaced = try await api.putExchangeEntry(
            job: job, name: "round-000001.members", put("c", exclusive: false))
        XCTAssertGreaterThan(try XCTUnwrap(replaced).version, created.version)
        let other = try await api.putExchangeEntry(
            job: job, name: "delta-000001-rank-000.bin", put("d", exclusive: false))
        let changed = try await api.listExchange(job: job, prefix: nil, after: created.version, waitSeconds: 0)
        XCTAssertEqual(changed.entries.map(\.name), ["delta-000001-rank-000.bin", "round-000001.members"], "by name")
        XCTAssertEqual(changed.version, try XCTUnwrap(other).version)
        let prefixed = try await api.listExchange(job: job, prefix: "delta-", after: 0, waitSeconds: 0)
        XCTAssertEqual(prefixed.entries.map(\.name), ["delta-000001-rank-000.bin"])
        let none = try await api.listExchange(job: job, prefix: nil, after: changed.version, waitSeconds: 0)
        XCTAssertEqual(none.entries, [])

        try await api.deleteExchangeEntry(job: job, name: "delta-000001-rank-000.bin")
        try await api.deleteExchangeEntry(job: job, name: "delta-000001-rank-000.bin") // idempotent
        let left = try await api.listExchange(job: job, prefix: nil, after: 0, waitSeconds: 0)
        XCTAssertEqual(left.entries.map(\.name), ["round-000001.members"])
    }

    func testAWaitingListReturnsWithTheEntryAnotherConnectionPuts() async throws {
        let (api, job) = try await workerHoldingAnAttempt(job: "long-poll")
        let seen = try await api.listExchange(job: job, prefix: nil, after: 0, waitSeconds: 0)
        XCTAssertEqual(seen.entries, [])
        let waiting = Task { try await api.listExchange(job: job, prefix: nil, after: seen.version, waitSeconds: 25) }
        try await Task.sleep(nanoseconds: 500_000_000)
        // The admin's connection writes; the worker's request is woken by NOTIFY training_exchange.
        let written = try await adminAPI.putExchangeEntry(
            job: job, name: "global-000001.safetensors", put("e", exclusive: true))
        let answer = try await waiting.value
        XCTAssertEqual(answer.entries, [try XCTUnwrap(written)], "the waiting call came back with the new entry")
        XCTAssertEqual(answer.version, written?.version)
    }

    func testBadRequestsAreRefusedNamingWhatWasWrong() async throws {
        let (api, job) = try await workerHoldingAnAttempt(job: "bad-input")
        func status(_ method: HTTPMethodName, _ path: String, body: (any Encodable)? = nil, token: String? = nil) async
            -> (Int, String)
        {
            do {
                _ = try await api.requester.raw(method, path, body: body, bearer: token)
                return (200, "")
            } catch .rejected(_, let status, let body) {
                return (status, body?.error.message ?? "")
            } catch {
                return (0, "\(error)")
            }
        }
        let id = String(job.rawValue)
        let wait = await status(.get, APIRoute.listExchange.path(id, query: [("waitSeconds", "31")]))
        XCTAssertEqual(wait.0, 400)
        XCTAssertTrue(wait.1.contains("waitSeconds"), wait.1)
        let name = await status(.put, APIRoute.putExchangeEntry.path(id, "a b"), body: put("a", exclusive: false))
        XCTAssertEqual(name.0, 400)
        XCTAssertTrue(name.1.hasPrefix("name:"), name.1)
        let tooLong = await status(
            .put, APIRoute.putExchangeEntry.path(id, String(repeating: "x", count: 201)),
            body: put("a", exclusive: false))
        XCTAssertEqual(tooLong.0, 400)
        var badSHA = put("a", exclusive: false)
        badSHA.sha256 = "ABC"
        let sha = await status(.put, APIRoute.putExchangeEntry.path(id, "x"), body: badSHA)
        XCTAssertEqual(sha.0, 400)
        XCTAssertTrue(sha.1.hasPrefix("sha256:"), sha.1)
        let prefix = await status(.get, APIRoute.listExchange.path(id, query: [("prefix", "a/b")]))
        XCTAssertEqual(prefix.0, 400)
        XCTAssertTrue(prefix.1.hasPrefix("prefix:"), prefix.1)
        let badID = await status(.get, APIRoute.listExchange.path("seven"))
        XCTAssertEqual(badID.0, 400)
        XCTAssertTrue(badID.1.contains("jobID"), badID.1)

        // The admin may use any job's exchange; an unknown job is a 404.
        let unknown = await status(.get, APIRoute.listExchange.path("999999"), token: "admin")
        XCTAssertEqual(unknown.0, 404)
        // A worker writes only the exchange of a job it holds an attempt of, and reads any job's (a tokenize
        // task reads the hash files of its -dedup scan job).
        let written = try await api.putExchangeEntry(job: job, name: "kept", put("c", exclusive: false))
        let (other, otherJob) = try await workerHoldingAnAttempt(job: "someone-else")
        do {
            _ = try await other.putExchangeEntry(job: job, name: "x", put("a", exclusive: false))
            XCTFail("a worker without an attempt of the job wrote its exchange")
        } catch .rejected(_, let status, let body) {
            XCTAssertEqual(status, 403)
            XCTAssertTrue(
                body?.error.message.contains("holds no active attempt of job \(job)") ?? false, "\(body as Any)")
        }
        do {
            try await other.deleteExchangeEntry(job: job, name: "kept")
            XCTFail("a worker without an attempt of the job removed an entry of its exchange")
        } catch .rejected(_, let status, _) {
            XCTAssertEqual(status, 403)
        }
        let read = try await other.listExchange(job: job, prefix: "kept", after: 0, waitSeconds: 0)
        XCTAssertEqual(
            read.entries, [try XCTUnwrap(written)], "any worker reads, and the refused delete changed nothing")
        let own = try await other.listExchange(job: otherJob, prefix: nil, after: 0, waitSeconds: 0)
        XCTAssertEqual(own.entries, [], "its own job's exchange it may use")
    }
}
