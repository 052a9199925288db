import APITypes
import Control
import DataShards
import Foundation
import Postgres
import TestSupport
import XCTest

/// `type: train` and `type: eval` on a real local cluster: `opsctl serve` on a throwaway PostgreSQL and
/// `opsctl worker` processes sharing an artifact directory. Bad specs are refused at `opsctl apply`; a train job
/// whose worker is SIGKILLed mid-training is retried on another worker and resumes from its last checkpoint;
/// an eval job of its checkpoint stores loss, perplexity and samples, shown by `opsctl describe job`.
final class TrainClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "train-cluster-" }

    /// Byte-level pseudo-English documents (vocabulary 256, eot 0).
    private func makeDataset(_ directory: String, name: String, documents: Int, seed: UInt64) throws {
        let words = [
            "the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "house", "with", "small",
            "tree",
        ]
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        func next() -> Int {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Int(state % UInt64(words.count))
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: directory, name: "\(name)-0", dtype: .uint16, endOfTextID: 0)
        for _ in 0..<documents {
            let text = (0..<12).map { _ in (0..<6).map { _ in words[next()] }.joined(separator: " ") + "." }.joined(
                separator: " ")
            try writer.appendDocument(Array(text.utf8).map { Int($0) })
        }
        let info = try writer.finish()
        try DatasetIndex.update(
            directory: directory,
            creatingFrom: DatasetIndex(name: name, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
        ) {
            (index: inout DatasetIndex) throws(DatasetIndexError) in try index.record(info)
        }
    }

    private func manifest(_ name: String, _ body: String) throws -> String {
        let path = root.path + "/\(name).yaml"
        try body.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func trainManifest(
        name: String, data: String, batch: Int = 16, steps: Int = 300,
        model: String = "{vocabularySize: 256, contextLength: 64, layers: 2, heads: 4, width: 64}",
        initFrom: String? = nil
    ) -> String {
        """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: train
          resources: {cpu: 1, memory: 512Mi}
          retry: {maxAttempts: 3, backoffSeconds: 0.2, maxBackoffSeconds: 1}
          train:
            model: \(model)
            data: [\(data)]
            batchSize: \(batch)
            sequenceLength: 64
            steps: \(steps)
            optimizer: {learningRate: 0.003, warmupSteps: 10}
            checkpointEvery: 25
            logEvery: 5
            threads: 1
            eval: {data: [{dataset: heldout}], every: 50, batches: 2}
        \(initFrom.map { "    initFrom: \($0)" } ?? "")
        """
    }

    func testTrainJobIsCheckedAtSubmissionResumesAfterAKilledWorkerAndIsEvaluated() throws {
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let admin = "admin-\(UUID().uuidString)"
        let join = "join-\(UUID().uuidString)"
        let env = [
            "OPS_STATE_DIR": root.path + "/state", "OPS_ADMIN_TOKEN": admin, "OPS_JOIN_TOKEN": join,
            "OPS_SERVER": "http://127.0.0.1:\(port)", "OPS_TOKEN": admin, "OPS_ARTIFACT_DIR": root.path + "/artifacts",
        ]
        try processes.start(
            "serve",
            [
                "serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "3", "--heartbeat-seconds",
                "1",
            ],
            environment: env)
        try waitForControlPlane(environment: env)
        func startWorker(_ name: String) throws { try self.startWorker(name, cpus: 1, maxTasks: 1, environment: env) }
        try startWorker("w1")

        // Datasets made in the test, registered by name as a tokenize job would.
        try makeDataset(root.path + "/data/train", name: "train", documents: 300, seed: 1)
        try makeDataset(root.path + "/data/heldout", name: "heldout", documents: 30, seed: 9)
        try makeDataset(root.path + "/data/tiny", name: "tiny", documents: 1, seed: 5)
        let store = ControlStore(pool: pool)
        try store.datasets.register(name: "train", location: root.path + "/data/train")
        try store.datasets.register(name: "heldout", location: root.path + "/data/heldout")
        try store.datasets.register(name: "tiny", location: root.path + "/data/tiny")

        // Bad specs fail at submission, naming the field; nothing is created. The crafted checkpoint (a shape
        // whose element count overflows Int64) used to pass apply and trap the worker (issue 22.5).
        let crafted = root.path + "/crafted.safetensors"
        let header =
            #"{"tok_emb.weight": {"dtype": "F32", "shape": [4294967296, 4294967296, 16], "data_offsets": [0, 16]}}"#
        var headerLength = UInt64(header.utf8.count).littleEndian
        try (Data(bytes: &headerLength, count: 8) + Data(header.utf8) + Data(count: 16)).write(
            to: URL(fileURLWithPath: crafted))
        let bad: [(String, String, String)] = [
            ("unknown-dataset", trainManifest(name: "bad-a", data: "{dataset: nosuch}"), "unknown dataset \"nosuch\""),
            (
                "no-checkpoint",
                trainManifest(
                    name: "bad-b", data: "{dataset: train}", initFrom: "{path: \(root.path)/nothing.safetensors}"),
                "no checkpoint file at"
            ),
            (
                "no-job", trainManifest(name: "bad-c", data: "{dataset: train}", initFrom: "{job: never-ran}"),
                "unknown job \"never-ran\""
            ),
            (
                "too-big-batch", trainManifest(name: "bad-d", data: "{dataset: tiny}", batch: 64),
                "but the data holds only"
            ),
            (
                "crafted-checkpoint",
                trainManifest(name: "bad-e", data: "{dataset: train}", initFrom: "{path: \(crafted)}"),
                "tensor tok_emb.weight has shape [4294967296, 4294967296, 16], whose element count overflows Int64"
            ),
        ]
        for (label, body, message) in bad {
            let applied = try processes.run(["apply", "-f", try manifest(label, body)], environment: env)
            XCTAssertNotEqual(applied.status, 0, label)
            XCTAssertTrue(applied.output.contains(message), "\(label): \(applied.output)")
            XCTAssertTrue(applied.output.contains("spec.train"), "\(label) names the field: \(applied.output)")
        }
        XCTAssertEqual(try pool.withConnection { try $0.queryOne("SELECT count(*) AS n FROM jobs").int("n") }, 0)

        // A train job; w1 is SIGKILLed once a checkpoint past step 50 is registered.
        let applied = try processes.run(
            ["apply", "-f", try manifest("train", trainManifest(name: "pre", data: "{dataset: train, weight: 1}"))],
            environment: env)
        XCTAssertEqual(applied.status, 0, applied.output)
        func sqlInt(_ sql: String) throws -> Int { try pool.withConnection { try $0.queryOne(sql).int("n") } }
        try waitUntil("a checkpoint past step 50", timeoutSeconds: 180, intervalSeconds: 0.02) {
            try sqlInt(
                "SELECT count(*) AS n FROM artifacts WHERE kind = 'checkpoint' AND (metadata->>'step')::int >= 50") > 0
        }
        let stepsBeforeKill = try sqlInt(
            "SELECT coalesce(max((metadata->>'step')::int), 0) AS n FROM artifacts WHERE kind = 'checkpoint'")
        processes["w1"].kill9()
        XCTAssertLessThan(stepsBeforeKill, 300, "killed mid-training")
        try startWorker("w2")
        // Once the retried attempt has written a checkpoint of its own, restart the control plane mid-training.
        try waitUntil("a checkpoint of the retried attempt", timeoutSeconds: 180, intervalSeconds: 0.02) {
            try sqlInt(
                "SELECT count(*) AS n FROM artifacts WHERE kind = 'checkpoint' AND (metadata->>'step')::int > \(stepsBeforeKill)"
            ) > 0
        }
        let stateAtRestart = try pool.withConnection {
            try $0.queryOne("SELECT state FROM jobs WHERE name = 'pre'").string("state")
        }
        XCTAssertEqual(stateAtRestart, "running", "the control plane restarts mid-training")
        processes["serve"].terminate()
        try processes.start(
            "serve",
            [
                "serve", "--database-url", conninfo, "--port", "\(port)", "--lease-seconds", "3", "--heartbeat-seconds",
                "1",
            ],
            environment: env)
        try waitUntil("the control plane answers again", timeoutSeconds: 60, intervalSeconds: 0.2) {
            (try? self.processes.run(["get", "workers"], environment: env).status) == 0
        }
        try waitUntil("the train job finishes", timeoutSeconds: 240, intervalSeconds: 0.2) {
            let state = try pool.withConnection {
                try $0.queryOne("SELECT state FROM jobs WHERE name = 'pre'").string("state")
            }
            return ["succeeded", "failed", "cancelled"].contains(state)
        }
        let described = try processes.run(["describe", "job", "pre", "-o", "json"], environment: env)
        XCTAssertEqual(described.status, 0, described.output)
        let view = try JSONSerialization.jsonObject(with: Data(described.output.utf8)) as? [String: Any]
        XCTAssertEqual((view?["job"] as? [String: Any])?["state"] as? String, "succeeded", described.output)
        // The second attempt resumed from a checkpoint of the first.
        let result = try pool.withConnection {
            try $0.queryOne("SELECT result::text AS r FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'pre'")
                .string("r")
        }
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.utf8)) as? [String: Any])
        let resumed = try XCTUnwrap(object["resumedFromStep"] as? Int, result)
        XCTAssertGreaterThanOrEqual(resumed, 50)
        XCTAssertEqual(object["steps"] as? Int, 300)
        XCTAssertGreaterThanOrEqual(
            try sqlInt(
                "SELECT count(*) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id WHERE j.name = 'pre'"
            ), 2)
        // Metrics in the database, checkpoints with checksums that match their files.
        for metric in ["loss", "lr", "grad_norm", "tokens_per_second", "val_loss"] {
            XCTAssertGreaterThan(try sqlInt("SELECT count(*) AS n FROM metrics WHERE name = '\(metric)'"), 0, metric)
        }
        let firstLoss = try pool.withConnection {
            try $0.queryOne("SELECT value FROM metrics WHERE name = 'val_loss' ORDER BY step LIMIT 1").double("value")
        }
        let lastLoss = try pool.withConnection {
            try $0.queryOne("SELECT value FROM metrics WHERE name = 'val_loss' ORDER BY step DESC, id DESC LIMIT 1")
                .double("value")
        }
        XCTAssertLessThan(lastLoss, firstLoss - 1.5, "it learned across the restart")
        let checkpoints = try pool.withConnection { c in
            try c.query("SELECT location, sha256 FROM artifacts WHERE kind = 'checkpoint' ORDER BY id").map {
                (try $0.string("location"), try $0.string("sha256"))
            }
        }
        XCTAssertGreaterThanOrEqual(checkpoints.count, 12)
        for (location, sha) in checkpoints.suffix(2) {
            // Workers upload checkpoints to the control plane's blob store (`cp://blobs/<sha>`), which keeps them in
            // its artifact directory; a worker with `--artifact-store dir` names the file itself.
            let blob =
                location.hasPrefix("cp://blobs/") ? "\(root.path)/artifacts/blobs/\(sha.prefix(2))/\(sha)" : location
            XCTAssertEqual(try sha256sum(blob), sha)
        }

        // Fine-tuning from it with another model shape is refused at submission.
        let mismatched = try processes.run(
            [
                "apply", "-f",
                try manifest(
                    "mismatch",
                    trainManifest(
                        name: "bad-e", data: "{dataset: train}",
                        model: "{vocabularySize: 256, contextLength: 64, layers: 2, heads: 4, width: 32}",
                        initFrom: "{job: pre}")),
            ], environment: env)
        XCTAssertNotEqual(mismatched.status, 0)
        XCTAssertTrue(
            mismatched.output.contains("spec.train.initFrom") && mismatched.output.contains("width: 64"),
            mismatched.output)

        // `opsctl generate` samples from the final checkpoint locally.
        let generated = try processes.run(
            [
                "generate", "--checkpoint", checkpoints.last!.0, "--prompt", "the cat ", "--max-tokens", "16",
                "--temperature", "0",
            ], environment: env)
        XCTAssertEqual(generated.status, 0, generated.output)
        XCTAssertTrue(generated.output.hasPrefix("the cat "), generated.output)
        XCTAssertEqual(
            generated.output.trimmingCharacters(in: .newlines).utf8.count, "the cat ".utf8.count + 16, generated.output)

        // Evaluate its checkpoint by job name; the result is shown by describe.
        let eval = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: pre-eval}
            spec:
              type: eval
              resources: {cpu: 1, memory: 512Mi}
              eval:
                checkpoint: {job: pre}
                data: [{dataset: heldout}]
                maxTokens: 2048
                prompts: ["the cat "]
                maxNewTokens: 16
                threads: 1
            """
        let evalApplied = try processes.run(
            ["apply", "-f", try manifest("eval", eval), "--wait", "--timeout", "120"], environment: env)
        XCTAssertEqual(evalApplied.status, 0, evalApplied.output)
        let evalDescribed = try processes.run(["describe", "job", "pre-eval"], environment: env)
        XCTAssertTrue(evalDescribed.output.contains("perplexity"), evalDescribed.output)
        XCTAssertTrue(evalDescribed.output.contains("the cat "), evalDescribed.output)

        // A DiLoCo gang of two worker processes (w2 and a new w3) trains one model together.
        try startWorker("w3")
        try waitUntil("w2 and w3 alive", timeoutSeconds: 60, intervalSeconds: 0.2) {
            try sqlInt("SELECT count(*) AS n FROM workers WHERE state = 'alive' AND name IN ('w2', 'w3')") == 2
        }
        let gang = """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: gang}
            spec:
              type: train
              replicas: 2
              resources: {cpu: 1, memory: 512Mi}
              train:
                model: {vocabularySize: 256, contextLength: 64, layers: 2, heads: 4, width: 64}
                data: [{dataset: train}]
                batchSize: 8
                sequenceLength: 64
                steps: 100
                optimizer: {learningRate: 0.003, warmupSteps: 10}
                threads: 1
                eval: {data: [{dataset: heldout}], batches: 2}
                diloco: {innerSteps: 25, roundTimeoutSeconds: 60}
            """
        let gangApplied = try processes.run(
            ["apply", "-f", try manifest("gang", gang), "--wait", "--timeout", "240"], environment: env)
        XCTAssertEqual(gangApplied.status, 0, gangApplied.output)
        let members = try pool.withConnection { c in
            try c.query(
                "SELECT t.result::text AS r FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = 'gang' ORDER BY t.id"
            ).map { try $0.string("r") }
        }.compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        XCTAssertEqual(members.count, 2)
        XCTAssertEqual(members.compactMap { $0["roundsContributed"] as? Int }, [4, 4])
        XCTAssertEqual(members.compactMap { $0["roundsPublished"] as? Int }.reduce(0, +), 4)
        XCTAssertEqual(members[0]["valLoss"] as? Double, members[1]["valLoss"] as? Double, "one model")
        XCTAssertLessThan(try XCTUnwrap(members[0]["valLoss"] as? Double), 3.0)
        XCTAssertGreaterThan(
            try sqlInt(
                "SELECT count(*) AS n FROM artifacts a JOIN jobs j ON j.id = a.job_id WHERE j.name = 'gang' AND a.kind = 'checkpoint'"
            ), 0)
        finished = true
    }

    private func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        process.arguments = [path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
