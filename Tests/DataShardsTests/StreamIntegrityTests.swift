// Nothing is trained on unverified bytes: a corrupted or truncated shard stops the stream with an error
// naming the shard (dataset, shard name, location) before any of its tokens are delivered.
import Foundation
import XCTest

@testable import DataShards

final class StreamIntegrityTests: XCTestCase {
    func makeSource(_ dir: TemporaryDirectory) throws -> SyntheticDataset {
        try makeDataset(
            in: dir.path, name: "web", shards: 5, documentsPerShard: 10...30, documentLength: 5...60, seed: 31)
    }

    func configuration(_ source: StreamSource) -> StreamConfiguration {
        StreamConfiguration(sources: [source], sequenceLength: 16, batchSize: 8, seed: 1, shuffleWindow: 16)
    }

    /// Reads a whole epoch; returns the error that stopped it, if any.
    func drain(_ stream: TokenStream) -> StreamError? {
        do {
            for _ in 0..<Int(stream.samplesPerEpoch / 8) { _ = try stream.nextBatch() }
            return nil
        } catch { return error }
    }

    func testACorruptedByteIsCaughtAndTheShardNamed() throws {
        let dir = TemporaryDirectory()
        let ds = try makeSource(dir)
        XCTAssertNil(drain(try TokenStream(configuration(try .directory(ds.directory)))), "clean data streams through")
        let victim = ds.index.shards[3]
        let path = dir.path + "/" + victim.binFile
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: path))

        let error = drain(try TokenStream(configuration(try .directory(ds.directory))))
        guard case .corruptShard(let id, .checksumMismatch(let file, let expected, let actual))? = error else {
            return XCTFail("expected a checksum error, got \(String(describing: error))")
        }
        XCTAssertEqual(id, ShardIdentity(dataset: "web", shard: victim.name, location: dir.path))
        XCTAssertEqual(error?.shard, id)
        XCTAssertEqual(file, path)
        XCTAssertEqual(expected, victim.binSHA256)
        XCTAssertNotEqual(actual, expected)
        XCTAssertTrue(error!.description.contains(victim.name))
    }

    func testATruncatedShardIsCaughtBeforeItIsRead() throws {
        let dir = TemporaryDirectory()
        let ds = try makeSource(dir)
        let victim = ds.index.shards[1]
        let path = dir.path + "/" + victim.idxFile
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(8).write(to: URL(fileURLWithPath: path))
        let error = drain(try TokenStream(configuration(try .directory(ds.directory))))
        XCTAssertEqual(
            error,
            .corruptShard(
                ShardIdentity(dataset: "web", shard: victim.name, location: dir.path),
                .sizeMismatch(file: path, expectedBytes: victim.idxBytes, actualBytes: victim.idxBytes - 8)))
    }

    func testAMissingShardIsUnavailableAndNamed() throws {
        let dir = TemporaryDirectory()
        let ds = try makeSource(dir)
        try FileManager.default.removeItem(atPath: dir.path + "/" + ds.index.shards[0].binFile)
        let error = drain(try TokenStream(configuration(try .directory(ds.directory))))
        XCTAssertEqual(error?.shard?.shard, ds.index.shards[0].name)
        guard case .shardUnavailable? = error else { return XCTFail("\(String(describing: error))") }
    }

    /// Verifying ahead on a background thread changes only timing: a bad shard stops the stream at the
    /// same sample, its first use, with or without it.
    func testVerifyAheadStopsAtTheSameSampleAsSynchronousVerification() throws {
        let dir = TemporaryDirectory()
        let ds = try makeSource(dir)
        let path = dir.path + "/" + ds.index.shards[2].binFile
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[5] ^= 0x02
        try bytes.write(to: URL(fileURLWithPath: path))
        func firstFailure(verifyAhead: Bool) throws -> (Int64, StreamError?) {
            var c = configuration(try .directory(ds.directory))
            c.verifyAhead = verifyAhead
            let s = try TokenStream(c)
            var tokens: [Int32] = []
            var ids: [SampleID] = []
            for g in 0..<s.samplesPerEpoch {
                do { try s.read(globalPositions: g, count: 1, into: &tokens, ids: &ids) } catch { return (g, error) }
            }
            return (-1, nil)
        }
        let ahead = try firstFailure(verifyAhead: true)
        let inline = try firstFailure(verifyAhead: false)
        XCTAssertEqual(ahead.0, inline.0)
        XCTAssertGreaterThanOrEqual(ahead.0, 0)
        XCTAssertEqual(ahead.1?.shard?.shard, ds.index.shards[2].name)
        XCTAssertEqual(ahead.1, inline.1)
    }
}
