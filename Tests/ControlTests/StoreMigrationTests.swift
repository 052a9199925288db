import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

final class StoreMigrationTests: XCTestCase {
    func testMigrationsAreIdempotent() throws {
        let pool = PostgresPool(conninfo: try TestPostgres.shared().freshDatabase(), maxConnections: 2)
        defer { pool.close() }
        XCTAssertEqual(try Migrations.appliedVersions(in: pool), [])
        XCTAssertEqual(try Migrations.apply(to: pool), Migrations.all.map(\.version))
        XCTAssertEqual(try Migrations.apply(to: pool), [], "a second run applies nothing")
        XCTAssertEqual(try Migrations.appliedVersions(in: pool), Migrations.all.map(\.version))
        let tables = try pool.withConnection { c in
            try c.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").map {
                try $0.string("tablename")
            }
        }
        for table in [
            "workers", "jobs", "job_dependencies", "tasks", "attempts_ended", "events", "task_logs", "metrics",
            "datasets", "shards", "artifacts", "schema_migrations",
        ] {
            XCTAssertTrue(tables.contains(table), "missing table \(table)")
        }
        // Migration 30: live attempts are their task rows; `task_attempts` reads both as one view.
        let views = try pool.withConnection { c in
            try c.query("SELECT viewname FROM pg_views WHERE schemaname = 'public'").map { try $0.string("viewname") }
        }
        XCTAssertTrue(views.contains("task_attempts"), "\(views)")
    }

    func testConcurrentReplicasApplyEachMigrationOnce() throws {
        let conninfo = try TestPostgres.shared().freshDatabase()
        let results = Locked<[[Int]]>([])
        let errors = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let pool = PostgresPool(conninfo: conninfo, maxConnections: 1)
            defer { pool.close() }
            do {
                let applied = try Migrations.apply(to: pool)
                results.mutate { $0.append(applied) }
            } catch {
                errors.mutate { $0.append("\(error)") }
            }
        }
        XCTAssertEqual(errors.value, [])
        XCTAssertEqual(
            results.value.flatMap { $0 }.sorted(), Migrations.all.map(\.version),
            "each version applied by exactly one replica")
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 1)
        defer { pool.close() }
        XCTAssertEqual(
            try pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM schema_migrations").int("n") },
            Migrations.all.count)
    }
}

/// A value behind a lock, for collecting results from several threads.
final class Locked<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: T
    init(_ value: T) { storage = value }
    var value: T {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
    func mutate<R>(_ body: (inout T) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&storage)
    }
}
