// Everything a worker daemon is configured with (from `opsctl worker` flags and OPS_* variables).

import APITypes
import ClusterModel
import Foundation

public struct WorkerConfiguration: Sendable {
    /// Stable name; defaults to the host name.
    public var name: String
    /// What this node offers in total.
    public var resources: Resources
    public var labels: Labels
    /// At most this many attempts at once, whatever the resources.
    public var maxConcurrentTasks: Int
    /// At most this many assignments per poll.
    public var maxTasksPerPoll: Int
    /// How long the control plane may hold a poll open.
    public var pollWaitSeconds: Double
    /// Attempts get private directories under `<workDirectory>/attempts/`.
    public var workDirectory: URL
    /// Progress, logs and metrics are sent at most this often (completions at once).
    public var flushIntervalSeconds: Double
    public var backoff: Backoff
    /// On shutdown, running attempts get this long to checkpoint and stop before they are cancelled, and
    /// undelivered reports this long to be delivered.
    public var shutdownGraceSeconds: Double
    public var version: String
    /// Write a `system` log line when an attempt starts and succeeds (failures are always logged). Off for
    /// throughput runs of tiny tasks, where these lines would outnumber the work.
    public var logAttemptLifecycle: Bool
    /// The cache of remote (http/https) shards shared by this worker's attempts; its contents are listed
    /// in heartbeats so the scheduler can place readers of those shards here. Default `<workDirectory>/shard-cache`.
    public var shardCacheDirectory: URL
    public var shardCacheBytes: Int64
    /// Where the worker keeps its own token across restarts (`WorkerIdentityFile`). Default
    /// `<workDirectory>/worker-identity.json`.
    public var identityFile: URL

    public init(
        name: String, resources: Resources, labels: Labels = [:], maxConcurrentTasks: Int = 4,
        maxTasksPerPoll: Int = 32,
        pollWaitSeconds: Double = 20, workDirectory: URL, flushIntervalSeconds: Double = 0.25,
        backoff: Backoff = Backoff(),
        shutdownGraceSeconds: Double = 10, version: String = opsVersion, logAttemptLifecycle: Bool = true,
        shardCacheDirectory: URL? = nil, shardCacheBytes: Int64 = 64 << 30, identityFile: URL? = nil
    ) {
        self.name = name
        self.resources = resources
        self.labels = labels
        self.maxConcurrentTasks = max(1, maxConcurrentTasks)
        self.maxTasksPerPoll = min(max(1, maxTasksPerPoll), PollRequest.maxTasksRange.upperBound)
        self.pollWaitSeconds = pollWaitSeconds
        self.workDirectory = workDirectory
        self.flushIntervalSeconds = flushIntervalSeconds
        self.backoff = backoff
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.version = version
        self.logAttemptLifecycle = logAttemptLifecycle
        self.shardCacheDirectory = shardCacheDirectory ?? workDirectory.appendingPathComponent("shard-cache")
        self.shardCacheBytes = shardCacheBytes
        self.identityFile = identityFile ?? workDirectory.appendingPathComponent("worker-identity.json")
    }
}
