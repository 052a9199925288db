import APITypes
import ClusterModel
import Foundation
import HTTPServer
import Postgres

// Routing: each `APIRoute` endpoint (method + path pattern + scope) → its handler, with the scope checked
// before the handler runs. The one table of handlers is `RouteTable`.
// Handlers are synchronous: the HTTP server gives every connection its own thread, and the store is
// blocking libpq, so a plain call chain is both the simplest and the fastest shape here.

/// What a handler receives.
struct RequestContext: Sendable {
    let request: HTTPRequest
    let parameters: [String: String]
    let principal: Principal?

    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    /// Decodes the JSON body; a malformed body is a 400 that says what was wrong. Every JSON body the API takes
    /// comes through here, so the cheap byte scan (`JSONBodyCheck`) guards all of them before the decoder sees
    /// one: nesting depth (decoding cost grows faster than a deeply nested body) and NUL characters in strings
    /// (PostgreSQL cannot store them; the 400 names the field instead of the store failing with a 500).
    func decodeBody<T: Decodable>(_ type: T.Type) throws -> T {
        guard !request.body.isEmpty else {
            throw APIErrorBody(code: .badRequest, message: "the request body is empty; expected a JSON \(T.self)")
        }
        if let problem = JSONBodyCheck.problem(in: request.body) {
            throw APIErrorBody(code: .badRequest, message: problem.description)
        }
        do {
            return try WireCoding.decode(T.self, from: request.body)
        } catch {
            throw APIErrorBody(
                code: .badRequest, message: "malformed JSON body for \(T.self): \(WireCoding.describe(error))")
        }
    }

    /// An optional integer query parameter within `range`.
    func queryInt(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.query(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIErrorBody(
                code: .badRequest,
                message:
                    "query parameter \(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\""
            )
        }
        return number
    }

    /// An optional query parameter naming one case of `T` (`?state=running`).
    func queryEnum<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T?
    where T.RawValue == String {
        guard let text = request.query(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIErrorBody(
                code: .badRequest,
                message:
                    "query parameter \(name): expected one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), got \"\(text)\""
            )
        }
        return value
    }

    func queryDouble(_ name: String, default value: Double, range: ClosedRange<Double>) throws -> Double {
        guard let text = request.query(name) else { return value }
        guard let number = Double(text), range.contains(number) else {
            throw APIErrorBody(
                code: .badRequest,
                message:
                    "query parameter \(name): expected a number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\""
            )
        }
        return number
    }

    /// The worker this call acts for, checked against the caller's token.
    func authorizeWorker(_ worker: WorkerID) throws {
        guard let principal else { throw AuthorizationError.missingToken }
        try principal.requireWorker(worker)
    }
}

typealias RouteHandler = @Sendable (RequestContext) throws -> HTTPResponse

/// One row of the route table: an endpoint of `APIRoute` and the handler that answers it.
struct Route: Sendable {
    let endpoint: APIEndpoint
    let handler: RouteHandler
    /// How many segments of the pattern are literal: among patterns that fit a path, the most literal win.
    let literalSegments: Int

    init(_ endpoint: APIEndpoint, _ handler: @escaping RouteHandler) {
        self.endpoint = endpoint
        self.handler = handler
        literalSegments = endpoint.segments.filter { if case .literal = $0 { true } else { false } }.count
    }
}

final class Router: Sendable {
    private let routes: [Route]
    private let authorizer: Authorizer
    private let log: @Sendable (String) -> Void
    /// Where each request's duration is counted, by its route's pattern (never the raw path).
    private let telemetry: ControlTelemetry?

    init(
        routes: [Route], authorizer: Authorizer, log: @escaping @Sendable (String) -> Void,
        telemetry: ControlTelemetry? = nil
    ) {
        self.routes = routes
        self.authorizer = authorizer
        self.log = log
        self.telemetry = telemetry
    }

    /// Answers one request: matched against the route table's patterns (a path no pattern fits is a 404, one that
    /// fits only with another method a 405), authorized by the route's scope, then handed to its handler. No
    /// socket is involved, so tests call this directly with an `HTTPRequest` value.
    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let started = DispatchTime.now().uptimeNanoseconds
        var endpoint: APIEndpoint?
        let response = dispatch(request, matched: &endpoint)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        telemetry?.observeRequest(endpoint, method: request.method, status: response.status, seconds: seconds)
        return response
    }

    private func dispatch(_ request: HTTPRequest, matched: inout APIEndpoint?) -> HTTPResponse {
        let components = request.pathComponents
        var allowedMethods: [String] = []
        // A literal segment beats a parameter: `/v1/blobs/missing` is that resource (POST only), not a blob named
        // "missing", so `PUT /v1/blobs/missing` is a 405, not a 400 about a checksum.
        let fitting = routes.compactMap { route in route.endpoint.match(components).map { (route, $0) } }
        let mostLiteral = fitting.map(\.0.literalSegments).max()
        for (route, parameters) in fitting where route.literalSegments == mostLiteral {
            guard route.endpoint.method.rawValue == request.method else {
                allowedMethods.append(route.endpoint.method.rawValue)
                continue
            }
            matched = route.endpoint
            do {
                // A dashboard route's handler authorizes from the session cookie, against the same scope
                // (`DashboardRequest`): a browser sends no bearer token.
                let principal =
                    route.endpoint.credential == .sessionCookie ? nil : try authorize(route.endpoint.scope, request)
                try Self.refuseNUL(in: parameters, request.queryItems)
                let context = RequestContext(request: request, parameters: parameters, principal: principal)
                guard Self.changesState(request), let actor = principal?.actorName else {
                    return try route.handler(context)
                }
                // The events this request writes name who made it (`events.actor`, docs/security.md).
                return try PostgresSessionSettings.$current.withValue([Self.actorSetting: actor]) {
                    try route.handler(context)
                }
            } catch {
                return APIErrorMapping.response(for: error, request: request, log: log)
            }
        }
        if !allowedMethods.isEmpty {
            var response = APIErrorMapping.response(
                APIErrorBody(
                    code: .methodNotAllowed,
                    message:
                        "\(request.method) is not allowed on \(request.path); use \(allowedMethods.joined(separator: ", "))"
                ))
            // RFC 9110 section 15.5.6: a 405 lists the methods the resource has.
            response.headers["Allow"] = allowedMethods.joined(separator: ", ")
            return response
        }
        return APIErrorMapping.response(
            APIErrorBody(
                code: .notFound,
                message:
                    "no route \(request.method) \(request.path); the API lives under \(APIRoute.apiPrefix)/ (see docs/cli-and-workers.md)"
            ))
    }

    /// Path and query parameters reach PostgreSQL too (`/v1/jobs/{name}`), which cannot store U+0000 (`%2500`
    /// decodes to it): a 400 naming the parameter, not a 500 from the store.
    private static func refuseNUL(in parameters: [String: String], _ query: [HTTPQueryItem]) throws {
        let problem = "contains a NUL byte (U+0000), which PostgreSQL cannot store; remove it"
        for (name, value) in parameters where value.utf8.contains(0) {
            throw APIErrorBody(code: .badRequest, message: "path parameter \(name): \(problem)")
        }
        for item in query where item.name.utf8.contains(0) || item.value.utf8.contains(0) {
            throw APIErrorBody(code: .badRequest, message: "query parameter \(item.name.debugDescription): \(problem)")
        }
    }

    private func authorize(_ scope: RouteScope, _ request: HTTPRequest) throws -> Principal? {
        if case .open = scope { return nil }
        let principal = try authorizer.principal(forAuthorizationHeader: request.headers["Authorization"])
        switch scope {
        case .open: return nil
        case .read, .submit, .admin: try principal.requireOperator(scope)
        case .registration: try principal.requireMayRegister()
        case .member: break
        case .worker:
            switch principal {
            case .joiningWorker:
                throw AuthorizationError.forbidden(
                    "the join token may only register a worker; use the token returned by registration")
            case .token(let token) where token.scope != .admin:
                throw AuthorizationError.forbidden(
                    "this call needs a worker token or an admin token; token \(token.name) has scope \(token.scope.rawValue)"
                )
            case .admin, .worker, .token: break
            }
        }
        return principal
    }

    /// The session setting `events.actor` defaults to (the schema's "api tokens" migration).
    static let actorSetting = "ops.actor"

    /// Reads bind no actor: they write no event, and binding costs a round trip per checkout.
    private static func changesState(_ request: HTTPRequest) -> Bool {
        request.method != HTTPMethodName.get.rawValue && request.method != HTTPMethodName.head.rawValue
    }
}
