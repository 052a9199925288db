// A queue divides the cluster between teams: the scheduler shares capacity between queues with work by
// weight and never lets a queue's running tasks hold more than its quota. The one definition: a
// `kind: Queue` manifest validates into it, the store keeps it (table `queues`) and the scheduler reads it
// in its snapshot. A queue that jobs use but no manifest configured behaves as `QueueSpec(name:)`.

public struct QueueSpec: Hashable, Sendable, Codable {
    /// Weight of a queue no manifest configured, and of a manifest that leaves `weight` out.
    public static let defaultWeight = 1.0

    /// DNS-label name, the value jobs put in `spec.queue`.
    public var name: String
    /// Relative share of the cluster between queues that have work; > 0.
    public var weight: Double
    /// Hard ceiling on what the queue's running tasks hold together; nil means none. A zero amount in a
    /// dimension means that dimension is not limited (the scheduler's convention).
    public var quota: Resources?
    /// Ceiling on the training tokens the queue's train jobs may consume per day (UTC; issue 20); nil means none.
    /// A queue at or over it admits no new train work until the day turns; other kinds of work are not limited.
    public var tokensPerDay: Int64?

    public init(
        name: String, weight: Double = QueueSpec.defaultWeight, quota: Resources? = nil, tokensPerDay: Int64? = nil
    ) {
        self.name = name
        self.weight = weight
        self.quota = quota
        self.tokensPerDay = tokensPerDay
    }
}
