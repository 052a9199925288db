import ClusterModel
import Foundation
import Postgres

public struct NewArtifact: Sendable, Equatable {
    public var job: JobID
    public var task: TaskID?
    /// Unique within the job (e.g. "checkpoint-step-1000", "tokenizer").
    public var name: String
    /// "checkpoint", "tokenizer", "eval-report"...
    public var kind: String
    public var location: String
    public var sha256: String
    public var bytes: Int64
    public var metadata: String
    public init(job: JobID, task: TaskID? = nil, name: String, kind: String, location: String, sha256: String,
                bytes: Int64, metadata: String = "{}") {
        self.job = job
        self.task = task
        self.name = name
        self.kind = kind
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
        self.metadata = metadata
    }
}

/// Artifacts of jobs (checkpoints, tokenizers, reports): location + checksum, never the bytes.
/// Registering is idempotent for identical content; a different artifact under the same name conflicts.
public struct ArtifactStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func register(_ artifact: NewArtifact) throws -> ArtifactRecord {
        try Self.validate(artifact)
        return try pool.idempotentTransaction { try Self.register($0, artifact) }
    }

    /// Throws `StoreError.invalid` naming the field unless the store accepts `artifact` (its job aside).
    static func validate(_ artifact: NewArtifact) throws {
        guard !artifact.name.isEmpty else { throw StoreError.invalid(field: "name", message: "expected an artifact name") }
        guard !artifact.location.isEmpty else { throw StoreError.invalid(field: "location", message: "expected a location") }
        guard artifact.sha256.utf8.count == 64, artifact.sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw StoreError.invalid(field: "sha256", message: "expected 64 lowercase hex digits, got \(artifact.sha256.debugDescription)")
        }
        guard artifact.bytes >= 0 else { throw StoreError.invalid(field: "bytes", message: "expected a size >= 0") }
        try StoreJSON.validate(artifact.metadata, field: "metadata")
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func register(_ c: PostgresConnection, _ artifact: NewArtifact) throws -> ArtifactRecord {
        try validate(artifact)
        guard try c.queryFirst("SELECT 1 FROM jobs WHERE id = $1", [artifact.job.sql]) != nil else {
            throw StoreError.unknownJob("with id \(artifact.job)")
        }
        let inserted = try c.query("""
            INSERT INTO artifacts (job_id, task_id, name, kind, location, sha256, bytes, metadata)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
            ON CONFLICT (job_id, name) DO NOTHING RETURNING id
            """, [artifact.job.sql, artifact.task?.sql, .text(artifact.name), .text(artifact.kind), .text(artifact.location),
                  .text(artifact.sha256), .int(artifact.bytes), .json(artifact.metadata)])
        let record = try Self.artifacts(c, where: "job_id = $1 AND name = $2", [artifact.job.sql, .text(artifact.name)])[0]
        if let row = inserted.first {
            try c.execute("INSERT INTO events (entity, entity_id, job_id, old_state, new_state, reason) VALUES ('artifact', $1, $2, NULL, 'registered', $3)",
                          [.int(try row.int64("id")), artifact.job.sql, .text("\(artifact.kind) \(artifact.name) at \(artifact.location)")])
        } else if record.sha256 != artifact.sha256 || record.location != artifact.location {
            throw StoreError.conflict(what: "artifact \(artifact.name) of job \(artifact.job)",
                                      message: "already registered with sha256 \(record.sha256) at \(record.location)")
        }
        return record
    }

    public func list(job: JobID) throws -> [ArtifactRecord] {
        try pool.withConnection { try Self.artifacts($0, where: "job_id = $1", [job.sql]) }
    }

    public func get(job: JobID, name: String) throws -> ArtifactRecord? {
        try pool.withConnection { try Self.artifacts($0, where: "job_id = $1 AND name = $2", [job.sql, .text(name)]).first }
    }

    static func artifacts(_ c: PostgresConnection, where condition: String, _ params: [PostgresValue?]) throws -> [ArtifactRecord] {
        try c.query("SELECT * FROM artifacts WHERE \(condition) ORDER BY id", params).map { row in
            ArtifactRecord(id: ArtifactID(try row.int64("id")), job: JobID(try row.int64("job_id")),
                           task: try row.optionalInt64("task_id").map(TaskID.init), name: try row.string("name"),
                           kind: try row.string("kind"), location: try row.string("location"), sha256: try row.string("sha256"),
                           bytes: try row.int64("bytes"), metadata: try row.json("metadata"), createdAt: try row.date("created_at"))
        }
    }
}
