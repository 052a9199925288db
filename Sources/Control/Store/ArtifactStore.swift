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
    public init(
        job: JobID, task: TaskID? = nil, name: String, kind: String, location: String, sha256: String,
        bytes: Int64, metadata: String = "{}"
    ) {
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
public struct ArtifactCatalog: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    @discardableResult
    public func register(_ artifact: NewArtifact) throws -> StoredArtifact {
        try Self.validate(artifact)
        return try pool.idempotentTransaction { try Self.register($0, artifact) }
    }

    /// Throws `StoreError.invalid` naming the field unless the store accepts `artifact` (its job aside).
    static func validate(_ artifact: NewArtifact) throws {
        guard !artifact.name.isEmpty else {
            throw StoreError.invalid(field: "name", message: "expected an artifact name")
        }
        guard !artifact.location.isEmpty else {
            throw StoreError.invalid(field: "location", message: "expected a location")
        }
        guard artifact.sha256.utf8.count == 64,
            artifact.sha256.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else {
            throw StoreError.invalid(
                field: "sha256", message: "expected 64 lowercase hex digits, got \(artifact.sha256.debugDescription)")
        }
        guard artifact.bytes >= 0 else { throw StoreError.invalid(field: "bytes", message: "expected a size >= 0") }
        try StoreJSON.validate(artifact.metadata, field: "metadata")
    }

    /// The same inside the caller's transaction (a report batch is stored in one).
    static func register(_ c: PostgresConnection, _ artifact: NewArtifact) throws -> StoredArtifact {
        try validate(artifact)
        guard try c.queryFirst(JobSQL.exists, [artifact.job.sql]) != nil else {
            throw StoreError.unknownJob("with id \(artifact.job)")
        }
        let inserted = try c.query(
            ArtifactSQL.insert,
            [
                artifact.job.sql, artifact.task?.sql, .text(artifact.name), .text(artifact.kind),
                .text(artifact.location),
                .text(artifact.sha256), .int(artifact.bytes), .json(artifact.metadata),
            ])
        let record = try Self.artifact(c, job: artifact.job, name: artifact.name)!
        if let row = inserted.first {
            try Events.record(
                c, .artifact, try row.int64("id"), job: artifact.job.rawValue, from: nil, to: "registered",
                reason: "\(artifact.kind) \(artifact.name) at \(artifact.location)")
            try CheckpointEvals.createEval(c, for: record)
        } else if record.sha256 != artifact.sha256 || record.location != artifact.location {
            throw StoreError.conflict(
                what: "artifact \(artifact.name) of job \(artifact.job)",
                message: "already registered with sha256 \(record.sha256) at \(record.location)")
        }
        return record
    }

    public func list(job: JobID) throws -> [StoredArtifact] {
        try pool.withConnection { try $0.query(ArtifactSQL.ofJob, [job.sql]).map(StoredArtifact.init(row:)) }
    }

    public func get(id: ArtifactID) throws -> StoredArtifact? {
        try pool.withConnection { try $0.queryFirst(ArtifactSQL.byID, [id.sql]).map(StoredArtifact.init(row:)) }
    }

    public func get(job: JobID, name: String) throws -> StoredArtifact? {
        try pool.withConnection { try Self.artifact($0, job: job, name: name) }
    }

    /// The same inside the caller's transaction.
    static func artifact(_ c: PostgresConnection, job: JobID, name: String) throws -> StoredArtifact? {
        try c.queryFirst(ArtifactSQL.byName, [job.sql, .text(name)]).map(StoredArtifact.init(row:))
    }
}
