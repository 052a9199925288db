// Admin view of the scheduler's queues: `GET /v1/queues`, and the queues a `POST /v1/manifests` configured.

import ClusterModel
import Foundation

public struct QueueView: Codable, Hashable, Sendable {
    public var name: String
    /// Share of the cluster relative to the other queues with work.
    public var weight: Double
    /// Hard ceiling on what the queue's running tasks hold together (a zero amount is not limited); nil: none.
    public var quota: Resources?
    /// False for a queue that jobs name but no `kind: Queue` document configured (it has the defaults).
    public var configured: Bool
    /// Tasks of the queue's jobs running now.
    public var runningTasks: Int
    /// Tasks of the queue's jobs waiting to be placed (queued, not blocked by dependencies).
    public var pendingTasks: Int
    public var updatedAt: Date?
    /// Training tokens the queue's train jobs may consume per UTC day; nil: no token quota.
    public var tokensPerDay: Int64?

    public init(
        name: String, weight: Double, quota: Resources?, configured: Bool = true, runningTasks: Int = 0,
        pendingTasks: Int = 0, updatedAt: Date? = nil, tokensPerDay: Int64? = nil
    ) {
        self.name = name
        self.weight = weight
        self.quota = quota
        self.configured = configured
        self.runningTasks = runningTasks
        self.pendingTasks = pendingTasks
        self.updatedAt = updatedAt
        self.tokensPerDay = tokensPerDay
    }
}
