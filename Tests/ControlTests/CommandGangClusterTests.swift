// The `command` kind as a gang on a real control plane (real PostgreSQL, real HTTP on 127.0.0.1, two worker daemons,
// real child processes; issue 18): the members meet at rank 0's published address, a member that dies restarts the
// whole gang, and a PyTorch DDP run killed mid-way resumes from its checkpoint with its loss curve in the metrics.

import APIClient
import APITypes
import ClusterModel
import Control
import DataShards
import Foundation
import TestSupport
import XCTest

@testable import Workers

final class CommandGangClusterTests: XCTestCase {
    private var cluster: InProcessCluster!
    private var checkpoints: URL!

    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("manifests/examples")

    override func setUpWithError() throws {
        cluster = try InProcessCluster(leaseSeconds: 30)
        // The directory both workers mount (`checkpointDirectory`): the gang may be placed the other way round.
        checkpoints = URL(fileURLWithPath: cluster.directory.path).appendingPathComponent("shared-checkpoints")
        var registry = ExecutorRegistry.builtins()
        registry.register(kind: CommandExecutor.kind, CommandExecutor(advertisedAddress: "127.0.0.1"))
        for name in ["node-a", "node-b"] { cluster.startWorker(name: name, maxTasks: 1, registry: registry) }
    }

    override func tearDown() async throws { await cluster?.shutdown() }

    private func commandJob(_ name: String, argv: [String], env: [String: String] = [:]) -> AnyJSON {
        [
            "apiVersion": "llmops/v1", "kind": "Job", "metadata": ["name": .string(name)],
            "spec": [
                "type": "command", "replicas": 2, "resources": ["cpu": 1, "memory": "256Mi"],
                "retry": ["maxAttempts": 3, "backoffSeconds": 0.1],
                "command": [
                    "argv": .array(argv.map { .string($0) }), "workingDirectory": .string(Self.examples.path),
                    "env": .object(env.mapValues { .string($0) }), "checkpointDirectory": .string(checkpoints.path),
                    "rendezvousTimeoutSeconds": 120,
                ],
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

    /// Waits for a file the gang writes (a pid file, the checkpoint step); returns its text.
    private func waitForFile(_ url: URL, timeoutSeconds: Double, until accept: (String) -> Bool = { _ in true })
        async throws -> String
    {
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        while Date() < deadline {
            if let text = try? String(contentsOf: url, encoding: .utf8), accept(text) { return text }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw IntegrationFailure("\(url.lastPathComponent) did not appear within \(timeoutSeconds)s")
    }

    /// Plain Python (no torch): each member records what it was given; rank 1 connects to MASTER_ADDR:MASTER_PORT
    /// where rank 0 listens. In the first generation rank 1 then exits 3 while rank 0 would sleep for 10 minutes:
    /// the job can only finish if the control plane stops rank 0 and restarts the gang as a whole.
    func testAGangMeetsAtRankZerosAddressAndRestartsWholeWhenAMemberDies() async throws {
        let script = #"""
            import json, os, socket, sys, time
            rank, restart = int(os.environ["RANK"]), int(os.environ["OPS_RESTART_COUNT"])
            names = ["RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT"]
            with open(os.path.join(os.environ["OPS_CHECKPOINT_DIR"], f"env-{rank}-{restart}.json"), "w") as f:
                json.dump({name: os.environ[name] for name in names}, f)
            address = (os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]))
            if rank == 0:
                server = socket.socket()
                server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                server.bind(("0.0.0.0", address[1]))
                server.listen(1)
                connection, _ = server.accept()
                connection.sendall(b"welcome " + connection.recv(64))
                if restart == 0:
                    time.sleep(600)
            else:
                for _ in range(600):
                    try:
                        connection = socket.create_connection(address, timeout=5)
                        break
                    except OSError:
                        time.sleep(0.1)
                connection.sendall(f"rank{rank}".encode())
                print("rank 0 said:", connection.recv(64).decode(), flush=True)
                if restart == 0:
                    sys.exit(3)
            print('@ops {"metric": "met", "step": %d, "value": %d}' % (restart, rank), flush=True)
            """#
        let submitted = Date()
        _ = try await cluster.admin.submit([commandJob("meet", argv: ["python3", "-c", script])])
        let jobID = try await cluster.admin.job("meet").id
        let directory = checkpoints.appendingPathComponent("meet-\(jobID)")
        for rank in 0..<2 {
            _ = try await waitForFile(directory.appendingPathComponent("env-\(rank)-0.json"), timeoutSeconds: 60)
        }
        print("gang start-up (submit to both members running, plain python): \(Date().timeIntervalSince(submitted)) s")
        let job = try await waitForJob("meet", timeoutSeconds: 120)
        let lines = try await logs("meet")
        XCTAssertEqual(job.state, .succeeded, "\(job)\n\(lines.map(\.message).joined(separator: "\n"))")

        let tasks = try await cluster.admin.tasks(job: "meet").sorted { $0.index < $1.index }
        XCTAssertEqual(tasks.map { $0.attempts.count }, [2, 2], "one restart of the whole gang")
        let firstOfRank0 = try XCTUnwrap(tasks.first?.attempts.min { $0.number < $1.number })
        XCTAssertEqual(firstOfRank0.state, .failed)
        XCTAssertTrue(
            firstOfRank0.message?.contains("gang member task \(tasks[1].id) ended") ?? false,
            "rank 0 was stopped because rank 1 died: \(String(describing: firstOfRank0.message))")
        for restart in 0..<2 {
            var ports: Set<String> = []
            for rank in 0..<2 {
                let data = try Data(contentsOf: directory.appendingPathComponent("env-\(rank)-\(restart).json"))
                let env = try JSONDecoder().decode([String: String].self, from: data)
                XCTAssertEqual(env["RANK"], "\(rank)")
                XCTAssertEqual(env["WORLD_SIZE"], "2")
                XCTAssertEqual(env["NODE_RANK"], "\(rank)", "one member per worker")
                XCTAssertEqual(env["LOCAL_RANK"], "0")
                XCTAssertEqual(env["LOCAL_WORLD_SIZE"], "1")
                XCTAssertEqual(env["MASTER_ADDR"], "127.0.0.1")
                ports.insert(env["MASTER_PORT"] ?? "")
            }
            XCTAssertEqual(ports.count, 1, "both members of restart \(restart) got rank 0's port: \(ports)")
        }
        let met = try await cluster.admin.metrics(job: "meet", name: "met")
        XCTAssertEqual(Set(met.map { "\($0.step):\(Int($0.value))" }), ["1:0", "1:1"], "both finished in restart 1")
        XCTAssertTrue(
            lines.contains { $0.stream == .stdout && $0.message == "rank 0 said: welcome rank1" },
            "\(lines.map(\.message))")
    }

    /// The PyTorch DDP example (manifests/examples/ddp_train.py, gloo on CPU): rank 1's process is SIGKILLed after
    /// the run checkpointed; the gang restarts whole, resumes from the checkpoint, finishes, and the loss curve is
    /// in the job's metrics.
    func testAPyTorchDDPGangKilledMidRunResumesFromItsCheckpointAndFinishes() async throws {
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        probe.arguments = ["python3", "-c", "import torch.distributed as d; assert d.is_gloo_available()"]
        probe.standardError = FileHandle.nullDevice
        try probe.run()
        probe.waitUntilExit()
        guard probe.terminationStatus == 0 else {
            throw XCTSkip(
                "torch (with gloo) is not importable by python3; scripts/install-test-deps.sh installs the CPU wheel")
        }
        let steps = 60
        let batchSize = 8
        // The data both members read through llmops.data (the Python SDK), from this checkout.
        let data = try Self.learnableDataset(in: cluster.directory.path + "/data")
        let submitted = Date()
        _ = try await cluster.admin.submit([
            commandJob(
                "ddp", argv: ["python3", "ddp_train.py"],
                env: [
                    "STEPS": "\(steps)", "CHECKPOINT_EVERY": "10", "STEP_SECONDS": "0.15", "DATA_DIR": data,
                    "BATCH_SIZE": "\(batchSize)", "PYTHONPATH": PythonSDK.packageDirectory,
                    "LLMOPS_STREAM_LIBRARY": try PythonSDK.libraryPath(),
                ])
        ])
        let jobID = try await cluster.admin.job("ddp").id
        let directory = checkpoints.appendingPathComponent("ddp-\(jobID)")
        for rank in 0..<2 {
            _ = try await waitForFile(directory.appendingPathComponent("pid-rank\(rank)-restart0"), timeoutSeconds: 60)
        }
        print("gang start-up (submit to both members running, torch DDP): \(Date().timeIntervalSince(submitted)) s")
        while try await cluster.admin.metrics(job: "ddp", name: "loss").isEmpty {
            guard Date().timeIntervalSince(submitted) < 180 else { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        print("submit to the first DDP step (imports, init_process_group): \(Date().timeIntervalSince(submitted)) s")
        let checkpointed = try await waitForFile(
            directory.appendingPathComponent("checkpoint.step"), timeoutSeconds: 180
        ) {
            (Int($0) ?? 0) >= 20
        }
        // Rank 0 prints a step's loss before it writes that step's checkpoint; the kill waits until the control plane
        // has stored it, since output still in a worker's pipe when the gang restarts arrives in a batch of stale
        // attempts only, which changes nothing (`ReportBatchApplier`) — and the restarted gang resumes after that step.
        let checkpointStep = Int64(try XCTUnwrap(Int(checkpointed.trimmingCharacters(in: .whitespacesAndNewlines))))
        try await waitUntil("loss at step \(checkpointStep) stored", timeoutSeconds: 30, intervalSeconds: 0.05) {
            try await cluster.admin.metrics(job: "ddp", name: "loss").contains { $0.step >= checkpointStep }
        }
        let victim = try await waitForFile(directory.appendingPathComponent("pid-rank1-restart0"), timeoutSeconds: 1)
        XCTAssertEqual(kill(try XCTUnwrap(Int32(victim)), SIGKILL), 0, "rank 1 (pid \(victim)) was running")

        let job = try await waitForJob("ddp", timeoutSeconds: 300)
        let lines = try await logs("ddp").suffix(60).map(\.message)
        XCTAssertEqual(job.state, .succeeded, "\(job)\n\(lines.joined(separator: "\n"))")
        let resumed = try await cluster.admin.metrics(job: "ddp", name: "resumed_from_step")
        XCTAssertFalse(resumed.isEmpty, "the restarted gang found the checkpoint")
        XCTAssertTrue(resumed.allSatisfy { $0.value >= 20 }, "resumed from step >= 20: \(resumed.map(\.value))")
        let loss = try await cluster.admin.metrics(job: "ddp", name: "loss")
        XCTAssertEqual(Set(loss.map(\.step)), Set(1...Int64(steps)), "the curve covers every step")
        XCTAssertGreaterThanOrEqual(Set(loss.map(\.attemptID)).count, 2, "points from both generations")
        let byStep = Dictionary(loss.map { ($0.step, $0.value) }, uniquingKeysWith: { _, last in last })
        XCTAssertLessThan(try XCTUnwrap(byStep[Int64(steps)]), try XCTUnwrap(byStep[1]) / 2, "the model learned")
        // Rank 0's first sample of step s is global position (s - 1) x 2 ranks x B in both generations: the
        // restarted gang read on from the stream state in its checkpoint, nothing skipped or repeated.
        let firstSamples = try await cluster.admin.metrics(job: "ddp", name: "first_sample")
        XCTAssertEqual(Set(firstSamples.map(\.step)), Set(1...Int64(steps)))
        for point in firstSamples {
            XCTAssertEqual(point.value, Double((point.step - 1) * 2 * Int64(batchSize)), "step \(point.step)")
        }
        let artifacts = try await cluster.admin.artifacts(job: "ddp")
        XCTAssertEqual(artifacts.filter { $0.kind == "checkpoint" }.map(\.name), ["checkpoint-final"])
        let tasks = try await cluster.admin.tasks(job: "ddp")
        let rank0 = try XCTUnwrap(tasks.first { $0.index == 0 })
        XCTAssertEqual(rank0.result?["restartCount"], .int(Int64(rank0.attempts.count - 1)))
    }

    /// Documents of a fixed successor rule (t -> 5t + 3 mod 61, eot 63), so a bigram model's loss falls fast;
    /// ~4,000 tokens, so the 60 steps of 2 x 8 samples run through several epochs of the stream.
    static func learnableDataset(in directory: String) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var index = DatasetIndex(name: "ddp-data", tokenizerHash: "ddp-test", vocabularySize: 64, endOfTextID: 63)
        for shard in 0..<2 {
            let writer = try ShardWriter(
                directory: directory, name: "ddp-data-\(shard)", dtype: index.dtype, endOfTextID: 63)
            for document in 0..<40 {
                var token = UInt32((document * 7 + shard) % 61)
                var ids: [UInt32] = []
                for _ in 0..<(20 + (document * 13) % 60) {
                    ids.append(token)
                    token = (token * 5 + 3) % 61
                }
                try writer.appendDocument(ids)
            }
            try index.record(try writer.finish())
        }
        try index.write(toDirectory: directory)
        return directory
    }

    private func logs(_ job: String) async throws -> [LogLineView] {
        try await cluster.admin.logs(job: job, limit: 5000).lines
    }
}
