import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// Cancels racing the paths that lock the same rows (issue 15: PostgreSQL logged `deadlock detected` during a
/// cancel). A job ending (cancelled, failed, completed) follows its dependents: it used to lock their job rows
/// and then their tasks, while a cancel of one of those dependents locks its tasks and then its job row. The
/// global lock order (docs/postgres-store.md, "Lock order") puts tasks before their job row on every path.
///
/// The pool retries a deadlock victim, so a deadlock rarely surfaces as an error; the server's log is where it
/// shows. This test runs its own server (deadlock_timeout 10 ms instead of 1 s, so the old order fails fast) and
/// reads its log.
final class CancelLockOrderTests: XCTestCase {
    private var server: TestPostgres!
    private var pool: PostgresPool!

    override func setUpWithError() throws {
        server = try TestPostgres(settings: ["deadlock_timeout": "10ms"])
        pool = PostgresPool(conninfo: try server.freshDatabase(), maxConnections: 8)
        try Migrations.apply(to: pool)
    }

    override func tearDown() {
        pool?.close()
        server?.destroy()
    }

    /// What ends the upstream job of a round while its dependents are being cancelled.
    private enum UpstreamEnd: CaseIterable {
        case cancelled, failed, completed
    }

    /// 60 rounds: an upstream job with 4 dependents of 50 blocked tasks each; one thread ends the upstream job
    /// (cancel, a non-retryable failure or a completion, in turn) while 4 threads cancel the dependents. On the
    /// old lock order this logged 15-25 deadlocks per run (4 of 4 runs); now none, and every job ends
    /// consistent with its tasks.
    func testCancellingDependentsWhileTheirDependencyEndsNeverDeadlocks() throws {
        let jobs = JobStore(pool: pool)
        let leases = LeaseStore(pool: pool)
        let worker = try WorkerStore(pool: pool).register(
            name: "w", resources: Resources(cpuMillis: 64_000, memoryBytes: 64 << 30))
        let rounds = 60
        let dependentsPerRound = 4
        let errors = Locked<[String]>([])
        var dependentIDs: [JobID] = []
        for round in 0..<rounds {
            let end = UpstreamEnd.allCases[round % UpstreamEnd.allCases.count]
            let policy: DependencyFailurePolicy = round % 2 == 0 ? .cancel : .fail
            let upstream = try jobs.submit(NewJob(name: "up-\(round)", type: "t")).id
            let dependents = try jobs.submit(
                (0..<dependentsPerRound).map { i in
                    NewJob(
                        name: "down-\(round)-\(i)", type: "t", after: [.init("up-\(round)", onFailure: policy)],
                        tasks: (0..<50).map { NewTask(spec: #"{"i": \#($0)}"#) })
                }
            ).map(\.id)
            dependentIDs += dependents
            let lease = try leases.claimNext(for: worker, limit: 1, leaseDurationSeconds: 300)
            XCTAssertEqual(lease.map(\.job), [upstream], "round \(round): the upstream task is the one runnable")
            var actions: [@Sendable () throws -> Void] = dependents.map { id in { _ = try jobs.cancel(id) } }
            actions.append {
                switch end {
                case .cancelled: _ = try jobs.cancel(upstream)
                case .failed: try leases.fail(attempt: lease[0].attempt, error: "boom", retryable: false)
                case .completed: try leases.complete(attempt: lease[0].attempt)
                }
            }
            Self.runTogether(actions, errors: errors)
        }
        XCTAssertEqual(errors.value, [])
        let log = (try? String(contentsOfFile: server.server.logFile, encoding: .utf8)) ?? ""
        let deadlocks = log.components(separatedBy: "\n").filter { $0.contains("deadlock detected") }
        XCTAssertEqual(deadlocks.count, 0, "PostgreSQL detected deadlocks:\n" + log.suffix(4000))
        for id in dependentIDs {
            let job = try XCTUnwrap(try jobs.job(id))
            XCTAssertTrue(job.state.isTerminal, "job \(job.name) ended (\(job.state))")
            let taskStates = Set(try jobs.tasks(of: id).map(\.state))
            XCTAssertEqual(taskStates.count, 1, "job \(job.name): all its tasks ended the same way: \(taskStates)")
            XCTAssertEqual(
                JobState.derived(from: Array(taskStates), cancelRequested: false).isTerminal, true,
                "job \(job.name): tasks \(taskStates)")
        }
    }

    /// Runs each action on its own thread, all released at once, and waits for all.
    private static func runTogether(_ actions: [@Sendable () throws -> Void], errors: Locked<[String]>) {
        let group = DispatchGroup()
        let gate = DispatchGroup()
        gate.enter()
        for action in actions {
            group.enter()
            Thread {
                defer { group.leave() }
                gate.wait()
                do { try action() } catch { errors.mutate { $0.append("\(error)") } }
            }.start()
        }
        gate.leave()
        group.wait()
    }
}
