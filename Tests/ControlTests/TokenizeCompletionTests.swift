import APITypes
import ClusterModel
import Foundation
import Postgres
import XCTest

@testable import Control

/// Shards reported with task completions: recorded with the completion in one transaction, once.
final class TokenizeCompletionTests: StoreTestCase {
    private func facts(
        index: Int, sha: Character = "a", dataset: String = "ds", tokenizer: String = String(repeating: "c", count: 64)
    ) -> DatasetShardFacts {
        DatasetShardFacts(
            dataset: dataset, datasetDirectory: "/data/\(dataset)", index: index, name: "shard-0000\(index)",
            location: "/data/\(dataset)/shard-0000\(index).bin", sha256: String(repeating: sha, count: 64), bytes: 100,
            idxSHA256: String(repeating: "b", count: 64), idxBytes: 50, tokens: 50, documents: 3, dtype: "uint16",
            tokenizerHash: tokenizer, tokenizerPath: "/data/\(dataset)/tokenizer.json", vocabularySize: 600,
            endOfTextID: 0)
    }

    private func completion(_ attempt: AttemptID, _ facts: DatasetShardFacts) throws -> AttemptCompletion {
        let result: AnyJSON = [DatasetShardFacts.resultKey: try AnyJSON(encoding: facts)]
        return AttemptCompletion(
            attempt: attempt, result: JSONText.encode(result), shard: try XCTUnwrap(try ShardCompletion(result: result))
        )
    }

    func testShardAndDatasetAreRecordedWithTheCompletionExactlyOnce() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "tok", type: "tokenize", tasks: [NewTask(), NewTask()]))
        let claimed = try leases.claimNext(for: w, limit: 2)
        XCTAssertEqual(claimed.count, 2)
        let first = try completion(claimed[0].attempt, facts(index: 0))
        XCTAssertEqual(try leases.complete([first], by: w)[claimed[0].attempt], .applied)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 1)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM datasets WHERE job_id = $1", [.int(job.id.rawValue)]), 1)
        XCTAssertEqual(
            try sqlString("SELECT metadata ->> 'tokenizerHash' FROM datasets"), String(repeating: "c", count: 64))

        // The same completion again (a retried report): a duplicate, nothing new.
        XCTAssertEqual(try leases.complete([first], by: w)[claimed[0].attempt], .alreadyApplied)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 1)

        // The second task's shard joins the same dataset.
        _ = try leases.complete([try completion(claimed[1].attempt, facts(index: 1, sha: "d"))], by: w)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 2)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM datasets"), 1)
        XCTAssertEqual(try jobs.job(job.id)?.state, .succeeded)
    }

    func testAStaleCompletionRecordsNoShardAndAFailedRecordingCompletesNothing() throws {
        let w = try worker()
        _ = try jobs.submit(NewJob(name: "tok", type: "tokenize", tasks: [NewTask(), NewTask()]))
        let claimed = try leases.claimNext(for: w, limit: 2)
        try leases.fail(attempt: claimed[0].attempt, by: w, error: "boom", retryable: true)
        let stale = try leases.complete([try completion(claimed[0].attempt, facts(index: 0))], by: w)[
            claimed[0].attempt]
        if case .refused? = stale {} else { XCTFail("expected refused, got \(String(describing: stale))") }
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 0)
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM datasets"), 0)

        // A dataset of that name at another location: the recording fails, and so the completion is not applied.
        try DatasetStore(pool: pool).register(name: "ds", location: "/elsewhere", format: DatasetShardFacts.format)
        XCTAssertThrowsError(try leases.complete([try completion(claimed[1].attempt, facts(index: 1))], by: w))
        XCTAssertEqual(
            try jobs.task(claimed[1].task)?.state, .running, "one transaction: no completion without its shard")
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 0)
    }

    func testConflictsAreFoundBeforeCompletingSoTheTaskCanFailWithAReason() throws {
        let w = try worker()
        _ = try jobs.submit(NewJob(name: "tok", type: "tokenize", tasks: [NewTask(), NewTask()]))
        let claimed = try leases.claimNext(for: w, limit: 2)
        _ = try leases.complete([try completion(claimed[0].attempt, facts(index: 0))], by: w)
        let sameIndexOtherContent = try XCTUnwrap(
            try ShardCompletion(result: [DatasetShardFacts.resultKey: try AnyJSON(encoding: facts(index: 0, sha: "e"))])
        )
        XCTAssertTrue(
            try sameIndexOtherContent.conflict(in: pool)?.contains("shard 0 of dataset ds is already recorded") ?? false
        )
        let otherTokenizer = try XCTUnwrap(
            try ShardCompletion(result: [
                DatasetShardFacts.resultKey: try AnyJSON(
                    encoding: facts(index: 1, tokenizer: String(repeating: "f", count: 64)))
            ]))
        XCTAssertTrue(try otherTokenizer.conflict(in: pool)?.contains("was made with tokenizer") ?? false)
        XCTAssertNil(
            try XCTUnwrap(
                try ShardCompletion(result: [
                    DatasetShardFacts.resultKey: try AnyJSON(encoding: facts(index: 1, sha: "9"))
                ])
            ).conflict(in: pool))
        XCTAssertNil(try ShardCompletion(result: ["tokens": 5]), "results without a shard record nothing")
        XCTAssertThrowsError(try ShardCompletion(result: [DatasetShardFacts.resultKey: ["dataset": "ds"]])) { error in
            XCTAssertTrue("\(error)".hasPrefix("result.datasetShard: cannot be read"), "\(error)")
        }
    }
}
