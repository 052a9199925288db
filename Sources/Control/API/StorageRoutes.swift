import APITypes
import Foundation
import HTTPServer

// `GET /v1/storage` (worker or admin token): the cluster's backend, never credentials.
// `POST /v1/storage/collect` (admin): one garbage-collection pass now (`BlobCollector`).

enum StorageRoutes {
    static func describe(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(services.configuration.storage.description)
    }

    static func collect(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        .wire(try BlobCollector.make(services, log: { _ in }).collect())
    }
}
