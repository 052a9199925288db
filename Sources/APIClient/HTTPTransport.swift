// The one thing the clients need from HTTP: send a request, get status, headers and body. The libcurl
// implementation lives in CurlTransport.swift; keeping the clients behind this protocol keeps them free of
// libcurl details (and lets an in-process server be used in tests with real sockets either way).

import Foundation

public struct HTTPRequestSpec: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Data?
    /// Whole-request timeout in seconds.
    public var timeoutSeconds: Double

    public init(
        method: String, url: String, headers: [(String, String)] = [], body: Data? = nil, timeoutSeconds: Double = 30
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutSeconds = timeoutSeconds
    }
}

public struct HTTPResponseSpec: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// Sends one HTTP request. Throws only when no HTTP response was received (connection refused, timeout...);
/// any status code, including 5xx, is a response.
public protocol HTTPTransport: Sendable {
    func send(_ request: HTTPRequestSpec) async throws -> HTTPResponseSpec
}
