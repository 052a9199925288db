// `HTTPTransport` over the libcurl wrapper. One shared `HTTPClient` per transport: its handle pool keeps
// connections alive between calls, and its async calls run transfers off the cooperative thread pool and are
// aborted when the calling task is cancelled.

import Foundation
import HTTPClient

public struct CurlTransport: HTTPTransport {
    public let client: HTTPClient

    public init(client: HTTPClient = HTTPClient()) { self.client = client }

    public func send(_ request: HTTPRequestSpec) async throws -> HTTPResponseSpec {
        var headers: [String: String] = [:]
        for (name, value) in request.headers { headers[name] = value }
        let response = try await client.send(
            HTTPClientRequest(
                method: request.method, url: request.url, headers: headers,
                body: request.body, timeoutSeconds: request.timeoutSeconds,
                connectTimeoutSeconds: min(10, request.timeoutSeconds)))
        var responseHeaders: [String: String] = [:]
        for header in response.headers { responseHeaders[header.name.lowercased()] = header.value }
        return HTTPResponseSpec(status: response.status, headers: responseHeaders, body: response.body)
    }
}
