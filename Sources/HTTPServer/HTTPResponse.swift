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

    /// The server's standard JSON error: `{"error": {"status": 413, "message": "..."}}`.
    public static func error(status: Int, message: String) -> HTTPResponse {
        struct ErrorBody: Encodable { let error: Detail }
        struct Detail: Encodable { let status: Int; let message: String }
        let data = (try? defaultJSONEncoder().encode(ErrorBody(error: Detail(status: status, message: message))))
            ?? Data("{\"error\":{\"status\":\(status),\"message\":\"internal error\"}}".utf8)
        return .json(data: data, status: status)
    }

    /// A file streamed from disk, with Range support. A missing file becomes 404 when served.
    public static func file(path: String, contentType: String = "application/octet-stream", status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": contentType], body: .file(path: path))
    }

    private static func defaultJSONEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
