// The real `opsctl` binary as a child process: exit codes, a worker daemon process against a control-plane
// endpoint, SIGTERM, and table/JSON output. Needs the opsctl product built next to the test bundle
// (`swift build --build-tests` builds it).

import APITypes
import ClusterModel
import Foundation
import XCTest

@testable import Workers

final class OpsctlProcessTests: XCTestCase {
    private func opsctlPath() throws -> String { try opsctlBinaryPath(besides: Self.self) }

    private struct Finished {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    private func launch(_ arguments: [String], environment: [String: String] = [:]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try opsctlPath())
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("OPS_") }
        env["HOME"] = FileManager.default.temporaryDirectory.path + "/opsctl-home-\(UUID().uuidString)"
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        return (process, out, err)
    }

    private func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Finished {
        let (process, out, err) = try launch(arguments, environment: environment)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Finished(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    func testExitCodesAndHelp() throws {
        let unknown = try run(["frobnicate"])
        XCTAssertEqual(unknown.status, 2)
        XCTAssertTrue(unknown.stderr.contains("unknown command 'frobnicate'"), unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("USAGE: opsctl <command>"), unknown.stderr)
        let badFlag = try run(["get", "jobs", "--colour"])
        XCTAssertEqual(badFlag.status, 2)
        XCTAssertTrue(badFlag.stderr.contains("get: unknown option '--colour'"), badFlag.stderr)
        let help = try run(["apply", "--help"])
        XCTAssertEqual(help.status, 0)
        XCTAssertTrue(help.stdout.contains("--wait"), help.stdout)
        let version = try run(["version"])
        XCTAssertEqual(version.stdout, "opsctl \(opsVersion)\n")
        let unreachable = try run(["get", "jobs", "--server", "http://127.0.0.1:1"], environment: ["OPS_TOKEN": "t"])
        XCTAssertEqual(unreachable.status, 1)
        XCTAssertTrue(unreachable.stderr.contains("control plane unreachable"), unreachable.stderr)
    }

    func testGetJobsPrintsATableOrJSON() throws {
        let plane = try MiniControlPlane()
        defer { plane.stop() }
        let submitted = Date().addingTimeInterval(-75)
        plane.withState {
            $0.jobs = [
                JobView(
                    id: JobID(1), name: "tokenize-web", type: "tokenize", state: .running,
                    tasks: TaskCounts(queued: 2, running: 1, succeeded: 5), submittedAt: submitted)
            ]
        }
        let table = try run(["get", "jobs", "--server", plane.url], environment: ["OPS_TOKEN": plane.adminToken])
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("NAME"), table.stdout)
        XCTAssertTrue(lines[1].hasPrefix("tokenize-web  tokenize  running  5/8"), table.stdout)
        let json = try run(
            ["get", "jobs", "-o", "json", "--server", plane.url], environment: ["OPS_TOKEN": plane.adminToken])
        XCTAssertEqual(json.status, 0, json.stderr)
        let decoded = try WireCoding.decode([JobView].self, from: Data(json.stdout.utf8))
        XCTAssertEqual(decoded.first?.name, "tokenize-web")
        let denied = try run(["get", "jobs", "--server", plane.url], environment: ["OPS_TOKEN": "wrong"])
        XCTAssertEqual(denied.status, 1)
        XCTAssertTrue(denied.stderr.contains("OPS_TOKEN"), "the error says which setting to fix: \(denied.stderr)")
    }

    func testWorkerProcessRunsTasksAndStopsCleanlyOnSIGTERM() throws {
        let plane = try MiniControlPlane()
        defer { plane.stop() }
        let state = temporaryDirectory("worker-process")
        defer { try? FileManager.default.removeItem(at: state) }
        let tokenFile = state.appendingPathComponent("join-token")
        try plane.joinToken.write(to: tokenFile, atomically: true, encoding: .utf8)
        plane.addTasks(10, type: "noop")
        plane.addTasks(1, type: "sleep", spec: ["sleep": ["seconds": 60]])
        let (process, _, err) = try launch(
            [
                "worker", "--server", plane.url, "--name", "proc-1", "--cpus", "2", "--memory", "1Gi",
                "--state-dir", state.path, "--poll-wait", "1",
            ],
            environment: ["OPS_JOIN_TOKEN_FILE": tokenFile.path])
        let deadline = Date().addingTimeInterval(15)
        while plane.withState({ $0.completions.count }) < 10 && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.05)
        }
        XCTAssertEqual(plane.withState { $0.completions.count }, 10)
        XCTAssertEqual(plane.withState { $0.registrations.first?.name }, "proc-1")
        XCTAssertEqual(
            plane.withState { $0.registrations.first?.resources }, Resources(cpuMillis: 2000, memoryBytes: 1 << 30))
        // The sleep task is running; SIGTERM hands it back and the worker exits 0.
        kill(process.processIdentifier, SIGTERM)
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        let log = String(decoding: stderr, as: UTF8.self)
        XCTAssertTrue(log.contains("shutting down"), log)
        XCTAssertFalse(
            log.contains(plane.joinToken) || log.contains(plane.workerToken), "tokens never appear in the worker's log")
        plane.withState { plane in
            XCTAssertEqual(plane.failures.count, 1)
            XCTAssertEqual(plane.failures.first?.reason, .preempted, "the running attempt was handed back, not failed")
            XCTAssertEqual(plane.deregistrations.count, 1)
        }
    }
}
