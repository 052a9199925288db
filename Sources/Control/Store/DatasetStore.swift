import ClusterModel
import Foundation
import Postgres

/// Datasets (a named set of shards at a location). Registering is idempotent by name when the
/// location and format are the same; a different definition under the same name is a conflict.
public struct DatasetStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func register(
        name: String, location: String, format: String = "", metadata: String = "{}", job: JobID? = nil
    ) throws -> DatasetRecord {
        guard !name.isEmpty else { throw StoreError.invalid(field: "name", message: "expected a dataset name") }
        guard !location.isEmpty else { throw StoreError.invalid(field: "location", message: "expected a location URI") }
        try StoreJSON.validate(metadata, field: "metadata")
        return try pool.idempotentTransaction { c in
            try Self.register(c, name: name, location: location, format: format, metadata: metadata, job: job)
        }
    }

    /// Registers inside the caller's transaction (a tokenize task's completion records its dataset with it).
    static func register(
        _ c: PostgresConnection, name: String, location: String, format: String, metadata: String,
        job: JobID?
    ) throws -> DatasetRecord {
        let inserted = try c.query(
            DatasetSQL.insert, [.text(name), .text(location), .text(format), .json(metadata), job?.sql])
        let record = try Self.dataset(c, named: name)!
        if let row = inserted.first {
            try Events.record(
                c, .dataset, try row.int64("id"), job: job?.rawValue, from: nil, to: "registered", reason: location)
        } else if record.location != location || record.format != format {
            throw StoreError.conflict(
                what: "dataset \(name)",
                message: "already registered at \(record.location) (format \"\(record.format)\"); use another name")
        }
        return record
    }

    public func dataset(named name: String) throws -> DatasetRecord? {
        try pool.withConnection { try Self.dataset($0, named: name) }
    }

    /// The same inside the caller's transaction.
    static func dataset(_ c: PostgresConnection, named name: String) throws -> DatasetRecord? {
        try c.queryFirst(DatasetSQL.byName, [.text(name)]).map(DatasetRecord.init(row:))
    }

    public func dataset(_ id: DatasetID) throws -> DatasetRecord? {
        try pool.withConnection { try $0.queryFirst(DatasetSQL.byID, [id.sql]).map(DatasetRecord.init(row:)) }
    }

    public func list() throws -> [DatasetRecord] {
        try pool.withConnection { try Self.list($0) }
    }

    /// The same inside the caller's transaction.
    static func list(_ c: PostgresConnection) throws -> [DatasetRecord] {
        try c.query(DatasetSQL.all).map(DatasetRecord.init(row:))
    }
}
