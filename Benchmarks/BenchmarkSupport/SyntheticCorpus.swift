// The streaming benchmarks' data (StreamBench, PythonDataBench, RemoteStreamBench): one generator, so that each
// writes the same bytes in every run and the benches can be compared.
import DataShards
import Foundation
import Primitives

/// Documents of 50...4000 random uint16 ids (GPT-2's vocabulary: 50,257 ids, end of text 50,256), cut into shards
/// of about `shardMB`, from SplitMix64 seeded 0x5eed.
public enum SyntheticCorpus {
    /// How the ids come out of the random numbers. The two give different data: each benchmark keeps its own, so
    /// its figures (StreamBench's checksum among them) stay comparable with the ones already published.
    public enum IDDraw: Sendable {
        /// One draw per id, `draw % 50_256` (PythonDataBench, RemoteStreamBench).
        case onePerID
        /// Four ids per draw, each 16-bit quarter `% 50_256` (StreamBench: a quarter of the draws).
        case fourPerDraw
    }

    static let vocabularySize = 50_257
    static let endOfTextID: UInt16 = 50_256
    static let longestDocumentTokens = 4000

    /// Writes `megabytes` of token data (2 bytes a token) and the dataset index into `directory`; returns the index.
    @discardableResult
    public static func write(megabytes: Int, shardMB: Int, ids: IDDraw, into directory: String) throws
        -> DatasetIndex
    {
        // A shard of 0 MB would never fill: the loop would write empty shards forever.
        precondition(megabytes >= 0 && shardMB > 0, "SyntheticCorpus: \(megabytes) MB in shards of \(shardMB) MB")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var index = DatasetIndex(
            name: "bench", tokenizerHash: "bench", vocabularySize: vocabularySize, endOfTextID: UInt32(endOfTextID))
        let targetTokens = Int64(megabytes) << 19 // 2 bytes per token
        let shardTokens = Int64(shardMB) << 19
        var random = SplitMix64(seed: 0x5eed)
        var written: Int64 = 0
        var shard = 0
        var document = [UInt16](repeating: 0, count: longestDocumentTokens)
        while written < targetTokens {
            // 4 MiB of write buffer: a shard is written in 16 writes of its 64 MiB, not 64.
            let writer = try ShardWriter(
                directory: directory, name: String(format: "bench-%05d", shard), dtype: .uint16,
                endOfTextID: UInt32(endOfTextID), bufferBytes: 4 << 20)
            var inShard: Int64 = 0
            while inShard < shardTokens && written + inShard < targetTokens {
                let length = 50 + Int(random.next() % 3951)
                fill(&document, count: length, ids: ids, from: &random)
                try writer.appendDocument(document[0..<length])
                inShard += Int64(length + 1)
            }
            try index.record(try writer.finish())
            written += inShard
            shard += 1
        }
        try index.write(toDirectory: directory)
        return index
    }

    private static func fill(_ document: inout [UInt16], count: Int, ids: IDDraw, from random: inout SplitMix64) {
        switch ids {
        case .onePerID:
            for i in 0..<count { document[i] = UInt16(random.next() % UInt64(endOfTextID)) }
        case .fourPerDraw:
            for i in stride(from: 0, to: count, by: 4) {
                let r = random.next()
                for k in 0..<min(4, count - i) {
                    document[i + k] = UInt16((r >> (16 * UInt64(k))) & 0xffff) % endOfTextID
                }
            }
        }
    }
}
