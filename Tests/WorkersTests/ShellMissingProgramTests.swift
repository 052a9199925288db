// Issue 15: a `shell` job whose program is missing failed with Foundation's raw error dump ("Error
// Domain=NSCocoaErrorDomain Code=4 ... UserInfo={NSFilePath=...}"). It now says what is wrong in the
// terms of the manifest: which setting, which path.

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class ShellMissingProgramTests: XCTestCase {
    private var directory: URL!

    override func setUp() { directory = temporaryDirectory("shell-missing") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func failure(_ settings: AnyJSON) async throws -> TaskFailure {
        let task = TaskAssignment(
            taskID: TaskID(5), attemptID: AttemptID(50), attemptNumber: 1, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60),
            jobID: JobID(1), jobName: "sh", jobType: "shell", spec: ["type": "shell", "shell": settings],
            resources: .zero)
        let context = ExecutionContext(
            task: task, workDirectory: directory.appendingPathComponent("work"), workerResources: .zero,
            artifactStore: FileArtifactStore(root: directory), reports: ReportQueue())
        do {
            _ = try await ShellExecutor().run(task, context: context)
        } catch let failure as TaskFailure {
            return failure
        }
        XCTFail("\(settings) must fail")
        return TaskFailure("did not fail")
    }

    func testAMissingProgramSaysNoSuchProgramAndItsPath() async throws {
        let absent = try await failure(["command": ["/nonexistent/bin/tool", "--flag"]])
        XCTAssertEqual(absent.message, "shell.command: no such program: /nonexistent/bin/tool")
        XCTAssertFalse(absent.retryable, "another attempt would find the same nothing")

        let relative = try await failure(["command": ["./not-here.sh"]])
        XCTAssertTrue(
            relative.message.hasPrefix("shell.command: no such program: ")
                && relative.message.hasSuffix("/not-here.sh"), relative.message)

        let onPath = try await failure(["command": ["no-such-program-xyz"]])
        XCTAssertTrue(
            onPath.message.hasPrefix("shell.command: no such program: no-such-program-xyz (searched PATH: "),
            onPath.message)
    }

    func testAFileThatIsNotExecutableAndAMissingWorkingDirectorySayWhat() async throws {
        let plain = directory.appendingPathComponent("plain.txt")
        try Data("echo hi\n".utf8).write(to: plain)
        let notExecutable = try await failure(["command": [.string(plain.path)]])
        XCTAssertEqual(notExecutable.message, "shell.command: not an executable program: \(plain.path)")
        XCTAssertFalse(notExecutable.retryable)

        let noDirectory = try await failure(["command": ["true"], "workingDirectory": "/nonexistent/work"])
        XCTAssertEqual(noDirectory.message, "shell.workingDirectory: no such directory: /nonexistent/work")
        for message in [notExecutable.message, noDirectory.message] {
            XCTAssertFalse(message.contains("Domain="), "no Foundation error dump: \(message)")
        }
    }
}
