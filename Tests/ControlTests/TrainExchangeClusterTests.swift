// Training on nodes that share nothing but the network (issue 14): a real control plane (real PostgreSQL, real
// HTTP), workers that each have a private directory and an artifact store over the control plane's blobs, and
// no `sharedDirectory`. A DiLoCo gang meets only in the job's training exchange and ends on identical weights; a
// single-worker run's checkpoint is found by its retried attempt on another node.

import APIClient
import APITypes
import ClusterModel
import Control
import DataShards
import Foundation
import TestSupport
import XCTest

@testable import Workers

final class TrainExchangeClusterTests: XCTestCase {
    private var cluster: InProcessCluster!
    private var daemons: [(daemon: WorkerDaemon, run: Task<Void, Error>)] = []

    override func setUpWithError() throws { cluster = try InProcessCluster(leaseSeconds: 60) }

    override func tearDown() async throws {
        for worker in daemons { worker.daemon.requestShutdown() }
        for worker in daemons { _ = try? await worker.run.value }
        await cluster?.shutdown()
    }

    /// A node's private directory: nothing in it is visible to another node.
    private func privateDirectory(_ node: String) -> URL {
        URL(fileURLWithPath: cluster.directory.path).appendingPathComponent("node-\(node)")
    }

    private func artifactStore(_ node: String, api: HTTPControlPlaneAPI) -> ControlPlaneArtifactStore {
        ControlPlaneArtifactStore(
            baseURL: cluster.plane.baseURL, token: api.requester.token,
            cacheDirectory: privateDirectory(node).appendingPathComponent("artifact-cache"))
    }

    /// Byte-level pseudo-English documents (vocabulary 256, eot 0) in one shard.
    private func dataset() throws -> String {
        let directory = cluster.directory.path + "/data"
        let words = ["the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "to", "big", "red", "house"]
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writer = try ShardWriter(directory: directory, name: "train-0", dtype: .uint16, endOfTextID: 0)
        for document in 0..<120 {
            // A fixed walk over the words (no randomness needed: the model only has to see the same data).
            let text = (0..<40).map { words[(document * 7 + $0 * $0 * 3) % words.count] }.joined(separator: " ")
            try writer.appendDocument(Array(text.utf8).map { Int($0) })
        }
        let info = try writer.finish()
        try DatasetIndex.update(
            directory: directory,
            creatingFrom: DatasetIndex(name: "train", tokenizerHash: "bytes", vocabularySize: 256, endOfTextID: 0)
        ) { (index: inout DatasetIndex) throws(DatasetIndexError) in try index.record(info) }
        return directory
    }

    private func trainJob(_ name: String, data: String, replicas: Int, steps: Int, train extra: [String: AnyJSON])
        -> AnyJSON
    {
        var train: [String: AnyJSON] = [
            "model": ["vocabularySize": 256, "contextLength": 32, "layers": 2, "heads": 2, "width": 32],
            "data": [["path": .string(data)]], "batchSize": 4, "sequenceLength": 32, "steps": .int(Int64(steps)),
            "optimizer": ["learningRate": 0.003, "warmupSteps": 2], "threads": 1, "logEvery": 4,
        ]
        train.merge(extra) { $1 }
        return [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "type": "train", "replicas": .int(Int64(replicas)), "resources": ["cpu": 1, "memory": "256Mi"],
                "retry": ["maxAttempts": 3, "backoffSeconds": 0.1], "train": .object(train),
            ],
        ]
    }

    private func waitForJob(_ name: String, timeoutSeconds: Double) async throws -> JobView {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while true {
            let job = try await cluster.admin.job(name)
            if job.state.isTerminal || Date() > deadline { return job }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    func testADiLoCoGangWithoutASharedDirectoryEndsOnIdenticalWeights() async throws {
        let data = try dataset()
        for node in ["a", "b"] {
            let api = HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "join", transport: CurlTransport())
            let daemon = WorkerDaemon(
                configuration: WorkerConfiguration(
                    name: "node-\(node)", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30),
                    maxConcurrentTasks: 1, pollWaitSeconds: 1,
                    workDirectory: privateDirectory(node).appendingPathComponent("work"), flushIntervalSeconds: 0.05,
                    shutdownGraceSeconds: 1),
                api: api, registry: .standard(), artifactStore: artifactStore(node, api: api), log: { _ in })
            daemons.append((daemon, Task { try await daemon.run() }))
        }
        _ = try await cluster.admin.submit([
            trainJob(
                "gang", data: data, replicas: 2, steps: 16,
                train: ["diloco": ["innerSteps": 4, "roundTimeoutSeconds": 120, "waitForAll": true]])
        ])
        let job = try await waitForJob("gang", timeoutSeconds: 240)
        XCTAssertEqual(job.state, .succeeded, "\(job)")

        let results = try await cluster.admin.tasks(job: "gang").compactMap(\.result)
        XCTAssertEqual(results.count, 2)
        let weights = results.compactMap { $0["finalWeightsSHA256"]?.stringValue }
        XCTAssertEqual(weights.count, 2)
        XCTAssertEqual(Set(weights).count, 1, "both members computed the same final weights: \(weights)")
        for result in results {
            XCTAssertEqual(result["roundsContributed"], .int(4), "\(result)")
            XCTAssertGreaterThan(result["bytesSent"]?.intValue ?? 0, 0, "\(result)")
            XCTAssertGreaterThan(result["bytesReceived"]?.intValue ?? 0, 0, "\(result)")
            XCTAssertTrue(
                result["finalGlobal"]?.stringValue?.hasPrefix(ControlPlaneArtifactStore.scheme) ?? false, "\(result)")
        }
        let checkpoints = try await cluster.admin.artifacts(job: "gang").filter { $0.kind == "checkpoint" }
        XCTAssertEqual(checkpoints.map(\.name), ["checkpoint-round-4"])
        for node in ["a", "b"] {
            // Where a directory exchange would have gone (beside the artifact cache): never made.
            let training = privateDirectory(node).appendingPathComponent("training")
            XCTAssertFalse(FileManager.default.fileExists(atPath: training.path), training.path)
        }
    }

    func testARetriedAttemptOnAnotherNodeFindsTheCheckpointItsPredecessorPublished() async throws {
        let data = try dataset()
        _ = try await cluster.admin.submit([
            trainJob("single", data: data, replicas: 1, steps: 10, train: ["checkpointEvery": 5])
        ])
        // Node a trains the whole run, then leaves without reporting (its node is gone).
        let (apiA, workerA, first) = try await claim(on: "a")
        let firstResult = try await TrainExecutor().run(first, context: context(first, node: "a", api: apiA))
        XCTAssertNil(firstResult.result["resumedFromStep"])
        try await apiA.deregister(DeregisterWorkerRequest(workerID: workerA, releasedAttempts: [first.attemptID]))

        // Node b gets attempt 2 with a private directory of its own, and finds the run's checkpoint.
        let (apiB, _, second) = try await claim(on: "b")
        XCTAssertEqual(second.taskID, first.taskID)
        XCTAssertNotEqual(second.attemptID, first.attemptID)
        let secondResult = try await TrainExecutor().run(second, context: context(second, node: "b", api: apiB))
        XCTAssertEqual(secondResult.result["resumedFromStep"], .int(10), "\(secondResult.result)")
        XCTAssertEqual(secondResult.result["checkpointSHA256"], firstResult.result["checkpointSHA256"])
        XCTAssertEqual(secondResult.result["steps"], .int(10))
    }

    /// `checkpoint: {job: pre}` of a job submitted with `pre` (so unresolved at submission) is resolved by the control
    /// plane when it hands out the eval task, to the newest checkpoint artifact `pre` registered: the worker needs no
    /// directory to look in.
    func testACheckpointOfAnEarlierJobIsResolvedWhenTheTaskIsHandedOut() async throws {
        let data = try dataset()
        _ = try await cluster.admin.submit([
            [
                "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": "pre"],
                "spec": ["type": "noop", "resources": ["cpu": 1]],
            ],
            [
                "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": "score"],
                "spec": [
                    "type": "eval", "after": ["pre"], "resources": ["cpu": 1],
                    "eval": ["checkpoint": ["job": "pre"], "data": [["path": .string(data)]]],
                ],
            ],
        ])
        let api = HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "join", transport: CurlTransport())
        let worker = try await api.register(
            RegisterWorkerRequest(
                name: "node-c", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
                kinds: ["noop", "eval"], maxConcurrentTasks: 1))
        let poll = PollRequest(workerID: worker.workerID, maxTasks: 1, waitSeconds: 10, available: .zero)
        let first = try await api.poll(poll)
        let pre = try XCTUnwrap(first.assignments.first)
        XCTAssertEqual(pre.jobName, "pre")
        func checkpoint(step: Int64, _ digit: Character) -> ArtifactRecord {
            let sha = String(repeating: digit, count: 64)
            return ArtifactRecord(
                name: "checkpoint-step-\(step)", location: "cp://blobs/\(sha)", sha256: sha, bytes: 10,
                kind: "checkpoint", metadata: ["step": .int(step)])
        }
        _ = try await api.report(
            ReportBatch(
                workerID: worker.workerID,
                completions: [
                    CompletionReport(
                        taskID: pre.taskID, attemptID: pre.attemptID,
                        artifacts: [checkpoint(step: 10, "b"), checkpoint(step: 5, "a")])
                ]))
        let second = try await api.poll(poll)
        let score = try XCTUnwrap(second.assignments.first)
        XCTAssertEqual(score.jobName, "score")
        let reference = try score.settings.decode(as: EvalSettings.self).checkpoint
        XCTAssertEqual(reference.job, "pre")
        XCTAssertEqual(reference.location, "cp://blobs/" + String(repeating: "b", count: 64), "the newest step")
        XCTAssertEqual(reference.sha256, String(repeating: "b", count: 64))
    }

    /// Registers a worker for `node` and claims the next task.
    private func claim(on node: String) async throws -> (HTTPControlPlaneAPI, WorkerID, TaskAssignment) {
        let api = HTTPControlPlaneAPI(baseURL: cluster.plane.baseURL, token: "join", transport: CurlTransport())
        let worker = try await api.register(
            RegisterWorkerRequest(
                name: "node-\(node)", resources: Resources(cpuMillis: 1000, memoryBytes: 1 << 30), version: "test",
                kinds: ["train"], maxConcurrentTasks: 1))
        let poll = try await api.poll(
            PollRequest(workerID: worker.workerID, maxTasks: 1, waitSeconds: 10, available: .zero))
        return (api, worker.workerID, try XCTUnwrap(poll.assignments.first, "node \(node) got the task"))
    }

    private func context(_ task: TaskAssignment, node: String, api: HTTPControlPlaneAPI) -> ExecutionContext {
        ExecutionContext(
            task: task,
            workDirectory: privateDirectory(node).appendingPathComponent("work/attempts/\(task.attemptID)"),
            workerResources: .zero, artifactStore: artifactStore(node, api: api), reports: ReportQueue(),
            exchangeAPI: api)
    }
}
