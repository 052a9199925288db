// Issue 7: the sample pipeline `manifests/pipeline.yaml` (tokenizer + tokenize the Python docs, a held-out
// set, a 2-worker DiLoCo GPT, eval with samples) runs end to end on a local cluster of real processes —
// with a smaller training budget than the demo, and its files in the test's own directory.

import APITypes
import Foundation
import TestSupport
import XCTest

final class SamplePipelineTests: XCTestCase {
    private var cluster: ProcessCluster!

    override func setUpWithError() throws { cluster = try ProcessCluster() }

    override func tearDown() {
        if let cluster, (testRun?.totalFailureCount ?? 0) > 0 { print(cluster.logs()) }
        cluster?.shutdown()
        cluster = nil
    }

    func testSamplePipelineRunsEndToEndOnTwoWorkers() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let demo = try String(contentsOf: root.appendingPathComponent("manifests/pipeline.yaml"), encoding: .utf8)
        let data = cluster.directory.path + "/demo"
        let small = demo.replacingOccurrences(of: "/tmp/llm-ops-demo", with: data)
            .replacingOccurrences(of: "steps: 1500", with: "steps: 60")
            .replacingOccurrences(of: "checkpointEvery: 250", with: "checkpointEvery: 30")
            .replacingOccurrences(of: "every: 250", with: "every: 30")
        XCTAssertNotEqual(small, demo)
        let manifest = try cluster.writeManifest("pipeline.yaml", small)

        let port = try FreePort.next()
        let server = "http://127.0.0.1:\(port)"
        let serve = try cluster.startServe(port: port, leaseSeconds: 10, heartbeatSeconds: 1, maxBodyBytes: "1Mi")
        try await waitUntilReady(RawHTTP(baseURL: server), process: serve)
        _ = try cluster.startWorker(name: "w1", server: server, maxTasks: 1)
        _ = try cluster.startWorker(name: "w2", server: server, maxTasks: 1)

        let apply = try cluster.run(
            ["apply", "-f", manifest, "--wait", "--timeout", "600"], server: server, timeoutSeconds: 620)
        XCTAssertEqual(apply.status, 0, apply.stdout + apply.stderr)

        for job in ["pydocs-tokenizer", "pydocs", "pydocs-heldout", "pydocs-gpt", "pydocs-eval"] {
            XCTAssertEqual(
                try cluster.count(
                    "SELECT count(*) AS n FROM jobs WHERE name = $1 AND state = 'succeeded'", [.text(job)]), 1, job)
        }
        XCTAssertGreaterThan(
            try cluster.count(
                "SELECT count(*) AS n FROM shards s JOIN datasets d ON d.id = s.dataset_id WHERE d.name = 'pydocs'"), 5)
        XCTAssertEqual(
            try cluster.count(
                """
                SELECT count(DISTINCT a.worker_id) AS n FROM task_attempts a JOIN tasks t ON t.id = a.task_id JOIN jobs j ON j.id = t.job_id
                WHERE j.name = 'pydocs-gpt' AND a.state = 'succeeded'
                """), 2, "the model was trained by two workers together")

        // The evaluation's result holds a loss, a perplexity and a sample for every prompt.
        let describe = try cluster.run(["describe", "job", "pydocs-eval", "-o", "json"], server: server)
        XCTAssertEqual(describe.status, 0, describe.stderr)
        struct Description: Decodable { let job: JobView }
        let view = try WireCoding.decode(Description.self, from: Data(describe.stdout.utf8)).job
        let result = try XCTUnwrap(view.results?.first?.result.objectValue)
        let evaluated = try XCTUnwrap(result["datasets"]?.arrayValue?.first?.objectValue)
        let loss = try XCTUnwrap(evaluated["loss"]?.doubleValue)
        XCTAssertTrue(
            loss.isFinite && loss > 0 && loss < log(2048.0),
            "held-out loss \(loss) must beat a uniform guess over 2048 tokens")
        XCTAssertEqual(result["samples"]?.arrayValue?.count, 3)
    }
}
