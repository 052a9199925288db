import APIClient
import APITypes
import ClusterModel
import DataShards
import Foundation
import HTTPClient
import ObjectStore
import Workers

enum WorkerCommand: OpsCommand {
    static let maxTasks = TypedOption(
        "max-tasks", value: "N", help: "attempts run at once", environment: "OPS_WORKER_MAX_TASKS",
        default: 4, parser: .integer(in: 1...10_000))
    static let shardCacheBytes = TypedOption(
        "shard-cache-size", value: "BYTES",
        help: "shard cache limit; the files a stream needs furthest ahead (else least recently used) are evicted",
        environment: "OPS_SHARD_CACHE_SIZE", default: Int64(64) << 30, parser: .positiveBytes(example: "64Gi or 500Mi"))
    static let artifactStore = TypedOption(
        "artifact-store", value: "KIND",
        help:
            "cluster (the control plane's backend: its blob store over HTTP, or its S3 bucket), control-plane, or dir (files in a --artifact-dir shared between nodes)",
        environment: "OPS_ARTIFACT_STORE", default: Settings.ArtifactStoreKind.cluster,
        parser: .choice(expected: "dir, control-plane or cluster"))
    static let pollWaitSeconds = TypedOption(
        "poll-wait", value: "SECONDS", help: "long-poll duration", environment: "OPS_POLL_WAIT",
        default: 20.0, parser: .seconds)

    static let spec = CommandSpec(
        "worker", summary: "Run a worker daemon that takes tasks from the control plane",
        options: [
            OptionSpec(
                "join-token-file", value: "PATH",
                help: "file with the join token (or OPS_JOIN_TOKEN; falls back to the admin token)",
                environment: "OPS_JOIN_TOKEN_FILE"),
            OptionSpec(
                "name", value: "NAME", help: "worker name", environment: "OPS_WORKER_NAME", default: "the host name"),
            OptionSpec(
                "cpus", value: "CPUS", help: "cpus offered (2, 0.5, 500m)", environment: "OPS_WORKER_CPUS",
                default: "all cores"),
            OptionSpec(
                "memory", value: "BYTES", help: "memory offered (8Gi, 512Mi, 1G, bytes)",
                environment: "OPS_WORKER_MEMORY",
                default: "physical memory"),
            OptionSpec(
                "accelerator", value: "TYPE=COUNT", help: "accelerators offered (gpu-h100=8)",
                environment: "OPS_WORKER_ACCELERATORS",
                repeatable: true),
            OptionSpec(
                "label", value: "KEY=VALUE", help: "a label for placement (zone=a)", environment: "OPS_WORKER_LABELS",
                repeatable: true),
            maxTasks.spec,
            OptionSpec(
                "work-dir", value: "DIR", help: "scratch space for attempts", environment: "OPS_WORK_DIR",
                default: "<state-dir>/work/<name>"),
            OptionSpec(
                "shard-cache", value: "DIR",
                help: "cache of remote (http) dataset shards, kept across tasks and reported for data locality",
                environment: "OPS_SHARD_CACHE", default: "<work-dir>/shard-cache"),
            shardCacheBytes.spec,
            artifactStore.spec,
            OptionSpec(
                "artifact-dir", value: "DIR",
                help: "artifact directory (with --artifact-store dir; share it between nodes)",
                environment: "OPS_ARTIFACT_DIR",
                default: "<state-dir>/artifacts"),
            pollWaitSeconds.spec,
            OptionSpec(
                "devices", value: "ID,ID",
                help:
                    "accelerator device ids that command jobs get as CUDA_VISIBLE_DEVICES, one per accelerator asked for",
                environment: "OPS_WORKER_DEVICES"),
            OptionSpec(
                "advertise-address", value: "HOST",
                help: "the address other gang members reach this worker at (MASTER_ADDR of command jobs)",
                environment: "OPS_ADVERTISE_ADDRESS", default: "the host name"),
        ],
        discussion: """
            OPS_WORKER_ACCELERATORS and OPS_WORKER_LABELS take comma-separated lists (gpu-h100=8,tpu-v5e=4).
            SIGINT/SIGTERM: running attempts checkpoint and are handed back, reports are delivered, the worker deregisters.
            """)

    /// `--devices 0,1`: the device ids command jobs get as CUDA_VISIBLE_DEVICES, one per accelerator offered.
    static func devices(_ settings: Settings, offering resources: Resources) throws(SettingsError) -> [String] {
        let devices = (settings.string("devices") ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        let offered = resources.accelerators.values.reduce(0, +)
        guard devices.isEmpty || Int64(devices.count) == offered, Set(devices).count == devices.count else {
            throw SettingsError(
                "--devices: expected \(offered) distinct device ids, one per accelerator --accelerator offers (the "
                    + "scheduler counts accelerators), e.g. --accelerator gpu=2 --devices 0,1; got "
                    + "'\(settings.string("devices") ?? "")'")
        }
        return devices
    }

    static func run(_ settings: Settings) async throws -> Int32 {
        let configuration = try settings.workerConfiguration()
        let token =
            try Settings.token(
                fileOption: settings.parsed.value("join-token-file"), variable: "OPS_JOIN_TOKEN",
                environment: settings.environment) ?? settings.adminToken()
        guard let token else {
            throw SettingsError(
                "worker: no token; set OPS_JOIN_TOKEN (or OPS_JOIN_TOKEN_FILE / --join-token-file) to the cluster's join token"
            )
        }
        // One client (one CA file, one pool of keep-alive connections) for every call to the control plane.
        let client = try settings.controlPlaneHTTPClient()
        let api = HTTPControlPlaneAPI(
            baseURL: settings.serverURL, token: token, transport: CurlTransport(client: client))
        let cacheDirectory = configuration.workDirectory.appendingPathComponent("artifact-cache")
        let artifactStore: any ArtifactStore
        var extraFetchers: [String: any ShardFetcher] = [:]
        switch try settings.value(Self.artifactStore) {
        case .dir:
            artifactStore = FileArtifactStore(root: settings.artifactDirectory)
        case .controlPlane:
            artifactStore = ControlPlaneArtifactStore(
                baseURL: settings.serverURL, token: api.requester.token, cacheDirectory: cacheDirectory,
                client: client)
        case .cluster:
            // Asked once at start: a worker whose credentials cannot reach the cluster's bucket fails here, not
            // at its first checkpoint.
            let storage = try StorageClients.describe(
                baseURL: settings.serverURL, token: api.requester.token, client: client)
            artifactStore = try StorageClients.artifactStore(
                for: storage, controlPlaneURL: settings.serverURL, token: api.requester.token,
                cacheDirectory: cacheDirectory, log: { WorkerDaemon.standardErrorLog($0) }, client: client)
            if let s3 = storage.s3 {
                // Shards uploaded to the bucket are read from it directly, by byte range, not through the control plane.
                extraFetchers["s3://"] = S3ShardFetcher(
                    endpoint: s3.endpoint, region: s3.region, credentials: try S3Credentials.resolve())
            }
            WorkerDaemon.standardErrorLog(
                "cluster storage: \(storage.backend.rawValue)\(storage.s3.map { " bucket \($0.bucket)" } ?? "")")
        }
        let devices = try Self.devices(settings, offering: configuration.resources)
        var registry = ExecutorRegistry.standard()
        registry.register(
            kind: CommandExecutor.kind,
            CommandExecutor(
                advertisedAddress: settings.string("advertise-address"),
                checkpointRoot: configuration.workDirectory.appendingPathComponent("checkpoints"),
                devices: devices))
        let daemon = WorkerDaemon(
            configuration: configuration, api: api, registry: registry,
            artifactStore: artifactStore,
            datasets: ControlPlaneDatasets(
                baseURL: settings.serverURL, token: api.requester.token, client: client,
                extraFetchers: extraFetchers))
        let signals = TerminationSignals { number in
            WorkerDaemon.standardErrorLog("got signal \(number); shutting down (send it again to exit at once)")
            daemon.requestShutdown()
            // A second signal exits without waiting.
            signal(number, SIG_DFL)
        }
        defer { signals.cancel() }
        WorkerDaemon.standardErrorLog("opsctl \(opsVersion) worker \(configuration.name) → \(settings.serverURL)")
        try await daemon.run()
        return 0
    }
}
