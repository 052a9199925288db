import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// Base for store tests: a fresh, migrated database per test on the shared throwaway server.
class StoreTestCase: XCTestCase {
    var conninfo = ""
    var pool: PostgresPool!
    var jobs: JobStore { JobStore(pool: pool) }
    var leases: LeaseStore { LeaseStore(pool: pool) }
    var workers: WorkerStore { WorkerStore(pool: pool) }
    var events: EventStore { EventStore(pool: pool) }

    override func setUpWithError() throws {
        conninfo = try TestPostgres.shared().freshDatabase()
        pool = PostgresPool(conninfo: conninfo, maxConnections: 8)
        try Migrations.apply(to: pool)
    }

    override func tearDown() {
        pool?.close()
        pool = nil
    }

    /// One value from SQL, for checks straight against the database.
    func sqlInt(_ sql: String, _ params: [PostgresValue?] = []) throws -> Int {
        try pool.withConnection { c in
            let row = try c.queryOne(sql, params)
            return try row.int(row.columns[0])
        }
    }

    func sqlString(_ sql: String, _ params: [PostgresValue?] = []) throws -> String? {
        try pool.withConnection { c in
            let row = try c.queryOne(sql, params)
            return try row.optionalString(row.columns[0])
        }
    }

    /// The plan PostgreSQL caches for `statement` once it plans it generically (as a prepared statement after its
    /// fifth run), after ANALYZE of `tasks`: `parameterTypes` are the statement's, `arguments` the EXPLAIN's values
    /// (SQL text). EXPLAIN without ANALYZE runs nothing. `analyzeFirst: false` keeps the statistics as they are.
    func genericPlan(
        _ statement: String, parameterTypes: [String], arguments: [String], analyzeFirst: Bool = true
    ) throws -> String {
        precondition(parameterTypes.count == arguments.count, "one argument per parameter")
        return try pool.withConnection { c in
            if analyzeFirst { try c.execute("ANALYZE tasks") }
            try c.execute("SET plan_cache_mode = force_generic_plan")
            try c.execute("PREPARE generic_plan(\(parameterTypes.joined(separator: ", "))) AS \(statement)")
            defer {
                _ = try? c.execute("DEALLOCATE generic_plan")
                _ = try? c.execute("RESET plan_cache_mode")
            }
            let rows = try c.query("EXPLAIN EXECUTE generic_plan(\(arguments.joined(separator: ", ")))")
            return try rows.map { try $0.string("QUERY PLAN") }.joined(separator: "\n")
        }
    }

    func worker(_ name: String = "w1", cpus: Int64 = 8) throws -> WorkerID {
        try workers.register(name: name, resources: Resources(cpuMillis: cpus * 1000, memoryBytes: 64 << 30))
    }

    func taskStates(_ job: JobID) throws -> [TaskState] {
        try jobs.tasks(of: job).map(\.state)
    }

    /// Moves the database clock forward for a task's backoff, without sleeping.
    func makeRunnableNow(_ job: JobID) throws {
        try pool.withConnection {
            try $0.execute("UPDATE tasks SET not_before = now() WHERE job_id = $1", [.int(job.rawValue)])
        }
    }
}
