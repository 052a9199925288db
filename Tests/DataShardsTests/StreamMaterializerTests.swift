// The `stream` job's library: a mixture materialized slice by slice (in any order, retried) equals the
// library's own stream, records provenance, and `verify` names bad shards.
import Foundation
import XCTest

@testable import DataShards

final class StreamMaterializerTests: XCTestCase {
    func testMaterializedSlicesEqualTheStreamAndAreWrittenOnce() throws {
        let dir = TemporaryDirectory()
        let a = try makeDataset(
            in: dir.sub("a"), name: "web", shards: 4, documentsPerShard: 10...30, documentLength: 5...80, seed: 61)
        let b = try makeDataset(
            in: dir.sub("b"), name: "code", shards: 2, documentsPerShard: 10...30, documentLength: 5...80, seed: 62)
        let configuration = StreamConfiguration(
            sources: [try .directory(a.directory, weight: 0.7), try .directory(b.directory, weight: 0.3)],
            sequenceLength: 32, batchSize: 1, seed: 17, shuffleWindow: 32)
        let output = StreamMaterializer.Output(directory: dir.sub("mix"), name: "mix")
        let slices = StreamMaterializer.plan(totalSamples: 300, samplesPerShard: 128)
        XCTAssertEqual(slices.map(\.positions), [0..<128, 128..<256, 256..<300])
        // Tasks finish in any order, one is retried.
        for k in [2, 0, 1, 0] {
            try StreamMaterializer.materialize(configuration, slice: slices[k], output: output, samplesPerRead: 50)
        }

        let index = try DatasetIndex.load(fromDirectory: output.directory)
        XCTAssertEqual(index.shards.map(\.name), ["mix-00000", "mix-00001", "mix-00002"])
        XCTAssertEqual(index.totalDocuments, 300)
        XCTAssertEqual(index.totalTokens, 300 * 33)
        XCTAssertEqual(index.provenance?.inputs.map(\.dataset), ["web", "code"])
        XCTAssertEqual(index.provenance?.inputs[0].weight ?? 0, 0.7, accuracy: 1e-12)
        XCTAssertEqual(index.provenance?.seed, 17)
        XCTAssertEqual(index.provenance?.sampleTokens, 33)
        XCTAssertEqual(index.tokenizerHash, a.index.tokenizerHash)
        XCTAssertEqual(filesIn(output.directory).filter { $0.hasPrefix(".") }, [])

        let stream = try TokenStream(configuration)
        for slice in slices {
            let reader = try ShardReader(prefix: output.directory + "/" + slice.shardName(prefix: "mix"))
            var tokens: [Int32] = []
            var ids: [SampleID] = []
            try stream.read(
                globalPositions: slice.positions.lowerBound, count: slice.positions.count, into: &tokens, ids: &ids)
            XCTAssertEqual(reader.documentCount, slice.positions.count)
            for i in 0..<reader.documentCount {
                XCTAssertEqual(
                    try reader.tokens(ofDocument: i).map { Int32($0) }, Array(tokens[(i * 33)..<((i + 1) * 33)]))
            }
        }
        XCTAssertEqual(StreamMaterializer.verify(try .directory(output.directory)), [])
    }

    func testVerifyNamesEveryBadShard() throws {
        let dir = TemporaryDirectory()
        let ds = try makeDataset(
            in: dir.path, name: "v", shards: 4, documentsPerShard: 5...10, documentLength: 5...20, seed: 63)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/v-00001.bin"))
        bytes[0] ^= 0xff
        try bytes.write(to: URL(fileURLWithPath: dir.path + "/v-00001.bin"))
        try FileManager.default.removeItem(atPath: dir.path + "/v-00003.idx")
        let failures = StreamMaterializer.verify(try .directory(ds.directory))
        XCTAssertEqual(failures.map(\.shard.shard), ["v-00001", "v-00003"])
        XCTAssertTrue(failures[0].reason.contains("sha256"), failures[0].reason)
        XCTAssertEqual(StreamMaterializer.verify(try .directory(ds.directory), shards: ["v-00000", "v-00002"]), [])
    }
}
