// The files of a dataset by name, for workers that share no disk with the writers (docs/storage.md, "Datasets
// by name"): the dataset's `index.json` is built here from the registered shard rows and the dataset's metadata
// (every fact a reader needs is recorded with each shard's completion), so no task has to write it and a
// reader sees the dataset only once it is whole: while fewer shards are registered than the tokenize job
// planned, the answer is a 409 that says how many are missing.

import APITypes
import DataShards
import Foundation

struct DatasetFiles {
    let services: ControlServices

    func files(ofDatasetNamed name: String) throws -> DatasetFilesResponse {
        guard let dataset = try services.datasets.dataset(named: name) else {
            throw APIErrorBody(
                code: .notFound,
                message:
                    "no dataset named \(name) is registered (opsctl get datasets lists them); is the job that writes it finished?"
            )
        }
        let shards = try services.shards.list(dataset: dataset.id)
        let metadata = JSONText.parse(dataset.metadata)?.objectValue ?? [:]
        if let expected = metadata["shardCount"]?.intValue, shards.count < expected {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "dataset \(name) has \(shards.count) of \(expected) shards registered; read it after the job that writes it (after:)"
            )
        }
        let index = try Self.index(name: name, metadata: metadata, shards: shards)
        var files: [DatasetFile] = []
        for (shard, info) in zip(shards, index.shards) {
            files.append(
                DatasetFile(name: info.binFile, location: shard.location, sha256: shard.sha256, bytes: shard.bytes))
            if let idx = shard.idx {
                files.append(
                    DatasetFile(name: info.idxFile, location: idx.location, sha256: idx.sha256, bytes: idx.bytes))
            }
        }
        return DatasetFilesResponse(
            name: name, location: dataset.location, index: try AnyJSON(encoding: index), files: files,
            tokenizer: Self.tokenizer(metadata))
    }

    /// The `index.json` a tokenize job's last task would have written, from the rows.
    static func index(name: String, metadata: [String: AnyJSON], shards: [ShardRecord]) throws -> DatasetIndex {
        guard let dtypeName = metadata["dtype"]?.stringValue, let dtype = TokenDType(rawValue: dtypeName),
            let vocabularySize = metadata["vocabularySize"]?.intValue,
            let endOfText = metadata["endOfTextID"]?.intValue
        else {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "dataset \(name) was registered without its dtype, vocabulary size or end-of-text id; re-create it")
        }
        var index = DatasetIndex(
            name: name, tokenizerHash: metadata["tokenizerHash"]?.stringValue ?? "",
            vocabularySize: Int(vocabularySize),
            endOfTextID: UInt32(clamping: endOfText), dtype: dtype)
        for shard in shards {
            let shardName = TokenizeTaskSpec.shardName(index: shard.index)
            index.shards.append(
                ShardInfo(
                    name: shardName, binFile: ShardInfo.binFileName(shardName),
                    idxFile: ShardInfo.idxFileName(shardName),
                    binSHA256: shard.sha256, idxSHA256: shard.idx?.sha256 ?? "", binBytes: shard.bytes,
                    idxBytes: shard.idx?.bytes ?? 0, tokens: shard.tokens, documents: shard.documents, dtype: dtype))
        }
        return index
    }

    /// The tokenizer as a fetchable file, when the dataset was made with a stored one.
    static func tokenizer(_ metadata: [String: AnyJSON]) -> DatasetFile? {
        guard let location = metadata["tokenizer"]?.stringValue, InputLocationKind(location)?.isURL == true else {
            return nil
        }
        return DatasetFile(
            name: TokenizePlanner.tokenizerFileName, location: location,
            sha256: metadata["tokenizerSHA256"]?.stringValue ?? "", bytes: 0)
    }
}
