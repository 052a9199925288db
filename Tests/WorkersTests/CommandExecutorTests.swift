// The `command` kind on one worker (issue 18): the torchrun variables, the checkpoint directory that outlives an
// attempt, `@ops` report lines turned into metrics/progress/artifacts, stdout and stderr kept apart, venv and
// devices. The gang (rendezvous through the exchange, whole-gang restart) is ControlTests.CommandGangClusterTests.

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class CommandExecutorTests: XCTestCase {
    private var directory: URL!

    override func setUp() { directory = temporaryDirectory("command") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func assignment(_ settings: AnyJSON, attempt: Int = 1, accelerators: Int64 = 0) -> TaskAssignment {
        TaskAssignment(
            taskID: TaskID(7), attemptID: AttemptID(Int64(70 + attempt)), attemptNumber: attempt, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(3), jobName: "mine", jobType: "command",
            spec: ["type": "command", "command": settings],
            resources: Resources(cpuMillis: 1000, accelerators: accelerators > 0 ? ["gpu": accelerators] : [:]))
    }

    private func run(
        _ settings: AnyJSON, attempt: Int = 1, accelerators: Int64 = 0,
        executor: CommandExecutor = CommandExecutor(advertisedAddress: "127.0.0.1"), reports: ReportQueue
    ) async throws -> TaskResult {
        let task = assignment(settings, attempt: attempt, accelerators: accelerators)
        let context = ExecutionContext(
            task: task, workDirectory: directory.appendingPathComponent("work/attempts/\(attempt)"),
            workerResources: .zero, artifactStore: FileArtifactStore(root: directory.appendingPathComponent("store")),
            reports: reports)
        return try await executor.run(task, context: context)
    }

    func testAMemberGetsTheTorchrunVariablesAndACheckpointDirectoryThatOutlivesTheAttempt() async throws {
        let script = """
            echo "rank=$RANK world=$WORLD_SIZE node=$NODE_RANK local=$LOCAL_RANK/$LOCAL_WORLD_SIZE restart=$OPS_RESTART_COUNT"
            echo "master=$MASTER_ADDR port=$MASTER_PORT"
            if [ -f "$OPS_CHECKPOINT_DIR/step" ]; then echo "resumed from $(cat "$OPS_CHECKPOINT_DIR/step")"; fi
            echo 40 > "$OPS_CHECKPOINT_DIR/step"
            echo "to stderr" >&2
            """
        let first = ReportQueue()
        _ = try await run(["argv": ["sh", "-c", .string(script)]], reports: first)
        let lines = try XCTUnwrap(first.takeBatch(workerID: WorkerID(1))).logs
        let out = lines.filter { $0.stream == .stdout }.map(\.message)
        XCTAssertEqual(out.first, "rank=0 world=1 node=0 local=0/1 restart=0")
        let master = try XCTUnwrap(out.dropFirst().first)
        XCTAssertTrue(master.hasPrefix("master=127.0.0.1 port="), master)
        XCTAssertGreaterThan(Int(master.split(separator: "=").last ?? "") ?? 0, 0, master)
        XCTAssertEqual(lines.filter { $0.stream == .stderr }.map(\.message), ["to stderr"], "stderr stays apart")
        XCTAssertFalse(out.contains { $0.hasPrefix("resumed") })

        // The next attempt of the same job on this worker finds what the first left, and knows it is a restart.
        let second = ReportQueue()
        _ = try await run(["argv": ["sh", "-c", .string(script)]], attempt: 2, reports: second)
        let again = try XCTUnwrap(second.takeBatch(workerID: WorkerID(1))).logs.map(\.message)
        XCTAssertTrue(again.contains("resumed from 40"), "\(again)")
        XCTAssertTrue(again.contains { $0.hasSuffix("restart=1") }, "\(again)")
        let kept = directory.appendingPathComponent("work/checkpoints/mine-3/step")
        XCTAssertTrue(FileManager.default.fileExists(atPath: kept.path), "under the worker's work directory")
    }

    func testReportLinesBecomeMetricsProgressAndArtifactsAndABadOneIsLoggedWithTheReason() async throws {
        let script = #"""
            echo 'model bytes' > model.bin
            echo '@ops {"metric": "loss", "step": 1, "value": 2.5}'
            echo '@ops {"metrics": {"loss": 2.0, "lr": 0.1}, "step": 2}'
            echo '@ops {"progress": 0.5, "step": 2, "totalSteps": 4, "message": "half"}'
            echo '@ops {"artifact": "model.bin", "name": "model-final", "kind": "model"}'
            echo '@ops {"metric": "loss", "value": 1}'
            echo 'plain line'
            """#
        let reports = ReportQueue()
        _ = try await run(["argv": ["sh", "-c", .string(script)]], reports: reports)
        let batch = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1)))
        XCTAssertEqual(
            batch.metrics.map { "\($0.name)@\($0.step)=\($0.value)" }, ["loss@1=2.5", "loss@2=2.0", "lr@2=0.1"])
        XCTAssertEqual(batch.progress.last?.fraction, 0.5)
        XCTAssertEqual(batch.progress.last?.message, "half")
        XCTAssertEqual(batch.artifacts.map(\.artifact.name), ["model-final"])
        XCTAssertEqual(batch.artifacts.first?.artifact.bytes, 12)
        let messages = batch.logs.map(\.message)
        XCTAssertFalse(messages.contains { $0.contains("\"step\": 1") }, "a valid report is not a log line")
        XCTAssertTrue(messages.contains(#"@ops {"metric": "loss", "value": 1}"#), "a bad one is kept")
        XCTAssertTrue(
            messages.contains { $0.hasPrefix("ignored the @ops line above: \"step\": expected an integer >= 0") },
            "\(messages)")
        XCTAssertTrue(messages.contains("plain line"))
    }

    func testTheParserNamesWhatIsWrong() throws {
        XCTAssertNil(try OpsReportLine.parse("@opsx not a report"))
        XCTAssertEqual(
            try OpsReportLine.parse(#"@ops {"metric":"loss","step":3,"value":2.1}"#), .metrics(["loss": 2.1], step: 3))
        for (line, reason) in [
            ("@ops not json", "expected one JSON object"),
            (#"@ops {"metric":"loss","step":-1,"value":1}"#, "\"step\": expected an integer >= 0"),
            (#"@ops {"metric":"loss","step":1,"value":"x"}"#, "\"value\": expected a finite number"),
            (#"@ops {"progress":2}"#, "\"progress\": expected a fraction from 0 to 1"),
            (#"@ops {"metric":"","step":1,"value":1}"#, "\"metric\": expected a name of 1 to 200 bytes"),
            (#"@ops {"hello":1}"#, "expected a \"metric\", \"metrics\", \"progress\" or \"artifact\" key"),
        ] {
            XCTAssertThrowsError(try OpsReportLine.parse(line), line) { error in
                XCTAssertTrue("\(error)".hasPrefix(reason), "\(line): \(error)")
            }
        }
    }

    func testDeclaredDevicesAreHandedOutDisjointlyAndAPythonVenvComesFirstOnPath() async throws {
        let executor = CommandExecutor(advertisedAddress: "127.0.0.1", devices: ["0", "1", "2"])
        let venv = directory.appendingPathComponent("venv")
        try FileManager.default.createDirectory(
            at: venv.appendingPathComponent("bin"), withIntermediateDirectories: true)
        let tool = venv.appendingPathComponent("bin/which-env")
        try "#!/bin/sh\necho \"venv=$VIRTUAL_ENV devices=[$CUDA_VISIBLE_DEVICES]\"\n".write(
            to: tool, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: tool.path)
        let settings: AnyJSON = ["argv": ["which-env"], "venv": .string(venv.path)]
        func line(accelerators: Int64) async throws -> String? {
            let reports = ReportQueue()
            _ = try await run(settings, accelerators: accelerators, executor: executor, reports: reports)
            return try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1))).logs.first { $0.stream == .stdout }?.message
        }
        let two = try await line(accelerators: 2)
        XCTAssertEqual(two, "venv=\(venv.path) devices=[0,1]")
        // Another attempt on this worker holds two devices: this one gets the third, never one of those.
        let held = try XCTUnwrap(executor.devices.acquire(count: 2))
        XCTAssertEqual(held, ["0", "1"], "the first attempt gave its devices back")
        let one = try await line(accelerators: 1)
        XCTAssertEqual(one, "venv=\(venv.path) devices=[2]")
        let none = try await line(accelerators: 0)
        XCTAssertEqual(none, "venv=\(venv.path) devices=[]", "none asked: none visible")
        do {
            _ = try await line(accelerators: 2)
            XCTFail("two devices are not free")
        } catch let failure as TaskFailure {
            XCTAssertTrue(failure.message.hasPrefix("needs 2 accelerator devices but only 1"), failure.message)
        }
        executor.devices.release(held)

        do {
            _ = try await run(["argv": ["true"], "venv": "/no/such/venv"], reports: ReportQueue())
            XCTFail("a missing venv must fail")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.hasPrefix("command.venv: /no/such/venv is not a virtual environment"))
        }
    }

    func testGangPositionsNumberNodesByWorker() {
        let peers = [
            GangPeer(rank: 0, taskID: TaskID(1), workerID: WorkerID(9)),
            GangPeer(rank: 1, taskID: TaskID(2), workerID: WorkerID(9)),
            GangPeer(rank: 2, taskID: TaskID(3), workerID: WorkerID(4)),
        ]
        XCTAssertEqual(
            CommandGangPosition(gang: GangInfo(rank: 1, size: 3, peers: peers)),
            CommandGangPosition(rank: 1, worldSize: 3, nodeRank: 0, localRank: 1, localWorldSize: 2))
        XCTAssertEqual(
            CommandGangPosition(gang: GangInfo(rank: 2, size: 3, peers: peers)),
            CommandGangPosition(rank: 2, worldSize: 3, nodeRank: 1, localRank: 0, localWorldSize: 1))
        XCTAssertEqual(
            CommandGangPosition(gang: nil),
            CommandGangPosition(
                rank: 0, worldSize: 1, nodeRank: 0, localRank: 0,
                localWorldSize: 1))
    }
}
