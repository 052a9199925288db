// What each route of `APIRoute` takes and answers, as values beside the routes: the wire types of its bodies,
// its query and path parameters and the statuses it documents. `OpenAPIDocument` (`GET /openapi.json`) is built
// from this table and the wire types' own decoders; `RouteDocumentationTests` fails when a route of
// `APIRoute.all` has no row here. A new route adds one row; one that answers something other than JSON (metrics
// text, HTML) says so with `.text(...)` or `.bytes`.

import ClusterModel

/// A request or response body: JSON of a wire type, raw bytes, or text of a media type.
public struct WireBody {
    public let mediaType: String
    let schema: (WireSchemaRegistry) throws -> AnyJSON

    /// JSON of `type` (its schema is derived from its decoder).
    public static func json<T: Decodable>(_ type: T.Type) -> WireBody {
        WireBody(mediaType: "application/json") { try $0.schema(for: type) }
    }

    /// Raw bytes (blobs, upload chunks, artifact contents).
    public static var bytes: WireBody { WireBody(mediaType: "application/octet-stream") { _ in [:] } }

    /// Text of `mediaType`: `text/plain; version=0.0.4` for metrics, `text/html; charset=utf-8` for pages.
    public static func text(_ mediaType: String) -> WireBody {
        WireBody(mediaType: mediaType) { _ in ["type": "string"] }
    }
}

/// A query or path parameter and what it accepts, as the handler checks it.
public struct RouteParameter: Sendable {
    public let name: String
    public let schema: AnyJSON
    public let description: String
    /// The handler answers 400 without it (path parameters are always required).
    public private(set) var required = false

    public init(_ name: String, _ schema: AnyJSON, _ description: String) {
        self.name = name
        self.schema = schema
        self.description = description
    }

    /// This parameter, required.
    public func required(_ isRequired: Bool = true) -> RouteParameter {
        var parameter = self
        parameter.required = isRequired
        return parameter
    }

    public static func string(_ name: String, _ description: String) -> RouteParameter {
        RouteParameter(name, ["type": "string"], description)
    }

    /// An integer the handler checks against `range` (`queryInt`).
    public static func integer(_ name: String, _ range: ClosedRange<Int64>, _ description: String) -> RouteParameter {
        RouteParameter(
            name, ["type": "integer", "minimum": .int(range.lowerBound), "maximum": .int(range.upperBound)],
            description)
    }

    public static func number(_ name: String, maximum: Double, _ description: String) -> RouteParameter {
        RouteParameter(name, ["type": "number", "minimum": 0, "maximum": .double(maximum)], description)
    }

    public static func flag(_ name: String, _ description: String) -> RouteParameter {
        RouteParameter(name, ["type": "boolean"], description)
    }

    /// One case of a string enumeration (`?state=running`).
    public static func oneOf<E: CaseIterable & RawRepresentable>(_ name: String, _ type: E.Type, _ description: String)
        -> RouteParameter where E.RawValue == String
    {
        RouteParameter(name, ["type": "string", "enum": .array(E.allCases.map { .string($0.rawValue) })], description)
    }

    /// `?limit=&cursor=` of every paged list (`ListPaging`).
    public static var paging: [RouteParameter] {
        [
            integer("limit", 1...Int64(ListPaging.maxLimit), "items per page (default \(ListPaging.defaultLimit))"),
            string("cursor", "the `nextCursor` of the previous page"),
        ]
    }

    static var since: RouteParameter { integer("since", 0...Int64.max, "only items with an id above this one") }
}

/// One documented answer: a status and its body (nil: none, as for 204 and HEAD).
public struct RouteResponse {
    public let status: Int
    public let body: WireBody?
    public let description: String

    public init(_ status: Int, _ body: WireBody?, _ description: String) {
        self.status = status
        self.body = body
        self.description = description
    }

    public static func ok<T: Decodable>(_ type: T.Type, _ description: String = "OK") -> RouteResponse {
        RouteResponse(200, .json(type), description)
    }

    public static func created<T: Decodable>(_ type: T.Type, _ description: String = "created") -> RouteResponse {
        RouteResponse(201, .json(type), description)
    }
}

/// What one route takes and answers. Error statuses every route of its kind can return (401/403 by scope, 400
/// for input, 404 for path parameters, 413 for bodies, 503 when the database is down) are added by the
/// document builder; `errors` lists the ones particular to the route, each with an `APIErrorBody`.
public struct RouteDocumentation {
    public let summary: String
    public let request: WireBody?
    /// The body may be omitted (`rerunJob`'s empty body means "no options").
    public let requestOptional: Bool
    public let query: [RouteParameter]
    /// Path parameters that are not free strings (ids); the rest are strings.
    public let path: [RouteParameter]
    public let responses: [RouteResponse]
    public let errors: [(status: Int, description: String)]

    public init(
        _ summary: String, request: WireBody? = nil, requestOptional: Bool = false, query: [RouteParameter] = [],
        path: [RouteParameter] = [], responses: [RouteResponse], errors: [(status: Int, description: String)] = []
    ) {
        self.summary = summary
        self.request = request
        self.requestOptional = requestOptional
        self.query = query
        self.path = path
        self.responses = responses
        self.errors = errors
    }
}
