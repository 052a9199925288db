// Token datasets for the stream/verify job tests: random documents written with the real ShardWriter and
// DatasetIndex, optionally registered in the control plane's database the way tokenize completions record
// them (dataset row at the dataset directory, one shard row per `.bin`).

import DataShards
import Foundation
import Postgres

@testable import Control

enum StreamTestData {
    /// Writes `shards` shards of random documents (ids below vocab-1, eot = vocab-1) and the index.json.
    @discardableResult
    static func makeDataset(
        directory: String, name: String, shards: Int, documentsPerShard: Int, seed: UInt64,
        vocabularySize: Int = 1000, tokenizerHash: String = "tok-stream-test"
    ) throws -> DatasetIndex {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        let eot = UInt32(vocabularySize - 1)
        var index = DatasetIndex(
            name: name, tokenizerHash: tokenizerHash, vocabularySize: vocabularySize, endOfTextID: eot)
        for s in 0..<shards {
            let writer = try ShardWriter(
                directory: directory, name: String(format: "\(name)-%05d", s), dtype: index.dtype, endOfTextID: eot)
            for _ in 0..<documentsPerShard {
                let length = 5 + Int(next() % 120)
                try writer.appendDocument((0..<length).map { _ in UInt32(next() % UInt64(vocabularySize - 1)) })
            }
            try index.record(try writer.finish())
        }
        try index.write(toDirectory: directory)
        return index
    }

    /// Records the dataset and its shards in the control plane's tables (as a tokenize job's completions do).
    static func register(_ index: DatasetIndex, directory: String, databaseURL: String) throws {
        let pool = PostgresPool(conninfo: databaseURL, maxConnections: 1)
        let datasets = DatasetStore(pool: pool)
        let shards = ShardStore(pool: pool)
        let record = try datasets.register(
            name: index.name, location: directory, format: "megatron-mmidx",
            metadata: #"{"tokenizerHash": "\#(index.tokenizerHash)"}"#)
        for (i, shard) in index.shards.enumerated() {
            try shards.add(
                dataset: record.id,
                shard: NewShard(
                    index: i, location: directory + "/" + shard.binFile, sha256: shard.binSHA256,
                    bytes: shard.binBytes, tokens: shard.tokens, documents: shard.documents))
        }
    }

    /// Flips one byte in the middle of a file.
    static func flipByte(in path: String) throws {
        var data = try Data(contentsOf: URL(fileURLWithPath: path))
        data[data.count / 2] ^= 0xFF
        try data.write(to: URL(fileURLWithPath: path))
    }
}
