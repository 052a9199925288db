import APITypes
import ClusterModel
import Foundation
import HTTPServer

// Artifact handlers (admin token): one artifact by id, and its bytes when the control plane holds them
// (`ArtifactContent` decides where they are).

enum ArtifactRoutes {
    static func get(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let (artifact, jobName) = try stored(context, services)
        return .wire(ArtifactView(artifact, jobName: jobName))
    }

    /// The blob file, served like `GET /v1/blobs/{sha256}` (ranges, `HEAD`-style headers).
    static func content(_ context: RequestContext, _ services: ControlServices) throws -> HTTPResponse {
        let (artifact, _) = try stored(context, services)
        return .file(
            path: try ArtifactContent(artifactDirectory: services.configuration.artifactDirectory).path(of: artifact))
    }

    private static func stored(_ context: RequestContext, _ services: ControlServices) throws
        -> (StoredArtifact, String?)
    {
        let text = context.parameter("id")
        guard let raw = Int64(text), raw > 0 else {
            throw APIErrorBody(
                code: .badRequest, message: "path parameter id: expected an artifact id > 0, got \"\(text)\"")
        }
        guard let artifact = try services.artifacts.get(id: ArtifactID(raw)) else {
            throw APIErrorBody(
                code: .notFound, message: "no artifact with id \(raw); `opsctl get artifacts` lists them")
        }
        let jobName = try services.jobs.job(artifact.job)?.name
        // A submitter sees only its queues' artifacts; one whose job was deleted is in no queue (404 for it).
        try JobVisibility(context, services).requireJob(named: jobName ?? "\(artifact.job)")
        return (artifact, jobName)
    }
}
