import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// The stores keep working across a PostgreSQL restart without being recreated.
final class StoreRestartTests: XCTestCase {
    func testStoresRecoverAfterPostgresRestart() throws {
        let server = try TestPostgres()
        defer { server.destroy() }
        let pool = PostgresPool(conninfo: try server.freshDatabase(named: "ops"), maxConnections: 4)
        defer { pool.close() }
        try Migrations.apply(to: pool)
        let jobs = JobStore(pool: pool)
        let leases = LeaseStore(pool: pool)
        let workers = WorkerStore(pool: pool)
        let w = try workers.register(name: "w", resources: Resources(cpuMillis: 4000))
        let job = try jobs.submit(NewJob(name: "j", type: "t", tasks: [NewTask(), NewTask()]))
        let first = try XCTUnwrap(try leases.claimNext(for: w).first)

        try server.server.restart()

        // Reports are idempotent, so the store retries them over the broken connection by itself.
        try leases.complete(attempt: first.attempt, by: w)
        XCTAssertEqual(try workers.heartbeat(w).state, .alive)
        let second = try XCTUnwrap(try leases.claimNext(for: w).first)
        try leases.complete(attempt: second.attempt, by: w)
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
        XCTAssertEqual(try Migrations.apply(to: pool), [])
    }
}
