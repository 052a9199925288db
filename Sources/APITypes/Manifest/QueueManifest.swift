// The typed form of one `kind: Queue` manifest document, after validation. Queues divide the cluster
// between teams: the scheduler shares capacity between queues with work by weight, and never lets a
// queue's running tasks hold more than its quota.
//
//   apiVersion: llmops/v1
//   kind: Queue
//   metadata: {name: research}
//   spec:
//     weight: 2                   # share relative to other queues; > 0, default 1
//     quota:                      # optional hard ceiling; a resource left out is not limited
//       cpu: 64
//       memory: 256Gi
//       accelerators: [{type: gpu-h100, count: 16}]
//
// Jobs name their queue with `spec.queue`; a queue that jobs use but no Queue document configures
// behaves as weight 1 without a quota.

import ClusterModel

public struct QueueManifest: Sendable, Equatable {
    public static let kind = "Queue"
    public static let defaultWeight = 1.0

    /// DNS-label name, the value jobs put in `spec.queue`.
    public var name: String
    /// Relative share of the cluster between queues that have work; > 0.
    public var weight: Double
    /// Hard ceiling on what the queue's running tasks hold together; nil means none. A zero amount in a
    /// dimension means that dimension is not limited (the scheduler's convention).
    public var quota: Resources?

    public init(name: String, weight: Double = QueueManifest.defaultWeight, quota: Resources? = nil) {
        self.name = name
        self.weight = weight
        self.quota = quota
    }
}
