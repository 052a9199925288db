import APITypes
import ClusterModel

/// Who made a request, as decided from its bearer token.
public enum Principal: Sendable, Equatable {
    /// The root admin token of `opsctl serve` (`OPS_ADMIN_TOKEN`).
    case admin
    /// Holder of the join token: may only register a worker.
    case joiningWorker
    case worker(WorkerID)
    /// A named operator token (`opsctl token create`).
    case token(NamedToken)

    /// The name the events trail records for a change this principal makes through the API: the root admin
    /// token is `admin`, a named token its name; nil for workers (their changes are the cluster's own).
    public var actorName: String? {
        switch self {
        case .admin: TokenLimits.rootActorName
        case .token(let token): token.name
        case .joiningWorker, .worker: nil
        }
    }
}

/// A named token that is not revoked, as its row says.
public struct NamedToken: Sendable, Equatable {
    public let name: String
    public let scope: TokenScope
    /// A submitter's queues; empty for the other scopes.
    public let queues: [String]

    public init(name: String, scope: TokenScope, queues: [String]) {
        self.name = name
        self.scope = scope
        self.queues = queues
    }

    /// Only a submitter is held to queues.
    public var isLimitedToQueues: Bool { scope == .submitter }
}

public enum AuthorizationError: Error, Sendable, Equatable, CustomStringConvertible {
    case missingToken
    case unknownToken
    case forbidden(String)

    public var description: String {
        switch self {
        case .missingToken:
            return
                "missing bearer token: send 'Authorization: Bearer <token>' (opsctl reads OPS_TOKEN or OPS_TOKEN_FILE)"
        case .unknownToken:
            return "the bearer token is not valid for this control plane"
        case .forbidden(let what):
            return what
        }
    }
}

/// Turns a bearer token into a principal. Worker tokens are looked up by their hash through `workerForTokenHash`,
/// named tokens (`ops_…`) by theirs through `namedTokenForHash`: one indexed lookup either way.
public struct Authorizer: Sendable {
    public let adminToken: Secret
    public let joinToken: Secret
    private let workerForTokenHash: @Sendable (String) throws -> WorkerID?
    private let namedTokenForHash: @Sendable (String) throws -> NamedToken?

    public init(
        adminToken: Secret, joinToken: Secret, workerForTokenHash: @escaping @Sendable (String) throws -> WorkerID?,
        namedTokenForHash: @escaping @Sendable (String) throws -> NamedToken? = { _ in nil }
    ) {
        self.adminToken = adminToken
        self.joinToken = joinToken
        self.workerForTokenHash = workerForTokenHash
        self.namedTokenForHash = namedTokenForHash
    }

    /// Extracts the token from an `Authorization` header value.
    public static func bearerToken(fromHeader header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }

    public func principal(forAuthorizationHeader header: String?) throws -> Principal {
        guard let token = Self.bearerToken(fromHeader: header) else { throw AuthorizationError.missingToken }
        if constantTimeEquals(token, adminToken.value) { return .admin }
        if constantTimeEquals(token, joinToken.value) { return .joiningWorker }
        if token.hasPrefix(TokenLimits.secretPrefix) {
            guard let named = try namedTokenForHash(Secret(token).hashHex) else {
                throw AuthorizationError.unknownToken
            }
            return .token(named)
        }
        if let worker = try workerForTokenHash(Secret(token).hashHex) { return .worker(worker) }
        throw AuthorizationError.unknownToken
    }
}

extension Principal {
    public func requireAdmin() throws {
        switch self {
        case .admin: return
        case .token(let token) where token.scope == .admin: return
        case .token(let token):
            throw AuthorizationError.forbidden(
                "this call needs an admin token; token \(token.name) has scope \(token.scope.rawValue)")
        case .joiningWorker, .worker:
            throw AuthorizationError.forbidden(
                "this call needs the admin token; worker tokens may only make worker calls")
        }
    }

    /// The operator routes (`read`, `submit`, `admin`): the root admin token passes all; a named token passes
    /// what its scope allows (a submitter's queues are checked by the handler, `JobVisibility`); a worker or the
    /// join token none.
    public func requireOperator(_ scope: RouteScope) throws {
        switch self {
        case .admin: return
        case .token(let token):
            guard token.scope.allows(scope) else {
                let needed = TokenScope.needed(for: scope)?.rawValue ?? "admin"
                throw AuthorizationError.forbidden(
                    "this call needs a token of scope \(needed) or above; token \(token.name) has scope \(token.scope.rawValue) (an admin can create one: opsctl token create)"
                )
            }
        case .joiningWorker, .worker:
            guard scope == .admin else {
                throw AuthorizationError.forbidden(
                    "this call needs the admin token or a named token of scope \(TokenScope.needed(for: scope)?.rawValue ?? "admin") or above; worker tokens may only make worker calls"
                )
            }
            try requireAdmin()
        }
    }

    /// Worker calls: the admin may act for any worker, a worker only for itself.
    public func requireWorker(_ worker: WorkerID) throws {
        switch self {
        case .admin: return
        case .worker(let own) where own == worker: return
        case .worker(let own):
            throw AuthorizationError.forbidden("worker \(own) may not act for worker \(worker)")
        case .joiningWorker:
            throw AuthorizationError.forbidden(
                "the join token may only register a worker; use the token returned by registration")
        case .token(let token):
            throw AuthorizationError.forbidden(
                "worker calls need a worker's token or the admin token; token \(token.name) is an operator token")
        }
    }

    public func requireMayRegister() throws {
        guard self == .admin || self == .joiningWorker else {
            throw AuthorizationError.forbidden("registering a worker needs the join token or the admin token")
        }
    }
}
