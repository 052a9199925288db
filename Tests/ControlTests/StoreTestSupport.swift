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
