import Control
import DataShards
import Engine
import Foundation
import Postgres
import TestSupport
import XCTest

/// Issue 18's export and import through a real cluster (`opsctl serve` on a throwaway PostgreSQL, an `opsctl worker`
/// process): `opsctl export --job pre` finds the job's newest checkpoint artifact through the API and fetches it from
/// the control plane's blob store; a train job with `initFrom: {huggingFace: OUT}` is checked at `opsctl apply`
/// (another model shape is refused naming the field) and starts at the exported model's validation loss.
final class HuggingFaceClusterTests: OpsctlClusterTestCase {
    override class var directoryPrefix: String { "hf-cluster-" }

    /// Byte-level sentences from a 12-word vocabulary (vocabulary 256, end of text 0), so 30 steps learn a lot.
    private func makeDataset(_ directory: String, name: String, documents: Int, seed: Int) throws {
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red"]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: directory, name: "\(name)-0", dtype: .uint16, endOfTextID: 0)
        for document in 0..<documents {
            let text = (0..<60).map { words[($0 * 7 + document * 5 + seed) % words.count] }.joined(separator: " ")
            try writer.appendDocument(Array((text + ".").utf8).map { Int($0) })
        }
        let info = try writer.finish()
        try DatasetIndex.update(
            directory: directory,
            creatingFrom: DatasetIndex(name: name, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
        ) { (index: inout DatasetIndex) throws(DatasetIndexError) in try index.record(info) }
    }

    private func trainManifest(name: String, steps: Int, width: Int = 32, initFrom: String? = nil) throws -> String {
        let path = root.path + "/\(name).yaml"
        try """
        apiVersion: llmops/v1
        kind: Job
        metadata: {name: \(name)}
        spec:
          type: train
          resources: {cpu: 1, memory: 512Mi}
          train:
            model: {vocabularySize: 256, contextLength: 32, layers: 1, heads: 2, width: \(width)}
            data: [{dataset: train}]
            batchSize: 8
            sequenceLength: 32
            steps: \(steps)
            optimizer: {learningRate: 0.003, warmupSteps: 5}
            checkpointEvery: 10
            logEvery: 5
            threads: 1
            eval: {data: [{dataset: heldout}], every: 10, batches: 2}
        \(initFrom.map { "    initFrom: \($0)" } ?? "")
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private func taskResult(_ pool: PostgresPool, job: String) throws -> [String: Any] {
        let text = try pool.withConnection {
            try $0.queryOne(
                "SELECT result::text AS r FROM tasks t JOIN jobs j ON j.id = t.job_id WHERE j.name = '\(job)'"
            ).string("r")
        }
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testExportByJobNameThenFineTuneFromTheExportThroughTheCluster() throws {
        let conninfo = try TestPostgres.shared().freshDatabase()
        let pool = PostgresPool(conninfo: conninfo, maxConnections: 2)
        self.pool = pool
        let port = try FreePort.next()
        let admin = "admin-\(UUID().uuidString)"
        let env = [
            "OPS_STATE_DIR": root.path + "/state", "OPS_ADMIN_TOKEN": admin, "OPS_JOIN_TOKEN": "join-\(UUID())",
            "OPS_SERVER": "http://127.0.0.1:\(port)", "OPS_TOKEN": admin, "OPS_ARTIFACT_DIR": root.path + "/artifacts",
        ]
        try processes.start("serve", ["serve", "--database-url", conninfo, "--port", "\(port)"], environment: env)
        try waitForControlPlane(environment: env)
        try startWorker("w1", cpus: 1, maxTasks: 1, environment: env)
        try makeDataset(root.path + "/data/train", name: "train", documents: 200, seed: 1)
        try makeDataset(root.path + "/data/heldout", name: "heldout", documents: 20, seed: 3)
        let store = ControlStore(pool: pool)
        try store.datasets.register(name: "train", location: root.path + "/data/train")
        try store.datasets.register(name: "heldout", location: root.path + "/data/heldout")

        let pre = try processes.run(
            ["apply", "-f", try trainManifest(name: "pre", steps: 30), "--wait", "--timeout", "240"], environment: env)
        XCTAssertEqual(pre.status, 0, pre.output)
        let pretrainedLoss = try XCTUnwrap(try taskResult(pool, job: "pre")["valLoss"] as? Double)

        // A job without checkpoints is named; the job's newest checkpoint (step 30) is exported.
        let out = root.path + "/gpt2-out"
        let none = try processes.run(["export", "--job", "nosuch", out], environment: env)
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.output.contains("nosuch"), none.output)
        let exported = try processes.run(["export", "--job", "pre", "--format", "hf", out], environment: env)
        XCTAssertEqual(exported.status, 0, exported.output)
        XCTAssertTrue(exported.output.contains("exported step 30 of "), exported.output)
        XCTAssertEqual(try HuggingFaceGPT2.config(directory: out).layers, 1)

        // Another shape than the export's is refused at apply; the same shape fine-tunes from it.
        let wider = try processes.run(
            ["apply", "-f", try trainManifest(name: "wide", steps: 10, width: 64, initFrom: "{huggingFace: \(out)}")],
            environment: env)
        XCTAssertNotEqual(wider.status, 0)
        XCTAssertTrue(
            wider.output.contains("spec.train.initFrom") && wider.output.contains("the Hugging Face model \(out)"),
            wider.output)
        let tune = try processes.run(
            [
                "apply", "-f", try trainManifest(name: "tune", steps: 10, initFrom: "{huggingFace: \(out)}"), "--wait",
                "--timeout", "240",
            ], environment: env)
        XCTAssertEqual(tune.status, 0, tune.output)
        let tuned = try taskResult(pool, job: "tune")
        XCTAssertEqual(tuned["initializedFrom"] as? String, out)
        let start = try XCTUnwrap(tuned["initialValLoss"] as? Double)
        print("fine-tuning from the export starts at val loss \(start); the exported job ended at \(pretrainedLoss)")
        XCTAssertEqual(start, pretrainedLoss, accuracy: 1e-6, "the fine-tune starts where the exported model is")
        finished = true
    }
}
