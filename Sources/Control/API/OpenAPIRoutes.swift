import APITypes
import Foundation
import HTTPServer
import Primitives

// `GET /openapi.json`: the API's description, built from the route table and the wire types (docs/api.md).
// Built once per process: the document depends only on the build and the configuration's poll bound.

enum OpenAPIRoutes {
    static func document(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let maxPollSeconds = services.configuration.maxPollSeconds
        if let cached = cache.current, cached.maxPollSeconds == maxPollSeconds { return .json(data: cached.body) }
        let document = try WireCoding.encoder(pretty: true).encode(
            try OpenAPIDocument.build(version: opsVersion, maxPollSeconds: maxPollSeconds))
        cache.withLock { $0 = (maxPollSeconds, document) }
        return .json(data: document)
    }

    private static let cache = Locked<(maxPollSeconds: Double, body: Data)?>(nil)
}
