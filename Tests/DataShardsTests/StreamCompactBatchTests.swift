// 16-bit batches (`CompactBatch`): the same samples, ids and states as the Int32 batches, and a clear
// refusal for datasets whose ids do not fit 16 bits.
import XCTest

@testable import DataShards

final class StreamCompactBatchTests: XCTestCase {
    func configuration(_ sources: [StreamSource], threads: Int = 1) -> StreamConfiguration {
        StreamConfiguration(
            sources: sources, sequenceLength: 16, batchSize: 4, seed: 3, readerThreads: threads,
            shuffleWindow: 32, maxOpenShards: 2)
    }

    func testCompactBatchesHoldTheSameIdsSamplesAndStatesAsInt32Batches() throws {
        let dir = TemporaryDirectory()
        let a = try makeDataset(
            in: dir.sub("a"), name: "a", shards: 4, documentsPerShard: 3...20, documentLength: 1...70, seed: 5,
            tokenRange: 0..<500)
        let b = try makeDataset(
            in: dir.sub("b"), name: "b", shards: 3, documentsPerShard: 3...20, documentLength: 1...70, seed: 6,
            tokenRange: 500..<998)
        let sources = [
            try StreamSource.directory(a.directory, weight: 0.6), try StreamSource.directory(b.directory, weight: 0.4),
        ]
        for threads in [1, 3] {
            let wide = try TokenStream(configuration(sources))
            let compact = try TokenStream(configuration(sources, threads: threads))
            var batch = CompactBatch(batchSize: 4, sequenceLength: 16)
            // More than an epoch, so shard changes, epoch changes and the blend all go through the shard contexts.
            let steps = Int(wide.samplesPerEpoch / 4) + 7
            for step in 0..<steps {
                let expected = try wide.nextBatch()
                try compact.fill(&batch)
                XCTAssertEqual(batch.tokens.map(Int32.init), expected.tokens, "threads \(threads) step \(step)")
                XCTAssertEqual(batch.samples, expected.samples)
                XCTAssertEqual(batch.stateAfter, expected.stateAfter)
                XCTAssertEqual(batch.sample(1).map(Int32.init), Array(expected.sample(1)))
            }
        }
        // Random access gives the same rows.
        let stream = try TokenStream(configuration(sources))
        var wideTokens: [Int32] = []
        var compactTokens: [UInt16] = []
        var ids: [SampleID] = []
        var compactIDs: [SampleID] = []
        try stream.read(globalPositions: 37, count: 50, into: &wideTokens, ids: &ids)
        try stream.read(globalPositions: 37, count: 50, into: &compactTokens, ids: &compactIDs)
        XCTAssertEqual(compactTokens.map(Int32.init), wideTokens)
        XCTAssertEqual(compactIDs, ids)
    }

    func testDatasetsWithIdsBeyond16BitsAreRefusedAndTheStateStays() throws {
        let dir = TemporaryDirectory()
        let big = try makeDataset(
            in: dir.sub("big"), name: "big", shards: 2, documentsPerShard: 3...10, documentLength: 5...40,
            vocabularySize: 70_000, seed: 9)
        let stream = try TokenStream(configuration([try .directory(big.directory)]))
        var batch = CompactBatch(batchSize: 4, sequenceLength: 16)
        XCTAssertThrowsError(try stream.fill(&batch)) { error in
            guard case StreamError.invalidConfiguration(let field, let reason) = error else {
                return XCTFail("\(error)")
            }
            XCTAssertEqual(field, "batch")
            XCTAssertTrue(reason.contains("big") && reason.contains("uint16"), reason)
        }
        XCTAssertEqual(stream.state.position, 0, "a refused batch does not advance the stream")
        XCTAssertEqual(try stream.nextBatch().samples.count, 4, "Int32 batches of the same stream still work")
    }
}
