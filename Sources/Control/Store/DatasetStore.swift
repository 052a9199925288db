import ClusterModel
import Foundation
import Postgres

/// Datasets (a named set of shards at a location). Registering is idempotent by name when the
/// location and format are the same; a different definition under the same name is a conflict.
public struct DatasetStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func register(name: String, location: String, format: String = "", metadata: String = "{}", job: JobID? = nil) throws -> DatasetRecord {
        guard !name.isEmpty else { throw StoreError.invalid(field: "name", message: "expected a dataset name") }
        guard !location.isEmpty else { throw StoreError.invalid(field: "location", message: "expected a location URI") }
        try StoreJSON.validate(metadata, field: "metadata")
        return try pool.idempotentTransaction { c in
            try Self.register(c, name: name, location: location, format: format, metadata: metadata, job: job)
        }
    }

    /// Registers inside the caller's transaction (a tokenize task's completion records its dataset with it).
    static func register(_ c: PostgresConnection, name: String, location: String, format: String, metadata: String,
                         job: JobID?) throws -> DatasetRecord {
        let inserted = try c.query("""
            INSERT INTO datasets (name, location, format, metadata, job_id) VALUES ($1, $2, $3, $4::jsonb, $5)
            ON CONFLICT (name) DO NOTHING RETURNING id
            """, [.text(name), .text(location), .text(format), .json(metadata), job?.sql])
        let record = try Self.datasets(c, where: "name = $1", [.text(name)])[0]
        if let row = inserted.first {
            try c.execute("INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason) VALUES ('dataset', $1, $2, NULL, 'registered', $3)",
                          [.int(try row.int64("id")), job?.sql, .text(location)])
        } else if record.location != location || record.format != format {
            throw StoreError.conflict(what: "dataset \(name)",
                                      message: "already registered at \(record.location) (format \"\(record.format)\"); use another name")
        }
        return record
    }

    public func dataset(named name: String) throws -> DatasetRecord? {
        try pool.withConnection { try Self.dataset($0, named: name) }
    }

    /// The same inside the caller's transaction.
    static func dataset(_ c: PostgresConnection, named name: String) throws -> DatasetRecord? {
        try datasets(c, where: "name = $1", [.text(name)]).first
    }

    public func dataset(_ id: DatasetID) throws -> DatasetRecord? {
        try pool.withConnection { try Self.datasets($0, where: "id = $1", [id.sql]).first }
    }

    public func list() throws -> [DatasetRecord] {
        try pool.withConnection { try Self.list($0) }
    }

    /// The same inside the caller's transaction.
    static func list(_ c: PostgresConnection) throws -> [DatasetRecord] {
        try datasets(c, where: "true", [])
    }

    static func datasets(_ c: PostgresConnection, where condition: String, _ params: [PostgresValue?]) throws -> [DatasetRecord] {
        try c.query("SELECT * FROM datasets WHERE \(condition) ORDER BY id", params).map { row in
            DatasetRecord(id: DatasetID(try row.int64("id")), name: try row.string("name"), location: try row.string("location"),
                          format: try row.string("format"), metadata: try row.json("metadata"),
                          job: try row.optionalInt64("job_id").map(JobID.init), createdAt: try row.date("created_at"))
        }
    }
}
