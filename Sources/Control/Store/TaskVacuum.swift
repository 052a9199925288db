import Foundation
import Postgres

/// When `tasks` is vacuumed by the control plane itself, beside autovacuum.
///
/// Why: every lease writes two row versions of its task (the claim, the completion), and the dead ones stay in the
/// runnable index's head until a vacuum removes them; each claim walks them first. Autovacuum visits a database at
/// most once per `autovacuum_naptime` (a minute by default) and then vacuums at its cost-limited pace, so over a
/// long drain the head only grows. In the lease model (batch 64, a 1,000,000-task queue drained in ten phases,
/// 2026-12-07) a 64-row read of the head touched 369 buffers after the first phase and 2,909 after the eighth, with
/// 1.5 M dead rows and no autovacuum yet; with `VACUUM tasks` between phases it stayed at ~370 and the drain ran 20 %
/// faster (docs/leases.md, "The runnable head over a long drain").
public struct TaskVacuumPolicy: Sendable, Equatable {
    /// Below this many dead rows a vacuum is not worth its pass over the table (tests, small clusters).
    public var minimumDeadRows: Int64
    /// ... nor below this share of the live rows: the vacuum reads every page of a large table that holds dead rows.
    public var minimumDeadShareOfLive: Double

    public init(minimumDeadRows: Int64, minimumDeadShareOfLive: Double) {
        self.minimumDeadRows = minimumDeadRows
        self.minimumDeadShareOfLive = minimumDeadShareOfLive
    }

    public static let standard = TaskVacuumPolicy(minimumDeadRows: 20_000, minimumDeadShareOfLive: 0.05)

    /// Whether a vacuum is due for these estimates.
    public func isDue(deadRows: Int64, liveRows: Int64) -> Bool {
        precondition(deadRows >= 0 && liveRows >= 0, "row estimates are never negative")
        return deadRows >= minimumDeadRows && Double(deadRows) >= minimumDeadShareOfLive * Double(liveRows)
    }
}

/// One check of `tasks`' dead rows, and a vacuum when `TaskVacuumPolicy` says it is due (`TaskVacuumSweep` runs it
/// every second on every replica; two replicas' vacuums do not queue behind each other: `SKIP_LOCKED`).
public struct TaskVacuum: Sendable {
    let pool: PostgresPool
    let policy: TaskVacuumPolicy

    public init(pool: PostgresPool, policy: TaskVacuumPolicy = .standard) {
        self.pool = pool
        self.policy = policy
    }

    /// What a check found and did.
    public struct Outcome: Sendable, Equatable {
        public var deadRows: Int64
        public var liveRows: Int64
        /// A `VACUUM` was issued. `SKIP_LOCKED` makes it skip the table while another vacuum holds it (a replica's, or
        /// autovacuum's own visit), so the dead rows may still be there after it.
        public var vacuumed: Bool
    }

    @discardableResult
    public func runOnce() throws -> Outcome {
        try pool.withConnection { c in
            let row = try c.queryOne(TaskSQL.vacuumEstimate)
            let dead = try row.optionalInt64("dead_rows") ?? 0
            let live = try row.optionalInt64("live_rows") ?? 0
            guard policy.isDue(deadRows: dead, liveRows: live) else {
                return Outcome(deadRows: dead, liveRows: live, vacuumed: false)
            }
            try c.executeScriptText(TaskSQL.vacuum)
            return Outcome(deadRows: dead, liveRows: live, vacuumed: true)
        }
    }
}
