// Real-process integration support: the built `opsctl` binary started as `serve` and `worker` processes,
// a throwaway PostgreSQL per test (TestSupport), SQL checks and plain HTTP calls on 127.0.0.1.
// Every process a test starts is registered with its `ProcessCluster`, which kills what is left in
// `tearDown` (also when the test failed); processes orphaned by a crashed test run are killed by the
// next run (their cluster directory names the dead owner).

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import Postgres
import Spawn
import TestSupport
import Workers
import XCTest

struct IntegrationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The `opsctl` executable built beside the test bundle (debug or release, whichever is running).
enum OpsctlBinary {
    static func path() throws -> String {
        var candidates: [URL] = []
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        candidates.append(exe.deletingLastPathComponent().appendingPathComponent("opsctl"))
        // macOS-style bundle: .../debug/llm-opsPackageTests.xctest/Contents/MacOS/...
        var bundle = Bundle.main.bundleURL
        for _ in 0..<4 {
            candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("opsctl"))
            bundle = bundle.deletingLastPathComponent()
        }
        for test in Bundle.allBundles where test.bundlePath.hasSuffix(".xctest") {
            candidates.append(test.bundleURL.deletingLastPathComponent().appendingPathComponent("opsctl"))
        }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate.path) {
            return candidate.path
        }
        throw IntegrationFailure(
            "opsctl is not built next to the test bundle (looked at \(candidates.map(\.path))); run `swift build --build-tests` first"
        )
    }
}

/// One child process with its output in a log file. Started with `Spawn`, not Foundation's `Process`: a child
/// started while another thread of this test process opens a pipe or socket must not inherit it (Sources/Spawn).
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let child: SpawnedChild
    let logPath: String

    init(name: String, executable: String, arguments: [String], environment: [String: String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        // `.file` creates (or truncates) the log as the child starts; a log that cannot be opened fails the start.
        child = try SpawnedChild.start(
            ChildSpec(
                executable: executable, arguments: arguments, environment: Self.environment(with: environment),
                output: .file(path: logPath)))
    }

    /// This process's environment with `settings` applied and no other `OPS_` variable: the tests' own
    /// settings only, nothing from the developer's shell leaks in.
    static func environment(with settings: [String: String]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        for key in env.keys where key.hasPrefix("OPS_") { env[key] = nil }
        for (k, v) in settings { env[k] = v }
        return env
    }

    var pid: Int32 { child.pid }
    var isRunning: Bool { child.isRunning }
    /// How it ended, nil while it runs.
    var exit: ChildExit? { child.pollExit() }

    /// SIGKILL: a crash, nothing is cleaned up by the process itself.
    func kill9() {
        guard child.signal(SIGKILL) else { return }
        _ = waitForExit(timeoutSeconds: 10)
    }

    /// SIGTERM, then SIGKILL after `timeout`. Returns the exit status when the process stopped on its own.
    @discardableResult
    func terminate(timeoutSeconds: Double = 15) -> Int32? {
        if let exit { return exit.shellStatus }
        child.signal(SIGTERM)
        if let status = waitForExit(timeoutSeconds: timeoutSeconds) { return status }
        child.signal(SIGKILL)
        _ = waitForExit(timeoutSeconds: 10)
        return nil
    }

    /// The exit status as a shell prints it (128 + the signal for a killed child); nil if it still runs after
    /// `timeoutSeconds`.
    func waitForExit(timeoutSeconds: Double) -> Int32? {
        child.waitForExit(timeoutSeconds: timeoutSeconds)?.shellStatus
    }

    var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }
}

/// The result of one `opsctl` command run to completion.
struct CommandResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// Everything one integration test starts: a PostgreSQL server of its own, `opsctl serve` and `opsctl worker`
/// processes (or in-process control planes), their logs and tokens. `shutdown()` stops all of it.
final class ProcessCluster: @unchecked Sendable {
    static let prefix = "llmops-integ-"
    let directory: TemporaryDirectory
    /// The PostgreSQL server: the process-wide shared one, or (with `ownPostgres`) one only this cluster
    /// uses, for tests that stop or restart it.
    let postgres: TestPostgres
    private let ownsPostgres: Bool
    let databaseURL: String
    let adminToken = "admin-" + UUID().uuidString
    let joinToken = "join-" + UUID().uuidString
    let opsctl: String
    private let lock = NSLock()
    private var processes: [ManagedProcess] = []
    private var counter = 0

    /// A fresh database on the shared test server, or on a server of its own when `ownPostgres` is set.
    init(ownPostgres: Bool = false) throws {
        ProcessCluster.killAbandonedChildren()
        opsctl = try OpsctlBinary.path()
        directory = try TemporaryDirectory.make(prefix: ProcessCluster.prefix)
        try String(getpid()).write(toFile: directory.path + "/owner.pid", atomically: true, encoding: .utf8)
        do {
            postgres = ownPostgres ? try TestPostgres() : try TestPostgres.shared()
            ownsPostgres = ownPostgres
            databaseURL = try postgres.freshDatabase()
        } catch {
            directory.remove()
            throw error
        }
    }

    /// Kills every process still running, stops PostgreSQL and deletes the directories. Idempotent.
    func shutdown() {
        let all = lock.withLock { processes }
        for process in all where process.isRunning { kill(process.pid, SIGKILL) }
        for process in all { _ = process.waitForExit(timeoutSeconds: 10) }
        if ownsPostgres { postgres.destroy() }
        if ProcessInfo.processInfo.environment["OPS_KEEP_TEST_LOGS"] == nil { directory.remove() }
    }

    /// The logs of every process, for failure messages.
    func logs(lastLines: Int = 40) -> String {
        lock.withLock { processes }.map { process in
            let lines = process.output.split(separator: "\n", omittingEmptySubsequences: false).suffix(lastLines)
            return "---- \(process.name) (pid \(process.pid)) ----\n" + lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    private func nextLogPath(_ name: String) -> String {
        let n = lock.withLock {
            counter += 1
            return counter
        }
        return directory.path + "/\(n)-\(name).log"
    }

    private func track(_ process: ManagedProcess) -> ManagedProcess {
        lock.withLock { processes.append(process) }
        let pids = lock.withLock { processes.map { String($0.pid) } }.joined(separator: "\n")
        try? pids.write(toFile: directory.path + "/children.pids", atomically: true, encoding: .utf8)
        return process
    }

    // MARK: In-process control plane

    /// A started control plane in this process on the cluster's database and tokens (stop it in tearDown).
    func startInProcessControlPlane(
        leaseSeconds: Double = 30, heartbeatSeconds: Double = 5, maxBodyBytes: Int = 1 << 20,
        schedulingIntervalSeconds: Double = 1
    ) throws -> ControlPlane {
        let plane = ControlPlane(
            configuration: ControlPlaneConfiguration(
                databaseURL: databaseURL, adminToken: Secret(adminToken), joinToken: Secret(joinToken),
                artifactDirectory: directory.path + "/artifacts", leaseSeconds: leaseSeconds,
                heartbeatSeconds: heartbeatSeconds,
                maxBodyBytes: maxBodyBytes, schedulingIntervalSeconds: schedulingIntervalSeconds), log: { _ in })
        try plane.start()
        return plane
    }

    // MARK: opsctl processes

    /// `opsctl serve` on `port` (a fixed port, so a restarted replica comes back at the same URL). The small body
    /// limit is what the bad-input tests exceed; a manifest whose tokenize inputs `opsctl apply` resolves into one
    /// item per file (the sample pipeline's ~500 files) needs more.
    func startServe(
        port: Int, leaseSeconds: Double, heartbeatSeconds: Double, name: String = "serve",
        maxBodyBytes: String = "64Ki",
        extraArguments: [String] = [], environment: [String: String] = [:]
    ) throws -> ManagedProcess {
        let process = try ManagedProcess(
            name: name, executable: opsctl,
            arguments: [
                "serve", "--port", String(port), "--database-url", databaseURL,
                "--lease-seconds", String(leaseSeconds), "--heartbeat-seconds", String(heartbeatSeconds),
                "--artifact-dir", directory.path + "/artifacts", "--max-body-bytes", maxBodyBytes,
            ] + extraArguments,
            environment: environment.merging([
                "OPS_ADMIN_TOKEN": adminToken, "OPS_JOIN_TOKEN": joinToken, "OPS_STATE_DIR": directory.path,
            ]) { _, ours in ours },
            logPath: nextLogPath(name))
        return track(process)
    }

    /// `opsctl worker` against `server`.
    func startWorker(name: String, server: String, maxTasks: Int = 2, pollWait: Double = 2) throws -> ManagedProcess {
        let process = try ManagedProcess(
            name: name, executable: opsctl,
            arguments: [
                "worker", "--server", server, "--name", name, "--cpus", "4", "--memory", "4Gi",
                "--max-tasks", String(maxTasks), "--poll-wait", String(pollWait),
                "--work-dir", directory.path + "/work/" + name, "--artifact-dir", directory.path + "/artifacts",
            ],
            environment: ["OPS_JOIN_TOKEN": joinToken, "OPS_STATE_DIR": directory.path],
            logPath: nextLogPath(name))
        return track(process)
    }

    /// Any process, logged and killed at shutdown like the others.
    func startTracked(name: String, executable: String, arguments: [String], _ environment: [String: String]) throws
        -> ManagedProcess
    {
        track(
            try ManagedProcess(
                name: name, executable: executable, arguments: arguments, environment: environment,
                logPath: nextLogPath(name)))
    }

    /// Runs an admin `opsctl` command to completion (with the admin token in the environment).
    func run(
        _ arguments: [String], server: String, timeoutSeconds: Double = 60, environment: [String: String] = [:]
    ) throws -> CommandResult {
        let out = nextLogPath("cmd-out")
        let err = nextLogPath("cmd-err")
        let settings = ["OPS_SERVER": server, "OPS_TOKEN": adminToken, "OPS_STATE_DIR": directory.path]
        let child = try SpawnedChild.start(
            ChildSpec(
                executable: opsctl, arguments: arguments,
                environment: ManagedProcess.environment(with: settings.merging(environment) { _, extra in extra }),
                output: .files(standardOutput: out, standardError: err)))
        guard let exit = child.waitForExit(timeoutSeconds: timeoutSeconds) else {
            child.signal(SIGKILL)
            _ = try? child.waitForExit()
            throw IntegrationFailure(
                "opsctl \(arguments.joined(separator: " ")) did not finish within \(timeoutSeconds)s")
        }
        return CommandResult(
            status: exit.shellStatus,
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Writes a manifest file into the cluster directory and returns its path.
    func writeManifest(_ name: String, _ text: String) throws -> String {
        let path = directory.path + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: SQL

    /// Runs `body` on a fresh connection to the cluster's database (closed afterwards).
    func sql<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try PostgresConnection(conninfo: databaseURL, applicationName: "integration-test")
        defer { connection.close() }
        return try body(connection)
    }

    func count(_ query: String, _ params: [PostgresValue?] = []) throws -> Int {
        try sql { try $0.queryOne(query, params).int("n") }
    }

    /// Jobs, tasks and attempts by state (with where tasks are placed or run), for failure messages.
    func stateSummary() -> String {
        let queries = [
            "jobs":
                "SELECT name || ' ' || state || coalesce(' (' || pending_reason || ')', '') AS line FROM jobs ORDER BY id",
            "tasks": """
            SELECT state || ' worker=' || coalesce(worker_id::text, '-') || ' placed=' || coalesce(placed_worker_id::text, '-')
                   || ': ' || count(*) AS line
            FROM tasks GROUP BY state, worker_id, placed_worker_id ORDER BY 1
            """,
            "attempts":
                "SELECT state || ' worker=' || worker_id || ': ' || count(*) AS line FROM task_attempts GROUP BY state, worker_id ORDER BY 1",
            "workers":
                "SELECT name || ' ' || state || ' heartbeat ' || round(extract(epoch FROM now() - last_heartbeat)::numeric, 1) || 's ago' AS line FROM workers ORDER BY id",
        ]
        return queries.sorted { $0.key < $1.key }.map { name, query in
            let lines = (try? sql { try $0.query(query).map { try $0.string("line") } }) ?? ["(could not read)"]
            return "\(name):\n  " + lines.joined(separator: "\n  ")
        }.joined(separator: "\n")
    }

    // MARK: Abandoned processes

    /// Kills `opsctl` children of test runs that died without cleaning up (their owner pid is gone).
    static func killAbandonedChildren() {
        let tmp = NSTemporaryDirectory()
        for name in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? [] where name.hasPrefix(prefix) {
            let dir = (tmp as NSString).appendingPathComponent(name)
            guard
                let owner = (try? String(contentsOfFile: dir + "/owner.pid", encoding: .utf8)).flatMap({
                    Int32($0.trimmingCharacters(in: .whitespacesAndNewlines))
                })
            else { continue }
            if kill(owner, 0) == 0 || errno == EPERM { continue }
            let pids = ((try? String(contentsOfFile: dir + "/children.pids", encoding: .utf8)) ?? "").split(
                separator: "\n"
            ).compactMap { Int32($0) }
            for pid in pids {
                let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                if cmdline.contains("opsctl") { kill(pid, SIGKILL) }
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
    }
}

// MARK: HTTP

/// Plain HTTP calls for the tests (real sockets through libcurl), with the raw status and body.
struct RawHTTP {
    let baseURL: String
    let transport = CurlTransport()

    func send(_ method: String, _ path: String, token: String?, body: Data? = nil, timeoutSeconds: Double = 30)
        async throws -> HTTPResponseSpec
    {
        var headers: [(String, String)] = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await transport.send(
            HTTPRequestSpec(
                method: method, url: baseURL + path, headers: headers, body: body, timeoutSeconds: timeoutSeconds))
    }

    func send<Body: Encodable>(_ method: String, _ path: String, token: String?, json: Body) async throws
        -> HTTPResponseSpec
    {
        try await send(method, path, token: token, body: try WireCoding.encode(json))
    }

    /// GET /readyz → its status code, nil when nothing answered.
    func readyStatus() async -> Int? {
        try? await send("GET", APIRoute.readyz.path(), token: nil, timeoutSeconds: 5).status
    }
}

extension HTTPResponseSpec {
    /// The JSON error body of a non-2xx answer.
    func apiError() throws -> APIErrorBody {
        do {
            return try WireCoding.decode(APIErrorBody.self, from: body)
        } catch {
            throw IntegrationFailure(
                "status \(status): body is not an API error: \(String(decoding: body, as: UTF8.self))")
        }
    }

    func decoded<T: Decodable>(_ type: T.Type) throws -> T {
        do {
            return try WireCoding.decode(T.self, from: body)
        } catch {
            throw IntegrationFailure(
                "status \(status): cannot decode \(T.self): \(error): \(String(decoding: body, as: UTF8.self))")
        }
    }
}

/// Waits until `/readyz` answers 200 (a process that exits meanwhile fails at once with its log).
func waitUntilReady(_ http: RawHTTP, process: ManagedProcess? = nil, timeoutSeconds: Double = 60) async throws {
    let deadline = Date().addingTimeInterval(timeoutSeconds)
    while Date() < deadline {
        if await http.readyStatus() == 200 { return }
        if let process, !process.isRunning {
            throw IntegrationFailure(
                "\(process.name) exited (\(process.exit.map { "\($0)" } ?? "?")) before it was ready:\n\(process.output)"
            )
        }
        try await Task.sleep(nanoseconds: 100_000_000)
    }
    throw IntegrationFailure(
        "\(http.baseURL)/readyz did not answer 200 within \(timeoutSeconds)s\n\(process?.output ?? "")")
}
