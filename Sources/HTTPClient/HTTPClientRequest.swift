import Foundation

/// A request to send with `HTTPClient.send`.
public struct HTTPClientRequest: Sendable {
    /// Upper-case method: GET, POST, PUT, DELETE, PATCH, HEAD.
    public var method: String
    /// Absolute URL, e.g. `http://127.0.0.1:8080/v1/jobs?state=running`.
    public var url: String
    /// Extra headers; they override the client's default headers of the same name.
    public var headers: [String: String]
    public var body: Data?
    /// Whole-request limit in seconds (0 = none). Long-polls must set it above their wait.
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double

    public init(
        method: String = "GET", url: String, headers: [String: String] = [:], body: Data? = nil,
        timeoutSeconds: Double = 60, connectTimeoutSeconds: Double = 10
    ) {
        self.method = method.uppercased()
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// A request whose body is `value` encoded as JSON, with `Content-Type: application/json`.
    public static func json<T: Encodable>(
        method: String = "POST", url: String, body value: T, headers: [String: String] = [:],
        timeoutSeconds: Double = 60, encoder: JSONEncoder = JSONEncoder()
    ) throws -> HTTPClientRequest {
        var headers = headers
        headers["Content-Type"] = "application/json"
        return HTTPClientRequest(
            method: method, url: url, headers: headers, body: try encoder.encode(value), timeoutSeconds: timeoutSeconds)
    }
}
