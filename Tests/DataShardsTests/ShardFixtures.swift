// Synthetic token datasets for the shard and stream tests: random documents written with the real
// ShardWriter, plus an index.json, in a throwaway directory.
import Foundation
import XCTest

@testable import DataShards

struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed &+ 0x1234_5678 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}

final class TemporaryDirectory {
    let path: String
    init(_ label: String = "shards") {
        path = NSTemporaryDirectory() + "/\(label)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func sub(_ name: String) -> String {
        let p = path + "/" + name
        try! FileManager.default.createDirectory(atPath: p, withIntermediateDirectories: true)
        return p
    }
}

struct SyntheticDataset {
    let directory: String
    let index: DatasetIndex
    /// Documents per shard (without the end-of-text token), in file order.
    let documents: [[[UInt32]]]
    var eot: UInt32 { index.endOfTextID }
}

/// Writes `shards` shards of random documents (ids in 0..<vocab-1; the eot id is vocab-1 so it never
/// occurs inside a document).
func makeDataset(
    in directory: String, name: String, shards: Int, documentsPerShard: ClosedRange<Int>,
    documentLength: ClosedRange<Int>, vocabularySize: Int = 1000, seed: UInt64 = 1,
    tokenizerHash: String = "tok-test", tokenRange: Range<UInt32>? = nil
) throws -> SyntheticDataset {
    let ids = tokenRange ?? 0..<UInt32(vocabularySize - 1)
    var random = TestRandom(seed)
    let eot = UInt32(vocabularySize - 1)
    var index = DatasetIndex(name: name, tokenizerHash: tokenizerHash, vocabularySize: vocabularySize, endOfTextID: eot)
    var all: [[[UInt32]]] = []
    for s in 0..<shards {
        let writer = try ShardWriter(
            directory: directory, name: String(format: "\(name)-%05d", s), dtype: index.dtype, endOfTextID: eot)
        var docs: [[UInt32]] = []
        for _ in 0..<random.int(documentsPerShard) {
            let doc = (0..<random.int(documentLength)).map { _ in
                ids.lowerBound + UInt32(random.next() % UInt64(ids.count))
            }
            try writer.appendDocument(doc)
            docs.append(doc)
        }
        try index.record(try writer.finish())
        all.append(docs)
    }
    try index.write(toDirectory: directory)
    return SyntheticDataset(directory: directory, index: index, documents: all)
}

func filesIn(_ directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}
