import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// The history tables partitioned by day (migration "history partitions", docs/history.md) on a real PostgreSQL:
/// the migration keeps every row and id, pages stay exact across partitions, any time finds a partition, and the
/// maintenance pass creates ahead, drops what retention says and nothing else, and changes nothing when repeated.
final class HistoryPartitionTests: XCTestCase {
    private static let day = 86_400.0
    private static let week = 7 * day
    private var conninfo = ""
    private var pool: PostgresPool!

    override func setUpWithError() throws {
        conninfo = try TestPostgres.shared().freshDatabase()
        pool = PostgresPool(conninfo: conninfo, maxConnections: 4)
    }

    override func tearDown() {
        pool?.close()
        pool = nil
    }

    private var historyMigration: Migration { Migrations.all.first { $0.name == "history partitions" }! }

    func testMigrationKeepsEveryRowAndIdAndPagesTheSame() throws {
        try Migrations.apply(to: pool, migrations: Migrations.all.filter { $0.version < historyMigration.version })
        let job = try fixture(attemptStartedDaysAgo: 5)
        // Rows spread over ten days before the migration, ids in an order their times do not follow.
        try execute(
            """
            INSERT INTO events (at, entity, entity_id, job_id, new_state)
            SELECT now() - ((g * 7) % 240) * interval '1 hour', 'task', g, CASE WHEN g % 3 = 0 THEN $1 END, 'queued'
            FROM generate_series(1, 400) g
            """, [.int(job)])
        try execute(
            """
            INSERT INTO task_logs (job_id, task_id, attempt_id, seq, line, attempt_number, at)
            SELECT $1, $1, $1, g, 'line ' || g, 1, now() - g * interval '1 hour' FROM generate_series(1, 120) g
            """, [.int(job)])
        try execute(
            """
            INSERT INTO metrics (job_id, task_id, attempt_id, name, step, value)
            SELECT $1, $1, $1, 'loss', g, g FROM generate_series(1, 60) g
            """, [.int(job)])
        let events = EventStore(pool: pool)
        // Read as rows, newest first like the listing: the store's reader expects columns later migrations add
        // (`actor`, migration "api tokens"; `task_ids`, "events per batch"), which rows from before them hold as NULL.
        let eventsBefore = try eventRows(job: nil)
        let jobEventsBefore = try eventRows(job: job)
        let logsBefore = try TaskLogStore(pool: pool).list(job: JobID(rawValue: job))
        let metricsBefore = try MetricStore(pool: pool).list(job: JobID(rawValue: job))

        XCTAssertEqual(try Migrations.apply(to: pool), [historyMigration.version] + laterVersions())
        XCTAssertEqual(try count("SELECT count(*) FROM pg_partitioned_table"), 3, "events, task_logs, metrics")
        XCTAssertEqual(try allEventPages(events, job: nil), eventsBefore)
        XCTAssertEqual(try allEventPages(events, job: JobID(rawValue: job)), jobEventsBefore)
        XCTAssertEqual(eventsBefore.count, 400)
        XCTAssertEqual(jobEventsBefore.count, 133)
        XCTAssertEqual(try TaskLogStore(pool: pool).list(job: JobID(rawValue: job)), logsBefore)
        XCTAssertEqual(try MetricStore(pool: pool).list(job: JobID(rawValue: job)), metricsBefore)
        XCTAssertEqual(logsBefore.count, 120)
        XCTAssertEqual(metricsBefore.count, 60)
        // Ids go on from the moved rows: the sequences survived the old tables.
        try execute("INSERT INTO events (entity, entity_id, new_state) VALUES ('worker', 1, 'lost')")
        XCTAssertEqual(try count("SELECT max(id) FROM events"), 401)
    }

    func testPagesAreExactAndNewestFirstAcrossPartitionsAndAnyTimeFindsOne() throws {
        try Migrations.apply(to: pool)
        let job = try fixture(attemptStartedDaysAgo: 0)
        // 24 events an hour apart at each of: long ago and last week (the before-this-week partition), this week,
        // next week, and two weeks and 100 years on (the default partition).
        for daysFromMonday in [-400.0, -2, 0, 8, 15, 36_500] {
            try execute(
                """
                INSERT INTO events (at, entity, entity_id, job_id, new_state)
                SELECT to_timestamp($1) + g * interval '1 hour', 'task', g, CASE WHEN g % 2 = 0 THEN $2 END, 'queued'
                FROM generate_series(0, 23) g
                """, [.double(try mondaySeconds() + daysFromMonday * Self.day), .int(job)])
        }
        let holding = try pool.withConnection { c in
            try c.query("SELECT DISTINCT tableoid::regclass::text AS p FROM events").map { try $0.string("p") }
        }
        XCTAssertEqual(holding.count, 4, "before this week, this week, next week and the default: \(holding)")
        XCTAssertTrue(holding.contains("events_default"))

        let events = EventStore(pool: pool)
        let all = try allEventPages(events, job: nil, pageSize: 7).map(\.id)
        XCTAssertEqual(all.count, 6 * 24)
        XCTAssertEqual(all, all.sorted(by: >), "newest (largest id) first")
        XCTAssertEqual(Set(all).count, all.count, "each event once")
        let ofJob = try allEventPages(events, job: JobID(rawValue: job), pageSize: 5).map(\.id)
        XCTAssertEqual(ofJob.count, 6 * 12)
        XCTAssertEqual(ofJob, all.filter { Set(ofJob).contains($0) })
    }

    func testRetentionDropsOldWeeksKeepsNewOnesAndMovesStrayRowsIntoTheirWeek() throws {
        try Migrations.apply(to: pool)
        let job = try fixture(attemptStartedDaysAgo: 0)
        let monday = try mondaySeconds()
        let partitions = HistoryPartitions(pool: pool)
        for weeks in [1.0, 5, 9, 11] { // 1: next week's partition; 5, 9, 11: none yet, so the default
            try execute(
                "INSERT INTO events (at, entity, entity_id, new_state) VALUES (to_timestamp($1), 'worker', $2, 'lost')",
                [.double(monday + weeks * Self.week + 60), .int(Int64(weeks))])
        }
        try appendLines(attempt: job, count: 3)

        // Ten weeks on, keeping 14 days: the cutoff is 8 weeks on, after the end of every partition the migration
        // made (before this week, this week, next week).
        let report = try partitions.maintain(retentionDays: 14, nowSeconds: monday + 10 * Self.week + 3600)
        XCTAssertFalse(report.skipped)
        func weekName(_ n: Double) -> String {
            HistoryWeek(containing: monday + n * Self.week).partitionName(of: .events)
        }
        XCTAssertEqual(report.created.filter { $0.hasPrefix("events_") }, [weekName(10), weekName(11)])
        XCTAssertEqual(report.dropped.filter { $0.hasPrefix("events_") }.count, 3, "\(report.dropped)")
        XCTAssertEqual(report.dropped.filter { $0.hasPrefix("task_logs_") }.count, 3, "\(report.dropped)")
        XCTAssertEqual(report.deletedFromDefault, 1, "the week-5 event, older than the cutoff")
        XCTAssertEqual(
            try pool.withConnection { c in
                try c.query("SELECT entity_id, tableoid::regclass::text AS p FROM events ORDER BY entity_id").map {
                    "\(try $0.int("entity_id")) \(try $0.string("p"))"
                }
            },
            ["9 events_default", "11 " + weekName(11)], "week 9 is newer than the cutoff; week 11 moved into its own")
        XCTAssertEqual(try count("SELECT count(*) FROM task_logs"), 0, "lines of an attempt started 10 weeks before")

        // A row of now still lands: this week's partition went with the simulated clock, so in the default one.
        try execute("INSERT INTO events (entity, entity_id, new_state) VALUES ('worker', 99, 'lost')")
        XCTAssertEqual(try count("SELECT count(*) FROM events"), 3)
    }

    func testMaintenanceIsIdempotentAndZeroKeepsEverything() throws {
        try Migrations.apply(to: pool)
        let monday = try mondaySeconds()
        let partitions = HistoryPartitions(pool: pool)
        try execute(
            "INSERT INTO events (at, entity, entity_id, new_state) VALUES (now() - interval '3 days', 'worker', 1, 'lost')"
        )
        let first = try partitions.maintain(retentionDays: 0, nowSeconds: monday + 40 * Self.day)
        XCTAssertEqual(first.created.count, 3 * 2, "that week and the next, for each of the 3 tables")
        XCTAssertEqual(first.dropped, [])
        let layout = try HistoryTable.allCases.map { try partitions.partitions(of: $0) }
        let second = try partitions.maintain(retentionDays: 0, nowSeconds: monday + 40 * Self.day)
        XCTAssertEqual(second, HistoryMaintenanceReport())
        XCTAssertEqual(try HistoryTable.allCases.map { try partitions.partitions(of: $0) }, layout)
        XCTAssertEqual(try count("SELECT count(*) FROM events"), 1, "0 days: kept forever")

        // With a retention, the old weeks go once; the next pass finds nothing more to do.
        let dropping = try partitions.maintain(retentionDays: 30, nowSeconds: monday + 40 * Self.day)
        XCTAssertEqual(dropping.dropped.count, 3 * 2, "each table's before-this-week and this week's partitions")
        XCTAssertEqual(dropping.created, [])
        XCTAssertEqual(try count("SELECT count(*) FROM events"), 0)
        XCTAssertEqual(
            try partitions.maintain(retentionDays: 30, nowSeconds: monday + 40 * Self.day), HistoryMaintenanceReport())
    }

    func testLogAndMetricAppendsStayIdempotentOnPartitionedTables() throws {
        try Migrations.apply(to: pool)
        let attempt = try fixture(attemptStartedDaysAgo: 2)
        XCTAssertEqual(try appendLines(attempt: attempt, count: 5), 5)
        XCTAssertEqual(try appendLines(attempt: attempt, count: 5), 0, "a resent batch adds nothing")
        let points = (1...4).map { MetricPoint(name: "loss", step: Int64($0), value: 1 / Double($0)) }
        XCTAssertEqual(try MetricStore(pool: pool).append(attempt: AttemptID(rawValue: attempt), points: points), 4)
        XCTAssertEqual(try MetricStore(pool: pool).append(attempt: AttemptID(rawValue: attempt), points: points), 0)
        XCTAssertEqual(
            try count(
                """
                SELECT count(*) FROM task_logs l JOIN task_attempts a ON a.id = l.attempt_id
                WHERE l.attempt_started_at = a.started_at
                """), 5, "filed by the attempt's start")
        XCTAssertEqual(try count("SELECT count(*) FROM metrics WHERE attempt_started_at < now() - interval '1 day'"), 4)
    }

    func testAStartingControlPlaneCreatesAMissingWeekAtOnce() throws {
        let directory = try TemporaryDirectory.make(prefix: "llmops-history-")
        defer { directory.remove() }
        try Migrations.apply(to: pool)
        let nextWeek = HistoryWeek(containing: try mondaySeconds() + Self.week).partitionName(of: .events)
        try execute("DROP TABLE \(nextWeek)")
        var configuration = ControlPlaneConfiguration(
            databaseURL: conninfo, adminToken: Secret("admin"), joinToken: Secret("join"),
            artifactDirectory: directory.path + "/artifacts")
        configuration.historyRetentionDays = 0
        let plane = ControlPlane(configuration: configuration, log: { _ in })
        try plane.start()
        defer { plane.stop() }
        try waitUntil("next week's partition of events", timeoutSeconds: 30) {
            try HistoryPartitions(pool: pool).partitions(of: .events).contains { $0.name == nextWeek }
        }
    }

    // MARK: - Helpers

    /// One worker, job, task and attempt, all numbered 1 on a fresh database; returns that id. The attempt started
    /// `attemptStartedDaysAgo` days ago.
    @discardableResult
    private func fixture(attemptStartedDaysAgo: Double) throws -> Int64 {
        try execute("INSERT INTO workers (name, cpu_millis, memory_bytes, state) VALUES ('w1', 1000, 1 << 30, 'alive')")
        try execute("INSERT INTO jobs (name, type, state) VALUES ('history', 'shell', 'running')")
        // Before migration 30 the live attempt is a `task_attempts` row; from it on, its task row (the migration
        // test inserts before migration 20, so migration 30 moves this attempt into its task on the way).
        let attemptsIsTable = try pool.withConnection { c in
            try c.queryOne("SELECT relkind::text = 'r' AS t FROM pg_class WHERE relname = 'task_attempts'").bool("t")
        }
        if attemptsIsTable {
            try execute(
                "INSERT INTO tasks (job_id, task_index, state, attempts, worker_id, active_attempt_id) VALUES (1, 0, 'running', 1, 1, 1)"
            )
            try execute(
                """
                INSERT INTO task_attempts (task_id, number, worker_id, state, lease_seconds, lease_deadline, started_at)
                VALUES (1, 1, 1, 'active', 60, now() + interval '1 minute', now() - $1 * interval '1 day')
                """, [.double(attemptStartedDaysAgo)])
        } else {
            try execute(
                """
                INSERT INTO tasks (job_id, task_index, state, attempts, worker_id, active_attempt_id, lease_seconds,
                    lease_deadline, attempt_started_at)
                VALUES (1, 0, 'running', 1, 1, nextval('task_attempts_id_seq'), 60, now() + interval '1 minute',
                    now() - $1 * interval '1 day')
                """, [.double(attemptStartedDaysAgo)])
        }
        return 1
    }

    @discardableResult
    private func appendLines(attempt: Int64, count: Int) throws -> Int {
        try TaskLogStore(pool: pool).append(
            attempt: AttemptID(rawValue: attempt),
            lines: (1...count).map { LogLine(seq: Int64($0), line: "line \($0)") })
    }

    /// Every event, newest first, read the way the list route pages (`ListingReads`).
    private func allEventPages(_ events: EventStore, job: JobID?, pageSize: Int = 50) throws -> [EventRecord] {
        var ids: [EventRecord] = []
        var before: Int64? = nil
        for _ in 0..<1000 {
            let page = try events.newestFirst(job: job, afterID: 0, beforeID: before, limit: pageSize)
            ids += page
            guard page.count == pageSize, let last = page.last else { return ids }
            before = last.id
        }
        XCTFail("more than 1000 pages")
        return ids
    }

    private func laterVersions() -> [Int] {
        Migrations.all.map(\.version).filter { $0 > historyMigration.version }.sorted()
    }

    /// The start of this week (Monday 00:00 UTC) by the database's clock, in seconds since 1970.
    private func mondaySeconds() throws -> Double {
        try pool.withConnection {
            try $0.queryOne(
                "SELECT extract(epoch FROM date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::float8 AS s"
            ).double("s")
        }
    }

    private func eventRows(job: Int64?) throws -> [EventRecord] {
        try pool.withConnection { c in
            try c.query(
                """
                SELECT *, NULL::text AS actor, NULL::bigint[] AS task_ids FROM events
                WHERE $1::bigint IS NULL OR job_id = $1 ORDER BY id DESC
                """,
                [job.map { .int($0) }]
            ).map(EventRecord.init(row:))
        }
    }

    private func execute(_ sql: String, _ params: [PostgresValue?] = []) throws {
        try pool.withConnection { _ = try $0.execute(sql, params) }
    }

    private func count(_ sql: String) throws -> Int {
        try pool.withConnection { c in
            let row = try c.queryOne(sql)
            return try row.int(row.columns[0])
        }
    }
}
