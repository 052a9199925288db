// Issue 16, point 1: anyone with the join token could register under the name of a live worker and was handed
// that worker's id; the real worker's token got 401 and the impostor's forged completion of its attempt was
// accepted. Now a live worker's name is refused (409) to a caller that does not send that worker's token, a
// worker that does keeps its id and token, and a lost worker's name goes to a new id with the old token revoked.

import APIClient
import APITypes
import ClusterModel
import Foundation
import Postgres
import TestSupport
import Workers
import XCTest

final class WorkerIdentityTests: XCTestCase {
    func testAnImpostorWithTheJoinTokenCannotTakeALiveWorkersNameOrItsAttempt() async throws {
        let cluster = try InProcessCluster(leaseSeconds: 60)
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let real = try await ReportRequests.lease(cluster, http, job: "held", tasks: 1)
        let attempt = real.assignments[0]

        for token in [nil, String(repeating: "f", count: 64)] {
            let impostor = try await http.send(
                "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("worker-held", token: token))
            try ReportRequests.expect(
                impostor, 409, .conflict, mentions: "worker name \"worker-held\" is held by live worker \(real.worker)")
            XCTAssertTrue(try impostor.apiError().error.message.contains("another name"), "and says what to do")
        }
        let beat = try await http.send(
            "POST", APIRoute.workerHeartbeat.path(), token: real.token,
            json: HeartbeatRequest(
                workerID: real.worker, attempts: [HeldAttempt(taskID: attempt.taskID, attemptID: attempt.attemptID)]))
        XCTAssertEqual(
            beat.status, 200, "the real worker's token still works: \(String(decoding: beat.body, as: UTF8.self))")

        // Another worker, under its own name, cannot complete the real worker's attempt, for itself or for it.
        let other = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("other"))
        let otherWorker = try other.decoded(RegisterWorkerResponse.self)
        XCTAssertNotEqual(otherWorker.workerID, real.worker)
        let completion = CompletionReport(
            taskID: attempt.taskID, attemptID: attempt.attemptID, result: ["forged": true])
        // For itself: the attempt is not its lease (409 stale, nothing applied); for the real worker: not its id (403).
        for (claimed, status) in [(otherWorker.workerID, 409), (real.worker, 403)] {
            let forged = try await http.send(
                "POST", APIRoute.workerReports.path(), token: otherWorker.workerToken,
                json: ReportBatch(workerID: claimed, completions: [completion]))
            XCTAssertEqual(forged.status, status, String(decoding: forged.body, as: UTF8.self))
        }
        let untouched = try await cluster.admin.tasks(job: "held").first?.state
        XCTAssertEqual(untouched, .running, "nothing forged was applied")

        let genuine = try await http.send(
            "POST", APIRoute.workerReports.path(), token: real.token,
            json: ReportBatch(
                workerID: real.worker,
                completions: [CompletionReport(taskID: attempt.taskID, attemptID: attempt.attemptID)]))
        XCTAssertEqual(genuine.status, 200, String(decoding: genuine.body, as: UTF8.self))
        let completed = try await cluster.admin.tasks(job: "held").first?.state
        XCTAssertEqual(completed, .succeeded)
        await cluster.shutdown()
    }

    func testAWorkerThatSendsItsTokenKeepsItsIdAndToken() async throws {
        let cluster = try InProcessCluster(leaseSeconds: 60)
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let own = String(repeating: "a1", count: 32)
        let first = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("node", token: own))
        let registered = try first.decoded(RegisterWorkerResponse.self)
        XCTAssertEqual(registered.workerToken, own, "the worker's own token becomes its token")

        // A restart (or a retry whose answer was lost) while the first registration still counts as alive.
        let again = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("node", token: own, cpus: 2))
        let renewed = try again.decoded(RegisterWorkerResponse.self)
        XCTAssertEqual(renewed.workerID, registered.workerID)
        XCTAssertEqual(renewed.workerToken, own)
        let beat = try await http.send(
            "POST", APIRoute.workerHeartbeat.path(), token: own,
            json: HeartbeatRequest(workerID: renewed.workerID, attempts: []))
        XCTAssertEqual(beat.status, 200)
        let view = try await cluster.admin.workers().first { $0.id == renewed.workerID }
        XCTAssertEqual(view?.resources.cpuMillis, 2000, "the registration's new resources were taken")

        for (token, length) in [("short", 5), (String(repeating: "a", count: 40) + " x", 42)] {
            let refused = try await http.send(
                "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("fresh", token: token))
            try ReportRequests.expect(
                refused, 400, .badRequest, mentions: "workerToken: expected 32 to 256 characters")
            XCTAssertTrue(try refused.apiError().error.message.contains("got \(length) characters"))
        }
        // Another worker's token is no way to a second name.
        let stolen = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("second", token: own))
        try ReportRequests.expect(stolen, 400, .badRequest, mentions: "workerToken: is already the token of worker")
        let names = try await cluster.admin.workers().map(\.name)
        XCTAssertEqual(names, ["node"], "nothing refused was registered")
        await cluster.shutdown()
    }

    func testALostWorkersNameGoesToANewIdAndItsOldTokenIsRevoked() async throws {
        let cluster = try InProcessCluster(leaseSeconds: 60)
        let http = RawHTTP(baseURL: cluster.plane.baseURL)
        let old = try await ReportRequests.lease(cluster, http, job: "orphan", tasks: 1)
        try Self.sql(cluster, "UPDATE workers SET last_heartbeat = now() - interval '1 hour' WHERE id = \(old.worker)")
        try await waitUntil("the silent worker is marked lost", timeoutSeconds: 20) {
            try await cluster.admin.workers().first { $0.id == old.worker }?.state == .lost
        }

        let newcomer = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: "join", json: Self.request("worker-orphan"))
        let registered = try newcomer.decoded(RegisterWorkerResponse.self)
        XCTAssertNotEqual(registered.workerID, old.worker, "never the old id")
        XCTAssertNotEqual(registered.workerToken, old.token)

        let revoked = try await http.send(
            "POST", APIRoute.workerHeartbeat.path(), token: old.token,
            json: HeartbeatRequest(workerID: old.worker, attempts: []))
        XCTAssertEqual(revoked.status, 401, "the lost worker's token is revoked")
        let attempt = old.assignments[0]
        let forged = try await http.send(
            "POST", APIRoute.workerReports.path(), token: registered.workerToken,
            json: ReportBatch(
                workerID: registered.workerID,
                completions: [CompletionReport(taskID: attempt.taskID, attemptID: attempt.attemptID)]))
        XCTAssertEqual(forged.status, 409, "the old id's attempt is not the newcomer's to complete")
        let attempts = try await cluster.admin.tasks(job: "orphan").first?.attempts ?? []
        XCTAssertEqual(attempts.first { $0.id == attempt.attemptID }?.workerID, old.worker)
        XCTAssertNotEqual(attempts.first { $0.id == attempt.attemptID }?.state, .succeeded)

        let workers = try await cluster.admin.workers()
        XCTAssertEqual(workers.map(\.id), [old.worker, registered.workerID], "the old row stays, with its history")
        XCTAssertEqual(workers.map(\.state), [.lost, .alive])
        let trail = try await cluster.admin.events().filter { $0.workerID == old.worker }.map {
            "\($0.type): \($0.message)"
        }
        XCTAssertTrue(
            trail.contains("worker.retired: its name went to worker \(registered.workerID); its token is revoked"),
            "\(trail)")
        await cluster.shutdown()
    }

    /// The daemon makes its token before its first registration and keeps it in its work directory: restarted on
    /// the same directory it keeps its id; another daemon under the same name (no token) is refused, not merged.
    func testARestartedDaemonKeepsItsIdAndASecondDaemonUnderTheNameIsRefused() async throws {
        let cluster = try InProcessCluster(leaseSeconds: 60)
        let directory = URL(fileURLWithPath: cluster.directory.path + "/node-work")
        let first = Self.daemon(cluster, name: "node", workDirectory: directory)
        let firstRun = Task { try await first.run() }
        try await waitUntil("the first daemon registered", timeoutSeconds: 20) {
            await first.snapshot().workerID != nil
        }
        let registered = await first.snapshot().workerID
        let id = try XCTUnwrap(registered)
        let identity = try String(contentsOf: directory.appendingPathComponent("worker-identity.json"), encoding: .utf8)
        XCTAssertTrue(identity.contains("\"node\""), identity)
        let mode =
            try FileManager.default.attributesOfItem(
                atPath: directory.appendingPathComponent("worker-identity.json").path)[.posixPermissions] as? Int
        XCTAssertEqual(mode, 0o600, "only its owner may read the token")

        // While the first still counts as alive, a daemon under its name without its token is refused for good.
        let stranger = Self.daemon(
            cluster, name: "node", workDirectory: URL(fileURLWithPath: cluster.directory.path + "/elsewhere"))
        let ended = Locked(false)
        let refusal = Task { () -> ControlPlaneError? in
            defer { ended.mutate { $0 = true } }
            do {
                try await stranger.run()
                return nil
            } catch {
                return error as? ControlPlaneError
            }
        }
        // Accepted, the stranger would serve until stopped: stopped below, so the test fails instead of hanging.
        try await waitUntil("the second daemon is refused or registers", timeoutSeconds: 20) {
            let registrations = await stranger.snapshot().registrations
            return registrations > 0 || ended.value
        }
        let accepted = await stranger.snapshot().registrations
        XCTAssertEqual(accepted, 0, "a second daemon under a live worker's name registered")
        stranger.requestShutdown()
        let error = await refusal.value
        XCTAssertEqual(error?.status, 409)
        XCTAssertTrue(error?.message.contains("held by live worker \(id)") ?? false, "\(String(describing: error))")

        // The same daemon started again on its directory (here while its first run still holds the name).
        let restarted = Self.daemon(cluster, name: "node", workDirectory: directory)
        let restartedRun = Task { try await restarted.run() }
        try await waitUntil("the restarted daemon registered", timeoutSeconds: 20) {
            await restarted.snapshot().workerID != nil
        }
        let again = await restarted.snapshot().workerID
        XCTAssertEqual(again, id, "the same worker id")
        let ids = try await cluster.admin.workers().map(\.id)
        XCTAssertEqual(ids, [id], "no second worker")
        first.requestShutdown()
        restarted.requestShutdown()
        try await firstRun.value
        try await restartedRun.value
        await cluster.shutdown()
    }

    private static func request(_ name: String, token: String? = nil, cpus: Int64 = 1) -> RegisterWorkerRequest {
        RegisterWorkerRequest(
            name: name, resources: Resources(cpuMillis: cpus * 1000, memoryBytes: 1 << 30), version: "test",
            kinds: ["noop"], maxConcurrentTasks: 1, workerToken: token)
    }

    private static func daemon(_ cluster: InProcessCluster, name: String, workDirectory: URL) -> WorkerDaemon {
        WorkerDaemon(
            configuration: WorkerConfiguration(
                name: name, resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), maxConcurrentTasks: 1,
                pollWaitSeconds: 1, workDirectory: workDirectory, flushIntervalSeconds: 0.05, shutdownGraceSeconds: 1),
            api: HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "join", transport: CurlTransport()),
            registry: .builtins(),
            artifactStore: FileArtifactStore(root: URL(fileURLWithPath: cluster.directory.path + "/artifacts")),
            log: { _ in })
    }

    private static func sql(_ cluster: InProcessCluster, _ statement: String) throws {
        let connection = try PostgresConnection(conninfo: cluster.database, applicationName: "worker-identity-test")
        defer { connection.close() }
        try connection.execute(statement)
    }
}
