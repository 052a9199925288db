import APITypes
import ClusterModel
import DataShards
import Foundation
import XCTest

@testable import Workers

/// The stream and verify executors on real shard files: materialized slices equal the library's stream and
/// are exactly-once under retries; corrupt inputs fail without retry, naming the shard, with `badShards`
/// details the control plane marks; verify parts cover every shard once.
final class StreamExecutorTests: XCTestCase {
    private var directory: URL!
    private var root: String { directory.path }

    override func setUp() { directory = temporaryDirectory("stream-executor") }
    override func tearDown() { try? FileManager.default.removeItem(at: directory) }

    private func assignment(_ type: String, spec: AnyJSON, attempt: Int = 1) -> TaskAssignment {
        TaskAssignment(
            taskID: TaskID(7), attemptID: AttemptID(70 + Int64(attempt)), attemptNumber: attempt, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(1), jobName: "j", jobType: type, taskIndex: 0,
            spec: spec, resources: Resources(cpuMillis: 100))
    }

    private func context(for task: TaskAssignment) -> ExecutionContext {
        ExecutionContext(
            task: task, workDirectory: directory.appendingPathComponent("work-\(task.attemptID)"),
            workerResources: Resources(cpuMillis: 1000),
            artifactStore: FileArtifactStore(root: directory.appendingPathComponent("store")), reports: ReportQueue())
    }

    /// Shards of random documents plus index.json.
    @discardableResult
    private func makeDataset(_ name: String, shards: Int, seed: UInt64) throws -> DatasetIndex {
        let dir = root + "/" + name
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var index = DatasetIndex(name: name, tokenizerHash: "tok", vocabularySize: 500, endOfTextID: 499)
        for s in 0..<shards {
            let writer = try ShardWriter(
                directory: dir, name: String(format: "\(name)-%05d", s), dtype: index.dtype, endOfTextID: 499)
            for _ in 0..<15 {
                try writer.appendDocument((0..<(3 + Int(next() % 60))).map { _ in UInt32(next() % 499) })
            }
            try index.record(try writer.finish())
        }
        try index.write(toDirectory: dir)
        return index
    }

    private func streamSpec(start: Int64, end: Int64, shard: Int, inputs: [StreamTaskInput]) -> StreamTaskSpec {
        StreamTaskSpec(
            inputs: inputs, sequenceLength: 20, seed: 5, shuffleWindow: 8, shardIndex: shard, shardCount: 2,
            start: start, end: end,
            totalSamples: 120, outputDataset: "mix", outputDirectory: root + "/out/mix", cacheDirectory: nil)
    }

    func testMaterializedSlicesEqualTheLibraryStreamAndRetriesAreNoOps() async throws {
        try makeDataset("a", shards: 2, seed: 1)
        try makeDataset("b", shards: 1, seed: 2)
        let inputs = [
            StreamTaskInput(dataset: "a", location: root + "/a", weight: 3),
            StreamTaskInput(dataset: nil, location: root + "/b", weight: 1),
        ]
        var results: [AnyJSON] = []
        for (shard, range) in [(1, Int64(70)..<120), (0, 0..<70), (1, 70..<120)] { // out of order, shard 1 retried
            let task = assignment(
                "stream",
                spec: try AnyJSON(
                    encoding: streamSpec(start: range.lowerBound, end: range.upperBound, shard: shard, inputs: inputs)))
            results.append(try await StreamExecutor().run(task, context: context(for: task)).result)
        }
        XCTAssertEqual(results[0], results[2], "a retried slice reports the same shard")
        let index = try DatasetIndex.load(fromDirectory: root + "/out/mix")
        XCTAssertEqual(index.shards.map(\.name), ["mix-00000", "mix-00001"])
        XCTAssertEqual(index.provenance?.inputs.map(\.dataset), ["a", "b"])
        XCTAssertEqual(index.provenance?.seed, 5)
        let facts = try XCTUnwrap(results[1]["datasetShard"])
        XCTAssertEqual(facts["sha256"]?.stringValue, index.shards[0].binSHA256)
        XCTAssertEqual(facts["location"]?.stringValue, root + "/out/mix/mix-00000.bin")
        XCTAssertEqual(facts["dataset"]?.stringValue, "mix")
        XCTAssertEqual(facts["index"]?.intValue, 0)
        XCTAssertEqual(facts["provenance"]?["seed"]?.intValue, 5)

        let stream = try TokenStream(
            StreamConfiguration(
                sources: [try .directory(root + "/a", weight: 3), try .directory(root + "/b", weight: 1)],
                sequenceLength: 20, batchSize: 1, seed: 5, shuffleWindow: 8))
        var expected: [Int32] = []
        var ids: [SampleID] = []
        try stream.read(globalPositions: 0, count: 120, into: &expected, ids: &ids)
        var written: [Int32] = []
        for shard in index.shards {
            let reader = try ShardReader(prefix: root + "/out/mix/" + shard.name)
            for i in 0..<reader.sequenceCount { written += try reader.tokens(ofDocument: i).map { Int32($0) } }
        }
        XCTAssertTrue(written == expected, "materialized output differs from the stream")
    }

    func testCorruptInputFailsWithoutRetryNamingTheShardWithBadShardDetails() async throws {
        try makeDataset("a", shards: 3, seed: 3)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: root + "/a/a-00002.bin"))
        bytes[bytes.count / 3] ^= 0x5A
        try bytes.write(to: URL(fileURLWithPath: root + "/a/a-00002.bin"))
        let spec = StreamTaskSpec(
            inputs: [StreamTaskInput(dataset: "web", location: root + "/a", weight: 1)], sequenceLength: 20, seed: 1,
            shuffleWindow: 8, shardIndex: 0, shardCount: 1, start: 0, end: 40, totalSamples: 40,
            outputDataset: "mix", outputDirectory: root + "/out/mix", cacheDirectory: nil)
        let task = assignment("stream", spec: try AnyJSON(encoding: spec))
        let ctx = context(for: task)
        do {
            _ = try await StreamExecutor().run(task, context: ctx)
            XCTFail("a corrupt shard must stop the task")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("a-00002"), failure.message)
            let reports = try XCTUnwrap(failure.details?[BadShardReport.resultKey]).decode(as: [BadShardReport].self)
            XCTAssertEqual(reports.map(\.shard), ["a-00002"])
            XCTAssertEqual(reports.map(\.dataset), ["web"], "named by the control plane's dataset name")
            // The daemon sends the details with the failure report.
            guard case .failed(let report) = WorkerDaemon.classify(failure, context: ctx, assignment: task) else {
                return XCTFail("not a failure")
            }
            XCTAssertEqual(report.details, failure.details)
            XCTAssertFalse(report.retryable)
        }
        let written = (try? FileManager.default.contentsOfDirectory(atPath: root + "/out/mix")) ?? []
        XCTAssertFalse(
            written.contains { $0.hasSuffix(".bin") || $0.hasSuffix(".idx") }, "nothing committed: \(written)")
    }

    func testVerifyPartsCoverEveryShardOnceAndReportTheBadOne() async throws {
        let index = try makeDataset("v", shards: 5, seed: 4)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: root + "/v/v-00001.idx"))
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: root + "/v/v-00001.idx"))
        var checked: [String] = []
        var bad: [BadShardReport] = []
        for part in 0..<2 {
            let task = assignment(
                "verify",
                spec: try AnyJSON(
                    encoding: VerifyTaskSpec(
                        dataset: "v", location: root + "/v", part: part, parts: 2, cacheDirectory: nil)))
            do {
                let result = try await VerifyExecutor().run(task, context: context(for: task)).result
                checked += (result["shards"]?.arrayValue ?? []).compactMap(\.stringValue)
            } catch let failure as TaskFailure {
                XCTAssertFalse(failure.retryable)
                XCTAssertTrue(
                    failure.message.contains("v-00001") && failure.message.contains("1 of 2 shard"), failure.message)
                bad += try XCTUnwrap(failure.details?[BadShardReport.resultKey]).decode(as: [BadShardReport].self)
            }
        }
        XCTAssertEqual(bad.map(\.shard), ["v-00001"])
        XCTAssertEqual(bad.map(\.dataset), ["v"])
        // Part 0 holds shards 0, 2, 4 (all good); part 1 holds 1 and 3 and fails on 1.
        XCTAssertEqual(checked, ["v-00000", "v-00002", "v-00004"])
        XCTAssertEqual(index.shards.count, 5)
    }

    func testStreamKindRunsVerifyTasksOfModeVerify() async throws {
        try makeDataset("w", shards: 2, seed: 6)
        let task = assignment(
            "stream",
            spec: try AnyJSON(
                encoding: VerifyTaskSpec(dataset: "w", location: root + "/w", part: 0, parts: 1, cacheDirectory: nil)))
        let result = try await StreamExecutor().run(task, context: context(for: task)).result
        XCTAssertEqual(result["checked"]?.intValue, 2)
        XCTAssertEqual(result["shards"]?.arrayValue?.compactMap(\.stringValue), ["w-00000", "w-00001"])
    }

    func testBadSpecIsNotRetried() async throws {
        let task = assignment("stream", spec: ["inputs": "nope"])
        do {
            _ = try await StreamExecutor().run(task, context: context(for: task))
            XCTFail("expected a failure")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
        }
        let missing = assignment(
            "verify",
            spec: try AnyJSON(
                encoding: VerifyTaskSpec(dataset: nil, location: root + "/none", part: 0, parts: 1, cacheDirectory: nil)
            ))
        do {
            _ = try await VerifyExecutor().run(missing, context: context(for: missing))
            XCTFail("expected a failure")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains(root + "/none"), failure.message)
        }
    }
}
