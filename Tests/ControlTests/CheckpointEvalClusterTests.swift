// Evals on every checkpoint, end to end (issue 20; docs/training.md): the real `opsctl` binary applies a small
// train job with `evalEvery: checkpoint` to a control plane on a real socket and a real PostgreSQL, and a real
// `opsctl worker` process trains it. Each of its three checkpoints gets exactly one eval job (created when the
// checkpoint was registered, at backfill priority), which the worker runs with the eval executor beside the
// training; each result is linked to its checkpoint artifact, step and data position, and the eval curve
// (`eval_loss/<dataset>` by step) is in `opsctl get metrics` and `opsctl describe job` beside the training curve.

import APIClient
import APITypes
import ClusterModel
import Control
import DataShards
import Foundation
import Postgres
import TestSupport
import XCTest

final class CheckpointEvalClusterTests: InProcessControlPlaneTestCase {
    private func opsctl(_ arguments: [String]) throws -> CommandResult {
        try cluster.run(arguments, server: server, timeoutSeconds: 240)
    }

    /// Byte-level pseudo-English documents (vocabulary 256, eot 0) in one shard; `walk` varies the text.
    private func dataset(_ name: String, walk: Int) throws -> String {
        let directory = cluster.directory.path + "/" + name
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "house"]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: directory, name: "\(name)-0", dtype: .uint16, endOfTextID: 0)
        for document in 0..<60 {
            let text = (0..<40).map { words[(document * walk + $0 * $0 * 3) % words.count] }.joined(separator: " ")
            try writer.appendDocument(Array(text.utf8).map { Int($0) })
        }
        let info = try writer.finish()
        try DatasetIndex.update(
            directory: directory,
            creatingFrom: DatasetIndex(name: name, tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
        ) { (index: inout DatasetIndex) throws(DatasetIndexError) in try index.record(info) }
        return directory
    }

    func testEveryCheckpointIsEvaluatedOnceAndTheEvalCurveIsShownBesideTheTrainingCurve() async throws {
        let data = try dataset("train", walk: 7)
        let heldout = try dataset("heldout", walk: 5)
        _ = try cluster.startWorker(name: "node-a", server: server)
        let manifest = try cluster.writeManifest(
            "pre.yaml",
            """
            apiVersion: llmops/v1
            kind: Job
            metadata: {name: pre}
            spec:
              type: train
              resources: {cpu: 1, memory: 256Mi}
              train:
                model: {vocabularySize: 256, contextLength: 32, layers: 2, heads: 2, width: 32}
                data: [{path: \(data)}]
                batchSize: 4
                steps: 12
                checkpointEvery: 4
                logEvery: 2
                optimizer: {learningRate: 0.003, warmupSteps: 2}
                threads: 1
                evalEvery: checkpoint
                evals: [{path: \(heldout), batches: 2}]
            """)
        let applied = try opsctl(["apply", "-f", manifest, "--wait"])
        XCTAssertEqual(applied.status, 0, applied.stdout + applied.stderr)
        try await waitUntil("the three checkpoint evals succeeded", timeoutSeconds: 180, intervalSeconds: 0.2) {
            try self.cluster.count(
                "SELECT count(*) AS n FROM checkpoint_evals e JOIN jobs j ON j.id = e.eval_job_id WHERE j.state = 'succeeded'"
            ) == 3
        }

        let train = JobID(try cluster.sql { try $0.queryOne("SELECT id FROM jobs WHERE name = 'pre'").int64("id") })
        let checkpoints = try cluster.sql { c in
            try c.query(
                "SELECT id, location FROM artifacts WHERE job_id = $1 AND kind = 'checkpoint' ORDER BY id",
                [.int(train.rawValue)]
            ).map { (try $0.int64("id"), try $0.string("location")) }
        }
        let pool = PostgresPool(conninfo: cluster.databaseURL, maxConnections: 1)
        defer { pool.close() }
        let evals = try CheckpointEvalStore(pool: pool).list(trainJob: train)
        XCTAssertEqual(evals.map(\.step), [4, 8, 12], "one eval per checkpoint, no more")
        XCTAssertEqual(evals.map(\.checkpointName), ["checkpoint-step-4", "checkpoint-step-8", "checkpoint-step-12"])
        XCTAssertEqual(evals.map(\.checkpoint.rawValue), checkpoints.map(\.0), "linked to the train job's artifacts")
        XCTAssertEqual(evals.map(\.tokensConsumed), [4, 8, 12].map { Int64($0 * 4 * 32) })
        XCTAssertEqual(
            try cluster.count("SELECT count(*) AS n FROM jobs WHERE type = 'eval' AND priority = -2000000"), 3,
            "every eval is backfill")
        let name = "eval_loss/\(heldout)"
        var losses: [Double] = []
        for (eval, checkpoint) in zip(evals, checkpoints) {
            XCTAssertEqual(eval.evalState, .succeeded)
            let state = try XCTUnwrap(eval.streamState, "the data position at step \(eval.step)")
            XCTAssertTrue(state.contains("\"position\""), state)
            let loss = try XCTUnwrap(eval.results[name], "\(eval.results)")
            XCTAssertTrue(loss.isFinite && loss > 0, "\(loss)")
            XCTAssertEqual(
                try XCTUnwrap(eval.results["eval_perplexity/\(heldout)"]), exp(loss), accuracy: 1e-9 * exp(loss))
            losses.append(loss)
            // The eval executor's own result names the checkpoint it opened.
            let result = try cluster.sql { c in
                try c.queryOne("SELECT result::text AS r FROM tasks WHERE job_id = $1", [.int(eval.evalJob.rawValue)])
                    .string("r")
            }
            let object = try WireCoding.decode(AnyJSON.self, from: Data(result.utf8))
            XCTAssertEqual(object["checkpointStep"]?.intValue, eval.step, result)
            XCTAssertEqual(object["checkpoint"]?.stringValue, checkpoint.1, result)
        }

        let csv = try opsctl(["get", "metrics", "pre", "--name", name, "-o", "csv"])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = csv.stdout.split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false)
        }
        // Points are listed in the order they were stored (by id, the order paging follows). Evals of two
        // checkpoints can finish together on two workers and report in either order (a fresh-clone run stored
        // step 12 before step 8, 38 ms after step 4), so the curve is compared by step.
        let curve = rows.map { (step: Int($0[1]) ?? -1, value: Double(String($0[2]))) }.sorted { $0.step < $1.step }
        XCTAssertEqual(curve.map(\.step), [4, 8, 12], csv.stdout)
        XCTAssertEqual(curve.map(\.value), losses, csv.stdout)
        let all = try opsctl(["get", "metrics", "pre", "-o", "json"])
        let names = Set(try WireCoding.decode([MetricPointView].self, from: Data(all.stdout.utf8)).map(\.name))
        XCTAssertTrue(names.isSuperset(of: ["loss", name, "eval_perplexity/\(heldout)"]), "\(names)")
        let described = try opsctl(["describe", "job", "pre"])
        XCTAssertEqual(described.status, 0, described.stderr)
        XCTAssertTrue(described.stdout.contains(name), described.stdout)
        print("eval curve of pre (\(name)) at steps 4, 8, 12: \(losses.map { String(format: "%.4f", $0) })")

        // The dashboard's job page charts it right after the training curve (loss, val_loss, then the evals).
        let page = try await dashboardPage("/jobs/pre")
        let charts = page.components(separatedBy: "data-metric=\"").dropFirst().map { $0.prefix { $0 != "\"" } }
        XCTAssertEqual(Array(charts.prefix(2)), ["loss", Substring(name)], "\(charts)")
        XCTAssertTrue(charts.contains("eval_perplexity/\(heldout)"), "\(charts)")
    }

    /// The HTML of a dashboard page, signed in with the admin token (docs/dashboard.md), over the real socket.
    private func dashboardPage(_ path: String) async throws -> String {
        let transport = CurlTransport()
        let login = try await transport.send(
            HTTPRequestSpec(
                method: "POST", url: server + "/login",
                headers: [("Content-Type", "application/x-www-form-urlencoded")],
                body: Data("token=\(cluster.adminToken)".utf8)))
        XCTAssertEqual(login.status, 303, String(decoding: login.body, as: UTF8.self))
        let cookie = login.headers.first { $0.key.lowercased() == "set-cookie" }?.value.split(separator: ";").first
        let page = try await transport.send(
            HTTPRequestSpec(method: "GET", url: server + path, headers: [("Cookie", String(try XCTUnwrap(cookie)))]))
        XCTAssertEqual(page.status, 200)
        return String(decoding: page.body, as: UTF8.self)
    }
}
