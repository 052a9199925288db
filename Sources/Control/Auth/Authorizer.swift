import ClusterModel

/// Who made a request, as decided from its bearer token.
public enum Principal: Sendable, Equatable {
    case admin
    /// Holder of the join token: may only register a worker.
    case joiningWorker
    case worker(WorkerID)
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

/// Turns a bearer token into a principal. Worker tokens are looked up by their hash through `workerForTokenHash`.
public struct Authorizer: Sendable {
    public let adminToken: Secret
    public let joinToken: Secret
    private let workerForTokenHash: @Sendable (String) throws -> WorkerID?

    public init(
        adminToken: Secret, joinToken: Secret, workerForTokenHash: @escaping @Sendable (String) throws -> WorkerID?
    ) {
        self.adminToken = adminToken
        self.joinToken = joinToken
        self.workerForTokenHash = workerForTokenHash
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
        if let worker = try workerForTokenHash(Secret(token).hashHex) { return .worker(worker) }
        throw AuthorizationError.unknownToken
    }
}

extension Principal {
    public func requireAdmin() throws {
        guard self == .admin else {
            throw AuthorizationError.forbidden(
                "this call needs the admin token; worker tokens may only make worker calls")
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
        }
    }

    public func requireMayRegister() throws {
        guard self == .admin || self == .joiningWorker else {
            throw AuthorizationError.forbidden("registering a worker needs the join token or the admin token")
        }
    }
}
