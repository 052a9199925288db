import APITypes
import Checksum
import ClusterModel
import DataShards
import Foundation
import XCTest

@testable import Workers

/// The tokenize executors for a dataset with no host location: a trained tokenizer is stored through the
/// artifact store (nothing written where a directory would be), and a tokenize task the control plane could not
/// point at its helper jobs fails for good, naming what is missing.
final class TokenizeByNameExecutorTests: XCTestCase {
    private var root: URL!

    override func setUp() { root = temporaryDirectory("tokenize-by-name") }
    override func tearDown() { try? FileManager.default.removeItem(at: root) }

    private func run(_ executor: any JobExecutor, type: String, spec: some Encodable) async throws -> TaskResult {
        let task = TaskAssignment(
            taskID: TaskID(7), attemptID: AttemptID(71), attemptNumber: 1, maxAttempts: 3,
            leaseDeadline: Date().addingTimeInterval(60), jobID: JobID(1), jobName: "tok-tokenizer", jobType: type,
            taskIndex: 0, spec: try AnyJSON(encoding: spec), resources: Resources(cpuMillis: 100))
        let context = ExecutionContext(
            task: task, workDirectory: root.appendingPathComponent("work"), workerResources: Resources(cpuMillis: 1000),
            artifactStore: FileArtifactStore(root: root.appendingPathComponent("store")), reports: ReportQueue())
        return try await executor.run(task, context: context)
    }

    private func input(_ name: String, _ text: String) throws -> String {
        let path = root.path + "/in/" + name
        try FileManager.default.createDirectory(atPath: root.path + "/in", withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testATrainedTokenizerWithNoLocationIsStoredAsTheJobsArtifact() async throws {
        let files = try (0..<3).map { try input("t\($0).txt", "sample text number \($0) with words words words") }
        var spec = TrainTokenizerTaskSpec(
            files: files, input: TokenizeInputOptions(), output: "", vocabularySize: 280, sampleBytes: 1 << 20,
            specialTokens: ["<|endoftext|>"], splitPattern: "llama3")
        spec.storeOutput = true
        let result = try await run(TokenizeTrainExecutor(), type: TokenizeJobKinds.trainTokenizerName, spec: spec)
        let artifact = try XCTUnwrap(result.artifacts.first)
        XCTAssertEqual(result.artifacts.count, 1)
        XCTAssertEqual(artifact.kind, "tokenizer")
        // The stored bytes are the trained tokenizer: its hash, loadable from where the store keeps it.
        let stored = try FileArtifactStore(root: root.appendingPathComponent("store")).localPath(for: artifact.location)
        XCTAssertEqual(try SHA256.hex(ofFileAt: stored.path), artifact.sha256)
        XCTAssertEqual(try Tokenizer.load(path: stored.path).hash, artifact.sha256)
        XCTAssertEqual(result.result["tokenizerHash"], .string(artifact.sha256))
        XCTAssertEqual(result.result["tokenizer"], .string(artifact.location))
    }

    func testATaskWithoutItsResolvedHelperJobsFailsForGoodNamingThem() async throws {
        let file = try input("a.txt", "hello")
        var spec = TokenizeTaskSpec(
            dataset: "ds", datasetDirectory: DatasetByName.location("ds"), shardIndex: 1, shardCount: 2,
            files: [file], input: TokenizeInputOptions(), tokenizerPath: "", endOfText: nil, dedup: true)
        spec.uploadShards = true
        spec.tokenizerJob = "tok-tokenizer"
        do {
            _ = try await run(TokenizeExecutor(), type: TokenizeJobKinds.tokenizeName, spec: spec)
            XCTFail("a task with no tokenizer ran")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("tokenizer job tok-tokenizer"), failure.message)
        }
        // With its tokenizer but not the scan job's id, task 1 cannot know the hashes of chunk 0.
        var trainer = try BPETrainer(vocabularySize: 270, specialTokens: ["<|endoftext|>"], splitPattern: .gpt2)
        trainer.add("hello world, hello tokens")
        try trainer.train().save(to: root.path + "/tokenizer.json")
        spec.tokenizerJob = nil
        spec.tokenizerPath = root.path + "/tokenizer.json"
        spec.dedupJob = "tok-dedup"
        do {
            _ = try await run(TokenizeExecutor(), type: TokenizeJobKinds.tokenizeName, spec: spec)
            XCTFail("a deduplicating task without the scan's hashes ran")
        } catch let failure as TaskFailure {
            XCTAssertFalse(failure.retryable)
            XCTAssertTrue(failure.message.contains("scan job tok-dedup was not found"), failure.message)
        }
    }
}
