import ClusterModel
import Foundation
import Postgres

public struct NewShard: Sendable, Equatable {
    public var index: Int
    /// Where the shard's bytes live (file path or URI); the row never holds the bytes.
    public var location: String
    /// Lowercase hex SHA-256 of the shard file.
    public var sha256: String
    public var bytes: Int64
    public var tokens: Int64
    public var documents: Int64
    /// The `.idx` file as a blob of its own (datasets by name); nil when it sits beside the `.bin`.
    public var idx: IndexFile?
    public struct IndexFile: Sendable, Equatable, Codable {
        public var location: String
        public var sha256: String
        public var bytes: Int64
        public init(location: String, sha256: String, bytes: Int64) {
            self.location = location
            self.sha256 = sha256
            self.bytes = bytes
        }
    }
    public init(
        index: Int, location: String, sha256: String, bytes: Int64, tokens: Int64 = 0, documents: Int64 = 0,
        idx: IndexFile? = nil
    ) {
        self.idx = idx
        self.index = index
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.tokens = tokens
        self.documents = documents
    }
}

/// Shards of datasets: recorded exactly once per (dataset, index). Re-adding the same shard (same
/// checksum and location) is a no-op, so a retried tokenize task is harmless; different content
/// for an existing index is a conflict.
public struct ShardStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func add(dataset: DatasetID, shard: NewShard) throws -> ShardRecord {
        try Self.validate(shard)
        return try pool.idempotentTransaction { c in try Self.add(c, dataset: dataset, shard: shard) }
    }

    static func validate(_ shard: NewShard) throws {
        guard shard.index >= 0 else {
            throw StoreError.invalid(field: "index", message: "expected an integer >= 0, got \(shard.index)")
        }
        guard shard.sha256.utf8.count == 64,
            shard.sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw StoreError.invalid(
                field: "sha256", message: "expected 64 lowercase hex digits, got \(shard.sha256.debugDescription)")
        }
        guard shard.bytes >= 0, shard.tokens >= 0, shard.documents >= 0 else {
            throw StoreError.invalid(field: "bytes", message: "expected non-negative sizes")
        }
    }

    /// Adds inside the caller's transaction (with the completion of the task that wrote the shard).
    static func add(_ c: PostgresConnection, dataset: DatasetID, shard: NewShard) throws -> ShardRecord {
        guard try c.queryFirst(DatasetSQL.exists, [dataset.sql]) != nil else {
            throw StoreError.unknownDataset("with id \(dataset)")
        }
        let inserted = try c.query(
            ShardSQL.insert,
            [
                dataset.sql, .int(Int64(shard.index)), .text(shard.location), .text(shard.sha256),
                .int(shard.bytes), .int(shard.tokens), .int(shard.documents), shard.idx.map { .text($0.location) },
                shard.idx.map { .text($0.sha256) }, shard.idx.map { .int($0.bytes) },
            ])
        let record = try Self.shard(c, dataset: dataset, index: shard.index)!
        if let row = inserted.first {
            try Events.record(
                c, .shard, try row.int64("id"), from: nil, to: ShardState.ok.rawValue,
                reason: "dataset \(dataset) shard \(shard.index) at \(shard.location)")
        } else if record.sha256 != shard.sha256 || record.location != shard.location || record.bytes != shard.bytes {
            throw StoreError.conflict(
                what: "shard \(shard.index) of dataset \(dataset)",
                message: "already recorded with sha256 \(record.sha256) at \(record.location)")
        }
        return record
    }

    /// Marks a shard bad (e.g. checksum mismatch on read); streams skip it.
    public func markBad(dataset: DatasetID, index: Int, reason: String) throws {
        try pool.idempotentTransaction { try Self.markBad($0, dataset: dataset, index: index, reason: reason) }
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func markBad(_ c: PostgresConnection, dataset: DatasetID, index: Int, reason: String) throws {
        guard let row = try c.queryFirst(ShardSQL.markBad, [dataset.sql, .int(Int64(index)), .text(reason)]) else {
            throw StoreError.invalid(field: "index", message: "dataset \(dataset) has no shard \(index)")
        }
        if try row.string("old") != ShardState.bad.rawValue {
            try Events.record(
                c, .shard, try row.int64("id"), from: ShardState.ok.rawValue, to: ShardState.bad.rawValue,
                reason: reason)
        }
    }

    /// Shards of a dataset by index, optionally only those in `state`.
    public func list(dataset: DatasetID, state: ShardState? = nil) throws -> [ShardRecord] {
        try pool.withConnection { try Self.list($0, dataset: dataset, state: state) }
    }

    /// The same inside the caller's transaction.
    static func list(_ c: PostgresConnection, dataset: DatasetID, state: ShardState? = nil) throws -> [ShardRecord] {
        try c.query(ShardSQL.ofDataset, [dataset.sql, state.map { .text($0.rawValue) }]).map(ShardRecord.init(row:))
    }

    /// Shard `index` of `dataset`, inside the caller's transaction.
    static func shard(_ c: PostgresConnection, dataset: DatasetID, index: Int) throws -> ShardRecord? {
        try c.queryFirst(ShardSQL.byIndex, [dataset.sql, .int(Int64(index))]).map(ShardRecord.init(row:))
    }
}
