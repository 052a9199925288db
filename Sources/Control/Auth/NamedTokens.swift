import APITypes
import Foundation

// Named operator tokens (issue 16.5; docs/security.md): an admin creates one with a scope, its secret is shown
// once and only its SHA-256 is kept, and a revocation holds from the next request on every replica (each request
// that presents an `ops_` token costs one probe of the hash's unique index; nothing is cached).

struct NamedTokens {
    let store: TokenStore

    /// Creates the token and returns its secret, which nothing stores: 201, or 409 when the name is taken.
    func create(_ request: CreateTokenRequest, by principal: Principal?) throws -> CreatedTokenResponse {
        try Self.validate(request)
        let secret = Self.newSecret()
        let queues = request.scope == .submitter ? Array(Set(request.queues)).sorted() : []
        guard
            let record = try store.create(
                name: request.name, scope: request.scope, queues: queues, secretSHA256: secret.hashHex,
                createdBy: principal?.actorName ?? TokenLimits.rootActorName)
        else {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "a token named \(request.name) exists (revoked names stay taken: the events trail names them); choose another name"
            )
        }
        return CreatedTokenResponse(token: TokenView(record), secret: secret.value)
    }

    func list() throws -> ListResponse<TokenView> {
        ListResponse(items: try store.all().map(TokenView.init))
    }

    func revoke(named name: String, by principal: Principal?) throws -> TokenView {
        guard let record = try store.revoke(named: name, by: principal?.actorName ?? TokenLimits.rootActorName) else {
            throw APIErrorBody(code: .notFound, message: "no token named \(name); `opsctl token list` lists them")
        }
        return TokenView(record)
    }

    /// The unrevoked token whose secret hashes to `hash`. The row is found by an index probe on the hash; the
    /// stored hash is then compared in constant time, so no answer depends on where two hashes differ.
    func token(forSecretHash hash: String) throws -> NamedToken? {
        guard let record = try store.active(secretSHA256: hash), constantTimeEquals(record.secretSHA256, hash) else {
            return nil
        }
        return NamedToken(name: record.name, scope: record.scope, queues: record.queues)
    }

    /// `ops_` and 32 bytes of the system CSPRNG (getrandom(2), the kernel's /dev/urandom source) in hex.
    static func newSecret() -> Secret {
        Secret(TokenLimits.secretPrefix + Secret.random().value)
    }

    static func validate(_ request: CreateTokenRequest) throws {
        if let problem = TokenLimits.problem(withName: request.name) {
            throw APIErrorBody(code: .badRequest, message: problem)
        }
        switch request.scope {
        case .submitter:
            guard !request.queues.isEmpty, request.queues.count <= TokenLimits.queuesMax else {
                throw APIErrorBody(
                    code: .badRequest,
                    message:
                        "a submitter token needs 1 to \(TokenLimits.queuesMax) queues (--queue NAME, repeatable); got \(request.queues.count)"
                )
            }
            for queue in request.queues where queue.isEmpty || queue.utf8.contains(0) || queue.utf8.count > 253 {
                throw APIErrorBody(
                    code: .badRequest,
                    message: "queue \(queue.debugDescription): expected a queue name (1 to 253 bytes)")
            }
        case .viewer, .admin:
            guard request.queues.isEmpty else {
                throw APIErrorBody(
                    code: .badRequest,
                    message:
                        "only submitter tokens are limited to queues; a \(request.scope.rawValue) token takes no --queue"
                )
            }
        }
    }
}

extension TokenView {
    init(_ record: TokenRecord) {
        self.init(
            name: record.name, scope: record.scope, queues: record.queues, createdAt: record.createdAt,
            createdBy: record.createdBy, revokedAt: record.revokedAt, revokedBy: record.revokedBy)
    }
}
