// Where an artifact's bytes are, for `GET /v1/artifacts/{id}/content`. The control plane serves only what it
// holds itself: a `cp://blobs/<sha256>` location is a file of its blob store. Any other location (an S3 object,
// a path on a directory the workers share) is answered with 409 naming it: the control plane may not see that
// directory at all, and serving whatever path a worker reported would turn one report into a read of any file
// the control plane can open.

import APITypes
import Foundation

struct ArtifactContent {
    let artifactDirectory: String

    /// The blob file of `artifact`; throws 409 when its bytes are elsewhere, 404 when the blob is gone.
    func path(of artifact: StoredArtifact) throws -> String {
        guard artifact.location.hasPrefix(BlobFiles.scheme) else {
            throw APIErrorBody(
                code: .conflict,
                message:
                    "artifact \(artifact.id) (\(artifact.name)) is stored at \(artifact.location), not in the control "
                    + "plane's blob store; read it from there (sha256 \(artifact.sha256), \(artifact.bytes) bytes)")
        }
        let sha = try BlobFiles.name(String(artifact.location.dropFirst(BlobFiles.scheme.count)))
        let files = BlobFiles(artifactDirectory: artifactDirectory)
        guard FileManager.default.fileExists(atPath: files.path(sha)) else {
            throw APIErrorBody(
                code: .notFound,
                message:
                    "artifact \(artifact.id) (\(artifact.name)) names blob \(sha), which is no longer in the blob store"
            )
        }
        return files.path(sha)
    }
}
