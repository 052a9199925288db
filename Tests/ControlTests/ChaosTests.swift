// Issue 16, point 6: the standing chaos and fuzz suite. Two `opsctl serve` replicas, three `opsctl worker`
// processes and a PostgreSQL of the test's own run a job while a seeded schedule kills workers and replicas with
// SIGKILL (and restarts them) and restarts PostgreSQL once; the job must still finish with every task succeeded
// exactly once and nothing left running. Then thousands of mutated API requests (manifests, worker reports,
// registrations) must each get an answer below 500, and a refused request must change nothing.
// The short form runs in the test command; `scripts/soak.sh` runs the long form (OPS_CHAOS_* settings).

import APIClient
import APITypes
import ClusterModel
import Foundation
import Postgres
import Scheduler
import TestSupport
import XCTest

final class ChaosTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws {
        cluster = try ProcessCluster(ownPostgres: true)
    }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.stateSummary() + "\n" + cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    /// The processes of the run, restarted in place after each kill.
    private struct Fleet {
        var ports: [Int]
        var replicas: [ManagedProcess]
        var workers: [ManagedProcess]
        var servers: [String] { ports.map { "http://127.0.0.1:\($0)" } }
    }

    private struct Kills: CustomStringConvertible {
        var workers = 0
        var replicas = 0
        var postgresRestarts = 0
        var description: String {
            "worker_kills=\(workers) replica_kills=\(replicas) postgres_restarts=\(postgresRestarts)"
        }
    }

    func testKillsRestartsAndMutatedRequestsKeepEveryInvariant() async throws {
        let settings = ChaosSettings.fromEnvironment()
        print("CHAOS \(settings)")
        var fleet = try await startFleet()
        let manifest = try cluster.writeManifest(
            "chaos.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: chaos}
            spec:
              type: sleep
              tasks: \(settings.tasks)
              resources: {cpu: 1, memory: 64Mi}
              retry: {maxAttempts: 50, backoffSeconds: 0.2, maxBackoffSeconds: 1}
              sleep: {seconds: \(settings.taskSeconds)}
            """)
        let applied = try cluster.run(["apply", "-f", manifest], server: fleet.servers[0])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)

        let kills = try await runChaos(settings, &fleet)
        XCTAssertEqual(kills.postgresRestarts, 1, "PostgreSQL was restarted while the job ran (\(kills))")
        try await waitUntil("the chaos job finished", timeoutSeconds: 300, intervalSeconds: 0.5) {
            try self.jobFinished()
        }
        let violations = try cluster.sql { try ChaosInvariants.violations(job: "chaos", tasks: settings.tasks, $0) }
        XCTAssertEqual(violations, [], "invariants after \(kills)")
        let attempts = try cluster.count("SELECT count(*)::int AS n FROM task_attempts")
        print("CHAOS \(kills) tasks=\(settings.tasks) attempts=\(attempts)")

        // Workers stop before the fuzz, so a mutated manifest that happens to be valid stays queued.
        for worker in fleet.workers { worker.kill9() }
        try await fuzz(settings, server: fleet.servers[1])
    }

    // MARK: Chaos

    private func startFleet() async throws -> Fleet {
        let ports = [try FreePort.next(), try FreePort.next()]
        var fleet = Fleet(ports: ports, replicas: [], workers: [])
        for index in ports.indices { fleet.replicas.append(try startReplica(index, ports[index])) }
        for (server, replica) in zip(fleet.servers, fleet.replicas) {
            try await waitUntilReady(RawHTTP(baseURL: server), process: replica)
        }
        for index in 0..<3 { fleet.workers.append(try startWorker(index, fleet)) }
        return fleet
    }

    private func startReplica(_ index: Int, _ port: Int) throws -> ManagedProcess {
        try cluster.startServe(port: port, leaseSeconds: 3, heartbeatSeconds: 0.5, name: "serve-\(index)")
    }

    /// A worker keeps its name and work directory across restarts (and so its identity: issue 16, point 1).
    private func startWorker(_ index: Int, _ fleet: Fleet) throws -> ManagedProcess {
        try cluster.startWorker(
            name: "chaos-\(index)", server: fleet.servers[index % 2], maxTasks: 4, pollWait: 1)
    }

    /// Kills and restarts on a seeded schedule for `chaosSeconds` or until the job finished; PostgreSQL restarts
    /// once, after a third of the time.
    private func runChaos(_ settings: ChaosSettings, _ fleet: inout Fleet) async throws -> Kills {
        var rng = SeededGenerator(seed: settings.seed)
        var kills = Kills()
        let start = Date()
        while Date().timeIntervalSince(start) < settings.chaosSeconds {
            try await Task.sleep(nanoseconds: (700 + rng.next() % 1_500) * 1_000_000)
            // PostgreSQL may be restarting: an unanswered look is "not yet".
            if (try? jobFinished()) == true { break }
            if kills.postgresRestarts == 0 && Date().timeIntervalSince(start) > settings.chaosSeconds / 3 {
                try cluster.postgres.server.stop()
                try await Task.sleep(nanoseconds: 1_000_000_000)
                try cluster.postgres.server.start()
                kills.postgresRestarts += 1
                continue
            }
            switch rng.next() % 10 {
            case 0..<6:
                let i = Int(rng.next() % UInt64(fleet.workers.count))
                fleet.workers[i].kill9()
                fleet.workers[i] = try startWorker(i, fleet)
                kills.workers += 1
            case 6..<9:
                let j = Int(rng.next() % UInt64(fleet.replicas.count))
                fleet.replicas[j].kill9()
                fleet.replicas[j] = try startReplica(j, fleet.ports[j])
                try await waitUntilReady(RawHTTP(baseURL: fleet.servers[j]), process: fleet.replicas[j])
                kills.replicas += 1
            default:
                break
            }
        }
        return kills
    }

    private func jobFinished() throws -> Bool {
        try cluster.count(
            "SELECT count(*)::int AS n FROM jobs WHERE name = 'chaos' AND state IN ('succeeded', 'failed', 'cancelled')"
        ) == 1
    }

    // MARK: Fuzz

    private enum Target: CaseIterable {
        case manifest, report, registration
    }

    /// Sends `mutatedRequests` mutations of valid requests; every one must be answered below 500, and only accepted
    /// manifests may add anything (their jobs; registrations add workers, which are not fingerprinted).
    private func fuzz(_ settings: ChaosSettings, server: String) async throws {
        let http = RawHTTP(baseURL: server)
        let (worker, token) = try await registerFuzzWorker(http)
        let lastJob = try cluster.sql { try $0.queryOne("SELECT max(id) AS m FROM jobs").int64("m") }
        let attempt = try cluster.sql {
            try $0.queryOne("SELECT id, task_id FROM task_attempts WHERE state = 'succeeded' LIMIT 1")
        }
        let bases = try baseRequests(
            worker: worker, task: TaskID(try attempt.int64("task_id")), attempt: AttemptID(try attempt.int64("id")))
        let before = try cluster.sql { try ChaosInvariants.fingerprint(upToJob: lastJob, $0) }

        var mutator = JSONMutator(seed: settings.seed &+ 1)
        var serverErrors: [String] = []
        var acceptedNames: Set<String> = []
        var statuses: [Int: Int] = [:]
        for i in 0..<settings.mutatedRequests {
            let target = Target.allCases[mutator.int(Target.allCases.count)]
            let (route, credential, base): (APIEndpoint, String, AnyJSON) =
                switch target {
                case .manifest: (APIRoute.manifests, cluster.adminToken, manifestRequest(name: "fuzz-\(i)"))
                case .report: (APIRoute.workerReports, token, bases.report)
                case .registration: (APIRoute.workerRegister, cluster.joinToken, bases.registration)
                }
            let body = mutator.mutate(base)
            guard
                let response = try? await http.send(
                    route.method.rawValue, route.path(), token: credential, body: body, timeoutSeconds: 30)
            else {
                serverErrors.append("request \(i) to \(route.path()): no answer")
                continue
            }
            statuses[response.status, default: 0] += 1
            if response.status >= 500 {
                serverErrors.append(
                    "request \(i) to \(route.path()): \(response.status) for \(String(decoding: body.prefix(300), as: UTF8.self))"
                )
            }
            if target == .manifest && (200..<300).contains(response.status) { acceptedNames.insert("fuzz-\(i)") }
        }
        XCTAssertEqual(serverErrors.prefix(10), [], "\(serverErrors.count) request(s) without an answer below 500")
        let after = try cluster.sql { try ChaosInvariants.fingerprint(upToJob: lastJob, $0) }
        XCTAssertEqual(after, before, "a refused request changed what existed")
        let newJobs = try cluster.sql { c in
            try c.query("SELECT name FROM jobs WHERE id > $1", [.int(lastJob)]).map { try $0.string("name") }
        }
        XCTAssertTrue(
            Set(newJobs).isSubset(of: acceptedNames),
            "jobs from refused manifests: \(Set(newJobs).subtracting(acceptedNames))")
        print(
            "FUZZ requests=\(settings.mutatedRequests) statuses=\(statuses.sorted { $0.key < $1.key }) "
                + "accepted_manifests=\(acceptedNames.count) new_jobs=\(newJobs.count)")
    }

    private func registerFuzzWorker(_ http: RawHTTP) async throws -> (WorkerID, String) {
        let request = RegisterWorkerRequest(
            name: "fuzz-worker", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
            kinds: ["none"], maxConcurrentTasks: 1)
        let response = try await http.send(
            "POST", APIRoute.workerRegister.path(), token: cluster.joinToken, json: request)
        XCTAssertEqual(response.status, 200, String(decoding: response.body, as: UTF8.self))
        let registration = try response.decoded(RegisterWorkerResponse.self)
        return (registration.workerID, try XCTUnwrap(registration.workerToken))
    }

    /// Valid requests to mutate: a report about an attempt the fuzz worker does not hold (so even unmutated it
    /// changes nothing), and a registration.
    private func baseRequests(worker: WorkerID, task: TaskID, attempt: AttemptID) throws
        -> (report: AnyJSON, registration: AnyJSON)
    {
        let report = ReportBatch(
            workerID: worker,
            progress: [ProgressReport(taskID: task, attemptID: attempt, fraction: 0.5, message: "half")],
            logs: [
                LogLineReport(
                    taskID: task, attemptID: attempt, sequence: 1, time: Date(), stream: .stdout, message: "line")
            ],
            metrics: [MetricReport(taskID: task, attemptID: attempt, name: "loss", step: 1, value: 1.5, time: Date())],
            completions: [CompletionReport(taskID: task, attemptID: attempt, result: ["ok": true])],
            failures: [FailureReport(taskID: task, attemptID: attempt, message: "boom", retryable: true)])
        let registration = RegisterWorkerRequest(
            name: "fuzz-registered", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
            kinds: ["none"], maxConcurrentTasks: 1)
        return (
            try WireCoding.decode(AnyJSON.self, from: try WireCoding.encode(report)),
            try WireCoding.decode(AnyJSON.self, from: try WireCoding.encode(registration))
        )
    }

    private func manifestRequest(name: String) -> AnyJSON {
        [
            "documents": [
                [
                    "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
                    "spec": ["type": "noop", "tasks": 2, "resources": ["cpu": 1, "memory": "64Mi"]],
                ]
            ],
            "source": "fuzz.yaml",
        ]
    }
}
