import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Routing: method + path pattern → handler, with the route's access rule checked before the handler runs.
// Handlers are synchronous: the HTTP server gives every connection its own thread, and the store is
// blocking libpq, so a plain call chain is both the simplest and the fastest shape here.

/// Who may call a route.
enum RouteAccess: Sendable {
    /// Probes: no token.
    case open
    case admin
    /// Worker protocol calls; the handler checks the worker id in the body against the token.
    case worker
    /// Registration: the join token or the admin token.
    case registration
}

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
            throw APIErrorBody(code: .badRequest, message: "malformed JSON body for \(T.self): \(WireCoding.describe(error))")
        }
    }

    /// An optional integer query parameter within `range`.
    func queryInt(_ name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text = request.query(name) else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIErrorBody(code: .badRequest,
                               message: "query parameter \(name): expected an integer in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
        }
        return number
    }

    func queryDouble(_ name: String, default value: Double, range: ClosedRange<Double>) throws -> Double {
        guard let text = request.query(name) else { return value }
        guard let number = Double(text), range.contains(number) else {
            throw APIErrorBody(code: .badRequest,
                               message: "query parameter \(name): expected a number in \(range.lowerBound)...\(range.upperBound), got \"\(text)\"")
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

struct Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let method: String
    let segments: [Segment]
    let access: RouteAccess
    let handler: RouteHandler

    /// `pattern` like `/v1/jobs/{name}/cancel`.
    init(_ method: String, _ pattern: String, _ access: RouteAccess, _ handler: @escaping RouteHandler) {
        self.method = method
        self.segments = pattern.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}") ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        self.access = access
        self.handler = handler
    }

    func match(_ components: [String]) -> [String: String]? {
        guard components.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, component) in zip(segments, components) {
            switch segment {
            case .literal(let text): if text != component { return nil }
            case .parameter(let name): parameters[name] = component.removingPercentEncoding ?? component
            }
        }
        return parameters
    }
}

final class Router: Sendable {
    private let routes: [Route]
    private let authorizer: Authorizer
    private let log: @Sendable (String) -> Void

    init(routes: [Route], authorizer: Authorizer, log: @escaping @Sendable (String) -> Void) {
        self.routes = routes
        self.authorizer = authorizer
        self.log = log
    }

    func handle(_ request: HTTPRequest) -> HTTPResponse {
        let components = request.pathComponents
        var methodMismatch = false
        for route in routes {
            guard let parameters = route.match(components) else { continue }
            guard route.method == request.method else { methodMismatch = true; continue }
            do {
                let principal = try authorize(route.access, request)
                try Self.refuseNUL(in: parameters, request.queryItems)
                return try route.handler(RequestContext(request: request, parameters: parameters, principal: principal))
            } catch {
                return APIErrorMapping.response(for: error, request: request, log: log)
            }
        }
        if methodMismatch {
            return APIErrorMapping.response(APIErrorBody(code: .methodNotAllowed,
                                                         message: "\(request.method) is not allowed on \(request.path)"))
        }
        return APIErrorMapping.response(APIErrorBody(code: .notFound,
                                                     message: "no route \(request.method) \(request.path); the API lives under /v1/ (see docs/cli-and-workers.md)"))
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

    private func authorize(_ access: RouteAccess, _ request: HTTPRequest) throws -> Principal? {
        if case .open = access { return nil }
        let principal = try authorizer.principal(forAuthorizationHeader: request.headers["Authorization"])
        switch access {
        case .open: return nil
        case .admin: try principal.requireAdmin()
        case .registration: try principal.requireMayRegister()
        case .worker:
            if principal == .joiningWorker {
                throw AuthorizationError.forbidden("the join token may only register a worker; use the token returned by registration")
            }
        }
        return principal
    }
}
