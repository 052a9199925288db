import Foundation

/// One decoded query-string parameter (`?name=value`); repeated names appear once per occurrence.
public struct HTTPQueryItem: Sendable, Equatable {
    public let name: String
    public let value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A complete request as the handler sees it: the body has been read (within its size limit).
public struct HTTPRequest: Sendable {
    /// Upper-case method, e.g. `GET`.
    public let method: String
    /// The URL path, percent-decoded, without the query string (e.g. `/v1/jobs/a`).
    public let path: String
    /// Percent-decoded query parameters in request order.
    public let queryItems: [HTTPQueryItem]
    public let headers: HTTPHeaders
    /// The body, when it was held in memory (empty when spooled to `bodyFile`).
    public let body: Data
    /// A body larger than `HTTPServerConfiguration.spoolBodiesLargerThan` is written here instead of `body`.
    /// The file is deleted when the handler returns: move it (rename) to keep it.
    public let bodyFile: String?
    /// The body's size in bytes, wherever it is.
    public let bodyLength: Int
    /// The peer's IP address (`127.0.0.1`, `::1`), or "" when unknown.
    public let remoteAddress: String

    public init(
        method: String, path: String, queryItems: [HTTPQueryItem] = [], headers: HTTPHeaders = [:],
        body: Data = Data(), bodyFile: String? = nil, bodyLength: Int? = nil, remoteAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.queryItems = queryItems
        self.headers = headers
        self.body = body
        self.bodyFile = bodyFile
        self.bodyLength = bodyLength ?? body.count
        self.remoteAddress = remoteAddress
    }

    /// The first value of query parameter `name`, or nil.
    public func query(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }

    /// Path split on `/` without empty parts: `/v1/jobs/a` → `["v1", "jobs", "a"]`.
    public var pathComponents: [String] { path.split(separator: "/").map(String.init) }

    /// The bearer token of the `Authorization` header, or nil.
    public var bearerToken: String? {
        guard let value = headers["Authorization"] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    /// The whole body, reading the spooled file if there is one.
    public func bodyData() throws -> Data {
        guard let bodyFile else { return body }
        return try Data(contentsOf: URL(fileURLWithPath: bodyFile))
    }

    /// Decodes the body as JSON.
    public func decodeJSON<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(type, from: bodyData())
    }
}
