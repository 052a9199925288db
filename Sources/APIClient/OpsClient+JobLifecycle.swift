// A job's end of life and its second run, as the admin API offers them (`opsctl delete job`, `opsctl rerun`).

import APITypes
import Foundation

extension OpsClient {
    /// Deletes the finished job `name` with its history; its artifacts too when `withArtifacts`. `force` cancels an
    /// unfinished job first.
    public func deleteJob(_ name: String, withArtifacts: Bool = false, force: Bool = false)
        async throws(ControlPlaneError) -> JobDeletionResponse
    {
        try await requester.call(
            APIRoute.deleteJob.request(
                name, query: [("withArtifacts", withArtifacts ? "true" : nil), ("force", force ? "true" : nil)]))
    }

    /// A new job from the finished job `name`'s stored manifest, named `newName` or the first free `NAME-N`.
    public func rerunJob(_ name: String, as newName: String? = nil) async throws(ControlPlaneError) -> SubmittedJob {
        try await requester.call(APIRoute.rerunJob.request(name), body: RerunJobRequest(newName: newName))
    }
}
