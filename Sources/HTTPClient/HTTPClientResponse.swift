import Foundation

/// A response of any status: 4xx/5xx are responses, not errors.
public struct HTTPClientResponse: Sendable {
    public let status: Int
    /// Header lines of the final response, in order.
    public let headers: [(name: String, value: String)]
    /// The body (for `download`, the body of a non-2xx response; a 2xx body went to the file).
    public let body: Data
    /// The URL that was requested.
    public let url: String

    public init(status: Int, headers: [(name: String, value: String)], body: Data, url: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.url = url
    }

    /// The first value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let key = name.lowercased()
        return headers.first { $0.name.lowercased() == key }?.value
    }

    public var isSuccess: Bool { (200..<300).contains(status) }

    /// The body as UTF-8 text (lossy).
    public var text: String { String(decoding: body, as: UTF8.self) }

    /// Decodes the body as JSON.
    public func decodeJSON<T: Decodable>(_ type: T.Type, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(type, from: body)
    }
}
