import ClusterModel
import Foundation
import Postgres
import TestSupport
import XCTest

@testable import Control

/// Logs, metrics, datasets, shards and artifacts.
final class StoreRecordsTests: StoreTestCase {
    func testLogsAreIdempotentBySequenceAndFollowable() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "j", type: "t"))
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        let logs = TaskLogStore(pool: pool)
        XCTAssertEqual(
            try logs.append(
                attempt: lease.attempt, by: w,
                lines: [LogLine(seq: 1, line: "start"), LogLine(seq: 2, line: "it's 50%")]), 2)
        XCTAssertEqual(
            try logs.append(
                attempt: lease.attempt, by: w,
                lines: [LogLine(seq: 2, line: "it's 50%"), LogLine(seq: 3, line: "done")]), 1,
            "a retried append adds only the new line")
        let all = try logs.list(job: job.id)
        XCTAssertEqual(all.map(\.line), ["start", "it's 50%", "done"])
        XCTAssertEqual(try logs.list(job: job.id, afterID: all[1].id).map(\.line), ["done"])
        XCTAssertThrowsError(
            try logs.append(attempt: lease.attempt, by: try worker("other"), lines: [LogLine(seq: 9, line: "x")]))
    }

    func testMetricsAppendAndList() throws {
        let w = try worker()
        let job = try jobs.submit(NewJob(name: "train", type: "train"))
        let lease = try XCTUnwrap(try leases.claimNext(for: w).first)
        let metrics = MetricStore(pool: pool)
        let points = [
            MetricPoint(name: "loss", step: 1, value: 2.5), MetricPoint(name: "loss", step: 2, value: 2.25),
            MetricPoint(name: "tokens_per_s", step: 2, value: 1e6),
        ]
        XCTAssertEqual(try metrics.append(attempt: lease.attempt, by: w, points: points), 3)
        XCTAssertEqual(try metrics.append(attempt: lease.attempt, by: w, points: points), 0)
        XCTAssertEqual(try metrics.list(job: job.id, name: "loss").map(\.value), [2.5, 2.25])
        XCTAssertEqual(try metrics.list(job: job.id).count, 3)
    }

    func testShardsAreRecordedExactlyOnce() throws {
        let datasets = DatasetStore(pool: pool)
        let shards = ShardStore(pool: pool)
        let ds = try datasets.register(name: "web", location: "file:///data/web", format: "tokens-u16")
        XCTAssertEqual(try datasets.register(name: "web", location: "file:///data/web", format: "tokens-u16").id, ds.id)
        XCTAssertThrowsError(try datasets.register(name: "web", location: "file:///elsewhere"))
        let sum = String(repeating: "ab", count: 32)
        let shard = NewShard(
            index: 0, location: "file:///data/web/0.bin", sha256: sum, bytes: 4096, tokens: 2048, documents: 3)
        try shards.add(dataset: ds.id, shard: shard)
        try shards.add(dataset: ds.id, shard: shard) // retried task: no-op
        var other = shard
        other.sha256 = String(repeating: "cd", count: 32)
        XCTAssertThrowsError(try shards.add(dataset: ds.id, shard: other)) { error in
            guard case .conflict? = error as? StoreError else { return XCTFail("\(error)") }
        }
        other.sha256 = "not-a-checksum"
        XCTAssertThrowsError(try shards.add(dataset: ds.id, shard: other)) { error in
            guard case .invalid(let field, _)? = error as? StoreError else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "sha256")
        }
        try shards.add(
            dataset: ds.id, shard: NewShard(index: 1, location: "file:///data/web/1.bin", sha256: sum, bytes: 10))
        try shards.markBad(dataset: ds.id, index: 1, reason: "checksum mismatch on read")
        XCTAssertEqual(try shards.list(dataset: ds.id).map(\.state), [.ok, .bad])
        XCTAssertEqual(try shards.list(dataset: ds.id, state: .ok).map(\.tokens), [2048])
        XCTAssertEqual(try sqlInt("SELECT count(*) FROM shards"), 2)
    }

    func testArtifactsRegisterAndGet() throws {
        let job = try jobs.submit(NewJob(name: "train", type: "train"))
        let artifacts = ArtifactCatalog(pool: pool)
        let sum = String(repeating: "0f", count: 32)
        let checkpoint = NewArtifact(
            job: job.id, name: "checkpoint-100", kind: "checkpoint", location: "file:///ckpt/100", sha256: sum,
            bytes: 1 << 20)
        let record = try artifacts.register(checkpoint)
        XCTAssertEqual(try artifacts.register(checkpoint).id, record.id)
        var moved = checkpoint
        moved.location = "file:///other"
        XCTAssertThrowsError(try artifacts.register(moved))
        XCTAssertEqual(try artifacts.get(job: job.id, name: "checkpoint-100")?.bytes, 1 << 20)
        XCTAssertNil(try artifacts.get(job: job.id, name: "nope"))
        XCTAssertEqual(try artifacts.list(job: job.id).map(\.name), ["checkpoint-100"])
    }
}
