import APITypes
import Foundation
import HTTPServer

/// A signed-in browser: who it acts as and the CSRF token its forms must carry.
struct DashboardSession: Sendable, Equatable {
    let principal: Principal
    let csrfToken: String
    let sessionSHA256: String
}

/// Sign-in, sessions and CSRF of the dashboard (docs/dashboard.md, "Sessions"). Sessions are rows, not signed
/// cookies: a row can be deleted (sign-out ends it on every replica), and it keeps the SHA-256 of the token that
/// signed in, resolved again on every request as a bearer token would be, so revoking the token or changing the
/// root admin token ends the session at once with no key to share between replicas or to rotate.
struct DashboardSessions {
    static let cookieName = "ops_session"
    /// 12 hours: a working day; signing in again costs one paste of the token.
    static let lifetimeSeconds = 43_200
    /// A token's live sessions beyond this many are deleted, oldest first, when it signs in again.
    static let sessionsPerTokenMax = 100

    let services: ControlServices

    private var store: DashboardSessionStore { DashboardSessionStore(pool: services.pool) }

    /// Signs in with an operator token (read scope or above): the `Set-Cookie` value of the new session. A worker
    /// or join token is refused like an unknown one: they do not look at the cluster.
    func signIn(token: String) throws -> String {
        let authorizer = Authorizer(
            adminToken: services.configuration.adminToken, joinToken: Secret.random(),
            workerForTokenHash: { _ in nil },
            namedTokenForHash: { try TokenRoutes.tokens(services).token(forSecretHash: $0) })
        let principal = try authorizer.principal(forAuthorizationHeader: "Bearer " + token)
        try principal.requireOperator(.read)
        let id = Secret.random()
        try store.create(
            sessionSHA256: id.hashHex, tokenSHA256: Secret(token).hashHex, csrfToken: Secret.random().value,
            lifetimeSeconds: Self.lifetimeSeconds, sessionsPerTokenMax: Self.sessionsPerTokenMax)
        return Self.cookie(value: id.value, maxAgeSeconds: Self.lifetimeSeconds, secure: cookiesAreSecure)
    }

    /// The session of the request's cookie; `DashboardError.notSignedIn` when there is none that still holds.
    func session(of request: HTTPRequest) throws -> DashboardSession {
        guard let id = Self.sessionID(in: request) else { throw DashboardError.notSignedIn }
        let hash = Secret(id).hashHex
        guard let row = try store.active(sessionSHA256: hash),
            let principal = try principal(tokenSHA256: row.tokenSHA256)
        else { throw DashboardError.notSignedIn }
        return DashboardSession(principal: principal, csrfToken: row.csrfToken, sessionSHA256: hash)
    }

    func signOut(_ session: DashboardSession) throws {
        try store.delete(sessionSHA256: session.sessionSHA256)
    }

    /// The form's `csrf` field (or an `X-CSRF-Token` header) must be the session's, compared in constant time.
    static func requireCSRF(_ session: DashboardSession, _ request: HTTPRequest) throws {
        let sent = try FormBody(request)["csrf"] ?? request.headers["X-CSRF-Token"]
        guard let sent, constantTimeEquals(sent, session.csrfToken) else { throw DashboardError.csrfRejected }
    }

    /// A POST that names its origin must come from this host (browsers send `Origin` on every form POST): the
    /// sign-in form too, which has no session to hold a CSRF token yet.
    static func requireSameOrigin(_ request: HTTPRequest) throws {
        guard let origin = request.headers["Origin"], let host = request.headers["Host"] else { return }
        let originHost = origin.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first
        guard originHost.map(String.init) == host else { throw DashboardError.crossOrigin(origin) }
    }

    /// The token whose SHA-256 the session keeps, resolved as a bearer token would be; nil once revoked.
    private func principal(tokenSHA256 hash: String) throws -> Principal? {
        if constantTimeEquals(hash, services.configuration.adminToken.hashHex) { return .admin }
        return try TokenRoutes.tokens(services).token(forSecretHash: hash).map(Principal.token)
    }

    /// HttpOnly: no script reads it; SameSite=Strict: no other site's page sends it; Path=/: every page. Secure
    /// when the control plane serves HTTPS (`serve --tls-cert-file`): the browser then never sends it in clear; on
    /// plain HTTP (loopback, `opsctl up`) a browser would drop a Secure cookie, so it is left off there.
    static func cookie(value: String, maxAgeSeconds: Int, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(maxAgeSeconds)\(secure ? "; Secure" : "")"
    }

    /// Whether this control plane's cookies are Secure: it serves HTTPS.
    var cookiesAreSecure: Bool { services.configuration.tls != nil }

    /// The session id of the `Cookie` headers: 64 hex digits, else nil (not a session this dashboard made).
    static func sessionID(in request: HTTPRequest) -> String? {
        for header in request.headers.values(for: "Cookie") {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == cookieName else { continue }
                let value = parts[1].trimmingCharacters(in: .whitespaces)
                guard value.utf8.count == 64, value.utf8.allSatisfy({ isHexDigit($0) }) else { return nil }
                return value
            }
        }
        return nil
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }
}
