import APITypes
import Foundation
import Postgres

/// One row of `api_tokens`.
public struct TokenRecord: Sendable, Equatable {
    public var name: String
    public var scope: TokenScope
    public var queues: [String]
    public var secretSHA256: String
    public var createdAt: Date
    public var createdBy: String
    public var revokedAt: Date?
    public var revokedBy: String?
}

extension TokenRecord {
    init(row: PostgresRow) throws {
        let scopeText = try row.string("scope")
        guard let scope = TokenScope(rawValue: scopeText) else {
            throw PostgresError.decoding(column: "scope", expected: "viewer, submitter or admin", found: scopeText)
        }
        self.init(
            name: try row.string("name"), scope: scope,
            queues: try StoreJSON.strings(try row.string("queues"), column: "queues"),
            secretSHA256: try row.string("secret_sha256"), createdAt: try row.date("created_at"),
            createdBy: try row.string("created_by"), revokedAt: try row.optionalDate("revoked_at"),
            revokedBy: try row.optionalString("revoked_by"))
    }
}

/// Named operator tokens (`api_tokens`): created, listed, revoked by an admin; looked up by their secret's hash
/// on every request that presents one (no cache: a revocation holds at once on every replica).
public struct TokenStore: Sendable {
    public let pool: PostgresPool
    public init(pool: PostgresPool) { self.pool = pool }

    /// The new token's row; nil when the name is taken.
    public func create(
        name: String, scope: TokenScope, queues: [String], secretSHA256: String, createdBy: String
    ) throws -> TokenRecord? {
        try pool.withConnection { c in
            try c.queryFirst(
                TokenSQL.create,
                [.text(name), .text(scope.rawValue), .textArray(queues), .text(secretSHA256), .text(createdBy)]
            ).map(TokenRecord.init(row:))
        }
    }

    public func all() throws -> [TokenRecord] {
        try pool.withConnection { c in try c.query(TokenSQL.all).map(TokenRecord.init(row:)) }
    }

    /// The unrevoked token whose secret hashes to `secretSHA256`.
    public func active(secretSHA256: String) throws -> TokenRecord? {
        try pool.withConnection { c in
            try c.queryFirst(TokenSQL.active, [.text(secretSHA256)]).map(TokenRecord.init(row:))
        }
    }

    /// The token named, revoked (now or before); nil when no token has that name.
    public func revoke(named name: String, by actor: String) throws -> TokenRecord? {
        try pool.withConnection { c in
            try c.queryFirst(TokenSQL.revoke, [.text(name), .text(actor)]).map(TokenRecord.init(row:))
        }
    }
}
