// The Python SDK's REST client (clients/python, `llmops.Client`) against a real control plane (real PostgreSQL,
// real HTTP on 127.0.0.1, a worker daemon running a real `command` job): python3 submits a YAML manifest, waits,
// follows the logs, reads the metrics the job's program reported with `llmops.report` (and the artifact it
// registered), and gets the API's refusals as typed exceptions naming the field.

import APIClient
import APITypes
import ClusterModel
import Control
import Foundation
import TestSupport
import XCTest

@testable import Workers

final class PythonClientTests: XCTestCase {
    private var cluster: InProcessCluster!

    override func setUpWithError() throws {
        cluster = try InProcessCluster(leaseSeconds: 30)
        var registry = ExecutorRegistry.builtins()
        registry.register(kind: CommandExecutor.kind, CommandExecutor(advertisedAddress: "127.0.0.1"))
        cluster.startWorker(name: "node-a", maxTasks: 1, registry: registry)
    }

    override func tearDown() async throws { await cluster?.shutdown() }

    /// The job's program: reports a loss curve, progress and an artifact through `llmops.report`, prints a line to
    /// each stream.
    static let program = #"""
        import sys
        from llmops import report
        for step in range(1, 6):
            report.metric("loss", 10.0 / step, step=step)
            report.progress(step / 5, step=step, total_steps=5)
        open("weights.bin", "wb").write(b"\x00" * 1000)
        report.artifact("weights.bin", name="weights", kind="model", metadata={"step": 5})
        print("trained five steps")
        print("a warning on stderr", file=sys.stderr)
        """#

    static let client = #"""
        import json, sys
        import llmops
        from llmops import APIError, Client
        server, package, program = sys.argv[1], sys.argv[2], sys.argv[3]
        client = Client(server, "admin")
        manifest = f"""
        apiVersion: llmops/v1
        kind: Job
        metadata: {{name: sdk-job}}
        spec:
          type: command
          resources: {{cpu: 1, memory: 256Mi}}
          command:
            argv: [python3, -c, {json.dumps(program)}]
            env: {{PYTHONPATH: {json.dumps(package)}}}
        """
        out = {}
        submitted = client.submit(manifest)
        out["outcomes"] = [s.outcome for s in submitted]
        out["again"] = [s.outcome for s in client.submit(manifest)]
        job = client.wait("sdk-job", timeout_seconds=120, raise_on_failure=True)
        out["state"] = job.state
        described = client.job("sdk-job")
        out["latest"] = {m.name: m.value for m in described.latest_metrics or []}
        out["listed"] = "sdk-job" in [j.name for j in client.jobs()]
        out["logs"] = [[l.stream, l.message] for l in client.logs("sdk-job", follow=True)]
        out["loss"] = [[p.step, p.value] for p in client.metrics("sdk-job", "loss")]
        out["artifacts"] = [[a.name, a.kind, a.bytes] for a in client.artifacts(job="sdk-job")]
        try:
            client.submit({"apiVersion": "llmops/v1", "kind": "Job", "metadata": {"name": "bad"},
                           "spec": {"type": "command", "resources": {"cpu": 1, "memory": "1Gi"},
                                    "command": {"argv": []}}})
            out["invalid"] = None
        except APIError as error:
            out["invalid"] = {"status": error.status, "code": error.code, "details": error.details}
        try:
            client.job("no-such-job")
            out["missing"] = None
        except APIError as error:
            out["missing"] = {"status": error.status, "code": error.code}
        try:
            Client(server, "wrong-token").job("sdk-job")
            out["unauthorized"] = None
        except APIError as error:
            out["unauthorized"] = error.status
        try:
            import pandas
            out["frame"] = client.metrics_frame("sdk-job", "loss")["value"].tolist()
        except ImportError:
            out["frame"] = None
        print(json.dumps(out))
        """#

    func testSubmitWaitLogsMetricsAndArtifactsThroughThePythonClient() async throws {
        let arguments = [cluster.plane.baseURL, PythonSDK.packageDirectory, Self.program]
        let result = try await Self.runPython(Self.client, arguments: arguments)
        XCTAssertEqual(result.status, 0, "the Python client failed:\n\(result.error)")
        guard result.status == 0 else { return }
        let out = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        XCTAssertEqual(out["outcomes"] as? [String], ["created"])
        XCTAssertEqual(out["again"] as? [String], ["unchanged"], "resubmitting the same manifest changes nothing")
        XCTAssertEqual(out["state"] as? String, "succeeded")
        XCTAssertEqual(out["listed"] as? Bool, true)
        XCTAssertEqual((out["latest"] as? [String: Double])?["loss"], 2.0, "describe shows the latest loss")

        // The same points the Swift admin client reads.
        let loss = try await cluster.admin.metrics(job: "sdk-job", name: "loss")
        let python = try XCTUnwrap(out["loss"] as? [[Double]])
        XCTAssertEqual(python.map { Int64($0[0]) }, loss.map(\.step))
        XCTAssertEqual(python.map { $0[1] }, loss.map(\.value))
        XCTAssertEqual(python.map { $0[1] }, [10, 5, 10.0 / 3, 2.5, 2])

        let logs = try XCTUnwrap(out["logs"] as? [[String]])
        XCTAssertTrue(logs.contains(["stdout", "trained five steps"]), "\(logs)")
        XCTAssertTrue(logs.contains(["stderr", "a warning on stderr"]), "\(logs)")
        XCTAssertFalse(logs.contains { $0[1].hasPrefix("@ops ") }, "report lines are reports, not log lines")
        let swiftLogs = try await cluster.admin.logs(job: "sdk-job", limit: 1000).lines
        XCTAssertEqual(logs.count, swiftLogs.count, "following returned every line once")

        let artifacts = try XCTUnwrap(out["artifacts"] as? [[Any]])
        XCTAssertEqual(artifacts.count, 1)
        XCTAssertEqual(artifacts.first?[0] as? String, "weights")
        XCTAssertEqual(artifacts.first?[1] as? String, "model")
        XCTAssertEqual(artifacts.first?[2] as? Int, 1000)

        let invalid = try XCTUnwrap(out["invalid"] as? [String: Any], "an empty argv was accepted")
        XCTAssertEqual(invalid["status"] as? Int, 422)
        XCTAssertEqual(invalid["code"] as? String, "invalid_manifest")
        let details = (invalid["details"] as? [String]) ?? []
        XCTAssertTrue(details.contains { $0.contains("spec.command.argv") }, "the field is named: \(details)")
        XCTAssertEqual((out["missing"] as? [String: Any])?["status"] as? Int, 404)
        XCTAssertEqual((out["missing"] as? [String: Any])?["code"] as? String, "not_found")
        XCTAssertEqual(out["unauthorized"] as? Int, 401)
        if let frame = out["frame"] as? [Double] { XCTAssertEqual(frame, python.map { $0[1] }) }
    }

    /// python3 on a thread of its own: the worker daemon's tasks share the cooperative pool of this test.
    static func runPython(_ script: String, arguments: [String]) async throws -> (
        status: Int32, output: String, error: String
    ) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try PythonSDK.run(script, arguments: arguments) })
            }
        }
    }
}
