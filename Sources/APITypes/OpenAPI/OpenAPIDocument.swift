// The OpenAPI 3.1 document of the REST API (`GET /openapi.json`), built from the one route table (`APIRoute.restAPI`),
// each route's documentation row (`APIRoute.documentation`) and the wire types' decoders (`WireSchemaRegistry`).
// Nothing in it is written by hand beside the code it describes (docs/api.md).

/// A route of `APIRoute.restAPI` without a documentation row: the document cannot be complete.
public struct UndocumentedRouteError: Error, CustomStringConvertible {
    public let routes: [APIEndpoint]

    public var description: String {
        "no documentation row for \(routes.map(\.description).joined(separator: ", ")); add one per route to "
            + "APIRoute.documentation in Sources/APITypes/Wire/RouteDocumentationTable.swift"
    }
}

public enum OpenAPIDocument {
    /// The security scheme every non-open route names; its roles are the route's `RouteScope`.
    static let securitySchemeName = "bearerToken"

    /// The whole document. Throws when a route is undocumented or a wire type cannot describe itself.
    public static func build(
        version: String, maxPollSeconds: Double, routes: [APIEndpoint] = APIRoute.restAPI
    ) throws -> AnyJSON {
        let table = APIRoute.documentation(maxPollSeconds: maxPollSeconds)
        let undocumented = routes.filter { table[$0] == nil }
        guard undocumented.isEmpty else { throw UndocumentedRouteError(routes: undocumented) }
        let registry = WireSchemaRegistry()
        let errorBody = try registry.schema(for: APIErrorBody.self)
        var paths: [String: AnyJSON] = [:]
        for route in routes {
            var item = paths[route.pattern]?.objectValue ?? [:]
            item[route.method.rawValue.lowercased()] = try operation(route, table[route]!, registry, errorBody)
            paths[route.pattern] = .object(item)
        }
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "llm-ops control plane",
                "version": .string(version),
                "description": "Generated from the route table and the wire types; see docs/api.md.",
            ],
            "paths": .object(paths),
            "components": [
                "schemas": .object(registry.components),
                "securitySchemes": [
                    securitySchemeName: [
                        "type": "http", "scheme": "bearer",
                        "description": .string(
                            "The root admin token, a named token (scope viewer, submitter or admin), a worker's "
                                + "token or the join token. A route's security requirement lists the route scope "
                                + "it needs (docs/security.md, \"Tokens and scopes\")."),
                    ]
                ],
            ],
        ]
    }

    private static func operation(
        _ route: APIEndpoint, _ doc: RouteDocumentation, _ registry: WireSchemaRegistry, _ errorBody: AnyJSON
    ) throws -> AnyJSON {
        var operation: [String: AnyJSON] = [
            "operationId": .string(operationID(route)),
            "summary": .string(doc.summary),
            "tags": [.string(tag(route))],
            "security": route.scope == .open ? [] : [[securitySchemeName: [.string(route.scope.rawValue)]]],
            "x-scope": .string(route.scope.rawValue),
        ]
        let parameters =
            pathParameters(route, doc) + doc.query.map { parameter($0, in: "query", required: $0.required) }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body = doc.request {
            operation["requestBody"] = [
                "required": .bool(!doc.requestOptional),
                "content": [body.mediaType: ["schema": try body.schema(registry)]],
            ]
        }
        var responses: [String: AnyJSON] = [:]
        for (status, description) in errorStatuses(route, doc) {
            responses[String(status)] = [
                "description": .string(description), "content": ["application/json": ["schema": errorBody]],
            ]
        }
        for response in doc.responses {
            var answer: [String: AnyJSON] = ["description": .string(response.description)]
            if let body = response.body {
                answer["content"] = [body.mediaType: ["schema": try body.schema(registry)]]
            }
            responses[String(response.status)] = .object(answer)
        }
        operation["responses"] = .object(responses)
        return .object(operation)
    }

    private static func pathParameters(_ route: APIEndpoint, _ doc: RouteDocumentation) -> [AnyJSON] {
        route.parameterNames.map { name in
            let documented = doc.path.first { $0.name == name } ?? .string(name, "the \(name) in the path")
            return parameter(documented, in: "path", required: true)
        }
    }

    private static func parameter(_ parameter: RouteParameter, in location: String, required: Bool) -> AnyJSON {
        [
            "name": .string(parameter.name), "in": .string(location), "required": .bool(required),
            "description": .string(parameter.description), "schema": parameter.schema,
        ]
    }

    /// The error answers of a route: what its scope, inputs and the database make possible, and its own.
    static func errorStatuses(_ route: APIEndpoint, _ doc: RouteDocumentation) -> [(Int, String)] {
        var statuses: [Int: String] = [:]
        let hasInput = doc.request != nil || !doc.query.isEmpty || !route.parameterNames.isEmpty
        if hasInput { statuses[400] = "a parameter or the body is malformed (the message names it)" }
        if route.scope != .open { statuses[401] = "no bearer token, or an unknown one" }
        if ![.open, .member].contains(route.scope) { statuses[403] = "the token's scope does not allow this route" }
        if !route.parameterNames.isEmpty { statuses[404] = "nothing has that name or id" }
        if doc.request != nil { statuses[413] = "the body is larger than the server's limit" }
        if route.scope != .open { statuses[503] = "the database is unreachable; retry with backoff" }
        for (status, description) in doc.errors { statuses[status] = description }
        return statuses.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `GET /v1/jobs/{name}/tasks` → `get_v1_jobs_name_tasks`.
    static func operationID(_ route: APIEndpoint) -> String {
        let parts = route.segments.map { segment in
            switch segment {
            case .literal(let text): text.replacingOccurrences(of: ".", with: "_")
            case .parameter(let name): name
            }
        }
        return ([route.method.rawValue.lowercased()] + parts).joined(separator: "_")
    }

    private static func tag(_ route: APIEndpoint) -> String {
        let literals = route.segments.compactMap { if case .literal(let text) = $0 { text } else { nil } }
        return literals.first == "v1" && literals.count > 1 ? literals[1] : "probes"
    }
}
