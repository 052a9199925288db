// Every non-2xx response carries this body: { "error": { "code": "...", "message": "..." } }.
// `code` is stable and machine-readable; `message` says what was wrong and what to do.

/// A machine-readable error code. An open set: clients must treat unknown codes by their HTTP status.
public struct APIErrorCode: RawRepresentable, Hashable, Codable, Sendable, ExpressibleByStringLiteral,
    CustomStringConvertible
{
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }
    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }

    /// 400: the body is not valid JSON or does not have the expected shape.
    public static let badRequest: APIErrorCode = "bad_request"
    /// 422: a manifest failed validation (the message names the field path).
    public static let invalidManifest: APIErrorCode = "invalid_manifest"
    /// 401: no bearer token, or an unknown one.
    public static let unauthorized: APIErrorCode = "unauthorized"
    /// 403: the token is valid but may not do this (a worker token on an admin call, or for another worker).
    public static let forbidden: APIErrorCode = "forbidden"
    /// 404: no such job / task / worker / dataset / route.
    public static let notFound: APIErrorCode = "not_found"
    /// 405: the route exists but not with this method.
    public static let methodNotAllowed: APIErrorCode = "method_not_allowed"
    /// 409: the report names an attempt that is no longer the live attempt of its task (expired, preempted,
    /// cancelled or superseded). Nothing was changed; the worker should drop the attempt's work.
    public static let staleAttempt: APIErrorCode = "stale_attempt"
    /// 409: the request conflicts with current state (e.g. a job name already used with a different spec).
    public static let conflict: APIErrorCode = "conflict"
    /// 404 on worker calls: the worker id is unknown or was marked lost; the worker must register again.
    public static let unknownWorker: APIErrorCode = "unknown_worker"
    /// 413: the body is larger than the server's limit.
    public static let payloadTooLarge: APIErrorCode = "payload_too_large"
    /// 503: the database is unreachable or the server is shutting down; retry with backoff.
    public static let unavailable: APIErrorCode = "unavailable"
    /// 503: the control plane runs but cannot reach its PostgreSQL (`/readyz` says the same); check the database.
    public static let databaseUnavailable: APIErrorCode = "database_unavailable"
    /// 500: a bug; the message says where.
    public static let internalError: APIErrorCode = "internal"

    /// The HTTP status the server sends with this code.
    public var httpStatus: Int {
        switch self {
        case .badRequest: return 400
        case .invalidManifest: return 422
        case .unauthorized: return 401
        case .forbidden: return 403
        case .notFound, .unknownWorker: return 404
        case .methodNotAllowed: return 405
        case .staleAttempt, .conflict: return 409
        case .payloadTooLarge: return 413
        case .unavailable, .databaseUnavailable: return 503
        default: return 500
        }
    }
}

/// The error object inside `APIErrorBody`.
public struct APIErrorDetail: Codable, Hashable, Sendable {
    public var code: APIErrorCode
    /// A sentence a person can act on: what was wrong, where, and what to do.
    public var message: String
    /// For validation errors: every problem found, each naming its field path
    /// (`spec.resources.accelerators[0].count: expected an integer between 0 and 65536, got "two"`).
    public var details: [String]?

    public init(code: APIErrorCode, message: String, details: [String]? = nil) {
        self.code = code
        self.message = message
        self.details = details
    }
}

/// `{ "error": { "code": "...", "message": "...", "details": [...] } }`
public struct APIErrorBody: Codable, Hashable, Sendable, Error, CustomStringConvertible {
    public var error: APIErrorDetail

    public init(code: APIErrorCode, message: String, details: [String]? = nil) {
        self.error = APIErrorDetail(code: code, message: message, details: details)
    }

    public var description: String {
        var text = "\(error.code): \(error.message)"
        if let details = error.details, !details.isEmpty { text += "\n  " + details.joined(separator: "\n  ") }
        return text
    }
}
