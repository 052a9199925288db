// Small shared shapes: list envelopes and probe responses.

import Foundation

/// The envelope of every list response. `nextCursor`, when present, is passed back as `?cursor=`
/// to get the next page.
public struct ListResponse<Item: Codable & Sendable>: Codable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String? = nil) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

extension ListResponse: Equatable where Item: Equatable {}

/// `GET /healthz`.
public struct HealthResponse: Codable, Hashable, Sendable {
    public var status: String
    public var version: String

    public init(status: String = "ok", version: String) {
        self.status = status
        self.version = version
    }
}

/// `GET /readyz`: 200 when ready, 503 with the same body (and `ready: false`) otherwise.
public struct ReadinessResponse: Codable, Hashable, Sendable {
    public var ready: Bool
    /// Per-dependency status, e.g. `["database": "ok", "migrations": "version 4"]`.
    public var checks: [String: String]
    /// Why the server is not ready, in words.
    public var message: String?

    public init(ready: Bool, checks: [String: String] = [:], message: String? = nil) {
        self.ready = ready
        self.checks = checks
        self.message = message
    }
}

/// `PUT /v1/blobs/{sha256}`: where the control plane stored the bytes.
public struct BlobUploadResponse: Codable, Hashable, Sendable {
    public var location: String
    public var sha256: String
    public var bytes: Int64

    public init(location: String, sha256: String, bytes: Int64) {
        self.location = location
        self.sha256 = sha256
        self.bytes = bytes
    }
}
