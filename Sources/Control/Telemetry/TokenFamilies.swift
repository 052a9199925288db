// The training-token families of `/metrics` (issue 20; docs/observability.md): tokens lost to preemption per
// queue (a counter: summed over the days of `queue_token_days`, which retention of jobs does not touch, so it only
// goes up) and tokens consumed today per queue (a gauge, against `tokensPerDay`). Read with the cluster's gauges,
// at most once a second.
import Postgres

extension ClusterGauges {
    /// Queues shown: far beyond any configuration, a bound like every other family's.
    static let tokenQueuesMax = 1_000

    static func tokenFamilies(_ c: PostgresConnection) throws -> [MetricFamilySnapshot] {
        let lost = try c.query(QueueTokenDaySQL.lostByQueue, [.int(Int64(tokenQueuesMax))]).map {
            MetricSeries(labels: [try $0.string("queue")], value: try $0.double("tokens"))
        }
        let today = try c.query(QueueTokenDaySQL.consumedToday, [.int(Int64(tokenQueuesMax))]).map {
            MetricSeries(labels: [try $0.string("queue")], value: Double(try $0.int64("tokens_consumed")))
        }
        return [
            MetricFamilySnapshot(
                name: "llmops_preemption_tokens_lost",
                help:
                    "Training tokens preempted attempts had consumed since their last checkpoint (recomputed), by queue",
                labelNames: ["queue"], points: .counter(lost)),
            .gauge(
                "llmops_queue_training_tokens_today",
                "Training tokens a queue's train jobs consumed since 00:00 UTC (its tokensPerDay quota counts these)",
                labels: ["queue"], today),
        ]
    }
}
