import Foundation

// Named operator tokens (issue 16.5; docs/security.md, "Tokens and scopes"). The root admin token of
// `opsctl serve` stays as it is; these are the tokens an admin hands to people and pipelines, each with a scope.

/// What a named token may do. Each `RouteScope` a route needs is granted by some of these.
public enum TokenScope: String, Codable, Sendable, CaseIterable {
    /// Read-only: every read route, no change.
    case viewer
    /// Submits, cancels, reruns and deletes the jobs of its queues, and reads only those jobs.
    case submitter
    /// Everything the root admin token may do on the operator routes (not the worker protocol).
    case admin

    /// Whether a token of this scope passes a route of `route`'s scope (before a submitter's queue check).
    public func allows(_ route: RouteScope) -> Bool {
        switch (self, route) {
        case (_, .open), (_, .member), (_, .read): true
        case (.submitter, .submit), (.admin, .submit), (.admin, .admin): true
        default: false
        }
    }

    /// The least scope that passes a route of `route`'s scope, for a 403's message (nil: no named token does).
    public static func needed(for route: RouteScope) -> TokenScope? {
        allCases.first { $0.allows(route) }
    }
}

/// The limits of token names: DNS-label-like, so they print in tables and events unquoted.
public enum TokenLimits {
    public static let nameBytesMax = 63
    public static let queuesMax = 64
    /// Named tokens start so (a worker's token is 64 hex digits), so the server looks each up in one place.
    public static let secretPrefix = "ops_"
    /// The events trail names the root admin token so; no named token may take it.
    public static let rootActorName = "admin"

    /// Why `name` cannot name a token, or nil.
    public static func problem(withName name: String) -> String? {
        let allowed = name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
        guard !name.isEmpty, name.utf8.count <= nameBytesMax, allowed, !name.hasPrefix("-") else {
            return
                "token name \(name.debugDescription): use 1 to \(nameBytesMax) of a-z, 0-9 and '-', not starting with '-'"
        }
        guard name != rootActorName else {
            return
                "token name \"\(rootActorName)\" is reserved for the root admin token in the events trail; choose another"
        }
        return nil
    }
}

/// `POST /v1/tokens`.
public struct CreateTokenRequest: Codable, Hashable, Sendable {
    public var name: String
    public var scope: TokenScope
    /// The queues a `submitter` may use (at least one); empty for the other scopes.
    public var queues: [String]

    public init(name: String, scope: TokenScope, queues: [String] = []) {
        self.name = name
        self.scope = scope
        self.queues = queues
    }
}

/// A named token as listed: never its secret.
public struct TokenView: Codable, Hashable, Sendable {
    public var name: String
    public var scope: TokenScope
    public var queues: [String]
    public var createdAt: Date
    /// The name of the token that created it (`admin`: the root admin token).
    public var createdBy: String
    public var revokedAt: Date?
    public var revokedBy: String?

    public init(
        name: String, scope: TokenScope, queues: [String], createdAt: Date, createdBy: String,
        revokedAt: Date? = nil, revokedBy: String? = nil
    ) {
        self.name = name
        self.scope = scope
        self.queues = queues
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.revokedAt = revokedAt
        self.revokedBy = revokedBy
    }
}

/// `POST /v1/tokens` → 201: the token and its secret, shown this once.
public struct CreatedTokenResponse: Codable, Hashable, Sendable {
    public var token: TokenView
    /// `ops_` and 64 hex digits; the server keeps only its SHA-256.
    public var secret: String

    public init(token: TokenView, secret: String) {
        self.token = token
        self.secret = secret
    }
}
