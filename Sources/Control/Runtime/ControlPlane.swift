import APITypes
import Foundation
import HTTPServer
import Postgres
import Synchronization

/// One control-plane replica: applies migrations, serves the REST API, wakes long-polls through
/// LISTEN/NOTIFY, and runs the background sweeps. Several replicas may share one database.
public final class ControlPlane: @unchecked Sendable {
    public let configuration: ControlPlaneConfiguration
    public let planners: JobPlanners
    public let registry: JobKindRegistry
    private let log: @Sendable (String) -> Void
    private var pool: PostgresPool?
    private var signals: StoreSignals?
    private(set) var server: HTTPServer?
    private var sweeps: BackgroundSweeps?
    private var blobCollection: BlobCollectionSweep?
    private var historyRetention: HistoryRetentionSweep?
    private var taskVacuum: TaskVacuumSweep?
    private var scheduling: SchedulingLoop?
    private var autoscaler: PoolAutoscaler?
    /// Set by `requestStop()` (SIGTERM): a start that is still waiting for the database or for another replica's
    /// migration gives up instead of hanging.
    private let stopRequested = Atomic<Bool>(false)

    /// True while this replica holds the scheduling leadership.
    public var isSchedulingLeader: Bool { scheduling?.isLeader ?? false }

    public init(
        configuration: ControlPlaneConfiguration, planners: JobPlanners = JobPlanners(),
        registry: JobKindRegistry = .standard,
        log: @escaping @Sendable (String) -> Void = {
            FileHandle.standardError.write(Data(("control-plane: " + $0 + "\n").utf8))
        }
    ) {
        self.configuration = configuration
        self.planners = planners
        self.registry = registry
        self.log = log
    }

    /// `http://host:port` once started.
    public var baseURL: String { server?.baseURL ?? "" }

    /// Makes a `start()` that is still waiting (for the database, for another replica's migration) throw
    /// `CancellationError`. Safe from any thread; `stop()` still releases what was started.
    public func requestStop() { stopRequested.store(true, ordering: .relaxed) }

    /// Connects, migrates (waiting for the database up to `databaseWaitSeconds`), and starts serving.
    public func start(databaseWaitSeconds: Double = 60) throws {
        // A certificate that cannot load fails the start at once, not after the wait for the database.
        let tlsCredentials = try configuration.tls?.credentials()
        try tlsCredentials?.checkUsable()
        // A request's store call rides over a restart's stale connections for 3 s, no longer: during an outage
        // the client gets a 503 `database_unavailable` well inside its own 30 s timeout (issue 15).
        let pool = PostgresPool(
            conninfo: configuration.databaseURL, maxConnections: configuration.databaseConnections,
            connectionLossRetrySeconds: 3)
        self.pool = pool
        let shouldStop = { self.stopRequested.load(ordering: .relaxed) }
        let applied = try pool.retryingOnConnectionLoss(timeoutSeconds: databaseWaitSeconds, shouldStop: shouldStop) {
            try Migrations.apply(to: pool, shouldStop: shouldStop)
        }
        if !applied.isEmpty { log("applied migrations \(applied.map(String.init).joined(separator: ", "))") }
        try FileManager.default.createDirectory(
            atPath: configuration.artifactDirectory, withIntermediateDirectories: true)

        let signals = StoreSignals(conninfo: configuration.databaseURL)
        self.signals = signals
        signals.waitUntilReady(timeoutSeconds: 10)
        // Submission-time checks of train/eval specs need the store (datasets, checkpoints of earlier jobs).
        TrainJobPlanner.register(in: planners, store: ControlStore(pool: pool))
        let services = ControlServices(
            configuration: configuration, store: ControlStore(pool: pool), signals: signals,
            planners: planners, registry: registry)

        let router = RouteTable.router(
            services, version: opsVersion, isLeader: { [weak self] in self?.isSchedulingLeader ?? false },
            log: log)
        let maxBody = configuration.maxBodyBytes
        let maxBlob = configuration.maxBlobBytes
        let serverConfiguration = HTTPServerConfiguration(
            address: configuration.host, port: UInt16(configuration.port),
            connectionLimit: configuration.connections.connectionLimit,
            perAddressConnectionLimit: configuration.connections.perAddressConnectionLimit,
            idleConnectionTimeoutSeconds: configuration.connections.idleConnectionTimeoutSeconds,
            // Blobs (checkpoints) are the one body that may be large; the method does not matter here.
            maxBodyBytes: { _, path in
                let components = path.split(separator: "/").map(String.init)
                return APIRoute.putBlob.match(components) != nil || APIRoute.appendUpload.match(components) != nil
                    ? maxBlob : maxBody
            },
            errorResponse: { status, message in
                let code: APIErrorCode = status == 413 ? .payloadTooLarge : status >= 500 ? .internalError : .badRequest
                // The server's own status stands (a range outside a blob is 416, not the code's 400).
                var response = APIErrorMapping.response(APIErrorBody(code: code, message: message))
                response.status = status
                return response
            })
        var listening = serverConfiguration
        listening.tls = tlsCredentials
        let server = HTTPServer(configuration: listening) { router.handle($0) }
        try server.start()
        self.server = server

        let sweeps = BackgroundSweeps(services: services, log: log)
        sweeps.start()
        self.sweeps = sweeps
        let blobCollection = BlobCollectionSweep(services: services, log: log)
        blobCollection.start()
        self.blobCollection = blobCollection
        let historyRetention = HistoryRetentionSweep(services: services, log: log)
        historyRetention.start()
        self.historyRetention = historyRetention
        let taskVacuum = TaskVacuumSweep(services: services, log: log)
        taskVacuum.start()
        self.taskVacuum = taskVacuum
        let scheduling = SchedulingLoop(
            pool: pool, conninfo: configuration.databaseURL, signals: signals,
            intervalSeconds: configuration.schedulingIntervalSeconds,
            replicaName: configuration.replicaName, telemetry: services.telemetry, log: log)
        scheduling.start()
        self.scheduling = scheduling
        let autoscaler = PoolAutoscaler(
            store: WorkerPoolStore(pool: pool),
            slurm: SlurmCommands(
                environment: ProcessInfo.processInfo.environment.merging(configuration.poolCommandEnvironment) {
                    _, configured in configured
                }),
            joinToken: configuration.joinToken, lastPass: { [scheduling] in scheduling.lastPass }, log: log)
        autoscaler.start(intervalSeconds: max(1, configuration.schedulingIntervalSeconds))
        self.autoscaler = autoscaler
        log("\(configuration.replicaName) listening on \(server.baseURL)")
    }

    /// Stops serving (in-flight requests finish), stops the sweeps and closes the database connections.
    public func stop() {
        autoscaler?.stop()
        scheduling?.stop()
        sweeps?.stop()
        blobCollection?.stop()
        historyRetention?.stop()
        taskVacuum?.stop()
        server?.stop(timeoutSeconds: 5)
        signals?.stop()
        pool?.close()
        sweeps = nil
        blobCollection = nil
        historyRetention = nil
        taskVacuum = nil
        scheduling = nil
        autoscaler = nil
        server = nil
        signals = nil
        pool = nil
    }

    /// Runs a replica until the surrounding task is cancelled (`opsctl serve`, `opsctl up`).
    public static func run(
        _ configuration: ControlPlaneConfiguration,
        onStarted: @escaping @Sendable (ControlPlane) -> Void = { _ in },
        onListening: @escaping @Sendable (String) -> Void
    ) async throws {
        let controlPlane = ControlPlane(configuration: configuration)
        do {
            try await withTaskCancellationHandler {
                try await Task.detached { try controlPlane.start() }.value
            } onCancel: {
                controlPlane.requestStop()
            }
        } catch {
            await Task.detached { controlPlane.stop() }.value
            throw error
        }
        onStarted(controlPlane)
        onListening(controlPlane.baseURL)
        await withTaskCancellationHandler {
            while !Task.isCancelled { try? await Task.sleep(nanoseconds: 200_000_000) }
        } onCancel: {
        }
        await Task.detached { controlPlane.stop() }.value
    }
}
