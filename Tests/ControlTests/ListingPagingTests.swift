// Issue 15 "Listings and lifecycle": every list route pages with a keyset cursor. Before, `GET /v1/jobs` stopped
// at 500 with no `nextCursor`, `/v1/tasks` covered the 100 newest jobs, `/v1/events` showed the oldest 1,000,
// `?state=` on workers was ignored, the queue filter ran after the SQL LIMIT, a bad cursor was ignored, and
// `opsctl get jobs NAME` printed every job.

import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import TestSupport
import XCTest

final class ListingPagingTests: InProcessControlPlaneTestCase {
    private var http: RawHTTP!
    private var store: JobStore!
    private var pool: PostgresPool!

    override func setUpWithError() throws {
        try super.setUpWithError()
        http = RawHTTP(baseURL: controlPlane.baseURL)
        pool = PostgresPool(conninfo: cluster.databaseURL, maxConnections: 2)
        store = JobStore(pool: pool)
    }

    override func tearDown() {
        pool?.close()
        super.tearDown()
    }

    /// `count` noop jobs `prefix-0` … in `queue`, submitted oldest first in one transaction.
    private func submitJobs(_ prefix: String, count: Int, queue: String = "default") throws {
        _ = try store.submit((0..<count).map { NewJob(name: "\(prefix)-\($0)", type: "noop", queue: queue) })
    }

    private func list<Item: Codable & Sendable>(_ path: String, _ type: Item.Type) async throws -> ListResponse<Item> {
        let response = try await http.send("GET", path, token: cluster.adminToken)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        return try response.decoded(ListResponse<Item>.self)
    }

    /// Every page of `path` (which has a query already), following `nextCursor`; the page sizes too.
    private func allPages<Item: Codable & Sendable>(_ path: String, _ type: Item.Type) async throws -> ([Item], [Int]) {
        var items: [Item] = []
        var sizes: [Int] = []
        var cursor: String?
        for _ in 0..<100 {
            let suffix = cursor.map {
                "&cursor=" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0)
            }
            let page = try await list(path + (suffix ?? ""), Item.self)
            items += page.items
            sizes.append(page.items.count)
            guard let next = page.nextCursor else { break }
            cursor = next
        }
        return (items, sizes)
    }

    func testPagingThroughJobsReturnsEachOnceNewestFirst() async throws {
        try submitJobs("bulk", count: 1200)
        let (jobs, sizes) = try await allPages(APIRoute.jobs.path() + "?limit=500", JobView.self)
        XCTAssertEqual(sizes, [500, 500, 200])
        XCTAssertEqual(Set(jobs.map(\.name)).count, 1200, "each job exactly once")
        XCTAssertEqual(jobs.first?.name, "bulk-1199", "newest first")
        XCTAssertEqual(jobs.map(\.id.rawValue), jobs.map(\.id.rawValue).sorted(by: >))
        // The default page is `ListPaging.defaultLimit` and says more exist.
        let first = try await list(APIRoute.jobs.path(), JobView.self)
        XCTAssertEqual(first.items.count, ListPaging.defaultLimit)
        XCTAssertNotNil(first.nextCursor)
    }

    func testQueueFilterFindsTheQueuesJobsBehindMoreThanAPageOfOthers() async throws {
        try submitJobs("team", count: 5, queue: "team")
        try submitJobs("other", count: 30)
        let (jobs, _) = try await allPages(APIRoute.jobs.path() + "?queue=team&limit=10", JobView.self)
        XCTAssertEqual(jobs.map(\.name), (0..<5).reversed().map { "team-\($0)" })
    }

    func testTasksPageAcrossMoreThanAHundredJobsWithTheirAttempts() async throws {
        try submitJobs("t", count: 150)
        let (tasks, sizes) = try await allPages(APIRoute.tasks.path() + "?limit=40", TaskView.self)
        XCTAssertEqual(sizes, [40, 40, 40, 30])
        XCTAssertEqual(Set(tasks.map(\.id)).count, 150, "every job's task exactly once")
        XCTAssertEqual(tasks.first?.jobName, "t-149", "newest job first")
        // One task leased: its attempt shows on its row (read for the whole page in one statement).
        let registered = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: cluster.joinToken,
            json: RegisterWorkerRequest(
                name: "w", resources: Resources(cpuMillis: 1000), version: "test", kinds: ["noop"],
                maxConcurrentTasks: 1)
        ).decoded(RegisterWorkerResponse.self)
        let poll = PollRequest(workerID: registered.workerID, maxTasks: 1, waitSeconds: 5, available: .zero)
        let leased = try await http.send(
            "POST", APIRoute.workerPoll.path(), token: registered.workerToken ?? cluster.joinToken, json: poll
        ).decoded(PollResponse.self)
        let taskID = try XCTUnwrap(leased.assignments.first?.taskID)
        let (after, _) = try await allPages(APIRoute.tasks.path() + "?limit=40", TaskView.self)
        for task in after {
            XCTAssertEqual(task.attempts.count, task.id == taskID ? 1 : 0, "task \(task.id)")
        }
        XCTAssertEqual(after.first { $0.id == taskID }?.attempts.first?.workerName, "w")
    }

    func testEventsAreNewestFirstAndPaged() async throws {
        try cluster.sql { c in
            try c.execute(
                "INSERT INTO events (entity, entity_id, old_state, new_state, reason) SELECT 'worker', g, 'alive', 'lost', 'test' FROM generate_series(1, 1200) g"
            )
        }
        let total = try cluster.count("SELECT count(*)::int AS n FROM events")
        let (events, sizes) = try await allPages(APIRoute.events.path() + "?limit=500", EventView.self)
        XCTAssertEqual(events.count, total)
        XCTAssertEqual(sizes.first, 500)
        XCTAssertEqual(Set(events.map(\.id)).count, total, "each event exactly once")
        XCTAssertEqual(events.map(\.id), events.map(\.id).sorted(by: >), "newest first")
    }

    func testWorkersFilterByState() async throws {
        for name in ["a", "b"] {
            let response = try await http.send(
                "POST", APIRoute.workerRegister.path(), token: cluster.joinToken,
                json: RegisterWorkerRequest(
                    name: name, resources: Resources(cpuMillis: 1000), version: "test", kinds: ["noop"],
                    maxConcurrentTasks: 1))
            XCTAssertEqual(response.status, 200)
        }
        try cluster.sql { try $0.execute("UPDATE workers SET state = 'lost' WHERE name = 'b'") }
        let lost = try await list(APIRoute.workers.path() + "?state=lost", WorkerView.self)
        XCTAssertEqual(lost.items.map(\.name), ["b"])
        let alive = try await list(APIRoute.workers.path() + "?state=alive", WorkerView.self)
        XCTAssertEqual(alive.items.map(\.name), ["a"])
        let (all, sizes) = try await allPages(APIRoute.workers.path() + "?limit=1", WorkerView.self)
        XCTAssertEqual(all.map(\.name), ["a", "b"])
        XCTAssertEqual(sizes, [1, 1])
    }

    func testArtifactsOfEveryJobArePagedNewestFirst() async throws {
        try submitJobs("art", count: 120)
        try cluster.sql { c in
            try c.execute(
                "INSERT INTO artifacts (job_id, name, kind, location, sha256, bytes) SELECT id, 'model', 'file', 'cp://blobs/x', repeat('a', 64), 1 FROM jobs"
            )
        }
        let (artifacts, sizes) = try await allPages(APIRoute.artifacts.path() + "?limit=50", ArtifactView.self)
        XCTAssertEqual(sizes, [50, 50, 20])
        XCTAssertEqual(Set(artifacts.map(\.jobName)).count, 120, "every job's artifact, not the 100 newest jobs'")
        XCTAssertEqual(artifacts.first?.jobName, "art-119", "newest first")
        let one = try await list(APIRoute.artifacts.path() + "?job=art-7&name=model", ArtifactView.self)
        XCTAssertEqual(one.items.map(\.jobName), ["art-7"])
    }

    func testMetricsDatasetsAndShardsPage() async throws {
        try submitJobs("m", count: 1)
        let registered = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: cluster.joinToken,
            json: RegisterWorkerRequest(
                name: "w", resources: Resources(cpuMillis: 1000), version: "test", kinds: ["noop"],
                maxConcurrentTasks: 1)
        ).decoded(RegisterWorkerResponse.self)
        let poll = PollRequest(workerID: registered.workerID, maxTasks: 1, waitSeconds: 5, available: .zero)
        let leased = try await http.send(
            "POST", APIRoute.workerPoll.path(), token: registered.workerToken ?? cluster.joinToken, json: poll
        ).decoded(PollResponse.self)
        let attempt = try XCTUnwrap(leased.assignments.first?.attemptID)
        try cluster.sql { c in
            try c.execute(
                "INSERT INTO metrics (job_id, task_id, attempt_id, name, step, value) SELECT t.job_id, t.id, a.id, 'loss', g, g FROM task_attempts a JOIN tasks t ON t.id = a.task_id, generate_series(1, 250) g WHERE a.id = $1",
                [.int(attempt.rawValue)])
            let dataset = try c.queryFirst("INSERT INTO datasets (name, location) VALUES ('d0', 'x') RETURNING id")!
            try c.execute(
                "INSERT INTO shards (dataset_id, shard_index, location, sha256, bytes) SELECT $1, g, 'x', repeat('b', 64), 1 FROM generate_series(0, 24) g",
                [.int(try dataset.int64("id"))])
            try c.execute("INSERT INTO datasets (name, location) VALUES ('d1', 'x'), ('d2', 'x')")
        }
        let (points, pointPages) = try await allPages(
            APIRoute.jobMetrics.path("m-0") + "?limit=100", MetricPointView.self)
        XCTAssertEqual(pointPages, [100, 100, 50])
        XCTAssertEqual(points.map(\.step), Array(1...250), "oldest first, each once")
        let (shards, shardPages) = try await allPages(APIRoute.datasetShards.path("d0") + "?limit=10", ShardView.self)
        XCTAssertEqual(shardPages, [10, 10, 5])
        XCTAssertEqual(shards.map(\.index), Array(0...24))
        let (datasets, datasetPages) = try await allPages(APIRoute.datasets.path() + "?limit=2", DatasetView.self)
        XCTAssertEqual(datasetPages, [2, 1])
        XCTAssertEqual(datasets.map(\.name), ["d0", "d1", "d2"])
    }

    func testBadCursorOrLimitIsA400NamingIt() async throws {
        let notACursor = Data("not a cursor".utf8).base64EncodedString()
        for (path, field) in [
            (APIRoute.jobs.path() + "?cursor=zz!", "cursor"),
            (APIRoute.events.path() + "?cursor=" + notACursor, "cursor"),
            (APIRoute.tasks.path() + "?cursor=" + notACursor, "cursor"),
            (APIRoute.workers.path() + "?cursor=12", "cursor"),
            (APIRoute.tasks.path() + "?limit=0", "limit"),
            (APIRoute.workers.path() + "?limit=abc", "limit"),
            (APIRoute.events.path() + "?limit=\(ListPaging.maxLimit + 1)", "limit"),
            (APIRoute.workers.path() + "?state=sleeping", "state"),
            (APIRoute.artifacts.path() + "?cursor=" + notACursor, "cursor"),
            (APIRoute.datasets.path() + "?limit=-1", "limit"),
        ] {
            let response = try await http.send("GET", path, token: cluster.adminToken)
            XCTAssertEqual(response.status, 400, "\(path): \(String(decoding: response.body, as: UTF8.self))")
            let message = try response.apiError().error.message
            XCTAssertTrue(message.hasPrefix("query parameter \(field):"), "\(path): \(message)")
        }
    }

    /// Through the real `opsctl` binary: NAME selects the job, an unknown one fails naming it, `--limit` shows
    /// that many with a note on stderr, `--all` every one.
    func testOpsctlGetJobsByNameAndLimit() throws {
        try submitJobs("cli", count: 3)
        let server = controlPlane.baseURL
        let one = try cluster.run(["get", "jobs", "cli-1", "-o", "json"], server: server)
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertEqual(try WireCoding.decode([JobView].self, from: Data(one.stdout.utf8)).map(\.name), ["cli-1"])

        let unknown = try cluster.run(["get", "jobs", "no-such-job"], server: server)
        XCTAssertNotEqual(unknown.status, 0, unknown.stdout)
        XCTAssertTrue(unknown.stderr.contains("no-such-job"), unknown.stderr)

        let limited = try cluster.run(["get", "jobs", "--limit", "2", "-o", "json"], server: server)
        XCTAssertEqual(limited.status, 0, limited.stderr)
        XCTAssertEqual(
            try WireCoding.decode([JobView].self, from: Data(limited.stdout.utf8)).map(\.name), ["cli-2", "cli-1"])
        XCTAssertTrue(limited.stderr.contains("more exist"), limited.stderr)

        let all = try cluster.run(["get", "jobs", "--all", "--limit", "1", "-o", "json"], server: server)
        XCTAssertEqual(all.status, 0, all.stderr)
        XCTAssertEqual(try WireCoding.decode([JobView].self, from: Data(all.stdout.utf8)).count, 3)
        XCTAssertFalse(all.stderr.contains("more exist"), all.stderr)
    }
}
