// A task completion that carries a committed shard (`datasetShard` in its result, written by tokenize
// tasks): the store records the dataset (once) and the shard in the same transaction as the completion,
// so a shard is in PostgreSQL exactly when its task is succeeded.

import APITypes
import ClusterModel
import Foundation
import Postgres

public struct ShardCompletion: Sendable, Equatable {
    public var dataset: String
    /// The dataset directory.
    public var location: String
    public var format: String
    /// Dataset metadata JSON: tokenizer path and hash, vocabulary size, dtype, end-of-text id, and for derived
    /// datasets (stream jobs) their provenance.
    public var metadata: String
    public var tokenizerHash: String
    public var shard: NewShard
    /// Where the shard's documents came from (tokenize tasks report it; docs/lineage.md), nil when not reported.
    public var lineage: ShardLineageFacts?

    public init(facts: DatasetShardFacts) {
        dataset = facts.dataset
        location = facts.datasetDirectory
        format = DatasetShardFacts.format
        tokenizerHash = facts.tokenizerHash
        var metadata: [String: AnyJSON] = [
            "tokenizer": .string(facts.tokenizerPath), "tokenizerHash": .string(facts.tokenizerHash),
            "vocabularySize": .int(Int64(facts.vocabularySize)), "dtype": .string(facts.dtype),
            "endOfTextID": .int(Int64(facts.endOfTextID)),
        ]
        if let provenance = facts.provenance, provenance != .null { metadata["provenance"] = provenance }
        if let sha = facts.tokenizerSHA256 { metadata["tokenizerSHA256"] = .string(sha) }
        if let count = facts.shardCount { metadata["shardCount"] = .int(Int64(count)) }
        self.metadata = JSONText.encode(.object(metadata))
        shard = NewShard(
            index: facts.index, location: facts.location, sha256: facts.sha256, bytes: facts.bytes,
            tokens: facts.tokens, documents: facts.documents,
            idx: facts.idxLocation.map {
                NewShard.IndexFile(location: $0, sha256: facts.idxSHA256, bytes: facts.idxBytes)
            })
    }

    /// The shard a task result reports, nil when it reports none. A malformed `datasetShard` throws
    /// `StoreError.invalid` naming the field.
    public init?(result: AnyJSON) throws {
        guard let value = result[DatasetShardFacts.resultKey], value != .null else { return nil }
        let facts: DatasetShardFacts
        do { facts = try value.decode(as: DatasetShardFacts.self) } catch {
            throw StoreError.invalid(
                field: "result.\(DatasetShardFacts.resultKey)", message: "cannot be read: \(WireCoding.describe(error))"
            )
        }
        guard TokenizeJobKinds.isDatasetName(facts.dataset) else {
            throw StoreError.invalid(
                field: "result.\(DatasetShardFacts.resultKey).dataset",
                message: "expected a dataset name, got \"\(facts.dataset)\"")
        }
        self.init(facts: facts)
        try ShardStore.validate(shard)
        lineage = try LineageStore.facts(in: result)
    }

    /// Why recording this shard would contradict what is stored (another location, format or tokenizer
    /// for the dataset, or other content for the shard index); nil when it may be recorded.
    public func conflict(in pool: PostgresPool) throws -> String? {
        try pool.withConnection { try conflict($0) }
    }

    /// The same on the caller's connection (inside a report batch's transaction).
    func conflict(_ c: PostgresConnection) throws -> String? {
        guard let dataset = try DatasetStore.dataset(c, named: dataset) else { return nil }
        if dataset.location != location || dataset.format != format {
            return
                "dataset \(self.dataset) is already registered at \(dataset.location) (format \"\(dataset.format)\"); write to another dataset name"
        }
        if let stored = JSONText.parse(dataset.metadata)?["tokenizerHash"]?.stringValue, stored != tokenizerHash {
            return
                "dataset \(self.dataset) was made with tokenizer \(stored.prefix(12))…, this shard with \(tokenizerHash.prefix(12))…; write to another dataset name"
        }
        if let existing = try ShardStore.shard(c, dataset: dataset.id, index: shard.index),
            existing.sha256 != shard.sha256 || existing.location != shard.location
        {
            return
                "shard \(shard.index) of dataset \(self.dataset) is already recorded with sha256 \(existing.sha256) at \(existing.location)"
        }
        return nil
    }

    /// Records the dataset (if new) and the shard inside the caller's transaction.
    func record(_ c: PostgresConnection, job: JobID) throws {
        let dataset = try DatasetStore.register(
            c, name: dataset, location: location, format: format, metadata: metadata, job: job)
        _ = try ShardStore.add(c, dataset: dataset.id, shard: shard)
        if let lineage { try LineageStore.record(c, dataset: dataset.id, shard: shard.index, lineage) }
    }
}
