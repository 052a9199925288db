// Issue 15: `opsctl up` did not restart a worker that crashed; it stayed `lost` until the next `opsctl up`.
// Now each local worker is supervised: one that exits while the cluster runs is started again (after 1 s,
// doubling while it keeps dying) under the same name and state directory.
import APITypes
import Foundation
import Postgres
import TestSupport
import XCTest

final class OpsctlUpWorkerRestartTests: XCTestCase {
    func testAWorkerKilledWithSIGKILLComesBackUnderTheSameName() async throws {
        let opsctl = try OpsctlBinary.path()
        let directory = try TemporaryDirectory.make(prefix: "llmops-sup-")
        defer { directory.remove() }
        let state = directory.path + "/state"
        let up = try ManagedProcess(
            name: "up", executable: opsctl, arguments: ["up", "--workers", "1", "--state-dir", state],
            environment: [:], logPath: directory.path + "/up.log")
        defer {
            up.kill9()
            try? EmbeddedPostgres(directory: state + "/postgres").stop()
        }
        try waitUntil("opsctl up is up", timeoutSeconds: 90) {
            if !up.isRunning { throw IntegrationFailure("opsctl up exited:\n\(up.output)") }
            return up.output.contains("cluster is up")
        }
        let http = RawHTTP(baseURL: try Self.read(state + "/server-url"))
        let token = try Self.read(state + "/admin-token")
        func worker() async throws -> WorkerView? {
            let answer = try await http.send("GET", APIRoute.workers.path(), token: token)
            return try answer.decoded(ListResponse<WorkerView>.self).items.first { $0.name == "local-1" }
        }
        try await waitUntil("local-1 registered", timeoutSeconds: 30) { try await worker()?.state == .alive }
        let id = try await worker()?.id
        let first = try XCTUnwrap(Self.workerProcesses(of: up.pid).first, "the worker process of opsctl up")

        kill(first, SIGKILL)
        let killedAt = Date()
        var restarted: Int32?
        try await waitUntil("a new local-1 process", timeoutSeconds: 30) {
            restarted = Self.workerProcesses(of: up.pid).first { $0 != first }
            return restarted != nil
        }
        try await waitUntil("the restarted local-1 heartbeats", timeoutSeconds: 30) {
            guard let view = try await worker(), view.state == .alive else { return false }
            return view.lastHeartbeatAt > killedAt
        }
        let workers = try await http.send("GET", APIRoute.workers.path(), token: token)
        XCTAssertEqual(
            try workers.decoded(ListResponse<WorkerView>.self).items.map(\.name), ["local-1"],
            "the same name, no second worker")
        // Issue 16: the restarted process proves it is local-1 with the token it kept in its work directory, so it
        // keeps the id while the killed process's registration still counts as alive.
        let restartedID = try await worker()?.id
        XCTAssertEqual(restartedID, id, "the same worker id")
        XCTAssertTrue(up.output.contains("worker local-1 was killed by signal 9; restarting it"), up.output)
        XCTAssertEqual(up.terminate(timeoutSeconds: 60), 0, up.output)
        XCTAssertFalse(restarted.map(ProcessLiveness.isAlive) ?? true, "the restarted worker is stopped too")
    }

    private static func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Child processes of `parent` running `opsctl worker`.
    static func workerProcesses(of parent: Int32) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", Int32(fields[1]) == parent,
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
            else { return nil }
            return command.split(separator: "\0").dropFirst().first == "worker" ? pid : nil
        }
    }
}

private enum ProcessLiveness {
    static func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }
}
