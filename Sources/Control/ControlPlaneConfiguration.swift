import Foundation

/// Everything a control-plane replica needs to run. Tokens are `Secret`s and never printed.
public struct ControlPlaneConfiguration: Sendable {
    public var host: String
    /// 0 asks the kernel for a free port (tests); `ControlPlane.baseURL` tells the real one.
    public var port: Int
    /// libpq conninfo or `postgresql://` URL.
    public var databaseURL: String
    public var adminToken: Secret
    public var joinToken: Secret
    /// Where uploaded artifacts (blobs) are stored when workers use the control plane's artifact endpoint.
    public var artifactDirectory: String
    public var leaseSeconds: Double
    public var heartbeatSeconds: Double
    /// A worker silent for this long is marked lost (its leases expire on their own deadlines).
    public var workerLostAfterSeconds: Double
    /// Largest JSON body accepted on API calls; artifact uploads have `maxBlobBytes`.
    public var maxBodyBytes: Int
    public var maxBlobBytes: Int
    /// Longest long-poll a worker may ask for.
    public var maxPollSeconds: Double
    public var databaseConnections: Int
    /// How often the background sweeps (lease expiry, lost workers) run.
    public var sweepIntervalSeconds: Double
    /// The scheduling leader's safety-net timer; passes are otherwise triggered by events.
    public var schedulingIntervalSeconds: Double
    /// Name of this replica in logs and in the leader lock's holder.
    public var replicaName: String
    /// The cluster's blob backend (the control plane's own store or an S3 bucket) and its garbage collection.
    public var storage = StorageConfiguration()
    /// Events, log lines and metric points older than this many days are dropped, a whole week's partition at a
    /// time (docs/history.md); 0 keeps them forever. `opsctl serve --history-retention-days` validates it.
    public var historyRetentionDays = ControlPlaneConfiguration.defaultHistoryRetentionDays {
        willSet { precondition(Self.historyRetentionDaysRange.contains(newValue)) }
    }
    public static let defaultHistoryRetentionDays = 30
    /// Up to 100 years: a larger number is surely a typo, and 0 already says "forever".
    public static let historyRetentionDaysRange = 0...36_500
    /// Connection limits and the idle timeout of the API's HTTP server (docs/security.md, "Connection floods").
    public var connections = ServerConnectionLimits()
    /// HTTPS from these files (nil: plain HTTP, which `opsctl serve` allows only on loopback unless told).
    public var tls: ControlPlaneTLS? = nil
    /// Variables the worker pools' Slurm commands see on top of this process's environment (e.g. `SLURM_CONF`
    /// for a cluster configured elsewhere than /etc/slurm; docs/worker-pools.md).
    public var poolCommandEnvironment: [String: String] = [:]

    public init(
        host: String = "127.0.0.1", port: Int = 0, databaseURL: String, adminToken: Secret, joinToken: Secret,
        artifactDirectory: String, leaseSeconds: Double = 15, heartbeatSeconds: Double = 3,
        workerLostAfterSeconds: Double? = nil, maxBodyBytes: Int = 1 << 20, maxBlobBytes: Int = 2 << 30,
        maxPollSeconds: Double = 30, databaseConnections: Int = 16, sweepIntervalSeconds: Double = 0.5,
        schedulingIntervalSeconds: Double = 1, replicaName: String = ProcessInfo.processInfo.hostName + "-\(getpid())"
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.adminToken = adminToken
        self.joinToken = joinToken
        self.artifactDirectory = artifactDirectory
        self.leaseSeconds = leaseSeconds
        self.heartbeatSeconds = heartbeatSeconds
        self.workerLostAfterSeconds = workerLostAfterSeconds ?? max(leaseSeconds, heartbeatSeconds * 4)
        self.maxBodyBytes = maxBodyBytes
        self.maxBlobBytes = maxBlobBytes
        self.maxPollSeconds = maxPollSeconds
        self.databaseConnections = databaseConnections
        self.sweepIntervalSeconds = sweepIntervalSeconds
        self.schedulingIntervalSeconds = schedulingIntervalSeconds
        self.replicaName = replicaName
    }
}
