import ClusterModel
import Foundation
import XCTest

@testable import APITypes

final class WireRoundTripTests: XCTestCase {
    private func roundTrip<T: Codable & Equatable>(_ value: T, file: StaticString = #filePath, line: UInt = #line)
        throws -> String
    {
        let data = try WireCoding.encode(value)
        let back = try WireCoding.decode(T.self, from: data)
        XCTAssertEqual(back, value, file: file, line: line)
        return String(decoding: data, as: UTF8.self)
    }

    // Milliseconds survive; sub-millisecond digits do not, so tests use whole milliseconds.
    private let t0 = Date(timeIntervalSince1970: 1_790_000_000.125)

    func testResourcesEncodeAcceleratorsAsAnObject() throws {
        let resources = Resources(cpuMillis: 8000, memoryBytes: 1 << 30, accelerators: ["gpu-h100": 8, "tpu-v5e": 4])
        let text = try roundTrip(resources)
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        let accelerators = object?["accelerators"] as? [String: Int]
        XCTAssertEqual(accelerators, ["gpu-h100": 8, "tpu-v5e": 4], text)
    }

    func testTimestampsAreISO8601WithMilliseconds() throws {
        let text = WireCoding.formatTimestamp(t0)
        XCTAssertTrue(text.hasSuffix(".125Z"), text)
        XCTAssertEqual(WireCoding.parseTimestamp(text), t0)
        XCTAssertEqual(WireCoding.parseTimestamp("2026-01-02T03:04:05Z")?.timeIntervalSince1970, 1_767_323_045)
        XCTAssertNil(WireCoding.parseTimestamp("yesterday"))
    }

    func testAnyJSONKeepsIntegersExactAndDistinguishesTypes() throws {
        let value: AnyJSON = [
            "big": .int(9_007_199_254_740_993), "pi": 3.5, "flag": true, "none": nil,
            "list": [1, "two", ["three": 3]],
        ]
        _ = try roundTrip(value)
        let decoded = try WireCoding.decode(AnyJSON.self, from: Data(#"{"a":1,"b":1.5,"c":true,"d":"x"}"#.utf8))
        XCTAssertEqual(decoded["a"], .int(1))
        XCTAssertEqual(decoded["b"], .double(1.5))
        XCTAssertEqual(decoded["c"], .bool(true), "booleans must not decode as numbers")
        XCTAssertEqual(decoded["d"]?.stringValue, "x")
        XCTAssertEqual(AnyJSON.double(3.0).intValue, 3)
        XCTAssertNil(AnyJSON.double(3.5).intValue)
        XCTAssertEqual(
            value.jsonText, #"{"big":9007199254740993,"flag":true,"list":[1,"two",{"three":3}],"none":null,"pi":3.5}"#)
    }

    func testAnyJSONDecodesEveryKindAtEveryDepth() throws {
        // Objects are tried first, then arrays, then the scalars (docs on `AnyJSON.init(from:)`): each kind, nested
        // in each container, must still come back as itself.
        let scalars: [(String, AnyJSON)] = [
            ("null", nil), ("true", true), ("false", false), ("0", .int(0)), ("-7", .int(-7)),
            ("9223372036854775807", .int(Int64.max)), ("9223372036854775808", .double(9_223_372_036_854_775_808)),
            ("2.5", .double(2.5)), ("1e300", .double(1e300)), (#""""#, ""), (#""1""#, "1"), (#""true""#, "true"),
            ("{}", .object([:])), ("[]", .array([])),
        ]
        for (text, expected) in scalars {
            XCTAssertEqual(try WireCoding.decode(AnyJSON.self, from: Data(text.utf8)), expected, text)
            let nested = #"{"a":[\#(text),{"b":\#(text)}],"c":\#(text)}"#
            XCTAssertEqual(
                try WireCoding.decode(AnyJSON.self, from: Data(nested.utf8)),
                ["a": [expected, ["b": expected]], "c": expected], nested)
        }
    }

    func testDatesDecodeFromTimestampsAndSecondsAndNameTheExpectedString() throws {
        struct Stamped: Codable { var at: Date }
        let text = #"{"at":"\#(WireCoding.formatTimestamp(t0))"}"#
        XCTAssertEqual(try WireCoding.decode(Stamped.self, from: Data(text.utf8)).at, t0)
        XCTAssertEqual(try WireCoding.decode(Stamped.self, from: Data(#"{"at":1790000000.125}"#.utf8)).at, t0)
        XCTAssertThrowsError(try WireCoding.decode(Stamped.self, from: Data(#"{"at":"soon"}"#.utf8))) { error in
            XCTAssertTrue("\(error)".contains("expected an ISO 8601 timestamp"), "\(error)")
        }
        XCTAssertThrowsError(try WireCoding.decode(Stamped.self, from: Data(#"{"at":true}"#.utf8))) { error in
            guard case DecodingError.typeMismatch(let type, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(type == String.self, "a value that is neither names the timestamp string: \(error)")
        }
    }

    func testAnyJSONDecodesTypedSpecs() throws {
        struct SleepSpec: Codable, Equatable { var seconds: Double }
        let spec: AnyJSON = ["seconds": 2]
        XCTAssertEqual(try spec.decode(as: SleepSpec.self), SleepSpec(seconds: 2))
        XCTAssertEqual(try AnyJSON(encoding: SleepSpec(seconds: 1.5)), ["seconds": 1.5])
        XCTAssertThrowsError(try AnyJSON.object(["seconds": "soon"]).decode(as: SleepSpec.self))
    }

    func testWorkerProtocolRoundTrips() throws {
        _ = try roundTrip(
            RegisterWorkerRequest(
                name: "node-1", resources: Resources(cpuMillis: 2000, accelerators: ["gpu-h100": 8]),
                labels: ["zone": "a"], version: "0.1.0", kinds: ["noop", "sleep"], maxConcurrentTasks: 4))
        _ = try roundTrip(
            RegisterWorkerRequest(
                name: "node-1", resources: Resources(cpuMillis: 2000), version: "0.1.0", kinds: ["noop"],
                maxConcurrentTasks: 1, workerToken: "w-secret"))
        _ = try roundTrip(
            RegisterWorkerResponse(
                workerID: WorkerID(7), heartbeatIntervalSeconds: 2, leaseDurationSeconds: 10, workerToken: "w-secret"))
        _ = try roundTrip(
            HeartbeatRequest(
                workerID: WorkerID(7),
                attempts: [HeldAttempt(taskID: TaskID(1), attemptID: AttemptID(2), progress: 0.5)]))
        _ = try roundTrip(
            HeartbeatResponse(
                leases: [LeaseExtension(attemptID: AttemptID(2), leaseDeadline: t0)],
                cancel: [CancelSignal(taskID: TaskID(3), attemptID: AttemptID(4), reason: "job cancelled")],
                preempt: [
                    PreemptSignal(taskID: TaskID(5), attemptID: AttemptID(6), graceDeadline: t0, reason: "priority")
                ],
                staleAttempts: [AttemptID(9)], heartbeatIntervalSeconds: 2))
        _ = try roundTrip(
            PollRequest(workerID: WorkerID(7), maxTasks: 16, waitSeconds: 20, available: Resources(cpuMillis: 1000)))
        let gang = GangInfo(
            rank: 1, size: 2,
            peers: [
                GangPeer(rank: 0, taskID: TaskID(10), workerID: WorkerID(1), workerName: "a"),
                GangPeer(rank: 1, taskID: TaskID(11), workerID: WorkerID(7), workerName: "node-1"),
            ])
        let assignment = TaskAssignment(
            taskID: TaskID(11), attemptID: AttemptID(20), attemptNumber: 2, maxAttempts: 3, leaseDeadline: t0,
            jobID: JobID(1), jobName: "train", jobType: "train", taskIndex: 1, taskCount: 2,
            spec: ["steps": 100], resources: Resources(cpuMillis: 1000), gang: gang)
        let text = try roundTrip(PollResponse(assignments: [assignment]))
        XCTAssertTrue(text.contains(#""taskID":11"#), "ids are plain integers: \(text)")
        _ = try roundTrip(DeregisterWorkerRequest(workerID: WorkerID(7), releasedAttempts: [AttemptID(20)]))
    }

    func testReportBatchRoundTripAndMissingArraysDecodeEmpty() throws {
        let a = ArtifactRecord(
            name: "ckpt", location: "/artifacts/x", sha256: String(repeating: "ab", count: 32), bytes: 10,
            kind: "checkpoint")
        let batch = ReportBatch(
            workerID: WorkerID(1),
            progress: [
                ProgressReport(taskID: TaskID(1), attemptID: AttemptID(1), fraction: 0.25, step: 5, totalSteps: 20)
            ],
            logs: [
                LogLineReport(
                    taskID: TaskID(1), attemptID: AttemptID(1), sequence: 1, time: t0, stream: .stdout, message: "hi")
            ],
            metrics: [
                MetricReport(taskID: TaskID(1), attemptID: AttemptID(1), name: "loss", step: 5, value: 2.5, time: t0)
            ],
            artifacts: [ArtifactReport(taskID: TaskID(1), attemptID: AttemptID(1), artifact: a)],
            completions: [
                CompletionReport(taskID: TaskID(2), attemptID: AttemptID(3), result: ["ok": true], artifacts: [a])
            ],
            failures: [
                FailureReport(
                    taskID: TaskID(4), attemptID: AttemptID(5), message: "boom", retryable: true, reason: .preempted)
            ])
        _ = try roundTrip(batch)
        XCTAssertEqual(batch.itemCount, 6)
        XCTAssertEqual(batch.attemptIDs, [AttemptID(1), AttemptID(3), AttemptID(5)])
        let minimal = try WireCoding.decode(
            ReportBatch.self,
            from: Data(#"{"workerID":3,"completions":[{"taskID":1,"attemptID":2,"result":null,"artifacts":[]}]}"#.utf8))
        XCTAssertEqual(minimal.completions.count, 1)
        XCTAssertTrue(minimal.logs.isEmpty)
        XCTAssertNil(minimal.next, "a batch without `next` claims nothing")
        // Empty lists are left out of the text, and the batch still decodes as it was.
        let completionOnly = ReportBatch(
            workerID: WorkerID(3), completions: [CompletionReport(taskID: TaskID(1), attemptID: AttemptID(2))],
            next: PollRequest(workerID: WorkerID(3), maxTasks: 1, waitSeconds: 0, available: .zero))
        let completionText = try roundTrip(completionOnly)
        let members = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(completionText.utf8)) as? [String: Any], completionText)
        XCTAssertEqual(
            Set(members.keys), ["workerID", "completions", "next"], "empty lists are written: \(completionText)")
        XCTAssertEqual(try roundTrip(ReportBatch(workerID: WorkerID(9))), #"{"workerID":9}"#)
        _ = try roundTrip(ReportBatchResponse(accepted: 3, duplicates: 1, staleAttempts: [AttemptID(5)]))
        // A report that claims: its `next` poll and the answer's assignments.
        var claiming = batch
        claiming.next = PollRequest(
            workerID: WorkerID(3), maxTasks: 4, waitSeconds: 0, available: Resources(cpuMillis: 2000))
        XCTAssertTrue(try roundTrip(claiming).contains(#""next":{"#))
        let assignment = TaskAssignment(
            taskID: TaskID(6), attemptID: AttemptID(7), attemptNumber: 1, maxAttempts: 3, leaseDeadline: t0,
            jobID: JobID(1), jobName: "j", jobType: "noop", spec: [:], resources: Resources(cpuMillis: 1000))
        XCTAssertTrue(
            try roundTrip(ReportBatchResponse(accepted: 1, assignments: [assignment])).contains("assignments"))
        XCTAssertFalse(try roundTrip(ReportBatchResponse(accepted: 1)).contains("assignments"), "no claim asked")
    }

    func testAdminViewsRoundTrip() throws {
        let metric = MetricPointView(
            id: 1, jobID: JobID(1), taskID: TaskID(2), attemptID: AttemptID(3), name: "loss", step: 10, value: 1.25,
            time: t0)
        let artifact = ArtifactView(
            id: ArtifactID(4), name: "ckpt", kind: "checkpoint", jobID: JobID(1), location: "/a", sha256: "00",
            bytes: 1, createdAt: t0)
        let job = JobView(
            id: JobID(1), name: "pretrain", type: "train", state: .running, replicas: 2, after: ["tokenize"],
            tasks: TaskCounts([.running, .succeeded, .queued]), pendingReason: nil, submittedAt: t0, startedAt: t0,
            manifest: ["kind": "Job"], results: [TaskResultView(taskID: TaskID(2), index: 0, result: ["loss": 1.5])],
            latestMetrics: [metric], artifacts: [artifact])
        _ = try roundTrip(SubmitManifestsResponse(jobs: [SubmittedJob(outcome: .created, job: job)]))
        _ = try roundTrip(ListResponse(items: [job], nextCursor: "abc"))
        let attempt = AttemptView(
            id: AttemptID(3), number: 1, workerID: WorkerID(9), state: .expired, leaseDeadline: t0, startedAt: t0,
            finishedAt: t0, message: "lease expired")
        _ = try roundTrip(
            TaskView(
                id: TaskID(2), jobID: JobID(1), jobName: "pretrain", index: 0, state: .queued, attempts: [attempt],
                notBefore: t0, createdAt: t0, updatedAt: t0, lastError: "lease expired"))
        _ = try roundTrip(
            WorkerView(
                id: WorkerID(9), name: "n", state: .lost, version: "1", resources: Resources(cpuMillis: 1),
                registeredAt: t0, lastHeartbeatAt: t0))
        _ = try roundTrip(
            EventView(
                id: 5, time: t0, type: "task.leased", jobID: JobID(1), taskID: TaskID(2), fromState: "queued",
                toState: "running", message: "leased"))
        _ = try roundTrip(
            LogsResponse(
                lines: [
                    LogLineView(
                        id: 8, jobID: JobID(1), taskID: TaskID(2), attemptID: AttemptID(3), attemptNumber: 1,
                        sequence: 1, time: t0, stream: .system, message: "started")
                ], nextSince: 8, complete: false))
        _ = try roundTrip(
            DatasetView(
                id: DatasetID(1), name: "web", state: "ready", shardCount: 2, tokenCount: 100, bytes: 400, createdAt: t0
            ))
        _ = try roundTrip(
            ShardView(
                datasetName: "web", index: 0, location: "/s/0", sha256: "ff", bytes: 200, tokens: 50, createdAt: t0))
        _ = try roundTrip(
            ReadinessResponse(ready: false, checks: ["database": "connection refused"], message: "database unreachable")
        )
        let submit = try WireCoding.decode(
            SubmitManifestsRequest.self, from: Data(#"{"documents":[{"kind":"Job"}]}"#.utf8))
        XCTAssertFalse(submit.dryRun)
        XCTAssertEqual(submit.documents, [["kind": "Job"]])
    }

    func testTaskCountsCountStates() {
        let counts = TaskCounts([.queued, .queued, .running, .succeeded, .failed, .cancelled, .blocked])
        XCTAssertEqual(counts.queued, 2)
        XCTAssertEqual(counts.total, 7)
        XCTAssertEqual(counts.finished, 3)
        XCTAssertEqual(counts[.running], 1)
    }

    func testErrorBodyShapeAndStatus() throws {
        let body = APIErrorBody(
            code: .staleAttempt, message: "attempt 5 of task 4 is no longer live (lease expired); drop its work")
        let text = try roundTrip(body)
        XCTAssertTrue(text.hasPrefix(#"{"error":{"#), text)
        XCTAssertEqual(APIErrorCode.staleAttempt.httpStatus, 409)
        XCTAssertEqual(APIErrorCode.invalidManifest.httpStatus, 422)
        XCTAssertEqual(APIErrorCode("something_new").httpStatus, 500)
    }

    func testDecodingErrorsNameTheFieldPath() {
        do {
            _ = try WireCoding.decode(
                PollRequest.self,
                from: Data(
                    #"{"workerID":1,"maxTasks":"many","waitSeconds":1,"available":{"cpuMillis":0,"memoryBytes":0,"accelerators":{}}}"#
                        .utf8))
            XCTFail("expected a decoding error")
        } catch {
            XCTAssertTrue(
                WireCoding.describe(error).hasPrefix("body.maxTasks: expected Int"), WireCoding.describe(error))
        }
        do {
            _ = try WireCoding.decode(ReportBatch.self, from: Data(#"{"workerID":1,"logs":[{"taskID":1}]}"#.utf8))
            XCTFail("expected a decoding error")
        } catch {
            XCTAssertTrue(
                WireCoding.describe(error).hasPrefix("body.logs[0].attemptID: required field is missing"),
                WireCoding.describe(error))
        }
    }

    func testRoutesEscapeNamesAndBuildQueries() {
        XCTAssertEqual(APIRoute.job.path("pre train/1"), "/v1/jobs/pre%20train%2F1")
        XCTAssertEqual(
            APIRoute.withQuery(APIRoute.jobLogs.path("a"), [("since", "5"), ("task", nil)]), "/v1/jobs/a/logs?since=5")
        XCTAssertEqual(APIRoute.withQuery("/v1/jobs", []), "/v1/jobs")
    }
}
