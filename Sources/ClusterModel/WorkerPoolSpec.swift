// A worker pool: workers the control plane starts itself, on a batch system users already run, when placeable
// work is pending and no worker can take it, and releases when they sit idle (issue 19). The one definition: a
// `kind: WorkerPool` manifest validates into it, the store keeps it (table `worker_pools`) and the pool scaler
// (`Scheduler.PoolScaler`) decides with it.

/// Where a pool's workers come from. Only Slurm today; the type leaves room for another provider.
public enum WorkerPoolProvider: String, Hashable, Sendable, Codable, CaseIterable {
    case slurm
}

/// What a Slurm pool asks Slurm for: each node of each Slurm job it submits.
public struct SlurmPoolSettings: Hashable, Sendable, Codable {
    /// `sbatch --partition`.
    public var partition: String
    /// `sbatch --account`; nil: the submitting user's default account.
    public var account: String?
    /// `sbatch --time`, in whole minutes: Slurm ends the job (and its workers) after this; the tasks they held
    /// are retried elsewhere like any lost worker's.
    public var timeLimitMinutes: Int
    /// The Slurm gres name of each accelerator type the pool's nodes offer (`gpu-h100: "gpu:h100"`): a node
    /// offering 8 `gpu-h100` is asked for with `--gres=gpu:h100:8`.
    public var gres: [AcceleratorType: String]
    /// Where Slurm writes each job's output (`--output=<dir>/llmops-<pool>-%j.out`): the workers' logs. A
    /// directory every node can write; `/tmp` by default, since the control plane's own working directory may be
    /// read-only (systemd's `ProtectSystem=strict`).
    public var outputDirectory: String

    public init(
        partition: String, account: String? = nil, timeLimitMinutes: Int, gres: [AcceleratorType: String] = [:],
        outputDirectory: String = "/tmp"
    ) {
        self.partition = partition
        self.account = account
        self.timeLimitMinutes = timeLimitMinutes
        self.gres = gres
        self.outputDirectory = outputDirectory
    }
}

/// The worker daemon a pool starts on each node.
public struct PoolWorkerCommand: Hashable, Sendable, Codable {
    /// The program and its arguments, e.g. `["/usr/local/bin/opsctl", "worker", "--server", "https://cp:8443"]`;
    /// the pool appends the node's name, resources and labels.
    public var command: [String]
    /// Labels every worker of the pool carries (for `nodeSelector`), besides the pool's own two.
    public var labels: Labels

    public init(command: [String], labels: Labels = [:]) {
        self.command = command
        self.labels = labels
    }
}

public struct WorkerPoolSpec: Hashable, Sendable, Codable {
    /// The label every worker a pool starts carries: the pool's name.
    public static let poolLabel = "slurm-pool"
    /// The label every worker a pool starts carries: the id of the Slurm job it runs in.
    public static let slurmJobLabel = "slurm-job"
    /// At most this many nodes in one pool: a bound on what one pool decision may ask of Slurm.
    public static let maxNodesLimit = 10_000

    /// DNS-label name.
    public var name: String
    public var provider: WorkerPoolProvider
    public var slurm: SlurmPoolSettings
    /// Nodes kept even without work (0: the pool scales to zero).
    public var minNodes: Int
    /// Nodes never exceeded, counting those Slurm has not started yet.
    public var maxNodes: Int
    /// A Slurm job whose workers have all been idle this long is cancelled (unless that leaves fewer than
    /// `minNodes`).
    public var idleTimeoutSeconds: Double
    /// What each node's worker offers: the scaler starts nodes only for work that fits in this.
    public var nodeResources: Resources
    public var worker: PoolWorkerCommand

    public init(
        name: String, provider: WorkerPoolProvider = .slurm, slurm: SlurmPoolSettings, minNodes: Int = 0,
        maxNodes: Int, idleTimeoutSeconds: Double, nodeResources: Resources, worker: PoolWorkerCommand
    ) {
        self.name = name
        self.provider = provider
        self.slurm = slurm
        self.minNodes = minNodes
        self.maxNodes = maxNodes
        self.idleTimeoutSeconds = idleTimeoutSeconds
        self.nodeResources = nodeResources
        self.worker = worker
    }

    /// The labels a worker of this pool registers with: the configured ones and the pool's name (the Slurm job
    /// id is added on the node, where it is known).
    public var workerLabels: Labels {
        worker.labels.merging([Self.poolLabel: name]) { _, pool in pool }
    }
}
