// Issue 22.1: resource quantities are bounded where they enter (worker registration, manifests), and workers
// stored with quantities near Int64.max (before the bounds existed) do not crash the scheduling leader.
// Before the fix, two such workers made every replica that took the lead trap within a second.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class ResourceLimitTests: InProcessControlPlaneTestCase {
    private var http: RawHTTP!

    override func setUpWithError() throws {
        try super.setUpWithError()
        http = RawHTTP(baseURL: controlPlane.baseURL)
    }

    private func register(_ name: String, _ resources: Resources) async throws -> HTTPResponseSpec {
        let request = RegisterWorkerRequest(
            name: name, resources: resources, version: "test", kinds: ["noop"], maxConcurrentTasks: 4)
        return try await http.send("POST", APIRoute.workerRegister.path(), token: cluster.joinToken, json: request)
    }

    private func submit(_ json: String) async throws -> HTTPResponseSpec {
        let document = try WireCoding.decode(AnyJSON.self, from: Data(json.utf8))
        return try await http.send(
            "POST", APIRoute.manifests.path(), token: cluster.adminToken,
            json: SubmitManifestsRequest(documents: [document], dryRun: false, source: "test.yaml"))
    }

    func testRegistrationRefusesQuantitiesPastTheLimits() async throws {
        for (resources, field) in [
            (Resources(cpuMillis: 1000, memoryBytes: .max), "resources.memoryBytes"),
            (Resources(cpuMillis: .max), "resources.cpuMillis"),
            (Resources(cpuMillis: 1000, accelerators: ["gpu-h100": 1 << 40]), "resources.accelerators.gpu-h100"),
        ] {
            let response = try await register("greedy", resources)
            XCTAssertEqual(response.status, 400, String(decoding: response.body, as: UTF8.self))
            let message = try response.apiError().error.message
            XCTAssertTrue(message.hasPrefix("\(field): expected"), message)
        }
        XCTAssertEqual(try cluster.count("SELECT count(*)::int AS n FROM workers"), 0, "nothing was registered")
        let fine = try await register(
            "fine", Resources(cpuMillis: 96_000, memoryBytes: 2 << 40, accelerators: ["gpu-h100": 8]))
        XCTAssertEqual(fine.status, 200)
    }

    func testManifestsRefuseTasksLargerThanAnyWorker() async throws {
        let response = try await submit(
            #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"big"},"spec":{"type":"noop","resources":{"memory":"2Pi","accelerators":[{"type":"gpu-h100","count":100000}]}}}"#
        )
        XCTAssertEqual(response.status, 422, String(decoding: response.body, as: UTF8.self))
        let error = try response.apiError().error
        let text = ([error.message] + (error.details ?? [])).joined(separator: "\n")
        XCTAssertTrue(text.contains("spec.resources.memory: expected at most 1Pi"), text)
        XCTAssertTrue(text.contains("spec.resources.accelerators[0].count"), text)
        XCTAssertEqual(try cluster.count("SELECT count(*)::int AS n FROM jobs"), 0)
    }

    /// Workers stored with Int64.max memory (as a database from before the limits may hold) and a gang that
    /// only the scheduler places: the leader keeps running and places it.
    func testStoredHugeWorkersDoNotCrashTheScheduler() async throws {
        var workers: [(WorkerID, String)] = []
        for name in ["huge-1", "huge-2"] {
            let response = try await register(name, Resources(cpuMillis: 4000, memoryBytes: 1 << 30))
            let registered = try response.decoded(RegisterWorkerResponse.self)
            workers.append((registered.workerID, try XCTUnwrap(registered.workerToken)))
        }
        _ = try cluster.sql { try $0.execute("UPDATE workers SET memory_bytes = 9223372036854775807") }
        let submitted = try await submit(
            #"{"apiVersion":"llmops/v1","kind":"Job","metadata":{"name":"gang"},"spec":{"type":"noop","replicas":2,"resources":{"cpu":1,"memory":"1Gi"}}}"#
        )
        XCTAssertEqual(submitted.status, 201, String(decoding: submitted.body, as: UTF8.self))
        var assigned = 0
        for (id, token) in workers {
            let poll = PollRequest(workerID: id, maxTasks: 1, waitSeconds: 10, available: .zero)
            let response = try await http.send(
                "POST", APIRoute.workerPoll.path(), token: token, body: try WireCoding.encode(poll), timeoutSeconds: 20)
            assigned += try response.decoded(PollResponse.self).assignments.count
        }
        XCTAssertEqual(assigned, 2, "both gang members were placed and claimed:\n\(cluster.stateSummary())")
        let health = try await http.send("GET", APIRoute.healthz.path(), token: nil)
        XCTAssertEqual(health.status, 200)
    }
}
