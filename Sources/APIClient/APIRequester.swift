// Shared request plumbing of the worker and admin clients: base URL, bearer token, the wire JSON coders,
// and the mapping of responses to `ControlPlaneError`.

import APITypes
import Foundation
import Primitives

/// A bearer token that can be swapped at run time (a worker switches to its own token after registering).
/// Its description never shows the value.
public final class BearerToken: Sendable, CustomStringConvertible {
    private let current: Locked<String?>

    public init(_ token: String?) { current = Locked(token) }

    public var value: String? {
        get { current.current }
        set { current.withLock { $0 = newValue } }
    }

    public var description: String { "<redacted>" }
}

public struct APIRequester: Sendable {
    public let baseURL: String
    public let token: BearerToken
    public let transport: any HTTPTransport
    public var defaultTimeoutSeconds: Double

    public init(baseURL: String, token: BearerToken, transport: any HTTPTransport, defaultTimeoutSeconds: Double = 30) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.token = token
        self.transport = transport
        self.defaultTimeoutSeconds = defaultTimeoutSeconds
    }

    /// Calls one route of `APIRoute` (`APIRoute.job.request(name)`): its method and path come from the route table.
    public func call<Response: Decodable>(
        _ line: APIRequestLine, body: (any Encodable)? = nil, timeoutSeconds: Double? = nil,
        bearer: String? = nil, as type: Response.Type = Response.self
    ) async throws(ControlPlaneError) -> Response {
        try await call(line.method, line.path, body: body, timeoutSeconds: timeoutSeconds, bearer: bearer, as: type)
    }

    /// Sends `body` as JSON (when given) and decodes a `Response` from a 2xx answer.
    public func call<Response: Decodable>(
        _ method: HTTPMethodName, _ path: String, body: (any Encodable)? = nil,
        timeoutSeconds: Double? = nil, bearer: String? = nil,
        as type: Response.Type = Response.self
    ) async throws(ControlPlaneError) -> Response {
        let response = try await raw(method, path, body: body, timeoutSeconds: timeoutSeconds, bearer: bearer)
        if Response.self == Empty.self { return Empty() as! Response }
        do {
            return try WireCoding.decode(Response.self, from: response.body)
        } catch {
            throw .invalidResponse(route: "\(method.rawValue) \(path)", reason: WireCoding.describe(error))
        }
    }

    /// Sends the request and returns a 2xx response as is; non-2xx becomes `.rejected` with the error body.
    /// `bearer` overrides the current token for this call.
    public func raw(
        _ method: HTTPMethodName, _ path: String, body: (any Encodable)? = nil,
        rawBody: Data? = nil, contentType: String = "application/json",
        timeoutSeconds: Double? = nil, bearer: String? = nil
    ) async throws(ControlPlaneError) -> HTTPResponseSpec {
        let route = "\(method.rawValue) \(path)"
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let value = bearer ?? token.value { headers.append(("Authorization", "Bearer \(value)")) }
        var data = rawBody
        if let body {
            do { data = try WireCoding.encode(body) } catch {
                throw .invalidRequest(route: route, reason: "\(error)")
            }
        }
        if data != nil { headers.append(("Content-Type", contentType)) }
        let request = HTTPRequestSpec(
            method: method.rawValue, url: baseURL + path, headers: headers, body: data,
            timeoutSeconds: timeoutSeconds ?? defaultTimeoutSeconds)
        let response: HTTPResponseSpec
        do {
            response = try await transport.send(request)
        } catch {
            throw .unreachable(url: baseURL, reason: "\(error)")
        }
        guard (200..<300).contains(response.status) else {
            let body = try? WireCoding.decode(APIErrorBody.self, from: response.body)
            throw .rejected(route: route, status: response.status, body: body)
        }
        return response
    }
}

/// An empty request or response body.
public struct Empty: Codable, Sendable, Equatable {
    public init() {}
}
