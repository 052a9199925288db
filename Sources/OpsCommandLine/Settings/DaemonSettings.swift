// The settings of the long-running commands (`worker`, `serve`, `up`), resolved from flags and OPS_*
// variables into the configuration types of the modules that run them (`WorkerConfiguration`,
// `ControlPlaneConfiguration`), so they are validated (and tested) before anything starts.

import ClusterModel
import Control
import Foundation
import Workers

extension Settings {
    /// `--artifact-dir`, OPS_ARTIFACT_DIR, else `<state-dir>/artifacts`.
    public var artifactDirectory: URL {
        string("artifact-dir").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? stateDirectory.appendingPathComponent("artifacts")
    }

    public enum ArtifactStoreKind: String, Sendable, CaseIterable {
        case dir
        case controlPlane = "control-plane"
        /// Whatever the cluster's backend is (`GET /v1/storage`): the control plane's blob store or its S3 bucket.
        case cluster
    }

    /// `opsctl worker`: name, resources, labels, concurrency and directories.
    public func workerConfiguration(
        hostName: String = ProcessInfo.processInfo.hostName,
        cores: Int = ProcessInfo.processInfo.activeProcessorCount,
        memory: UInt64 = ProcessInfo.processInfo.physicalMemory
    ) throws(SettingsError) -> WorkerConfiguration {
        let name = string("name") ?? hostName
        var cpuMillis = Int64(cores) * 1000
        var memoryBytes = Int64(clamping: memory)
        var accelerators: [AcceleratorType: Int64] = [:]
        if let text = string("cpus") {
            guard let millis = Quantity.cpuMillis(text) else {
                throw SettingsError("--cpus: expected cores like 2, 0.5 or 500m, got '\(text)'")
            }
            cpuMillis = millis
        }
        if let text = string("memory") {
            guard let bytes = Quantity.bytes(text) else {
                throw SettingsError("--memory: expected bytes like 8Gi, 512Mi, 1G or 1048576, got '\(text)'")
            }
            memoryBytes = bytes
        }
        for text in list("accelerator") {
            guard let (type, count) = Quantity.accelerator(text) else {
                throw SettingsError("--accelerator: expected TYPE=COUNT such as gpu-h100=8, got '\(text)'")
            }
            accelerators[type] = count
        }
        var labels: Labels = [:]
        for text in list("label") {
            guard let (key, value) = Quantity.pair(text) else {
                throw SettingsError("--label: expected KEY=VALUE such as zone=a, got '\(text)'")
            }
            labels[key] = value
        }
        let maxTasks = try value(WorkerCommand.maxTasks)
        let pollWait = try value(WorkerCommand.pollWaitSeconds)
        let workDirectory =
            string("work-dir").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? stateDirectory.appendingPathComponent("work").appendingPathComponent(name)
        let shardCache = string("shard-cache").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
        let shardCacheBytes = try value(WorkerCommand.shardCacheBytes)
        return WorkerConfiguration(
            name: name,
            resources: Resources(cpuMillis: cpuMillis, memoryBytes: memoryBytes, accelerators: accelerators),
            labels: labels, maxConcurrentTasks: maxTasks, pollWaitSeconds: pollWait, workDirectory: workDirectory,
            shardCacheDirectory: shardCache, shardCacheBytes: shardCacheBytes)
    }

    /// `opsctl serve`: everything the control plane is started with.
    public func controlPlaneConfiguration() throws(SettingsError) -> ControlPlaneConfiguration {
        guard let databaseURL = string("database-url") else {
            throw SettingsError(
                "serve: no database; pass --database-url postgresql://user@127.0.0.1:5432/ops or set OPS_DATABASE_URL")
        }
        guard
            let admin = try Settings.token(
                fileOption: parsed.value("admin-token-file"), variable: "OPS_ADMIN_TOKEN", environment: environment)
        else {
            throw SettingsError(
                "serve: no admin token; set OPS_ADMIN_TOKEN or OPS_ADMIN_TOKEN_FILE (or --admin-token-file)")
        }
        guard
            let join = try Settings.token(
                fileOption: parsed.value("join-token-file"), variable: "OPS_JOIN_TOKEN", environment: environment)
        else {
            throw SettingsError(
                "serve: no join token for workers; set OPS_JOIN_TOKEN or OPS_JOIN_TOKEN_FILE (or --join-token-file)")
        }
        let maxBody = try value(ServeCommand.maxBodyBytes)
        let lease = try value(ServeCommand.leaseSeconds)
        let heartbeat = try value(ServeCommand.heartbeatSeconds)
        guard heartbeat > 0, lease > heartbeat else {
            throw SettingsError(
                "--heartbeat-seconds (\(heartbeat)) must be > 0 and shorter than --lease-seconds (\(lease)), or leases expire between heartbeats"
            )
        }
        var configuration = ControlPlaneConfiguration(
            host: try value(ServeCommand.host), port: try value(ServeCommand.port), databaseURL: databaseURL,
            adminToken: Secret(admin), joinToken: Secret(join), artifactDirectory: artifactDirectory.path,
            leaseSeconds: lease, heartbeatSeconds: heartbeat, maxBodyBytes: Int(maxBody))
        configuration.storage = try storageConfiguration()
        configuration.tls = try controlPlaneTLS()
        try checkPlainHTTPAllowed(host: configuration.host, tls: configuration.tls)
        configuration.historyRetentionDays = try value(HistoryOptions.retentionDays)
        configuration.connections = ServerConnectionLimits(
            connectionLimit: try value(ServeCommand.connectionLimit),
            perAddressConnectionLimit: try value(ServeCommand.perAddressConnectionLimit),
            idleConnectionTimeoutSeconds: try value(ServeCommand.idleTimeoutSeconds))
        return configuration
    }

    /// `opsctl up`.
    public func localClusterOptions(
        cores: Int = ProcessInfo.processInfo.activeProcessorCount,
        memory: UInt64 = ProcessInfo.processInfo.physicalMemory
    ) throws(SettingsError) -> LocalClusterOptions {
        let workers = try value(UpCommand.workers)
        let share = max(1, workers)
        var cpuMillis = max(1000, Int64(cores) * 1000 / Int64(share))
        if let text = string("worker-cpus") {
            guard let millis = Quantity.cpuMillis(text) else {
                throw SettingsError("--worker-cpus: expected cores like 2, 0.5 or 500m, got '\(text)'")
            }
            cpuMillis = millis
        }
        var memoryBytes = Int64(clamping: memory) / Int64(share)
        if let text = string("worker-memory") {
            guard let bytes = Quantity.bytes(text) else {
                throw SettingsError("--worker-memory: expected bytes like 8Gi or 512Mi, got '\(text)'")
            }
            memoryBytes = bytes
        }
        return LocalClusterOptions(
            stateDirectory: stateDirectory, workers: workers, port: try value(UpCommand.port),
            databaseURL: string("database-url"),
            postgresBinDirectory: URL(fileURLWithPath: try value(UpCommand.postgresBinDirectory)),
            workerResources: Resources(cpuMillis: cpuMillis, memoryBytes: memoryBytes),
            workerMaxTasks: try value(UpCommand.workerMaxTasks),
            workerArtifactStore: try value(UpCommand.workerArtifactStore))
    }
}

/// What `opsctl up` starts: an embedded PostgreSQL in the state dir (or `databaseURL`), a control plane on
/// 127.0.0.1, and `workers` worker processes.
public struct LocalClusterOptions: Sendable {
    public var stateDirectory: URL
    public var workers: Int
    public var port: Int
    public var databaseURL: String?
    public var postgresBinDirectory: URL
    public var workerResources: Resources
    public var workerMaxTasks: Int
    /// `.controlPlane`: workers share no directory; `.dir`: the old shared `artifacts/` (see `opsctl up --help`).
    public var workerArtifactStore: Settings.ArtifactStoreKind

    /// `<state>/postgres`: the embedded database cluster.
    public var databaseDirectory: URL { stateDirectory.appendingPathComponent("postgres") }
    public var adminTokenFile: URL { stateDirectory.appendingPathComponent("admin-token") }
    public var joinTokenFile: URL { stateDirectory.appendingPathComponent("join-token") }
    public var serverURLFile: URL { stateDirectory.appendingPathComponent("server-url") }
    public var artifactDirectory: URL { stateDirectory.appendingPathComponent("artifacts") }
    public var logDirectory: URL { stateDirectory.appendingPathComponent("logs") }

    /// The directories of local worker `index` (0-based), under `<state>/workers/local-<index + 1>`.
    public func worker(_ index: Int) -> LocalWorkerDirectories {
        let name = "local-\(index + 1)"
        return LocalWorkerDirectories(
            name: name, directory: stateDirectory.appendingPathComponent("workers").appendingPathComponent(name))
    }
}

/// One local worker's private directories (nothing in them is shared with another worker or the control plane).
public struct LocalWorkerDirectories: Sendable, Equatable {
    public var name: String
    public var directory: URL
    public var workDirectory: URL { directory.appendingPathComponent("work") }
    public var shardCacheDirectory: URL { directory.appendingPathComponent("shard-cache") }
    /// Where `ControlPlaneArtifactStore` keeps fetched artifacts (`opsctl worker` puts it in the work dir).
    public var artifactCacheDirectory: URL { workDirectory.appendingPathComponent("artifact-cache") }
}
