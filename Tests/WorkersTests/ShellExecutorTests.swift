import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class ShellExecutorTests: XCTestCase {
    private var directory: URL!

    override func setUp() { directory = temporaryDirectory("shell") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func assignment(_ settings: AnyJSON) -> TaskAssignment {
        // The whole manifest spec, with the kind's section inside: executors read `settings`.
        TaskAssignment(
            taskID: TaskID(5), attemptID: AttemptID(50), attemptNumber: 1, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60),
            jobID: JobID(1), jobName: "sh", jobType: "shell", spec: ["type": "shell", "shell": settings],
            resources: .zero)
    }

    private func run(
        _ settings: AnyJSON, reports: ReportQueue = ReportQueue(), during: ((ExecutionContext) async -> Void)? = nil
    ) async throws -> TaskResult {
        let task = assignment(settings)
        let context = ExecutionContext(
            task: task, workDirectory: directory.appendingPathComponent("work"), workerResources: .zero,
            artifactStore: FileArtifactStore(root: directory), reports: reports)
        let running = Task { try await ShellExecutor().run(task, context: context) }
        if let during { await during(context) }
        return try await running.value
    }

    func testRunsTheProgramAndStreamsItsOutputAsLogLines() async throws {
        let reports = ReportQueue()
        let result = try await run(
            [
                "command": ["sh", "-c", "echo hello; echo oops >&2; echo $GREETING $OPS_TASK_ID; pwd"],
                "env": ["GREETING": "hi"],
            ],
            reports: reports)
        XCTAssertEqual(result.result["exitStatus"], 0)
        let lines = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1))).logs
        XCTAssertTrue(lines.contains { $0.stream == .stdout && $0.message == "hello" })
        XCTAssertTrue(lines.contains { $0.stream == .stderr && $0.message == "oops" })
        XCTAssertTrue(lines.contains { $0.message == "hi 5" }, "task env and OPS_TASK_ID reach the program")
        XCTAssertTrue(lines.contains { $0.message.hasSuffix("/work") }, "runs in the attempt's work directory")
    }

    /// PostgreSQL cannot store NUL: a program printing one gets U+FFFD in its log line, the rest kept.
    func testANULInTheOutputIsLoggedAsTheReplacementCharacter() async throws {
        let reports = ReportQueue()
        _ = try await run(["command": ["sh", "-c", #"printf 'before\000after\n'"#]], reports: reports)
        let lines = try XCTUnwrap(reports.takeBatch(workerID: WorkerID(1))).logs.filter { $0.stream == .stdout }.map(
            \.message)
        XCTAssertEqual(lines, ["before\u{FFFD}after"])
    }

    func testNonZeroExitIsARetryableFailureAndMissingProgramIsNot() async throws {
        do {
            _ = try await run(["command": ["sh", "-c", "exit 3"]])
            XCTFail("exit 3 must fail")
        } catch let failure as TaskFailure {
            XCTAssertEqual(failure.message, "sh exited with status 3")
            XCTAssertTrue(failure.retryable)
        }
        do {
            _ = try await run(["command": ["no-such-program-xyz"]])
            XCTFail("a missing program must fail")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(
                failure.message.hasPrefix("shell.command: no such program: no-such-program-xyz"), failure.message)
        }
        do {
            _ = try await run(["command": []])
            XCTFail("an empty command must fail")
        } catch let failure as TaskFailure {
            XCTAssertTrue(failure.message.hasPrefix("spec.shell.command: expected a non-empty list"), failure.message)
        }
    }

    func testTimeoutAndCancellationStopTheProcess() async throws {
        let started = Date()
        do {
            _ = try await run(["command": ["sleep", "30"], "timeoutSeconds": 0.2])
            XCTFail("must time out")
        } catch let failure as TaskFailure {
            XCTAssertTrue(failure.message.contains("timed out"), failure.message)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)

        let cancelStarted = Date()
        do {
            _ = try await run(["command": ["sleep", "30"]]) { context in
                try? await Task.sleep(nanoseconds: 200_000_000)
                context.signalStop(.cancelled(reason: "user asked"))
            }
            XCTFail("must stop when cancelled")
        } catch let stopped as ExecutionStopped {
            XCTAssertEqual(stopped, .cancelled(reason: "user asked"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(cancelStarted), 5)
    }

    func testSecretsAreNotPassedToTheProgram() {
        let task = assignment(["command": ["true"]])
        let environment = ShellExecutor.environment(
            for: task, workDirectory: directory, extra: ["MINE": "1"],
            inherited: [
                "PATH": "/bin", "OPS_JOIN_TOKEN": "s", "OPS_TOKEN_FILE": "/t",
                "OPS_DATABASE_URL": "postgresql://u:p@h/d", "AWS_SECRET_ACCESS_KEY": "k",
            ])
        XCTAssertEqual(environment["PATH"], "/bin")
        XCTAssertNil(environment["OPS_JOIN_TOKEN"])
        XCTAssertNil(environment["OPS_TOKEN_FILE"])
        XCTAssertNil(environment["OPS_DATABASE_URL"])
        XCTAssertNil(environment["AWS_SECRET_ACCESS_KEY"])
        XCTAssertEqual(environment["MINE"], "1")
        XCTAssertEqual(environment["OPS_ATTEMPT_ID"], "50")
    }

    func testSettingsAcceptTheSectionOrTheWholeSpec() {
        let sectioned = assignment(["command": ["true"]])
        XCTAssertEqual(sectioned.settings, ["command": ["true"]])
        var flat = sectioned
        flat.spec = ["seconds": 2]
        flat.jobType = "sleep"
        XCTAssertEqual(flat.settings, ["seconds": 2])
    }
}
