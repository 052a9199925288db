// The typed form of one `kind: Job` manifest document, after validation.
//
//   apiVersion: llmops/v1
//   kind: Job
//   metadata: {name: train-small, labels: {team: research}}
//   spec:
//     type: sleep                 # a registered job kind (JobKindRegistry)
//     resources: {cpu: 2, memory: 4Gi, accelerators: [{type: gpu-h100, count: 8}]}
//     replicas: 1                 # gang size: workers that run together
//     tasks: 1                    # independent tasks (simple kinds)
//     priority: 0
//     queue: default
//     retry: {maxAttempts: 3, backoffSeconds: 1, maxBackoffSeconds: 300}
//     after: [prepare-data]       # jobs that must succeed first
//     onDependencyFailure: fail   # or cancel
//     nodeSelector: {zone: a}     # required worker labels
//     affinity: {rack: r1}        # preferred worker labels
//     packBy: rack                # keep a gang within one value of this label
//     sleep: {seconds: 2}         # the kind's own settings, under the kind's name

import ClusterModel

public struct JobManifest: Sendable, Equatable {
    public static let apiVersion = "llmops/v1"
    public static let kind = "Job"

    public var metadata: JobMetadata
    public var spec: JobSpec

    public init(metadata: JobMetadata, spec: JobSpec) {
        self.metadata = metadata
        self.spec = spec
    }

    public var name: String { metadata.name }
}

public struct JobMetadata: Sendable, Equatable {
    /// DNS-label name, unique among the cluster's jobs.
    public var name: String
    public var labels: Labels

    public init(name: String, labels: Labels = [:]) {
        self.name = name
        self.labels = labels
    }
}

public struct JobSpec: Sendable, Equatable {
    /// The job kind name (`sleep`, `tokenize`, ...), registered in `JobKindRegistry`.
    public var type: String
    /// Resources of each task (each gang member for replicas > 1).
    public var resources: Resources
    /// Gang size: this many workers run the job together. >= 1.
    public var replicas: Int
    /// Independent tasks for simple kinds. >= 1. Kinds that split their own work ignore it.
    public var tasks: Int
    /// Higher runs first.
    public var priority: Int
    public var queue: String
    public var retry: RetryPolicy
    /// Names of jobs that must succeed before this one starts.
    public var after: [String]
    public var onDependencyFailure: DependencyFailurePolicy
    /// Labels a worker must have.
    public var nodeSelector: Labels
    /// Labels a worker should preferably have.
    public var affinity: Labels
    /// Label key whose value all gang members must share (e.g. `rack`).
    public var packBy: String?
    /// The kind's own settings (`spec.<type>`), as validated by the kind; nil when absent.
    /// Executors read them with `settings?.decode(MySettings.self)`.
    public var settings: ManifestValue?

    public static let defaultResources = Resources(cpuMillis: 1000)
    public static let defaultQueue = "default"

    public init(
        type: String, resources: Resources = JobSpec.defaultResources, replicas: Int = 1, tasks: Int = 1,
        priority: Int = 0, queue: String = JobSpec.defaultQueue, retry: RetryPolicy = RetryPolicy(),
        after: [String] = [], onDependencyFailure: DependencyFailurePolicy = .fail,
        nodeSelector: Labels = [:], affinity: Labels = [:], packBy: String? = nil, settings: ManifestValue? = nil
    ) {
        self.type = type
        self.resources = resources
        self.replicas = replicas
        self.tasks = tasks
        self.priority = priority
        self.queue = queue
        self.retry = retry
        self.after = after
        self.onDependencyFailure = onDependencyFailure
        self.nodeSelector = nodeSelector
        self.affinity = affinity
        self.packBy = packBy
        self.settings = settings
    }
}
