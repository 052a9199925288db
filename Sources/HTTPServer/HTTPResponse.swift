import Foundation

/// What a handler returns. Bodies are bytes in memory or a file streamed from disk.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable, Equatable {
        case bytes(Data)
        /// Streamed from disk with `sendfile`; the server answers `Range: bytes=...` requests
        /// with 206/`Content-Range` (or 416) and advertises `Accept-Ranges: bytes`.
        case file(path: String)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int = 200, headers: HTTPHeaders = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(status: Int, headers: HTTPHeaders, body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The bytes of an in-memory body (empty for file bodies).
    public var bodyBytes: Data {
        if case .bytes(let data) = body { return data }
        return Data()
    }

    /// A plain-text response.
    public static func text(_ text: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Data(text.utf8))
    }

    /// Pre-encoded JSON bytes.
    public static func json(data: Data, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: data)
    }

    /// `value` encoded as JSON (sorted keys, ISO-8601 dates). An encoding failure becomes a 500 JSON error.
    public static func json<T: Encodable>(_ value: T, status: Int = 200, encoder: JSONEncoder? = nil) -> HTTPResponse {
        let encoder = encoder ?? defaultJSONEncoder()
        do {
            return .json(data: try encoder.encode(value), status: status)
        } catch {
            return .error(status: 500, message: "could not encode the response as JSON: \(error)")
        }
    }

    /// The standard JSON error body, `{"error": {"code": "payload_too_large", "message": "...", "status": 413}}`
    /// (the API's error shape; `code` defaults to the usual name of `status`, see `defaultErrorCode`).
    public static func error(status: Int, code: String? = nil, message: String) -> HTTPResponse {
        struct ErrorBody: Encodable { let error: Detail }
        struct Detail: Encodable {
            let code: String
            let message: String
            let status: Int
        }
        let code = code ?? defaultErrorCode(status: status)
        let data =
            (try? defaultJSONEncoder().encode(ErrorBody(error: Detail(code: code, message: message, status: status))))
            ?? Data("{\"error\":{\"code\":\"internal\",\"message\":\"internal error\",\"status\":\(status)}}".utf8)
        return .json(data: data, status: status)
    }

    /// Machine-readable codes for common statuses: 400 `bad_request`, 401 `unauthorized`, 403 `forbidden`,
    /// 404 `not_found`, 405 `method_not_allowed`, 409 `conflict`, 413 `payload_too_large`,
    /// 416 `range_not_satisfiable`, 422 `unprocessable`, 503 `unavailable`, other 5xx `internal`.
    public static func defaultErrorCode(status: Int) -> String {
        switch status {
        case 400: return "bad_request"
        case 401: return "unauthorized"
        case 403: return "forbidden"
        case 404: return "not_found"
        case 405: return "method_not_allowed"
        case 409: return "conflict"
        case 413: return "payload_too_large"
        case 416: return "range_not_satisfiable"
        case 422: return "unprocessable"
        case 503: return "unavailable"
        case 500...599: return "internal"
        default: return "http_\(status)"
        }
    }

    /// A file streamed from disk, with Range support. A missing file becomes 404 when served.
    public static func file(path: String, contentType: String = "application/octet-stream", status: Int = 200)
        -> HTTPResponse
    {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .file(path: path))
    }

    private static func defaultJSONEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
