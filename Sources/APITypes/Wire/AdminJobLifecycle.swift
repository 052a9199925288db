// A job's end of life and its second run: `DELETE /v1/jobs/{name}` and `POST /v1/jobs/{name}/rerun`.

import ClusterModel
import Foundation

/// What `DELETE /v1/jobs/{name}` removed. The job's name is free again afterwards.
public struct JobDeletionResponse: Codable, Hashable, Sendable {
    public var name: String
    /// The deleted job's id (ids are never reused; kept artifacts still carry it).
    public var id: JobID
    /// `force` cancelled the job before deleting it (it was unfinished).
    public var cancelledFirst: Bool
    public var deletedTasks: Int
    /// Artifact rows deleted (`withArtifacts`); the blob collector deletes their unreferenced bytes later.
    public var deletedArtifacts: Int
    /// Artifact rows kept (without `withArtifacts`): listed by `GET /v1/artifacts` with the deleted job's name.
    public var keptArtifacts: Int

    public init(
        name: String, id: JobID, cancelledFirst: Bool, deletedTasks: Int, deletedArtifacts: Int, keptArtifacts: Int
    ) {
        self.name = name
        self.id = id
        self.cancelledFirst = cancelledFirst
        self.deletedTasks = deletedTasks
        self.deletedArtifacts = deletedArtifacts
        self.keptArtifacts = keptArtifacts
    }
}

/// `POST /v1/jobs/{name}/rerun`: the new job's name; nil picks the first free `NAME-2`, `NAME-3`, ….
public struct RerunJobRequest: Codable, Hashable, Sendable {
    public var newName: String?

    public init(newName: String? = nil) { self.newName = newName }
}
