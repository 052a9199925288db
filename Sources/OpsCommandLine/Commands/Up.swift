// `opsctl up`: a whole cluster on this machine. Layout of the state dir:
//   postgres/      the embedded database cluster (kept between runs)
//   admin-token    the admin token (0600), join-token the workers' join token (0600)
//   server-url     where the control plane listens (other opsctl commands read it)
//   artifacts/     the control plane's blob store (the workers reach it over HTTP, as remote nodes would)
//   workers/local-N/  each worker's own directory, shared with nothing: work/ (scratch space, with
//                  work/artifact-cache/ for artifacts fetched from the control plane) and shard-cache/
//   logs/worker-N.log  each worker's output

import APIClient
import ClusterModel
import Control
import Foundation
import Postgres
import Primitives
import Spawn

enum UpCommand: OpsCommand {
    static let workers = TypedOption(
        "workers", short: "n", value: "N", help: "number of local workers", environment: "OPS_WORKERS",
        default: 2, parser: .integer(in: 0...64))
    static let port = TypedOption(
        "port", value: "PORT", help: "control-plane port on 127.0.0.1 (0 = a free port)", environment: "OPS_PORT",
        default: 0, parser: .integer(in: 0...65535))
    static let postgresBinDirectory = TypedOption(
        "postgres-bin", value: "DIR", help: "where initdb and postgres are", environment: "OPS_POSTGRES_BIN",
        default: "/usr/lib/postgresql/15/bin", parser: .text)
    static let workerMaxTasks = TypedOption(
        "worker-max-tasks", value: "N", help: "attempts each worker runs at once",
        environment: "OPS_WORKER_MAX_TASKS", default: 4, parser: .integer(in: 1...10_000))
    static let workerArtifactStore = TypedOption(
        "worker-artifact-store", value: "KIND",
        help:
            "cluster (the control plane's backend over HTTP: nothing shared between workers), control-plane, or dir (a shared <state-dir>/artifacts, as before issue 14)",
        environment: "OPS_UP_WORKER_ARTIFACT_STORE", default: Settings.ArtifactStoreKind.cluster,
        parser: .choice(expected: "dir, control-plane or cluster"))

    static let spec = CommandSpec(
        "up", summary: "Run a local cluster: embedded PostgreSQL, control plane and N workers",
        options: [
            workers.spec,
            port.spec,
            OptionSpec(
                "database-url", value: "URL", help: "use this PostgreSQL instead of the embedded one",
                environment: "OPS_DATABASE_URL"),
            postgresBinDirectory.spec,
            OptionSpec(
                "worker-cpus", value: "CPUS", help: "cpus each worker offers (2, 0.5, 500m)",
                environment: "OPS_WORKER_CPUS",
                default: "the machine's cores / workers"),
            OptionSpec(
                "worker-memory", value: "BYTES", help: "memory each worker offers (8Gi, 512Mi)",
                environment: "OPS_WORKER_MEMORY",
                default: "the machine's memory / workers"),
            workerMaxTasks.spec,
            workerArtifactStore.spec,
        ],
        discussion: """
            The state dir keeps the database, the tokens and the artifacts: the next `opsctl up` finds the same jobs.
            Each worker gets its own directory (workers/local-N: work dir, shard cache, artifact cache) and shares no
            path with the others or the control plane: artifacts go through the control plane's blob store over HTTP.
            Prints the URL and the admin token file; Ctrl-C stops the workers, the control plane and PostgreSQL cleanly.
            As root, PostgreSQL runs as the `postgres` user; when it cannot reach the state directory (the default
            ~/.opsctl under a 0700 /root) the database lives in /var/lib/opsctl/postgres/ and <state>/postgres links to it.
            """)

    /// Exit status after a stop request that came before the cluster was up (128 + SIGINT, as a shell reports).
    static let interruptedStatus: Int32 = 130
    /// How often the running cluster looks at its stop request and its workers.
    static let supervisionIntervalSeconds = 0.5

    static func run(_ settings: Settings) async throws -> Int32 {
        let options = try settings.localClusterOptions()
        let fm = FileManager.default
        // traversable: the database runs as the postgres user
        try fm.createDirectory(
            at: options.stateDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o711])
        try fm.createDirectory(at: options.logDirectory, withIntermediateDirectories: true)
        let lock = try StateDirectoryLock.acquire(options.stateDirectory)
        defer { lock.release() }
        // From here on a signal asks for a stop and never ends the process itself: what was started is stopped
        // whatever signals follow (a cluster once left its PostgreSQL running after SIGINT, then SIGTERM).
        let stop = Wakeup(sticky: true)
        let signals = TerminationSignals { _ in
            if stop.isSignalled { Output.note("still stopping what this opsctl up started") }
            stop.signal()
        }
        defer { signals.cancel() }
        let parts = LocalClusterParts()
        do {
            try await startAndRun(options, parts: parts, stop: stop)
        } catch is LocalClusterInterrupted {
            await parts.stop()
            Output.note("interrupted before the cluster was up; stopped what was started")
            return interruptedStatus
        } catch {
            await parts.stop()
            throw error
        }
        await parts.stop()
        try? fm.removeItem(at: options.serverURLFile)
        return 0
    }

    /// Each stage records what it started in `parts` and looks at `stop` when it ends; returns once the running
    /// cluster is asked to stop.
    static func startAndRun(_ options: LocalClusterOptions, parts: LocalClusterParts, stop: Wakeup) async throws {
        let adminToken = try loadOrCreateToken(at: options.adminTokenFile)
        let joinToken = try loadOrCreateToken(at: options.joinTokenFile)
        let (databaseURL, stopDatabase) = try await startDatabase(options)
        parts.stopDatabase = stopDatabase
        if stop.isSignalled { throw LocalClusterInterrupted() }

        let port = options.port == 0 ? try EmbeddedPostgres.freeLoopbackPort() : options.port
        let serverURL = "http://127.0.0.1:\(port)"
        let controlPlane = controlPlaneConfiguration(
            options, port: port, databaseURL: databaseURL, adminToken: adminToken, joinToken: joinToken)
        let server = Task { try await ControlPlane.run(controlPlane) { _ in } }
        parts.server = server
        let client = OpsClient(baseURL: serverURL, token: adminToken, transport: CurlTransport(), timeoutSeconds: 5)
        Output.note("waiting for the control plane at \(serverURL) to be ready")
        try await waitUntilReady(client, server: server, stop: stop)
        try Data((serverURL + "\n").utf8).write(to: options.serverURLFile, options: .atomic)

        let workers = try WorkerSupervisor(names: (0..<options.workers).map { options.worker($0).name }) {
            index in
            try startWorker(index: index, options: options, serverURL: serverURL)
        }
        parts.workers = workers
        printClusterIsUp(serverURL: serverURL, options: options)
        while !stop.isSignalled {
            await workers.check(now: Date())
            try? await Task.sleep(nanoseconds: UInt64(supervisionIntervalSeconds * 1e9))
        }
    }

    /// `--database-url` as given (nothing to stop), or the embedded PostgreSQL started in the state dir.
    static func startDatabase(_ options: LocalClusterOptions) async throws -> (
        url: String, stop: (@Sendable () -> Void)?
    ) {
        if let url = options.databaseURL { return (url, nil) }
        let directory = try DatabasePlacement.resolve(options.databaseDirectory)
        Output.note("starting PostgreSQL in \(directory.path)")
        let database = try await LocalDatabase.start(
            dataDirectory: directory,
            binDirectory: options.postgresBinDirectory)
        return (database.url, database.stop)
    }

    static func controlPlaneConfiguration(
        _ options: LocalClusterOptions, port: Int, databaseURL: String, adminToken: String,
        joinToken: String
    ) -> ControlPlaneConfiguration {
        // The timers and body limit are `serve`'s defaults: a local cluster is a `serve` with no flags.
        ControlPlaneConfiguration(
            host: "127.0.0.1", port: port, databaseURL: databaseURL, adminToken: Secret(adminToken),
            joinToken: Secret(joinToken), artifactDirectory: options.artifactDirectory.path,
            leaseSeconds: ServeCommand.leaseSeconds.defaultValue,
            heartbeatSeconds: ServeCommand.heartbeatSeconds.defaultValue,
            maxBodyBytes: Int(ServeCommand.maxBodyBytes.defaultValue))
    }

    static func printClusterIsUp(serverURL: String, options: LocalClusterOptions) {
        print(
            """
            cluster is up: \(serverURL) (\(options.workers) worker\(options.workers == 1 ? "" : "s"), state in \(options.stateDirectory.path))
              admin token: in \(options.adminTokenFile.path) (mode 0600; never printed)
              in another shell: export OPS_SERVER=\(serverURL) OPS_TOKEN_FILE=\(options.adminTokenFile.path)
                                opsctl apply -f manifests/pipeline.yaml --wait
              worker logs: \(options.logDirectory.path)/worker-N.log
            """ + workerDirectoryLines(options).map { "\n" + $0 }.joined()
                + "\nCtrl-C stops everything.")
        Output.flush()
    }

    /// One line per worker: its private directories and where its artifacts go.
    static func workerDirectoryLines(_ options: LocalClusterOptions) -> [String] {
        (0..<options.workers).map { index in
            let worker = options.worker(index)
            let artifacts =
                options.workerArtifactStore == .dir
                ? "artifacts in the shared \(options.artifactDirectory.path)"
                : "artifacts via the control plane, cached in \(worker.artifactCacheDirectory.path)"
            return
                "  \(worker.name): work \(worker.workDirectory.path), shard cache \(worker.shardCacheDirectory.path), \(artifacts)"
        }
    }

    /// Throws `LocalClusterInterrupted` as soon as `stop` is signalled.
    static func waitUntilReady(_ client: OpsClient, server: Task<Void, Error>, stop: Wakeup) async throws {
        // A control plane that fails to start finishes its task; the watcher records that so the loop can
        // surface its error instead of waiting out the whole minute.
        let stopped = Wakeup(sticky: true)
        let watcher = Task {
            _ = try? await server.value
            stopped.signal()
        }
        defer { watcher.cancel() }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if stop.isSignalled { throw LocalClusterInterrupted() }
            if let ready = try? await client.readiness(), ready.ready { return }
            if stopped.isSignalled {
                try await server.value
                throw SettingsError("the control plane stopped before it was ready")
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
        throw SettingsError("the control plane did not become ready within 60s")
    }

    /// The worker's command line: its own state, work and shard-cache directories, and the artifact store.
    static func workerArguments(index: Int, options: LocalClusterOptions, serverURL: String) -> [String] {
        let worker = options.worker(index)
        var arguments = [
            "worker", "--server", serverURL, "--name", worker.name, "--state-dir", worker.directory.path,
            "--work-dir", worker.workDirectory.path, "--shard-cache", worker.shardCacheDirectory.path,
            "--cpus", "\(options.workerResources.cpuMillis)m", "--memory", "\(options.workerResources.memoryBytes)",
            "--max-tasks", "\(options.workerMaxTasks)", "--artifact-store", options.workerArtifactStore.rawValue,
        ]
        if options.workerArtifactStore == .dir { arguments += ["--artifact-dir", options.artifactDirectory.path] }
        return arguments
    }

    static func startWorker(index: Int, options: LocalClusterOptions, serverURL: String) throws -> SpawnedChild {
        var environment = ProcessInfo.processInfo.environment
        environment["OPS_JOIN_TOKEN_FILE"] = options.joinTokenFile.path
        environment["OPS_JOIN_TOKEN"] = nil
        environment["OPS_TOKEN"] = nil
        let logURL = options.logDirectory.appendingPathComponent("worker-\(index + 1).log")
        // posix_spawn, not Foundation's Process: the control plane's threads in this process open sockets all
        // the time, and a worker must inherit none of them (docs/architecture.md, `Spawn`).
        return try SpawnedChild.start(
            ChildSpec(
                executable: URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path,
                arguments: workerArguments(index: index, options: options, serverURL: serverURL),
                environment: environment, output: .appending(path: logURL.path)))
    }

    /// Reads the token in `file`, or creates one (32 random bytes, hex) readable only by this user.
    static func loadOrCreateToken(at file: URL) throws -> String {
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !token.isEmpty { return token }
        }
        var generator = SystemRandomNumberGenerator()
        let token = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
        guard
            FileManager.default.createFile(
                atPath: file.path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        else {
            throw SettingsError("cannot write the token file \(file.path)")
        }
        return token
    }
}
