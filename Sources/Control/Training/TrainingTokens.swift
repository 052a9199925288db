// Training tokens as the control plane counts them (issue 20). The cheapest honest source is what trainers
// already send: the cumulative `tokens` metric (every `logEvery` steps) and checkpoint artifacts (whose metadata
// carries `tokens`, else the attempt's latest report stands for it). From these, in the report batch's
// transaction: the attempt's tokens consumed, its task's tokens at the last checkpoint — so "tokens since the
// last checkpoint" is one subtraction in the scheduling snapshot — the queue's tokens of the day (token quotas,
// fair share) and, at a preemption, the tokens the next attempt recomputes. Docs: docs/scheduler.md.

import APITypes
import ClusterModel
import Postgres

enum TrainingTokens {
    /// The metric a trainer reports its cumulative tokens under (`SingleWorkerTraining`).
    static let metricName = "tokens"
    /// Tokens are counted as reported up to 2^53, where a Double still holds every integer exactly.
    static let maxTokens: Int64 = 1 << 53

    /// The attempt's latest cumulative tokens among `points` (the highest step), if it reported any usable value.
    static func latest(in points: [MetricPoint]) -> Int64? {
        guard let point = points.filter({ $0.name == metricName }).max(by: { $0.step < $1.step }) else { return nil }
        return tokens(point.value)
    }

    /// A reported value as tokens; nil for values no trainer can consume (negative, fractional, not finite).
    static func tokens(_ value: Double) -> Int64? {
        guard value.isFinite, value >= 0, value <= Double(maxTokens), value == value.rounded() else { return nil }
        return Int64(value)
    }

    /// Records a live attempt's cumulative tokens and adds what it consumed since its last report to its queue's
    /// day. A stale attempt changes nothing (its late metrics are still stored as history).
    static func recordConsumed(_ c: PostgresConnection, attempt: AttemptID, tokens: Int64) throws {
        guard let row = try c.queryFirst(AttemptSQL.recordTokensConsumed, [attempt.sql, .int(tokens)]) else { return }
        let consumed = try row.int64("consumed")
        if consumed > 0 {
            try c.execute(QueueTokenDaySQL.addConsumed, [.text(try row.string("queue")), .int(consumed)])
        }
    }

    /// A checkpoint artifact was registered for `task` by `attempt`: from now on only tokens after it are at risk.
    static func recordCheckpoint(
        _ c: PostgresConnection, task: TaskID, attempt: AttemptID, artifact: ArtifactRecord
    ) throws {
        guard artifact.kind == "checkpoint" else { return }
        var tokens: Int64?
        switch artifact.metadata?[metricName] {
        case .int(let value): tokens = value >= 0 && value <= maxTokens ? value : nil
        case .double(let value): tokens = Self.tokens(value)
        default: tokens = nil
        }
        try c.execute(AttemptSQL.recordCheckpoint, [task.sql, attempt.sql, tokens.map { .int($0) }])
    }

    /// Keeps what preempting `attempt` loses (tokens since its task's last checkpoint) on the attempt and in its
    /// queue's day; nil when the attempt reported no tokens (work that trains nothing).
    static func recordLoss(_ c: PostgresConnection, attempt: AttemptID) throws -> Int64? {
        guard let row = try c.queryFirst(AttemptSQL.recordTokensLost, [attempt.sql]) else { return nil }
        let lost = try row.int64("tokens_lost")
        if lost > 0 { try c.execute(QueueTokenDaySQL.addLost, [.text(try row.string("queue")), .int(lost)]) }
        return lost
    }

    /// Per queue, the tokens its jobs consumed today (for the scheduling snapshot). Bounded like every read of a
    /// pass: 10,000 queues is far beyond any configuration.
    static func consumedToday(_ c: PostgresConnection) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try c.query(QueueTokenDaySQL.consumedToday, [.int(10_000)]) {
            result[try row.string("queue")] = try row.int64("tokens_consumed")
        }
        return result
    }
}
