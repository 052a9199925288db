import APITypes
import Foundation
import HTTPServer

// Resumable upload handlers (admin or worker token): create a session, append a chunk at its offset, ask the
// offset, complete into the blob store (`UploadSessions`). Every answer carries `Upload-Offset`.

enum UploadRoutes {
    static let offsetHeader = "Upload-Offset"

    static func sessions(_ services: ControlServices) -> UploadSessions {
        UploadSessions(
            artifactDirectory: services.configuration.artifactDirectory,
            expirySeconds: services.configuration.storage.uploadExpirySeconds,
            maxBytes: Int64(services.configuration.maxBlobBytes))
    }

    static func create(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        answer(try sessions(services).create(), status: 201)
    }

    static func status(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        answer(try sessions(services).status(try UploadSessions.id(context.parameter("id"))))
    }

    static func append(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let id = try UploadSessions.id(context.parameter("id"))
        guard let text = context.request.query("offset"), let offset = Int64(text), offset >= 0 else {
            throw APIErrorBody(
                code: .badRequest, message: "query parameter offset: expected the byte offset of this chunk (>= 0)")
        }
        do {
            return answer(
                try sessions(services).append(
                    id, offset: offset, body: context.request.body, bodyFile: context.request.bodyFile))
        } catch let conflict as UploadOffsetConflict {
            var response = APIErrorMapping.response(APIErrorBody(code: .conflict, message: conflict.message))
            if conflict.offset >= 0 { response.headers[offsetHeader] = String(conflict.offset) }
            return response
        }
    }

    static func complete(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let id = try UploadSessions.id(context.parameter("id"))
        let sha = try BlobFiles.name(context.request.query("sha256") ?? "")
        do {
            let stored = try sessions(services).complete(
                id, sha256: sha, into: BlobFiles(artifactDirectory: services.configuration.artifactDirectory))
            return .wire(stored.upload, status: stored.created ? 201 : 200)
        } catch let conflict as UploadOffsetConflict {
            return APIErrorMapping.response(APIErrorBody(code: .conflict, message: conflict.message))
        }
    }

    private static func answer(_ session: UploadSessionResponse, status: Int = 200) -> HTTPResponse {
        var response = HTTPResponse.wire(session, status: status)
        response.headers[offsetHeader] = String(session.offset)
        return response
    }
}
