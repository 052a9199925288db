// The documents behind a replayed batch (docs/lineage.md): each row's pieces (`TokenStream.pieces(of:)`), the
// shard row each piece's shard is (by checksum), the input file and line of its document (the shard's document
// runs, recorded by its tokenize task), and its tokens decoded with the dataset's tokenizer.

import APITypes
import ClusterModel
import DataShards
import Foundation
import Postgres

struct ReplayDocuments {
    let services: ControlServices
    let sources: [StreamSource]

    /// What the registered dataset of one stream source gives a replay.
    private struct DatasetFacts {
        var id: DatasetID?
        /// Shard index by the `.bin` checksum.
        var shardIndexBySHA256: [String: Int]
        var tokenizer: Tokenizer?
    }

    func describe(_ read: BatchReplay.Read, stream: TokenStream) throws -> [ReplayedSample] {
        let facts = try sources.map { try datasetFacts($0) }
        var samples: [ReplayedSample] = []
        for (a, ids) in read.samples.enumerated() {
            for (row, id) in ids.enumerated() {
                let tokens = read.microbatches[a][(row * read.tokensPerRow)..<((row + 1) * read.tokensPerRow)]
                var offset = tokens.startIndex
                var pieces: [ReplayedPiece] = []
                let found: [SamplePiece]
                do { found = try stream.pieces(of: id) } catch {
                    throw APIErrorBody(code: .conflict, message: "cannot read the sample \(id) here: \(error)")
                }
                for piece in found {
                    let source = sources[piece.dataset]
                    let dataset = facts[piece.dataset]
                    let info = source.index.shards[piece.shard]
                    let shardIndex = dataset.shardIndexBySHA256[info.binSHA256] ?? piece.shard
                    let origin = try dataset.id.flatMap {
                        try documentOrigin(dataset: $0, shard: shardIndex, document: piece.document)
                    }
                    let ids = tokens[offset..<(offset + piece.tokens)]
                    offset += piece.tokens
                    pieces.append(
                        ReplayedPiece(
                            dataset: source.index.name, shard: shardIndex, document: piece.document,
                            tokenOffset: piece.offset, tokens: piece.tokens, file: origin?.file, line: origin?.line,
                            excerpt: Self.excerpt(ids, tokenizer: dataset.tokenizer)))
                }
                samples.append(
                    ReplayedSample(microbatch: a, row: row, globalPosition: id.globalPosition, pieces: pieces))
            }
        }
        return samples
    }

    /// The piece's text, cut to `ReplayedPiece.maxExcerptCharacters`; its ids when there is no tokenizer.
    static func excerpt(_ ids: ArraySlice<Int32>, tokenizer: Tokenizer?) -> String {
        let limit = ReplayedPiece.maxExcerptCharacters
        guard let tokenizer else {
            return "ids " + ids.prefix(limit / 6).map(String.init).joined(separator: " ")
                + (ids.count > limit / 6 ? " …" : "")
        }
        let text = tokenizer.decode(ids.map { UInt32(bitPattern: $0) })
        return text.count > limit ? String(text.prefix(limit)) + "…" : text
    }

    private func datasetFacts(_ source: StreamSource) throws -> DatasetFacts {
        guard let record = try services.datasets.dataset(named: source.index.name) else {
            return DatasetFacts(id: nil, shardIndexBySHA256: [:], tokenizer: nil)
        }
        var bySHA256: [String: Int] = [:]
        for shard in try services.shards.list(dataset: record.id) { bySHA256[shard.sha256] = shard.index }
        let metadata = JSONText.parse(record.metadata)?.objectValue ?? [:]
        return DatasetFacts(id: record.id, shardIndexBySHA256: bySHA256, tokenizer: tokenizer(metadata))
    }

    /// The dataset's tokenizer when this control plane can read it (a path it sees, or one of its blobs).
    private func tokenizer(_ metadata: [String: AnyJSON]) -> Tokenizer? {
        guard let location = metadata["tokenizer"]?.stringValue else { return nil }
        let path: String
        if location.hasPrefix(BlobFiles.scheme) {
            path = BlobFiles(artifactDirectory: services.configuration.artifactDirectory).path(
                String(location.dropFirst(BlobFiles.scheme.count)))
        } else if location.hasPrefix("/") {
            path = location
        } else {
            return nil
        }
        return try? Tokenizer.load(path: path)
    }

    private func documentOrigin(dataset: DatasetID, shard: Int, document: Int) throws -> (file: String, line: Int)? {
        let row = try services.pool.withConnection {
            try $0.queryFirst(LineageSQL.documentSource, [dataset.sql, .int(Int64(shard)), .int(Int64(document))])
        }
        guard let row else { return nil }
        let first = try row.int64("first_document")
        guard Int64(document) < first + (try row.int64("documents")) else { return nil }
        return (try row.string("name"), try row.int("first_line") + Int(Int64(document) - first))
    }
}
