// `TokenStream.pieces(of:)` (batch replay, docs/lineage.md): the documents a packed sample holds, recomputed from
// the order's rules, must be exactly the tokens the stream delivered — across shard and document boundaries, in
// shuffled windows, over several epochs of a blend of two datasets.

import Checksum
import Foundation
import XCTest

@testable import DataShards

final class StreamSamplePiecesTests: XCTestCase {
    func testPiecesOfEverySampleAreTheTokensTheStreamRead() throws {
        let dir = TemporaryDirectory()
        let a = try makeDataset(
            in: dir.sub("a"), name: "a", shards: 4, documentsPerShard: 3...20, documentLength: 1...50, seed: 11,
            tokenRange: 0..<500)
        let b = try makeDataset(
            in: dir.sub("b"), name: "b", shards: 2, documentsPerShard: 3...20, documentLength: 1...50, seed: 12,
            tokenRange: 500..<998)
        let datasets = [a, b]
        let stream = try TokenStream(
            StreamConfiguration(
                sources: [try .directory(a.directory, weight: 0.6), try .directory(b.directory, weight: 0.4)],
                sequenceLength: 24, batchSize: 8, seed: 5, shuffleWindow: 16))
        let T1 = 25
        // Three epochs of the blend, read at random places (the pieces never see the stream's state).
        let total = stream.samplesPerEpoch * 3
        var random = TestRandom(3)
        var checkedBoundaries = 0
        for _ in 0..<60 {
            let first = Int64(random.next() % UInt64(total - 8))
            var tokens: [Int32] = []
            var ids: [SampleID] = []
            try stream.read(globalPositions: first, count: 8, into: &tokens, ids: &ids)
            for (row, id) in ids.enumerated() {
                let pieces = try stream.pieces(of: id)
                XCTAssertEqual(pieces.map(\.tokens).reduce(0, +), T1, "\(id)")
                if pieces.count > 1 { checkedBoundaries += 1 }
                var rebuilt: [Int32] = []
                for piece in pieces {
                    XCTAssertEqual(piece.dataset, id.dataset)
                    let source = datasets[piece.dataset]
                    // The document as written plus its end-of-text token, from the synthetic dataset's own record.
                    let document = source.documents[piece.shard][piece.document] + [source.eot]
                    rebuilt += document[piece.offset..<(piece.offset + piece.tokens)].map { Int32($0) }
                }
                XCTAssertEqual(rebuilt, Array(tokens[(row * T1)..<((row + 1) * T1)]), "sample \(id)")
            }
        }
        XCTAssertGreaterThan(checkedBoundaries, 50, "samples that span documents were checked")
    }

    func testBatchChecksumIsTheFirst52BitsOfTheTokensSHA256() {
        let batches: [[Int32]] = [[1, 2, 3], [258, -1]]
        var bytes: [UInt8] = []
        for id in batches.joined() { withUnsafeBytes(of: UInt32(bitPattern: id).littleEndian) { bytes += $0 } }
        let hex = SHA256.hex(of: bytes)
        XCTAssertEqual(BatchChecksum.of(batches), Int64(hex.prefix(13), radix: 16))
        XCTAssertNotEqual(BatchChecksum.of(batches), BatchChecksum.of([[1, 2, 3], [258, -2]]))
        XCTAssertLessThan(BatchChecksum.of(batches), 1 << 52, "exact in a double")
    }
}
