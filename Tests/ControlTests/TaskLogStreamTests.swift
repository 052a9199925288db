// Issue 15: every log line was shown as `stdout` with attempt number 0 (the view hard-coded both), so a
// task's errors could not be told from its output, nor a retry's lines from the first attempt's. The worker
// always reported the stream; now the store keeps it, and each row its attempt's number.

import APITypes
import ClusterModel
import Foundation
import TestSupport
import XCTest

final class TaskLogStreamTests: XCTestCase {
    /// A shell task writes to both streams and fails its first attempt; its retry succeeds. The log route
    /// shows each line's own stream and the number of the attempt that wrote it.
    func testLogLinesKeepTheirStreamAndAttemptNumber() async throws {
        let cluster = try InProcessCluster()
        cluster.startWorker(name: "shell", maxTasks: 1)
        let script =
            #"echo "out $OPS_ATTEMPT_NUMBER"; echo "err $OPS_ATTEMPT_NUMBER" >&2; [ "$OPS_ATTEMPT_NUMBER" = 2 ]"#
        var job = ReportRequests.job(
            "two-streams", type: "shell", tasks: 1, settings: ["command": ["sh", "-c", .string(script)]])
        if case .object(var members) = job, case .object(var spec)? = members["spec"] {
            spec["retry"] = ["maxAttempts": 2, "backoffSeconds": 0.1, "maxBackoffSeconds": 0.1]
            members["spec"] = .object(spec)
            job = .object(members)
        }
        _ = try await cluster.admin.submit([job])
        try await waitUntil("the retry succeeds", timeoutSeconds: 30, intervalSeconds: 0.1) {
            try await cluster.admin.job("two-streams").state == .succeeded
        }
        let lines = try await cluster.admin.logs(job: "two-streams").lines.filter { $0.stream != .system }
        let seen = Set(lines.map { "\($0.attemptNumber) \($0.stream.rawValue) \($0.message)" })
        XCTAssertEqual(
            seen, ["1 stdout out 1", "1 stderr err 1", "2 stdout out 2", "2 stderr err 2"],
            "each line with its attempt's number and its own stream")
        let attempts = try await cluster.admin.tasks(job: "two-streams").flatMap(\.attempts)
        for line in lines {
            XCTAssertEqual(attempts.first { $0.id == line.attemptID }?.number, line.attemptNumber, line.message)
        }
        await cluster.shutdown()
    }
}
