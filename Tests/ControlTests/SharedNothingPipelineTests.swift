// Issue 14: the sample pipeline (`manifests/pipeline.yaml`: tokenizer + exact dedup + tokenize the Python docs, a
// held-out set, a 2-member DiLoCo GPT, eval with samples) on three worker processes that share nothing but the
// network. Each worker runs in a mount namespace of its own with empty tmpfs mounts over the control plane's
// artifact directory, the other workers' directories and the raw inputs (`IsolatedWorkerSupport.swift`), so every
// byte between them goes through the cluster's storage: once the control plane's blob store, once an S3 server
// (moto) — the second time with a gang member SIGKILLed mid-round and the control plane restarted.

import APITypes
import Foundation
import TestSupport
import XCTest

final class SharedNothingPipelineTests: XCTestCase {
    private var cluster: ProcessCluster!
    private static let nodes = ["node-a", "node-b", "node-c"]
    private static let rawInputs = "/usr/share/doc/python3.11"

    override func setUpWithError() throws { cluster = try ProcessCluster() }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs(lastLines: 60)) }
        cluster?.shutdown()
        cluster = nil
    }

    func testSamplePipelineOnThreeIsolatedWorkersWithTheBlobStore() async throws {
        let server = try await startCluster(storage: [], environment: [:])
        let apply = try cluster.run(
            ["apply", "-f", try manifest(), "--wait", "--timeout", "900"], server: server, timeoutSeconds: 920)
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)
        XCTAssertTrue(apply.stderr.contains("file(s) uploaded"), apply.stderr)
        try assertPipelineSucceeded(blobPrefix: "cp://blobs/")
    }

    func testSamplePipelineOnS3SurvivesAKilledGangMemberAndAControlPlaneRestart() async throws {
        let moto: MotoServer
        do { moto = try StorageMoto.server() } catch let unavailable as MotoUnavailable {
            throw XCTSkip("\(unavailable)")
        }
        let prefix = "pipeline-\(UUID().uuidString.prefix(8).lowercased())"
        let aws = ["AWS_ACCESS_KEY_ID": moto.accessKeyID, "AWS_SECRET_ACCESS_KEY": moto.secretAccessKey]
        let storage = [
            "--storage", "s3", "--s3-endpoint", moto.endpoint, "--s3-region", "us-east-1", "--s3-bucket",
            StorageMoto.bucket, "--s3-prefix", prefix,
        ]
        let server = try await startCluster(storage: storage, environment: aws)
        let apply = try cluster.run(["apply", "-f", try manifest()], server: server, environment: aws)
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)

        // Two rounds of deltas from both members, then one member dies without a word.
        try await waitFor("two DiLoCo rounds", timeoutSeconds: 600) {
            try self.cluster.count(
                """
                SELECT count(*) AS n FROM training_exchange x JOIN jobs j ON j.id = x.job_id
                WHERE j.name = 'pydocs-gpt' AND x.name LIKE 'delta-%'
                """) >= 4
        }
        let victim = try cluster.sql { c in
            try c.queryOne(
                """
                SELECT w.name FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                JOIN workers w ON w.id = a.worker_id WHERE j.name = 'pydocs-gpt' AND a.state = 'active'
                ORDER BY a.id LIMIT 1
                """
            ).string("name")
        }
        try XCTUnwrap(workers[victim]).kill9()

        // And the control plane restarts while the gang carries on.
        serve.terminate()
        serve = try startServe(storage: storage, environment: aws)
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)

        try await waitFor("every job to finish", timeoutSeconds: 900) {
            try self.cluster.count(
                "SELECT count(*) AS n FROM jobs WHERE state NOT IN ('succeeded', 'failed', 'cancelled')")
                == 0
        }
        try assertPipelineSucceeded(blobPrefix: "s3://\(StorageMoto.bucket)/\(prefix)/blobs/")
        XCTAssertGreaterThanOrEqual(
            try cluster.count(
                """
                SELECT count(DISTINCT a.worker_id) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                JOIN jobs j ON j.id = t.job_id WHERE j.name = 'pydocs-gpt'
                """), 3, "the killed member's task was retried on the third worker")

        // What boto3 reads back from the bucket is what the control plane registered.
        let (key, sha256) = try cluster.sql { c in
            let row = try c.queryOne(
                """
                SELECT s.location, s.sha256 FROM shards s JOIN datasets d ON d.id = s.dataset_id
                WHERE d.name = 'pydocs' ORDER BY s.shard_index LIMIT 1
                """)
            return (try row.string("location"), try row.string("sha256"))
        }
        let independent = try moto.independentSHA256(key: String(key.dropFirst("s3://\(StorageMoto.bucket)/".count)))
        XCTAssertEqual(independent.sha256, sha256)

        // The disturbed run ends where an undisturbed one does, within DiLoCo's tolerance.
        let disturbed = try finalValidationLoss("pydocs-gpt")
        let calm = try cluster.run(
            ["apply", "-f", try calmRerun(), "--wait", "--timeout", "600"], server: server, timeoutSeconds: 620,
            environment: aws)
        XCTAssertEqual(calm.status, 0, calm.stdout + calm.stderr)
        let undisturbed = try finalValidationLoss("pydocs-gpt-calm")
        print(
            "SharedNothingPipelineTests: val_loss \(disturbed) after a SIGKILL and a restart, \(undisturbed) undisturbed"
        )
        XCTAssertLessThanOrEqual(
            abs(disturbed - undisturbed) / undisturbed, 0.05,
            "val_loss \(disturbed) after a SIGKILL and a restart vs \(undisturbed) undisturbed")
    }

    // MARK: The cluster

    private var serve: ManagedProcess!
    private var port = 0
    private var workers: [String: ManagedProcess] = [:]

    private func startServe(storage: [String], environment: [String: String]) throws -> ManagedProcess {
        try cluster.startServe(
            port: port, leaseSeconds: 10, heartbeatSeconds: 1, maxBodyBytes: "1Mi", extraArguments: storage,
            environment: environment)
    }

    /// `opsctl serve` and three isolated workers; returns the server's URL.
    private func startCluster(storage: [String], environment: [String: String]) async throws -> String {
        port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        serve = try startServe(storage: storage, environment: environment)
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        let hidden = [cluster.directory.path + "/artifacts", Self.rawInputs]
        for node in Self.nodes {
            workers[node] = try cluster.startIsolatedWorker(
                name: node, server: server, nodeNames: Self.nodes, hidden: hidden, environment: environment)
        }
        if MountNamespaces.available {
            // The masks are real: each worker's mount table has an empty tmpfs where the others' files are.
            try await waitFor("the workers' mount namespaces", timeoutSeconds: 30) {
                try Self.nodes.allSatisfy { node in
                    let mounts = try String(
                        contentsOfFile: "/proc/\(self.workers[node]!.pid)/mountinfo", encoding: .utf8)
                    return mounts.contains(" \(Self.rawInputs) ")
                        && mounts.contains(" \(self.cluster.directory.path)/artifacts ")
                }
            }
        }
        return server
    }

    // MARK: Manifests

    private static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The sample pipeline with a test-sized training budget and a short round timeout (a lost member is waited
    /// for 20 s, not 120).
    private func manifest() throws -> String {
        let demo = try String(
            contentsOf: Self.repository.appendingPathComponent("manifests/pipeline.yaml"), encoding: .utf8)
        XCTAssertFalse(demo.contains("/tmp/"), "the sample pipeline names no host path but its raw inputs")
        let small = Self.testSized(demo)
        XCTAssertNotEqual(small, demo)
        return try cluster.writeManifest("pipeline.yaml", small)
    }

    private static func testSized(_ manifest: String) -> String {
        manifest.replacingOccurrences(of: "steps: 1500", with: "steps: 48")
            .replacingOccurrences(of: "checkpointEvery: 250", with: "checkpointEvery: 16")
            .replacingOccurrences(of: "every: 250", with: "every: 16")
            .replacingOccurrences(of: "roundTimeoutSeconds: 120", with: "roundTimeoutSeconds: 20")
    }

    /// The pipeline's train job again under another name, on the datasets already registered.
    private func calmRerun() throws -> String {
        let demo = try String(
            contentsOf: Self.repository.appendingPathComponent("manifests/pipeline.yaml"), encoding: .utf8)
        let documents = Self.testSized(demo).components(separatedBy: "\n---\n")
        let train = try XCTUnwrap(documents.first { $0.contains("metadata: {name: pydocs-gpt}") })
        return try cluster.writeManifest(
            "calm.yaml",
            train.replacingOccurrences(of: "metadata: {name: pydocs-gpt}", with: "metadata: {name: pydocs-gpt-calm}")
                .replacingOccurrences(of: "  after: [pydocs, pydocs-heldout]\n", with: ""))
    }

    // MARK: Checks

    private func assertPipelineSucceeded(blobPrefix: String, file: StaticString = #filePath, line: UInt = #line)
        throws
    {
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM jobs WHERE state <> 'succeeded'"), 0, cluster.stateSummary(),
            file: file, line: line)
        for job in ["pydocs", "pydocs-heldout", "pydocs-gpt", "pydocs-eval"] {
            XCTAssertEqual(
                try cluster.count(
                    "SELECT count(*) AS n FROM jobs WHERE name = $1 AND state = 'succeeded'", [.text(job)]),
                1, job, file: file, line: line)
        }
        // Every shard and checkpoint is a blob of the cluster's backend, none a host path.
        XCTAssertGreaterThan(try cluster.count("SELECT count(*) AS n FROM shards"), 5, file: file, line: line)
        XCTAssertEqual(
            try cluster.count(
                "SELECT count(*) AS n FROM shards WHERE NOT starts_with(location, $1) OR NOT starts_with(idx_location, $1)",
                [.text(blobPrefix)]), 0, "shards outside \(blobPrefix)", file: file, line: line)
        XCTAssertGreaterThan(
            try cluster.count(
                "SELECT count(*) AS n FROM artifacts WHERE kind = 'checkpoint' AND starts_with(location, $1)",
                [.text(blobPrefix)]), 0, file: file, line: line)
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM artifacts WHERE location LIKE '/%'"), 0,
            "an artifact names a host path", file: file, line: line)
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(DISTINCT a.worker_id) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id
                JOIN jobs j ON j.id = t.job_id WHERE j.name = 'pydocs-gpt' AND a.state = 'succeeded'
                """), 2, "two members trained the model together", file: file, line: line)
        let loss = try cluster.sql { c in
            try c.queryOne(
                """
                SELECT (t.result->'datasets'->0->>'loss')::float8 AS loss FROM tasks t JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'pydocs-eval' AND t.state = 'succeeded'
                """
            ).double("loss")
        }
        XCTAssertTrue(loss.isFinite && loss < log(2048.0), "held-out loss \(loss)", file: file, line: line)
    }

    private func finalValidationLoss(_ job: String) throws -> Double {
        try cluster.sql { c in
            try c.queryOne(
                """
                SELECT m.value FROM metrics m JOIN jobs j ON j.id = m.job_id
                WHERE j.name = $1 AND m.name = 'val_loss' ORDER BY m.step DESC, m.id DESC LIMIT 1
                """, [.text(job)]
            ).double("value")
        }
    }

    private func waitFor(_ what: String, timeoutSeconds: Double, _ condition: @escaping () throws -> Bool)
        async throws
    {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if (try? condition()) == true { return }
            try await Task.sleep(nanoseconds: 500_000_000)
        }
        throw IntegrationFailure("timed out after \(timeoutSeconds) s waiting for \(what): \(cluster.stateSummary())")
    }
}
