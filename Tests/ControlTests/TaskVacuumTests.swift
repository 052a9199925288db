// Issue 15; docs/leases.md, "The runnable head over a long drain". The control plane vacuums `tasks` itself once
// its dead rows pass the policy, because autovacuum visits a database once a minute at most and the claims walk
// every dead entry at the runnable index's head until then.
import APITypes
import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

final class TaskVacuumTests: StoreTestCase {
    func testAVacuumIsDueOnlyAboveBothTheCountAndTheShareOfLiveRows() {
        let policy = TaskVacuumPolicy.standard // 20,000 dead rows and 5 % of the live ones
        let cases: [(dead: Int64, live: Int64, due: Bool)] = [
            (0, 0, false),
            (19_999, 0, false), // an empty queue: the count alone decides
            (20_000, 0, true),
            (20_000, 400_000, true), // exactly 5 %
            (20_000, 400_001, false),
            (49_999, 1_000_000, false), // a deep queue: the share decides
            (50_000, 1_000_000, true),
            (1_000_000, 10, true),
        ]
        for (dead, live, due) in cases {
            XCTAssertEqual(policy.isDue(deadRows: dead, liveRows: live), due, "\(dead) dead, \(live) live")
        }
    }

    func testTheTableIsVacuumedOnceItsDeadRowsPassThePolicyAndNotBefore() throws {
        let vacuum = TaskVacuum(pool: pool, policy: TaskVacuumPolicy(minimumDeadRows: 2_000, minimumDeadShareOfLive: 0))
        // Autovacuum stays out of this database's tables. Its own visit of `tasks` (3,000 new rows pass its analyze
        // threshold) holds the table's lock, and `VACUUM (SKIP_LOCKED)` then skips the table: a CI run saw
        // `vacuum_count` unchanged and 3,000 rows still dead. Its ANALYZE of another table would hold a snapshot
        // that keeps the dead rows from being removed.
        try pool.withConnection { c in
            let tables = try c.query(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")
            for table in tables {
                _ = try c.execute("ALTER TABLE \"\(try table.string("relname"))\" SET (autovacuum_enabled = false)")
            }
        }
        XCTAssertEqual(
            try sqlString("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE relname = 'tasks'"),
            "autovacuum_enabled=false")
        _ = try jobs.submit(NewJob(name: "j", type: "shell", tasks: (0..<3_000).map { _ in NewTask(spec: "{}") }))
        let before = try vacuumCount()

        try rewriteTasks(limit: 1_000)
        let below = try vacuum.runOnce()
        XCTAssertGreaterThanOrEqual(below.deadRows, 1_000, "the estimate sees this session's rewrites")
        XCTAssertFalse(below.vacuumed)
        XCTAssertEqual(try vacuumCount(), before, "1,000 dead rows are below the policy's 2,000")

        // 3,000 more dead rows. Not always 4,000 in all: the second rewrite may prune the first one's dead versions
        // on the pages it visits (HOT pruning counts them as removed). A CI run saw 3,000 once, before autovacuum was
        // kept out above; an autovacuum between the two rewrites would explain it as well.
        try rewriteTasks(limit: 3_000)
        let above = try vacuum.runOnce()
        XCTAssertGreaterThanOrEqual(above.deadRows, 3_000, "at least the second rewrite's dead rows: \(above)")
        XCTAssertTrue(above.vacuumed, "3,000 dead rows pass the policy's 2,000")
        XCTAssertEqual(try vacuumCount(), before + 1)

        let after = try vacuum.runOnce()
        XCTAssertLessThan(after.deadRows, 2_000, "the vacuum removed what it found: \(after)")
        XCTAssertFalse(after.vacuumed)
        XCTAssertEqual(try vacuumCount(), before + 1)
    }

    /// One new version of the first `limit` tasks (so as many dead ones), counted in the statistics at once
    /// (`pg_stat_force_next_flush`; a backend otherwise adds its counts at most once a second).
    private func rewriteTasks(limit: Int) throws {
        try pool.withConnection { c in
            _ = try c.execute(
                "UPDATE tasks SET not_before = not_before WHERE id IN (SELECT id FROM tasks ORDER BY id LIMIT $1)",
                [.int(Int64(limit))])
            _ = try c.query("SELECT pg_stat_force_next_flush()")
            _ = try c.query("SELECT 1")
        }
    }

    private func vacuumCount() throws -> Int {
        try sqlInt("SELECT vacuum_count FROM pg_stat_user_tables WHERE relname = 'tasks'")
    }
}
