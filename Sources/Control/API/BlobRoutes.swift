import APITypes
import Foundation
import HTTPServer

// Blob handlers (admin or worker token): `PUT` stores a checksum-named blob, `GET` returns it (`BlobFiles`),
// `POST /v1/blobs/missing` says which of a list the store lacks.

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

    /// Which of the named blobs the store lacks (`opsctl apply` uploads only those).
    static func missing(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let request = try context.decodeBody(MissingBlobsRequest.self)
        guard request.sha256.count <= MissingBlobsRequest.limit else {
            throw APIErrorBody(
                code: .badRequest,
                message: "sha256: expected at most \(MissingBlobsRequest.limit) checksums, got \(request.sha256.count)")
        }
        let names = try request.sha256.map(BlobFiles.name)
        let space = try BlobSpaces.make(services.configuration, log: { _ in })
        let now = Date()
        return .wire(MissingBlobsResponse(missing: try names.filter { !(try space.holdsRecent($0, now: now)) }))
    }
}
