// The settings of the long-running commands (`worker`, `serve`, `up`), resolved from flags and OPS_*
// variables into plain values, so they are validated (and tested) before anything starts.

import ClusterModel
import Foundation

extension Settings {
    /// `--artifact-dir`, OPS_ARTIFACT_DIR, else `<state-dir>/artifacts`.
    public var artifactDirectory: URL {
        string("artifact-dir").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? stateDirectory.appendingPathComponent("artifacts")
    }

    public enum ArtifactStoreKind: String, Sendable, CaseIterable {
        case dir
        case controlPlane = "control-plane"
    }

    /// `--artifact-store dir|control-plane`.
    public func artifactStoreKind() throws(SettingsError) -> ArtifactStoreKind {
        guard let text = string("artifact-store") else { return .dir }
        guard let kind = ArtifactStoreKind(rawValue: text) else {
            throw SettingsError("--artifact-store: expected dir or control-plane, got '\(text)'")
        }
        return kind
    }

    /// `opsctl worker`: name, resources, labels, concurrency and directories.
    public func workerConfiguration(hostName: String = ProcessInfo.processInfo.hostName,
                                    cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                                    memory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws(SettingsError) -> WorkerConfiguration {
        let name = string("name") ?? hostName
        var cpuMillis = Int64(cores) * 1000
        var memoryBytes = Int64(clamping: memory)
        var accelerators: [AcceleratorType: Int64] = [:]
        if let text = string("cpus") {
            guard let millis = Quantity.cpuMillis(text) else { throw SettingsError("--cpus: expected cores like 2, 0.5 or 500m, got '\(text)'") }
            cpuMillis = millis
        }
        if let text = string("memory") {
            guard let bytes = Quantity.bytes(text) else { throw SettingsError("--memory: expected bytes like 8Gi, 512Mi, 1G or 1048576, got '\(text)'") }
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
            guard let (key, value) = Quantity.pair(text) else { throw SettingsError("--label: expected KEY=VALUE such as zone=a, got '\(text)'") }
            labels[key] = value
        }
        let maxTasks = try int("max-tasks", default: 4, range: 1...10_000)
        let pollWait = try seconds("poll-wait", default: 20)
        let workDirectory = string("work-dir").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
            ?? stateDirectory.appendingPathComponent("work").appendingPathComponent(name)
        let shardCache = string("shard-cache").map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
        var shardCacheBytes: Int64 = 64 << 30
        if let text = string("shard-cache-size") {
            guard let bytes = Quantity.bytes(text), bytes > 0 else {
                throw SettingsError("--shard-cache-size: expected a size like 64Gi or 500Mi, got '\(text)'")
            }
            shardCacheBytes = bytes
        }
        return WorkerConfiguration(name: name, resources: Resources(cpuMillis: cpuMillis, memoryBytes: memoryBytes, accelerators: accelerators),
                                   labels: labels, maxConcurrentTasks: maxTasks, pollWaitSeconds: pollWait, workDirectory: workDirectory,
                                   shardCacheDirectory: shardCache, shardCacheBytes: shardCacheBytes)
    }

    /// `opsctl serve`: everything the control plane is started with.
    public func controlPlaneOptions() throws(SettingsError) -> ControlPlaneOptions {
        guard let databaseURL = string("database-url") else {
            throw SettingsError("serve: no database; pass --database-url postgresql://user@127.0.0.1:5432/ops or set OPS_DATABASE_URL")
        }
        guard let admin = try Settings.token(fileOption: parsed.value("admin-token-file"), variable: "OPS_ADMIN_TOKEN", environment: environment) else {
            throw SettingsError("serve: no admin token; set OPS_ADMIN_TOKEN or OPS_ADMIN_TOKEN_FILE (or --admin-token-file)")
        }
        guard let join = try Settings.token(fileOption: parsed.value("join-token-file"), variable: "OPS_JOIN_TOKEN", environment: environment) else {
            throw SettingsError("serve: no join token for workers; set OPS_JOIN_TOKEN or OPS_JOIN_TOKEN_FILE (or --join-token-file)")
        }
        let maxBody: Int64
        if let text = string("max-body-bytes") {
            guard let bytes = Quantity.bytes(text), bytes > 0 else { throw SettingsError("--max-body-bytes: expected a size like 16Mi, got '\(text)'") }
            maxBody = bytes
        } else {
            maxBody = 16 << 20
        }
        let lease = try seconds("lease-seconds", default: 15)
        let heartbeat = try seconds("heartbeat-seconds", default: 3)
        guard heartbeat > 0, lease > heartbeat else {
            throw SettingsError("--heartbeat-seconds (\(heartbeat)) must be > 0 and shorter than --lease-seconds (\(lease)), or leases expire between heartbeats")
        }
        return ControlPlaneOptions(host: string("host") ?? "127.0.0.1", port: try int("port", default: 8080, range: 0...65535),
                                   databaseURL: databaseURL, adminToken: admin, joinToken: join, artifactDirectory: artifactDirectory,
                                   leaseSeconds: lease, heartbeatSeconds: heartbeat, maxBodyBytes: maxBody)
    }

    /// `opsctl up`.
    public func localClusterOptions(cores: Int = ProcessInfo.processInfo.activeProcessorCount,
                                    memory: UInt64 = ProcessInfo.processInfo.physicalMemory) throws(SettingsError) -> LocalClusterOptions {
        let workers = try int("workers", default: 2, range: 0...64)
        let share = max(1, workers)
        var cpuMillis = max(1000, Int64(cores) * 1000 / Int64(share))
        if let text = string("worker-cpus") {
            guard let millis = Quantity.cpuMillis(text) else { throw SettingsError("--worker-cpus: expected cores like 2, 0.5 or 500m, got '\(text)'") }
            cpuMillis = millis
        }
        var memoryBytes = Int64(clamping: memory) / Int64(share)
        if let text = string("worker-memory") {
            guard let bytes = Quantity.bytes(text) else { throw SettingsError("--worker-memory: expected bytes like 8Gi or 512Mi, got '\(text)'") }
            memoryBytes = bytes
        }
        return LocalClusterOptions(stateDirectory: stateDirectory, workers: workers, port: try int("port", default: 0, range: 0...65535),
                                   databaseURL: string("database-url"),
                                   postgresBinDirectory: URL(fileURLWithPath: string("postgres-bin") ?? "/usr/lib/postgresql/15/bin"),
                                   workerResources: Resources(cpuMillis: cpuMillis, memoryBytes: memoryBytes),
                                   workerMaxTasks: try int("worker-max-tasks", default: 4, range: 1...10_000))
    }
}

/// What `opsctl serve` starts the control plane with. The lead's `Control` module maps this onto its own
/// configuration type.
public struct ControlPlaneOptions: Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var databaseURL: String
    public var adminToken: String
    public var joinToken: String
    public var artifactDirectory: URL
    public var leaseSeconds: Double
    public var heartbeatSeconds: Double
    public var maxBodyBytes: Int64

    public init(host: String, port: Int, databaseURL: String, adminToken: String, joinToken: String, artifactDirectory: URL,
                leaseSeconds: Double, heartbeatSeconds: Double, maxBodyBytes: Int64) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.adminToken = adminToken
        self.joinToken = joinToken
        self.artifactDirectory = artifactDirectory
        self.leaseSeconds = leaseSeconds
        self.heartbeatSeconds = heartbeatSeconds
        self.maxBodyBytes = maxBodyBytes
    }

    /// Never shows the tokens (or a password in the database URL).
    public var description: String {
        "listen \(host):\(port), database \(Self.redactPassword(databaseURL)), artifacts \(artifactDirectory.path), lease \(leaseSeconds)s, heartbeat \(heartbeatSeconds)s, max body \(Quantity.formatBytes(maxBodyBytes))"
    }

    /// `postgresql://user:secret@host/db` → `postgresql://user:***@host/db`.
    public static func redactPassword(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else { return url }
        let credentials = url[scheme.upperBound..<at]
        guard let colon = credentials.firstIndex(of: ":") else { return url }
        return String(url[..<url.index(after: colon)]) + "***" + String(url[at...])
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

    /// `<state>/postgres`: the embedded database cluster.
    public var databaseDirectory: URL { stateDirectory.appendingPathComponent("postgres") }
    public var adminTokenFile: URL { stateDirectory.appendingPathComponent("admin-token") }
    public var joinTokenFile: URL { stateDirectory.appendingPathComponent("join-token") }
    public var serverURLFile: URL { stateDirectory.appendingPathComponent("server-url") }
    public var artifactDirectory: URL { stateDirectory.appendingPathComponent("artifacts") }
    public var logDirectory: URL { stateDirectory.appendingPathComponent("logs") }
}
