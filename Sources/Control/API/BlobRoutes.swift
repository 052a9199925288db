import APITypes
import Foundation
import HTTPServer

// Blob handlers (admin or worker token): `PUT` stores a checksum-named blob, `GET` returns it (`BlobFiles`).

enum BlobRoutes {
    static func put(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let sha = try BlobFiles.name(context.parameter("sha256"))
        let stored = try BlobFiles(artifactDirectory: services.configuration.artifactDirectory)
            .store(sha, body: context.request.body, bodyFile: context.request.bodyFile)
        return .wire(stored.upload, status: stored.created ? 201 : 200)
    }

    static func get(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let sha = try BlobFiles.name(context.parameter("sha256"))
        return .file(path: try BlobFiles(artifactDirectory: services.configuration.artifactDirectory).existing(sha))
    }
}
